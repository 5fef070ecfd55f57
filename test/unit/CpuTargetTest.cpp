//===- CpuTargetTest.cpp - register tiles sized for each CPU --------------===//
//
// The register tile of contractions follows the target's vector registers:
// AVX-512 gets 6 x 64 (24 zmm accumulators, 4 vectors of B, a broadcast),
// AVX2 6 x 16 (12 ymm accumulators out of 16, no spills), 128-bit vectors
// 6 x 8, AArch64's 32 NEON registers 6 x 16. Named CPUs take their
// features from LLVM's tables; explicit features override them.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/CpuTarget.h"

#include "gtest/gtest.h"

using ampc::CpuTarget;

namespace {

using Tile = std::pair<int64_t, int64_t>;

TEST(CpuTargetTest, NamedX86CpusGetTheirVectorUnits) {
  const char *triple = "x86_64-unknown-linux-gnu";
  CpuTarget zen3 = CpuTarget::fromName("znver3", "", triple);
  EXPECT_EQ(zen3.vectorBits, 256u);
  EXPECT_EQ(zen3.vectorRegisters, 16u);
  EXPECT_FALSE(zen3.avx512bf16);
  EXPECT_EQ(zen3.registerTile(), Tile(6, 16));

  CpuTarget zen4 = CpuTarget::fromName("znver4", "", triple);
  EXPECT_EQ(zen4.vectorBits, 512u);
  EXPECT_EQ(zen4.vectorRegisters, 32u);
  EXPECT_TRUE(zen4.avx512bf16);
  EXPECT_EQ(zen4.registerTile(), Tile(6, 64));

  // Zen 4 multiplies bf16 with dot products; Sapphire Rapids has them too,
  // at a fraction of its FMA rate, and AMX tiles instead.
  EXPECT_FALSE(zen4.amxBf16);
  EXPECT_TRUE(zen4.prefersBf16Dot());
  CpuTarget spr = CpuTarget::fromName("sapphirerapids", "", triple);
  EXPECT_TRUE(spr.avx512bf16);
  EXPECT_TRUE(spr.amxBf16);
  EXPECT_FALSE(spr.prefersBf16Dot());
  EXPECT_EQ(spr.registerTile(), Tile(6, 64));
  EXPECT_TRUE(CpuTarget::fromName("sapphirerapids", "-amx-bf16", triple)
                  .prefersBf16Dot());

  CpuTarget skx = CpuTarget::fromName("skylake-avx512", "", triple);
  EXPECT_EQ(skx.registerTile(), Tile(6, 64));
  EXPECT_FALSE(skx.avx512bf16);

  CpuTarget baseline = CpuTarget::fromName("x86-64", "", triple);
  EXPECT_EQ(baseline.vectorBits, 128u);
  EXPECT_EQ(baseline.registerTile(), Tile(6, 8));

  // F16C: from Ivy Bridge (and every AVX2 CPU) on, not in baseline x86-64.
  EXPECT_TRUE(zen3.f16Conversions);
  EXPECT_TRUE(CpuTarget::fromName("haswell", "", triple).f16Conversions);
  EXPECT_FALSE(baseline.f16Conversions);
  EXPECT_FALSE(CpuTarget::fromName("znver3", "-f16c", triple).f16Conversions);

  // vcvtneps2bf16 with vfpclassps to find where it is exact: AVX-512 BF16
  // and DQ (and VL for 8 lanes).
  EXPECT_TRUE(zen4.bf16Conversions);
  EXPECT_TRUE(spr.bf16Conversions);
  EXPECT_FALSE(skx.bf16Conversions);
  EXPECT_FALSE(zen3.bf16Conversions);
  EXPECT_FALSE(
      CpuTarget::fromName("znver4", "-avx512dq", triple).bf16Conversions);
  EXPECT_FALSE(
      CpuTarget::fromName("znver4", "-avx512f", triple).bf16Conversions);

  // NaN quieting in a branch: x86 without AVX-512's mask registers.
  EXPECT_TRUE(zen3.nanBranches);
  EXPECT_TRUE(baseline.nanBranches);
  EXPECT_TRUE(CpuTarget::fromName("znver4", "-avx512f", triple).nanBranches);
  EXPECT_FALSE(zen4.nanBranches);
  EXPECT_FALSE(skx.nanBranches);
  EXPECT_FALSE(CpuTarget::fromName("generic", "", "aarch64-unknown-linux-gnu")
                   .nanBranches);
}

TEST(CpuTargetTest, FeaturesTakeWhatLlvmImpliesWithThem) {
  // Turning a feature off turns off every feature that needs it, as LLVM's
  // code generator does: Zen 4 without AVX-512 has no AVX-512 BF16 dot
  // products (they were still chosen, and LLVM aborted selecting them),
  // and without AVX no AVX2, FMA or F16C either. Turning one on brings what
  // it needs: AVX-512 BF16 on Haswell means AVX-512.
  const char *triple = "x86_64-unknown-linux-gnu";
  CpuTarget zen4 = CpuTarget::fromName("znver4", "-avx512f", triple);
  EXPECT_EQ(zen4.vectorBits, 256u);
  EXPECT_EQ(zen4.vectorRegisters, 16u);
  EXPECT_FALSE(zen4.avx512bf16);
  EXPECT_FALSE(zen4.prefersBf16Dot());
  EXPECT_EQ(zen4.registerTile(), Tile(6, 16));
  CpuTarget sse = CpuTarget::fromName("znver4", "-avx", triple);
  EXPECT_EQ(sse.vectorBits, 128u);
  EXPECT_FALSE(sse.avx512bf16);
  EXPECT_FALSE(sse.f16Conversions);
  CpuTarget spr = CpuTarget::fromName("sapphirerapids", "-avx512bw", triple);
  EXPECT_EQ(spr.vectorBits, 512u);
  EXPECT_FALSE(spr.avx512bf16);
  CpuTarget haswell = CpuTarget::fromName("haswell", "+avx512bf16", triple);
  EXPECT_EQ(haswell.vectorBits, 512u);
  EXPECT_TRUE(haswell.avx512bf16);
}

TEST(CpuTargetTest, ExplicitFeaturesOverrideTheCpu) {
  const char *triple = "x86_64-unknown-linux-gnu";
  EXPECT_EQ(CpuTarget::fromName("znver3", "+avx512f", triple).vectorBits, 512u);
  CpuTarget noAvx512 =
      CpuTarget::fromName("skylake-avx512", "-avx512f", triple);
  EXPECT_EQ(noAvx512.vectorBits, 256u);
  EXPECT_EQ(noAvx512.registerTile(), Tile(6, 16));
  EXPECT_TRUE(
      CpuTarget::fromName("x86-64", "+avx512f,+avx512bf16", triple).avx512bf16);
  EXPECT_FALSE(CpuTarget::fromName("znver4", "-avx512bf16", triple).avx512bf16);
}

TEST(CpuTargetTest, UnknownCpusAndAArch64GetSafeDefaults) {
  CpuTarget unknown =
      CpuTarget::fromName("no-such-cpu", "", "x86_64-unknown-linux-gnu");
  EXPECT_EQ(unknown.vectorBits, 128u);
  EXPECT_EQ(unknown.registerTile(), Tile(6, 8));
  CpuTarget neon =
      CpuTarget::fromName("generic", "", "aarch64-unknown-linux-gnu");
  EXPECT_EQ(neon.vectorBits, 128u);
  EXPECT_EQ(neon.vectorRegisters, 32u);
  EXPECT_EQ(neon.registerTile(), Tile(6, 16));
  EXPECT_TRUE(neon.f16Conversions);
  EXPECT_FALSE(unknown.f16Conversions);
}

TEST(CpuTargetTest, TheHostTileNeverNeedsMoreRegistersThanItHas) {
  CpuTarget host = CpuTarget::host();
  auto [rows, cols] = host.registerTile();
  int64_t lanes = host.vectorBits / 32;
  // Accumulators, one row of B, one broadcast of A.
  EXPECT_LE(rows * (cols / lanes) + cols / lanes + 1,
            int64_t(host.vectorRegisters))
      << host.describe();
}

} // namespace
