#!/usr/bin/env bash
# Refresh requirements.lock: the exact versions and sha256 hashes of kestra-sync's runtime
# dependencies that the GitHub Action (`pip install --require-hashes`) and the Dockerfile install.
#
#   scripts/refresh-lock.sh            # re-resolve to the newest versions pyproject.toml allows
#   scripts/refresh-lock.sh --no-upgrade   # only add what changed in pyproject.toml
#
# One lock for every runner: uv resolves "universally" (Linux, macOS and Windows, Python 3.10
# and later, with environment markers where versions differ) and records the hash of every
# file of each release. uv is a tool for this script only, installed into a throwaway virtualenv;
# kestra-sync never imports it. Afterwards run tests/test_lock.py, which checks the lock
# installs with --require-hashes and matches the ranges in pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
upgrade=--upgrade
if [ "${1:-}" = "--no-upgrade" ]; then upgrade=; fi
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools/venv"
"$tools/venv/bin/pip" install --quiet --disable-pip-version-check "uv==$UV_VERSION"
"$tools/venv/bin/uv" pip compile pyproject.toml \
  --universal --python-version 3.10 --generate-hashes $upgrade \
  --custom-compile-command "scripts/refresh-lock.sh" \
  --output-file requirements.lock
