#!/usr/bin/env bash
# The demo (make demo): cut a signed offline bundle, start a network-less lab appliance,
# provision it from the bundle alone, show the result. Safe to rerun: an unchanged
# bundle is reused, and a second provisioning changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
demo=.cache/demo
mkdir -p "$demo"

echo "== 1. lab appliance (Docker, systemd as PID 1, no network)"
airgapctl lab up appliance
echo

echo "== 2. offline bundle: examples/lab/bundle.yml (connected side)"
if [ ! -f "$demo/keys/bundle.key" ]; then
  mkdir -p "$demo/keys"
  airgapctl bundle keygen --private "$demo/keys/bundle.key" --public "$demo/keys/bundle.pub"
fi
# Rebuild only when what goes into the bundle changed; each rebuild takes the next sequence.
inputs=$({ git ls-files -s -- examples roles playbooks inventory airgapctl pyproject.toml constraints.txt;
           git diff -- examples roles playbooks inventory airgapctl pyproject.toml constraints.txt; } | sha256sum | cut -c1-16)
if [ -f "$demo/bundle/manifest.json.sig" ] && [ "$(cat "$demo/inputs" 2>/dev/null)" = "$inputs" ]; then
  echo "bundle: unchanged inputs, reusing $demo/bundle"
else
  sequence=$(( $(cat "$demo/sequence" 2>/dev/null || echo 0) + 1 ))
  rm -rf "$demo/bundle"
  airgapctl bundle build examples/lab/bundle.yml --out "$demo/bundle" --key "$demo/keys/bundle.key" --sequence "$sequence"
  echo "$sequence" > "$demo/sequence"
  echo "$inputs" > "$demo/inputs"
fi
airgapctl bundle verify "$demo/bundle" --pubkey "$demo/keys/bundle.pub" --check-only
echo

echo "== 3. provision from the bundle: ansible-playbook -i inventory/lab playbooks/site.yml"
# Only what changed (or failed) is shown: a second run prints no task at all.
if ! ANSIBLE_DISPLAY_OK_HOSTS=false ANSIBLE_DISPLAY_SKIPPED_HOSTS=false \
     ansible-playbook -i inventory/lab/hosts.yml playbooks/site.yml; then
  echo "demo: provisioning failed (output above)" >&2
  exit 1
fi
echo

echo "== 4. the appliance"
airgapctl lab status
docker exec airgap-lab-appliance sh -c 'apt-get install -y -q nginx >/dev/null 2>&1; nginx -v'
docker exec airgap-lab-appliance cat /etc/apt/sources.list.d/airgap-bundle.list | grep '^deb'
docker exec airgap-lab-appliance tail -n 1 /var/lib/airgap/ledger.jsonl
echo
echo "demo: done. airgapctl lab shell opens a shell in it; airgapctl lab down removes it."
