#!/usr/bin/env bash
# The demo (make demo): a network-less lab appliance, converged from this checkout.
# It grows as capabilities land (bundle, gateway, traffic, audit report). Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== 1. lab appliance (Docker, systemd as PID 1, no network)"
airgapctl lab up appliance
echo
echo "== 2. provision: ansible-playbook -i inventory/lab playbooks/site.yml"
# Only what changed (or failed) is shown: a second run prints no task at all.
if ! ANSIBLE_DISPLAY_OK_HOSTS=false ANSIBLE_DISPLAY_SKIPPED_HOSTS=false \
     ansible-playbook -i inventory/lab/hosts.yml playbooks/site.yml; then
  echo "demo: provisioning failed (output above)" >&2
  exit 1
fi
echo
echo "== 3. the appliance"
airgapctl lab status
echo
docker exec airgap-lab-appliance cat /etc/airgap/appliance.json
echo
echo "demo: done. airgapctl lab shell opens a shell in it; airgapctl lab down removes it."
