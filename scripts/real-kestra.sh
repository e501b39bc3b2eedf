#!/usr/bin/env bash
# Run kestra-sync's real-server tests against Kestra's official image (1.3 or 2.0), one command:
#   scripts/real-kestra.sh 2.0
# Starts the server from deploy/kestra-compose.yml, waits until it answers, runs
# tests/oracles/test_real_server.py against it, and stops it (docs/oracles.md).
set -euo pipefail
cd "$(dirname "$0")/.."
release="${1:-2.0}"
case "$release" in
  1.3) port=8081 ;;
  2.0) port=8082 ;;
  *) echo "usage: $0 1.3|2.0" >&2; exit 2 ;;
esac
compose=(docker compose -f deploy/kestra-compose.yml)
"${compose[@]}" up -d "kestra-$release"
trap '"${compose[@]}" down -v' EXIT
ready=""
for _ in $(seq 1 60); do  # Kestra takes a minute or so to start
  if curl -fsS "http://127.0.0.1:$port/api/v1/configs" >/dev/null 2>&1; then ready=1; break; fi
  sleep 5
done
if [ -z "$ready" ]; then
  echo "Kestra $release did not answer on :$port within 5 minutes; its log:" >&2
  "${compose[@]}" logs --tail 50 "kestra-$release" >&2
  exit 1
fi
KESTRA_SYNC_TEST_SERVER="http://127.0.0.1:$port" \
KESTRA_SYNC_TEST_USERNAME="admin@kestra.io" \
KESTRA_SYNC_TEST_PASSWORD="Admin1234" \
  "${PYTHON:-.venv/bin/python}" -m pytest -n 0 -q -rs -k real \
    tests/oracles/test_real_server.py tests/oracles/test_conformance_kestra.py
