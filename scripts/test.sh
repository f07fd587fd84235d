#!/usr/bin/env bash
# The whole test run (make test, and CI through .ci/run): set-up, lint gates, then pytest,
# which includes the lab integration tests and every role's `molecule test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

# Docker and the lab image; a daemon this run starts, this run stops (by its own pid).
started=$(airgapctl lab prepare --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["daemon"]["started"])')
if [ "$started" = "True" ]; then
  trap 'airgapctl lab stop-daemon >&2' EXIT
fi

echo "== ruff" >&2
ruff check .
ruff format --check .
echo "== ansible-lint (production profile, offline)" >&2
ansible-lint --offline --profile production -q
echo "== pytest (unit, cli, integration, molecule)" >&2
pytest "$@"
