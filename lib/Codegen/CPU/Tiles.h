//===- Tiles.h - tile sizes shared by the CPU vectorizers -------*- C++ -*-===//

#ifndef AMPC_LIB_CODEGEN_CPU_TILES_H
#define AMPC_LIB_CODEGEN_CPU_TILES_H

#include <algorithm>
#include <cstdint>

namespace ampc::cpu {

/// The largest divisor of `dim` that is at most `preferred` (1 if no larger
/// one divides it): a tile that needs no remainder loop.
inline int64_t pickTile(int64_t dim, int64_t preferred) {
  for (int64_t t = std::min(dim, preferred); t > 1; --t)
    if (dim % t == 0)
      return t;
  return 1;
}

} // namespace ampc::cpu

#endif // AMPC_LIB_CODEGEN_CPU_TILES_H
