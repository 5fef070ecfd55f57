//===- GpuTarget.h - reading the GPU target options -------------*- C++ -*-===//
//
// The chip ("sm_90") and PTX features ("+ptx80") strings of ampc-gpu-pipeline
// as numbers, for the passes that check them and the pipeline that chooses
// instructions by them.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_CODEGEN_NVGPU_GPUTARGET_H
#define AMPC_CODEGEN_NVGPU_GPUTARGET_H

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"

#include <optional>

namespace ampc {

/// 90 for "sm_90" (a suffix such as "sm_90a" is allowed); nullopt otherwise.
inline std::optional<unsigned> parseGpuChip(llvm::StringRef chip) {
  unsigned number = 0;
  if (!chip.consume_front("sm_") ||
      chip.take_while(llvm::isDigit).getAsInteger(10, number))
    return std::nullopt;
  return number;
}

/// 80 for "+ptx80"; nullopt otherwise.
inline std::optional<unsigned> parsePtxVersion(llvm::StringRef features) {
  unsigned version = 0;
  if (!features.consume_front("+ptx") || features.getAsInteger(10, version))
    return std::nullopt;
  return version;
}

} // namespace ampc

#endif // AMPC_CODEGEN_NVGPU_GPUTARGET_H
