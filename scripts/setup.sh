#!/usr/bin/env bash
# Installs, by Debian package name, everything AMPC's build, tests and demo need.
# Idempotent: when every package is already present it returns in well under a
# second without touching the network.
set -euo pipefail

PACKAGES=(
  # Toolchain and build.
  cmake ninja-build ccache clang-22 lld-22 lld make
  # LLVM/MLIR 22: all four are needed, or CMake's imported targets dangle.
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  # Test and benchmark frameworks.
  libgtest-dev libbenchmark-dev python3
  # Real data for the training demo.
  dataset-fashion-mnist
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "ampc setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
