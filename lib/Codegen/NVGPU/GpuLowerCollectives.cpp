//===- GpuLowerCollectives.cpp - amp collectives as NCCL runtime calls ----===//
//
// ampc-gpu-lower-collectives: the bufferized amp.all_reduce,
// amp.all_reduce_start and amp.all_reduce_wait as host calls of the
// runtime's NCCL collectives (ampc_rt/Cuda.h).
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/Common/Passes.h"
#include "ampc/Codegen/NVGPU/Passes.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCGPULOWERCOLLECTIVES
#include "ampc/Codegen/NVGPU/Passes.h.inc"
} // namespace ampc

namespace {

struct AmpcGpuLowerCollectivesPass
    : ampc::impl::AmpcGpuLowerCollectivesBase<AmpcGpuLowerCollectivesPass> {
  void runOnOperation() override {
    ampc::CollectiveEntryPoints entries{"ampc_rt_cuda_all_reduce_f32",
                                        "ampc_rt_cuda_all_reduce_start_f32",
                                        "ampc_rt_cuda_all_reduce_wait"};
    if (failed(ampc::lowerCollectivesToCalls(getOperation(), entries,
                                             getArgument())))
      signalPassFailure();
  }
};

} // namespace
