#!/usr/bin/env bash
# Installs, by Debian package name, everything AMPC's build, tests and demo need.
# Idempotent: when every package is already present it returns in well under a
# second without touching the network.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
install_missing \
  cmake ninja-build ccache clang-22 lld-22 lld make \
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools \
  libclang-rt-22-dev libomp-22-dev libgtest-dev libbenchmark-dev zlib1g-dev python3 \
  python3-numpy python3-dev pybind11-dev dataset-fashion-mnist \
  libonnx-dev libprotobuf-dev python3-onnx libopenmpi-dev openmpi-bin
# (LLVM/MLIR 22: all four packages are needed, or CMake's imported targets
# dangle. python3 runs the lit tests' .npy helper, numpy reads the .npz
# archives ampc-train writes; python3-dev and pybind11-dev build the ampc
# Python module; the dataset is for the training demo; libclang-rt-22-dev
# holds the sanitizer and libFuzzer runtimes of the sanitizer and fuzz stages.)
