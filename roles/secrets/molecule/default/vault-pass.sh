#!/bin/sh
# The scenario's vault password for vault id airgap, as a site's password script would print it:
# random, made on first use for this instance only, readable by the controller's user alone.
set -eu
pass="${MOLECULE_EPHEMERAL_DIRECTORY:?molecule sets MOLECULE_EPHEMERAL_DIRECTORY}/vault-pass"
if [ ! -s "$pass" ]; then
  mkdir -p "$(dirname "$pass")"
  (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > "$pass.tmp" && mv "$pass.tmp" "$pass")
fi
cat "$pass"
