#!/usr/bin/env bash
# The whole test suite: every crate's tests, then the end-to-end tests of the real binary with
# the official `openai` and `anthropic` Python SDKs (installed from PyPI into .venv-e2e).
#
# Cluster-mode tests use PostgreSQL and Redis when SWITCHYARD_TEST_POSTGRES_URL and
# SWITCHYARD_TEST_REDIS_URL are set (.ci/run sets them); without them they report "skipped".
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test (workspace)"
cargo test --workspace --all-targets

echo "== end-to-end (official SDKs against the built binary)"
cargo build -p switchyard -p switchyard-testkit
if [ ! -x .venv-e2e/bin/python ]; then
  python3 -m venv .venv-e2e
fi
.venv-e2e/bin/python -m pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
SWITCHYARD_BIN="$PWD/target/debug/switchyard" \
FAKE_UPSTREAM_BIN="$PWD/target/debug/switchyard-fake-upstream" \
  .venv-e2e/bin/python -m pytest -q tests/e2e
