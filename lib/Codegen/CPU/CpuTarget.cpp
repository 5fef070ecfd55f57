//===- CpuTarget.cpp - what a CPU's vector unit offers --------------------===//

#include "ampc/Codegen/CPU/CpuTarget.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/TargetParser/X86TargetParser.h"
#include <algorithm>

using ampc::CpuTarget;

namespace {

/// The target from a set of enabled LLVM feature names (no '+').
CpuTarget fromFeatures(const llvm::StringSet<> &enabled, bool aarch64) {
  CpuTarget target;
  if (aarch64) {
    target.vectorRegisters = 32; // NEON: v0-v31, 128-bit
    target.f16Conversions = true;
    return target;
  }
  if (enabled.contains("avx512f")) {
    target.vectorBits = 512;
    target.vectorRegisters = 32;
  } else if (enabled.contains("avx")) {
    target.vectorBits = 256;
  }
  target.avx512bf16 = enabled.contains("avx512bf16");
  target.amxBf16 = enabled.contains("amx-bf16") && enabled.contains("amx-tile");
  target.f16Conversions = enabled.contains("f16c");
  target.bf16Conversions = target.avx512bf16 && enabled.contains("avx512vl") &&
                           enabled.contains("avx512dq");
  target.nanBranches = !enabled.contains("avx512f");
  return target;
}

/// Applies "+a,-b" to `enabled`. On x86, with the features LLVM implies:
/// "-avx512f" also turns off avx512bw, avx512bf16 and every other feature
/// that needs it, as LLVM's code generator does (leaving avx512bf16 on
/// chose AVX-512 BF16 dot products that LLVM then could not select, and it
/// aborted), and "+avx512bf16" turns on what it needs.
void applyFeatures(llvm::StringRef features, llvm::StringSet<> &enabled,
                   bool x86) {
  llvm::StringMap<bool> state;
  for (const auto &feature : enabled)
    state[feature.getKey()] = true;
  llvm::SmallVector<llvm::StringRef> items;
  features.split(items, ',', -1, false);
  for (llvm::StringRef item : items) {
    item = item.trim();
    bool on = item.consume_front("+");
    if (!on && !item.consume_front("-"))
      continue;
    state[item] = on;
    if (x86)
      llvm::X86::updateImpliedFeatures(item, on, state);
  }
  enabled.clear();
  for (const auto &feature : state)
    if (feature.getValue())
      enabled.insert(feature.getKey());
}

} // namespace

CpuTarget CpuTarget::host() { return fromName("native", ""); }

CpuTarget CpuTarget::fromName(llvm::StringRef cpu, llvm::StringRef features,
                              llvm::StringRef triple) {
  llvm::Triple parsed(triple.empty() ? llvm::sys::getDefaultTargetTriple()
                                     : triple.str());
  llvm::StringSet<> enabled;
  if (cpu == "native") {
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      if (feature.second)
        enabled.insert(feature.first());
  } else if (parsed.isX86()) {
    llvm::SmallVector<llvm::StringRef> implied;
    llvm::X86::getFeaturesForCPU(cpu, implied, /*NeedPlus=*/false);
    for (llvm::StringRef feature : implied)
      enabled.insert(feature);
  }
  applyFeatures(features, enabled, parsed.isX86());
  return fromFeatures(enabled, parsed.isAArch64());
}

std::pair<int64_t, int64_t> CpuTarget::registerTile() const {
  // Four vectors of columns where 32 registers hold their 24 accumulators
  // next to B's four vectors and a broadcast (AVX-512: 4 loads and 6
  // broadcasts per 24 multiply-adds); two with 16 registers.
  int64_t lanes = vectorBits / 32;
  int64_t columnVectors = vectorRegisters >= 32 ? 4 : 2;
  int64_t rows = (int64_t(vectorRegisters) - columnVectors - 1) / columnVectors;
  return {std::clamp<int64_t>(rows, 1, 8), columnVectors * lanes};
}

std::string CpuTarget::describe() const {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << vectorBits << "-bit x " << vectorRegisters << " vector registers";
  if (avx512bf16)
    os << ", avx512bf16";
  if (amxBf16)
    os << ", amx-bf16";
  return text;
}
