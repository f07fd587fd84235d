#!/usr/bin/env bash
# The demo (make demo): cut a signed offline bundle, start a network-less lab appliance,
# provision it from the bundle alone, show the result, and audit a week of gateway logs there.
# Safe to rerun: an unchanged bundle is reused, and a second provisioning changes nothing.
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

echo "== 5. audit on the appliance, with the airgapctl the bundle installed in /opt/airgap"
# This version does not deploy the gateway yet, so a week of its access log is simulated on the
# appliance (5 quiet days to learn the baseline from, 2 with injected incidents); the report is
# what the timer writes each morning.
airgapctl specs compile --access examples/lab/access.yml --out "$demo/policy.json"
docker cp "$demo/policy.json" airgap-lab-appliance:/etc/airgap/policy.json
docker exec airgap-lab-appliance sh -euc '
  chown root:airgap /etc/airgap/policy.json && chmod 0640 /etc/airgap/policy.json
  rm -rf /var/tmp/airgap-demo && mkdir /var/tmp/airgap-demo && chmod 0755 /var/tmp/airgap-demo
  /opt/airgap/bin/airgapctl audit simulate --policy /etc/airgap/policy.json --out /var/tmp/airgap-demo \
    --days 7 --train-days 5 --requests-per-day 20000 >/dev/null
  chmod -R a+rX /var/tmp/airgap-demo
  # A fresh start: a demo run learns the simulated week anew and reads it whole.
  rm -f /var/lib/airgap/audit/baseline.json /var/lib/airgap/audit/reading.json
  set -- /var/tmp/airgap-demo/access-*.log
  runuser -u airgap-audit -- /opt/airgap/bin/airgapctl audit run --quiet --policy /etc/airgap/policy.json \
    --train "$1" --train "$2" --train "$3" --train "$4" --train "$5" --logs "$6" "$7" \
    --state /var/lib/airgap/audit --report-dir /var/lib/airgap/reports --format json,html,md --fail-on none
  systemctl list-timers --no-pager airgap-audit.timer | head -n 2'
rm -rf "$demo/report" && mkdir -p "$demo/report"
for ext in html md json; do
  docker cp -L "airgap-lab-appliance:/var/lib/airgap/reports/latest.$ext" "$demo/report/latest.$ext"
done
echo "report: $demo/report/latest.html (one self-contained file), latest.md, latest.json"
echo
echo "demo: done. airgapctl lab shell opens a shell in it; airgapctl lab down removes it."
