#!/usr/bin/env bash
# make media: cut offline media only from tested roles. Runs every test (scripts/test.sh),
# records the outcome and the digest of the roles and playbooks it tested, signs that
# record into the bundle, and checks the result as a site would (--require-attestation).
#   make media KEY=path/to/bundle.key [BUNDLE=examples/lab/bundle.yml] [OUT=.cache/media/bundle]
set -euo pipefail
cd "$(dirname "$0")/.."
bundle_file=${BUNDLE:-examples/lab/bundle.yml}
out=${OUT:-.cache/media/bundle}
key=${KEY:?"set KEY to the bundle signing key (airgapctl bundle keygen makes one)"}
pubkey=${PUBKEY:-${key%.key}.pub}
work=.cache/media
mkdir -p "$work"

if ! scripts/test.sh --junitxml="$work/junit.xml"; then
  echo "media: the tests failed; no media is cut" >&2
  exit 1
fi
.venv/bin/airgapctl bundle attest --junit "$work/junit.xml" --out "$work/attestation.json"
rm -rf "$out"
.venv/bin/airgapctl bundle build "$bundle_file" --out "$out" --key "$key" --attest "$work/attestation.json"
.venv/bin/airgapctl bundle verify "$out" --pubkey "$pubkey" --check-only --require-attestation
