#!/bin/sh
# The site's offline side for the scenario, on the controller: a CA, the gateway's and the
# clients' certificates, a revoked and a foreign one, and the compiled policy.
set -eu
work=$1 airgapctl=$2 specs=$3 here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work/site"
# The credential values are canaries made here, so that no file of the project holds them:
# the verify stage searches the whole instance, the bundle's toolkit included.
canary=canary-$(python3 -c 'import secrets; print(secrets.token_hex(8))')
printf 'gateway_proxy_test_canary: %s\ngateway_proxy_test_canary_rotated: canary-%s\n' "$canary" "$(python3 -c 'import secrets; print(secrets.token_hex(8))')" > "$work/canaries.yml"
credential="Bearer $canary"
cp "$here/access.yml" "$work/site/access.yml"
mkdir -p "$work/site/specs" && cp -r "$specs" "$work/site/specs/"
export AIRGAPCTL_CA_PASSPHRASE=molecule-ca-passphrase
ca="--dir $work/ca"
"$airgapctl" specs compile --access "$work/site/access.yml" --out "$work/policy.json" --no-cache
"$airgapctl" ca init $ca --name "Molecule Site CA" --org Lab
"$airgapctl" ca issue server gateway --san 127.0.0.1 --san localhost $ca --out "$work/issued"
for client in frontdesk kiosk-1; do
  "$airgapctl" ca issue client "$client" --policy "$work/policy.json" $ca --out "$work/selftest"
done
# For the verify stage: a client the policy does not know, and a revoked copy of kiosk-1.
"$airgapctl" ca issue client stranger --subject "CN=stranger,OU=clinic,O=Lab" $ca --out "$work/probe"
"$airgapctl" ca issue client revoked --subject "CN=kiosk-1,OU=clinic,O=Lab" $ca --out "$work/probe"
"$airgapctl" ca revoke revoked $ca
# Same subject as frontdesk, signed by a CA the gateway does not trust.
"$airgapctl" ca init --dir "$work/other-ca" --name "Foreign CA" --org Lab
"$airgapctl" ca issue client eve --subject "CN=frontdesk,OU=clinic,O=Lab" --dir "$work/other-ca" --out "$work/foreign"
cp "$work/foreign/eve.crt" "$work/foreign/eve.key" "$work/probe/"
cp "$work/selftest/frontdesk.crt" "$work/selftest/frontdesk.key" "$work/selftest/kiosk-1.crt" "$work/selftest/kiosk-1.key" "$work/probe/"
# Self-test identities that are not who they say: the names of policy clients, the certificate of
# one the policy does not know.
mkdir -p "$work/impostors"
for client in frontdesk kiosk-1; do
  cp "$work/probe/stranger.crt" "$work/impostors/$client.crt"
  cp "$work/probe/stranger.key" "$work/impostors/$client.key"
done
# The upstream credential, sealed with Ansible Vault as an inventory would hold it.
vault="-f $work/credentials.yml --vault-password-file $here/vault-pass"
"$airgapctl" vault init -f "$work/credentials.yml"
printf '%s' "$credential" | "$airgapctl" vault set pets-api-token $vault
touch "$work/done-$(sha1sum "$0" | cut -d' ' -f1)"
