#!/usr/bin/env bash
# Installs the system packages Tessera builds against. Idempotent and quiet: does nothing when
# everything is present.
set -euo pipefail
packages=(libopenblas-dev libpng-dev libzstd-dev zlib1g-dev libopenmpi-dev openmpi-bin pkg-config libdnnl-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
