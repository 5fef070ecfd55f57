#!/usr/bin/env bash
# Installs AMPC from BUILD_DIR into a fresh prefix, then uses it as another
# project would: examples/host configured with find_package(AMPC) against
# that prefix, built, run (trains, evaluates, saves); an installed tool runs;
# the installed Python module trains on Fashion-MNIST
# (examples/python/train_fmnist.py); a C program links an ahead-of-time
# object with the installed libampc_rt.
#
# Usage: host-example.sh SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
SRC="$1" BUILD="$2" WORK="$3"
rm -rf "$WORK" && mkdir -p "$WORK/out"
PREFIX="$WORK/prefix"

cmake --install "$BUILD" --prefix "$PREFIX" > "$WORK/install.log"
for f in lib/cmake/AMPC/AMPCConfig.cmake lib/cmake/AMPC/AMPCTargets.cmake \
         include/ampc/JIT/Trainer.h include/ampc_rt/ampc_rt.h \
         lib/libAMPCJIT.a lib/libampc_rt.so bin/ampc-opt bin/ampc-train \
         share/ampc/models/mlp.mlir; do
  [ -e "$PREFIX/$f" ] || { echo "not installed: $f"; exit 1; }
done
ls "$PREFIX"/lib/python3/dist-packages/ampc.*.so > /dev/null \
  || { echo "not installed: the ampc Python module"; exit 1; }

# The example, as a separate project (the build's compiler, so that a
# C++ ABI mismatch cannot hide here).
compiler() {
  sed -n "s/^set(CMAKE_$1_COMPILER \"\(.*\)\")/\1/p" \
    "$BUILD"/CMakeFiles/*/CMake"$1"Compiler.cmake | head -1
}
CXX_COMPILER=$(compiler CXX)
cmake -S "$SRC/examples/host" -B "$WORK/host" -G Ninja \
  -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_CXX_COMPILER="$CXX_COMPILER" \
  -DCMAKE_BUILD_TYPE=Release > "$WORK/configure.log"
cmake --build "$WORK/host" > "$WORK/build.log"
"$WORK/host/ampc-host-example" "" bf16 "$WORK/out" > "$WORK/run.log"
cat "$WORK/run.log"
grep -q "^held-out accuracy: .* % of 512$" "$WORK/run.log"
for f in fc1.weight.npy fc1.bias.npy fc2.weight.npy fc2.bias.npy model.ckpt \
         model.npz; do
  [ -s "$WORK/out/$f" ] || { echo "the example did not save $f"; exit 1; }
done
"$PREFIX/bin/ampc-run" "$PREFIX/share/ampc/models/mlp.mlir" --list \
  | grep -q "forward"

# The Python module from the prefix: the README's Fashion-MNIST loop, short.
PYTHONPATH="$PREFIX/lib/python3/dist-packages" /usr/bin/python3 \
  "$SRC/examples/python/train_fmnist.py" 150 bf16 \
  "$PREFIX/share/ampc/models/mlp.mlir" > "$WORK/python.log"
cat "$WORK/python.log"
accuracy=$(sed -n 's/^test accuracy: \([0-9.]*\) % .*/\1/p' "$WORK/python.log")
[ -n "$accuracy" ] && /usr/bin/python3 -c "import sys; sys.exit(float('$accuracy') < 70)" \
  || { echo "the Python example reached ${accuracy:-no} % (< 70 %)"; exit 1; }

# An object from the installed ampc-compile, with the runtime's allocator,
# in a C program that links only -lampc_rt for it.
cat > "$WORK/driver.c" <<'C'
#include <stdio.h>
#include "ampc_rt/ampc_rt.h"
#include "mm.h"

int main(void) {
  const int64_t sa[2] = {2, 3}, sb[2] = {3, 2}, sc[2] = {2, 2};
  ampc_tensor *a = ampc_tensor_create(AMPC_F32, 2, sa, NULL, 0);
  ampc_tensor *b = ampc_tensor_create(AMPC_F32, 2, sb, NULL, 0);
  ampc_tensor *c = ampc_tensor_create(AMPC_F32, 2, sc, NULL, 0);
  float *pa = ampc_tensor_data(a), *pb = ampc_tensor_data(b);
  for (int i = 0; i < 6; ++i) {
    pa[i] = (float)(i + 1);
    pb[i] = (float)(i % 2);
  }
  AMPC_MemRef2D A, B, C;
  ampc_tensor_describe(a, &A);
  ampc_tensor_describe(b, &B);
  ampc_tensor_describe(c, &C);
  _mlir_ciface_mm(&A, &B, &C);
  const float *pc = ampc_tensor_data(c);
  printf("%g %g %g %g\n", pc[0], pc[1], pc[2], pc[3]);
  return 0;
}
C
"$PREFIX/bin/ampc-compile" "$SRC/test/lib/mm.mlir" --policy=bf16 --runtime-allocator \
  --threads=1 -o "$WORK/mm.o" --header="$WORK/mm.h"
grep -q -- "-lampc_rt" "$WORK/mm.h"
CC_COMPILER=$(compiler C)
"$CC_COMPILER" -I"$PREFIX/include" -I"$WORK" "$WORK/driver.c" "$WORK/mm.o" \
  -o "$WORK/driver" -L"$PREFIX/lib" -lampc_rt -Wl,-rpath,"$PREFIX/lib"
# [[1 2 3] [4 5 6]] x [[0 1] [0 1] [0 1]] = [[0 6] [0 15]]
[ "$("$WORK/driver")" = "0 6 0 15" ] || { echo "wrong AOT result"; exit 1; }
echo "install: ok"
