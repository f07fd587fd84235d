#!/usr/bin/env bash
# Host set-up shared by `make demo` and `make test`: Debian packages, then .venv with the
# pinned Python set. Safe to run again: it installs only what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# docker.io and debootstrap run the lab; python3-venv makes .venv on Debian's Python;
# nginx (with its JavaScript module) is the gateway the integration tests render and run on
# loopback, njs the same JavaScript engine on the command line (for the compiled request checks'
# tests); apt-utils (apt-ftparchive) publishes the bundle's local APT repository; chromium opens
# the audit's HTML report headless, with its network features off, in the report's browser test.
APT_PACKAGES=(docker.io debootstrap python3-venv nginx libnginx-mod-http-js njs apt-utils git make ca-certificates chromium)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}; run as root or apt-get install them" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  # Tests run their own nginx from rendered prefix directories; the packaged site on :80 is not wanted.
  if [[ " ${missing[*]} " == *" nginx "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now nginx.service >&2 || true
  fi
fi

# Reinstall only when the declared or pinned set changed since the last set-up.
stamp=.venv/.airgapctl-setup
wanted=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "setup: installing airgapctl and its pinned dependencies into .venv" >&2
  python3 -m venv .venv
  .venv/bin/python -m pip install -q -c constraints.txt -e '.[dev]' >&2
  echo "$wanted" > "$stamp"
fi
