#!/usr/bin/env bash
# Refresh the two locks, exact versions and sha256 hashes of every file of each release:
# - requirements.lock: kestra-sync's runtime dependencies, what the GitHub Action
#   (`pip install --require-hashes`) and the Dockerfile install;
# - requirements-test.lock: the same plus the `test` extra, what .ci/run and the README's test
#   command install, so that a new release upstream cannot turn CI red overnight.
#
#   scripts/refresh-lock.sh                # re-resolve to the newest versions pyproject.toml allows
#   scripts/refresh-lock.sh --no-upgrade   # only add what changed in pyproject.toml
#
# One lock for every runner: uv resolves "universally" (Linux, macOS and Windows, Python 3.10
# and later, with environment markers where versions differ). The test lock is resolved with
# the runtime lock as constraints, so both pin the same runtime versions. uv is a tool for this
# script only, installed into a throwaway virtualenv; kestra-sync never imports it. Afterwards
# run `pytest tests/test_lock.py` and the whole suite (docs/ci.md: moving the pins forward).
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
upgrade=--upgrade
if [ "${1:-}" = "--no-upgrade" ]; then upgrade=; fi
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools/venv"
"$tools/venv/bin/pip" install --quiet --disable-pip-version-check "uv==$UV_VERSION"
compile() {
  "$tools/venv/bin/uv" pip compile pyproject.toml \
    --universal --python-version 3.10 --generate-hashes $upgrade \
    --custom-compile-command "scripts/refresh-lock.sh" "$@"
}
compile --output-file requirements.lock
# Constraints without hashes: uv reads only the versions from them.
grep -E '^[A-Za-z0-9]' requirements.lock | sed 's/ \\$//' > "$tools/runtime-pins.txt"
compile --extra test --constraint "$tools/runtime-pins.txt" --output-file requirements-test.lock
