//===- CpuTarget.h - what a CPU's vector unit offers ------------*- C++ -*-===//
//
// The facts about a CPU that code generation sizes its tiles by: vector
// width, number of vector registers, and the dot-product instructions it
// has. Read from the host (the JIT) or from an LLVM CPU name and feature
// string (ahead-of-time objects); a CPU the tables do not know gets 128-bit
// vectors and 16 registers, which every x86-64 and AArch64 CPU has.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_CODEGEN_CPU_CPUTARGET_H
#define AMPC_CODEGEN_CPU_CPUTARGET_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <utility>

namespace ampc {

struct CpuTarget {
  /// Width of the widest vector registers the code may use, in bits.
  unsigned vectorBits = 128;
  /// How many of them there are.
  unsigned vectorRegisters = 16;
  /// AVX-512 BF16 dot products (vdpbf16ps).
  bool avx512bf16 = false;
  /// AMX tiles with bf16 tile multiplications (tdpbf16ps).
  bool amxBf16 = false;
  /// f32 <-> f16 conversion instructions (x86 F16C; AArch64 always).
  bool f16Conversions = false;
  /// f32 -> bf16 conversions (vcvtneps2bf16) with the classification that
  /// tells where they are exact (vfpclassps): AVX-512 BF16, VL and DQ.
  bool bf16Conversions = false;
  /// Quieting the NaN lanes of a vector before a cast's integer rounding
  /// is four instructions per vector without AVX-512's mask registers
  /// (compare, and, or, blend): x86 without AVX-512 tests for a NaN and
  /// quiets in a branch instead (ampc-cpu-nan-branches).
  bool nanBranches = false;

  /// This machine's CPU.
  static CpuTarget host();
  /// The CPU an LLVM CPU name ("native": the host's) and extra features
  /// ("+avx512f,-avx512bf16,...") describe, for `triple` (empty: the
  /// host's triple).
  static CpuTarget fromName(llvm::StringRef cpu, llvm::StringRef features,
                            llvm::StringRef triple = "");

  /// The register tile (rows, columns of f32) of a contraction's
  /// accumulators: four vectors of columns per row with 32 registers, two
  /// with 16, and as many rows as the registers hold next to one row of B
  /// and a broadcast of A, at most 8. AVX-512: 6 x 64; AVX2: 6 x 16;
  /// 128-bit vectors: 6 x 8 (6 x 16 with 32 registers, as on AArch64).
  /// Contractions with few columns take half as many (see
  /// ampc-vectorize-contractions).
  std::pair<int64_t, int64_t> registerTile() const;

  /// True if bf16 contractions should multiply bf16 pairs with AVX-512 BF16
  /// dot products rather than widen to f32 for fused multiply-adds: the
  /// target has them and no AMX. Where a CPU has AMX (Intel's Sapphire
  /// Rapids and later), vdpbf16ps issues at a fraction of the FMA rate
  /// (measured: 1.2 zmm dot products per ns against 4.2 FMAs, 77 against
  /// 135 GFLOP/s); on AMD's Zen 4 it doubles the f32 rate.
  bool prefersBf16Dot() const { return avx512bf16 && !amxBf16; }

  /// "avx2 (256-bit x 16)" and the like, for reports.
  std::string describe() const;
};

} // namespace ampc

#endif // AMPC_CODEGEN_CPU_CPUTARGET_H
