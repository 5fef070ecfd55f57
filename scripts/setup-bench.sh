#!/usr/bin/env bash
# Installs the peer the benchmarks compare against: Debian's PyTorch (CPU)
# with OpenBLAS (without it torch falls back to the reference BLAS and runs
# about 20x slower). Idempotent; separate from setup.sh because only
# `make bench` needs it.
set -euo pipefail
PACKAGES=(python3-torch python3-numpy libopenblas0)
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "ampc setup-bench: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
