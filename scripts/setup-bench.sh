#!/usr/bin/env bash
# Installs the peers the benchmarks compare against: Debian's PyTorch (CPU)
# with OpenBLAS (without it torch falls back to the reference BLAS and runs
# about 20x slower). Idempotent; separate from setup.sh because only
# `make bench` needs it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
install_missing python3-torch python3-torchvision python3-numpy libopenblas0
# bench/micro_kernels.py: libxsmm's micro-kernels and OpenBLAS called from C.
install_missing libxsmm-dev libopenblas-dev pkg-config
