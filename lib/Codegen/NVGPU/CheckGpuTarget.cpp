//===- CheckGpuTarget.cpp - GPU target options the serializer can use -----===//

#include "ampc/Codegen/NVGPU/Passes.h"

#include "ampc/Codegen/NVGPU/GpuTarget.h"

using namespace mlir;

namespace ampc {
#define GEN_PASS_DEF_AMPCCHECKGPUTARGET
#include "ampc/Codegen/NVGPU/Passes.h.inc"
} // namespace ampc

namespace {
struct AmpcCheckGpuTargetPass
    : ampc::impl::AmpcCheckGpuTargetBase<AmpcCheckGpuTargetPass> {
  using Base::Base;
  void runOnOperation() override {
    auto bad = [&](const Twine &message) {
      getOperation().emitError() << "ampc-gpu-pipeline: " << message;
      signalPassFailure();
    };
    std::optional<unsigned> number = ampc::parseGpuChip(chip);
    if (!number || *number < 80)
      return bad("unsupported chip '" + chip +
                 "'; expected sm_80 or newer (sm_90 for H100/H200)");
    if (!ampc::parsePtxVersion(features))
      return bad("unsupported features '" + features +
                 "'; expected +ptx<version>, e.g. +ptx80");
    if (format != "isa" && format != "bin" && format != "fatbin")
      return bad("unknown format '" + format +
                 "'; expected isa (PTX), bin (cubin) or fatbin");
  }
};
} // namespace
