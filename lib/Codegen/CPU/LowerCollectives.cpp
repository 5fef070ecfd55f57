//===- LowerCollectives.cpp - amp collectives as CPU runtime calls --------===//
//
// ampc-cpu-lower-collectives: the bufferized amp.all_reduce,
// amp.all_reduce_start and amp.all_reduce_wait as calls of the runtime's
// MPI collectives (ampc_rt/Collectives.h).
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"
#include "ampc/Codegen/Common/Passes.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCCPULOWERCOLLECTIVES
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

namespace {

struct AmpcCpuLowerCollectivesPass
    : ampc::impl::AmpcCpuLowerCollectivesBase<AmpcCpuLowerCollectivesPass> {
  void runOnOperation() override {
    ampc::CollectiveEntryPoints entries{"ampc_rt_all_reduce_f32",
                                        "ampc_rt_all_reduce_start_f32",
                                        "ampc_rt_all_reduce_wait"};
    if (failed(ampc::lowerCollectivesToCalls(getOperation(), entries,
                                             getArgument())))
      signalPassFailure();
  }
};

} // namespace
