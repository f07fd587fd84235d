#!/usr/bin/env bash
# The whole test run (make test, and CI through .ci/run): set-up, lint gates, then pytest,
# which includes the lab integration tests and every role's `molecule test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

# Docker and the lab image; a daemon this run starts, this run stops (by its own pid).
started=$(airgapctl lab prepare --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["daemon"]["started"])')
molecule_pid=""
log=""
cleanup() {
  # An interrupted run stops the Molecule scenarios as Ctrl-C would: pytest and molecule then
  # destroy their instances. They run in a process group of their own (set -m below).
  if [ -n "$molecule_pid" ] && kill -0 "$molecule_pid" 2>/dev/null; then
    kill -INT -- "-$molecule_pid" 2>/dev/null || true
    wait "$molecule_pid" 2>/dev/null || true
  fi
  if [ -n "$log" ] && [ -f "$log" ]; then
    cat "$log"
    rm -f "$log"
  fi
  if [ "$started" = "True" ]; then
    airgapctl lab stop-daemon >&2
  fi
}
trap cleanup EXIT

echo "== ruff" >&2
ruff check .
ruff format --check .
echo "== ansible-lint (production profile, offline)" >&2
ansible-lint --offline --profile production -q
# Given arguments, one pytest runs just them. The whole run is two pytest processes side by side:
# the Molecule scenarios (one instance at a time, mostly waiting on docker exec) and everything
# else, so the run takes about as long as the longer of the two. Both share the session's image
# and its test bundle (built once, under a lock).
if [ "$#" -gt 0 ]; then
  echo "== pytest $*" >&2
  pytest "$@"
  exit 0
fi
log=$(mktemp -t airgapctl-molecule.XXXXXX)
echo "== pytest, molecule scenarios (in the background; their output follows the rest)" >&2
set -m
pytest -m molecule -p no:cacheprovider >"$log" 2>&1 &
molecule_pid=$!
set +m
echo "== pytest (unit, cli, integration)" >&2
rest=0
pytest -m "not molecule" || rest=$?
molecule=0
wait "$molecule_pid" || molecule=$?
molecule_pid=""
echo "== pytest, molecule scenarios" >&2
cat "$log"
rm -f "$log"
log=""
if [ "$rest" -ne 0 ] || [ "$molecule" -ne 0 ]; then
  echo "pytest failed: unit/cli/integration exit $rest, molecule exit $molecule" >&2
  # pytest's own code: the first that is not 0.
  exit $(( rest != 0 ? rest : molecule ))
fi
