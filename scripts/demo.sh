#!/usr/bin/env bash
# The demo (make demo): cut a signed offline bundle, start a network-less lab appliance,
# provision it as a gateway from the bundle alone with airgapctl provision, send client traffic
# through it (a scanner, a client outside its role and a revoked certificate among them), and
# audit the stored log. Safe to rerun: an unchanged bundle and site are reused, and a second
# provisioning changes nothing.
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

echo "== 3. the lab site's offline side: policy, CA and certificates, the sealed upstream credential"
scripts/demo_site.sh
echo

echo "== 4. the lab's petstore API on the appliance (the upstream the gateway protects, loopback only)"
# Not part of the product: a site's gateways protect its own APIs.
docker exec airgap-lab-appliance mkdir -p /opt/airgap-lab
for file in petstore_upstream.py traffic.py airgap-lab-petstore.service; do
  docker cp -q "examples/lab/appliance/$file" "airgap-lab-appliance:/opt/airgap-lab/$file"
done
docker exec airgap-lab-appliance sh -euc '
  chmod 0644 /opt/airgap-lab/*
  ln -sf /opt/airgap-lab/airgap-lab-petstore.service /etc/systemd/system/airgap-lab-petstore.service
  systemctl daemon-reload && systemctl enable -q airgap-lab-petstore.service && systemctl restart airgap-lab-petstore.service'
echo

echo "== 5. provision from the bundle: airgapctl provision -i inventory/lab"
# Preflight first (bundle, inventory, policy, vault, certificates, reach), then the site playbook.
# The demo's controller keeps its runs (and the record of the bundles it deployed) with the demo.
if ! airgapctl provision -i inventory/lab --vault-password-file .cache/demo/vault-pass --runs-dir "$demo/runs"; then
  echo "demo: provisioning failed (output above; its record is under $demo/runs)" >&2
  exit 1
fi
echo

echo "== 6. the appliance"
airgapctl lab status
docker exec airgap-lab-appliance sh -c 'nginx -v 2>&1; systemctl is-active nginx airgap-rsyslog airgap-events-receiver | paste -sd" "'
docker exec airgap-lab-appliance tail -n 1 /var/lib/airgap/ledger.jsonl
echo

seconds=${DEMO_TRAFFIC_SECONDS:-100}
echo "== 7. ${seconds} s of client traffic through the gateway, inside the appliance"
docker exec airgap-lab-appliance sh -c 'rm -rf /root/airgap-demo-clients && mkdir -m 0700 /root/airgap-demo-clients'
docker cp -q .cache/demo/site/clients/. airgap-lab-appliance:/root/airgap-demo-clients/
docker exec airgap-lab-appliance python3 /opt/airgap-lab/traffic.py --certs /root/airgap-demo-clients --seconds "$seconds"
echo

echo "== 8. the scheduled audit, run now: the stored gateway log since its last run"
docker exec airgap-lab-appliance sh -euc '
  # The access log reaches the store within a second or two (NGINX flushes every second).
  before=-1
  while now=$(cat /var/log/airgap/store/gateway/*.log 2>/dev/null | wc -l) && [ "$now" != "$before" ]; do
    before=$now; sleep 2
  done
  systemctl start airgap-audit.service
  systemctl list-timers --no-pager airgap-audit.timer | head -n 2'
rm -rf "$demo/report" && mkdir -p "$demo/report"
for ext in html md json; do
  docker cp -q -L "airgap-lab-appliance:/var/lib/airgap/reports/latest.$ext" "$demo/report/latest.$ext"
done
python3 - "$demo/report/latest.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
findings = report.get("findings", [])
print(f"{report['inputs']['lines_used']} log lines audited, {len(findings)} findings:")
for finding in findings:
    print(f"  {finding['severity']:<8} {finding['detector']:<16} {finding['message']}")
PY
echo "report: $demo/report/latest.html (one self-contained file), latest.md, latest.json"
echo
echo "demo: done in ${SECONDS} s. airgapctl lab shell opens a shell in it; airgapctl lab down removes it."
