#!/usr/bin/env bash
# Installs the peer the benchmarks compare against: Debian's PyTorch (CPU)
# with OpenBLAS (without it torch falls back to the reference BLAS and runs
# about 20x slower). Idempotent; separate from setup.sh because only
# `make bench` needs it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
install_missing python3-torch python3-torchvision python3-numpy libopenblas0
