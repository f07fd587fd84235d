#!/usr/bin/env bash
# The lab site's offline side, made once on this machine for `make demo`: the compiled policy, a
# CA with the gateway's certificate, every lab client's certificate (and a revoked one), the
# self-test identities, and the upstream credential sealed into the lab inventory's vault.yml.
# Kept across runs (a second run changes nothing); only a CRL running out is issued anew.
set -euo pipefail
cd "$(dirname "$0")/.."
site=.cache/demo/site vault_file=inventory/lab/group_vars/gateways/vault.yml
airgapctl specs compile --access examples/lab/access.yml --out "$site/policy.json.new" >/dev/null
if ! cmp -s "$site/policy.json.new" "$site/policy.json" 2>/dev/null; then
  mv "$site/policy.json.new" "$site/policy.json"
else
  rm -f "$site/policy.json.new"
fi
umask 077
if [ ! -f "$site/ca/ca.crt" ]; then
  rm -rf "$site/ca" "$site/issued" "$site/clients" "$site/selftest"
  python3 -c 'import secrets; print(secrets.token_urlsafe(24))' > "$site/ca-passphrase"
  ca=(--dir "$site/ca" --passphrase-file "$site/ca-passphrase")
  airgapctl ca init "${ca[@]}" --name "Lab Site CA" --org Lab >/dev/null
  airgapctl ca issue server gateway --san 127.0.0.1 --san localhost --san appliance "${ca[@]}" --out "$site/issued" >/dev/null
  for client in frontdesk kiosk-1 kiosk-2 billing vetapp ops; do
    airgapctl ca issue client "$client" --policy "$site/policy.json" "${ca[@]}" --out "$site/clients" >/dev/null
  done
  # kiosk-2's previous certificate, revoked when the kiosk was replaced; the old device still calls.
  airgapctl ca issue client kiosk-2-revoked --subject "CN=kiosk-2,OU=clinic,O=Lab" "${ca[@]}" --out "$site/clients" >/dev/null
  airgapctl ca revoke kiosk-2-revoked "${ca[@]}" >/dev/null
  cp "$site/ca/ca.crt" "$site/clients/ca.crt"
  # The gateway's self-test acts as two of the clients.
  mkdir -p "$site/selftest"
  cp "$site/clients/frontdesk.crt" "$site/clients/frontdesk.key" "$site/clients/kiosk-1.crt" "$site/clients/kiosk-1.key" "$site/selftest/"
fi
if ! airgapctl ca check-crl "$site/ca/crl.pem" --ca-cert "$site/ca/ca.crt" --min-valid 14 >/dev/null 2>&1; then
  airgapctl ca crl --dir "$site/ca" --passphrase-file "$site/ca-passphrase" >/dev/null
fi
# The upstream credential: a random token, sealed with the lab's own vault password.
if [ ! -f .cache/demo/vault-pass ]; then
  python3 -c 'import secrets; print(secrets.token_urlsafe(24))' > .cache/demo/vault-pass
  rm -f "$vault_file"
fi
if [ ! -f "$vault_file" ]; then
  vault=(-f "$vault_file" --vault-password-file .cache/demo/vault-pass)
  airgapctl vault init -f "$vault_file" >/dev/null
  python3 -c 'import secrets; print("Bearer lab-" + secrets.token_hex(16), end="")' | airgapctl vault set pets-api-token "${vault[@]}" >/dev/null
fi
echo "site: $site (policy, CA, certificates), credential sealed in $vault_file"
