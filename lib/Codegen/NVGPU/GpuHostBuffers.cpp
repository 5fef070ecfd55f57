//===- GpuHostBuffers.cpp - host buffers that kernels can reach -----------===//

#include "ampc/Codegen/NVGPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCGPUHOSTBUFFERS
#include "ampc/Codegen/NVGPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {
struct AmpcGpuHostBuffersPass
    : ampc::impl::AmpcGpuHostBuffersBase<AmpcGpuHostBuffersPass> {
  void runOnOperation() override {
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      if (fn.isExternal())
        continue;
      SmallVector<memref::AllocOp> allocs;
      SmallVector<memref::DeallocOp> deallocs;
      SmallVector<memref::GetGlobalOp> globals;
      fn.walk([&](Operation *op) {
        if (auto alloc = dyn_cast<memref::AllocOp>(op))
          allocs.push_back(alloc);
        else if (auto dealloc = dyn_cast<memref::DeallocOp>(op))
          deallocs.push_back(dealloc);
        else if (auto global = dyn_cast<memref::GetGlobalOp>(op))
          globals.push_back(global);
      });
      auto sharedAlloc = [](OpBuilder &b, Location loc, MemRefType type,
                            ValueRange dynamicSizes) {
        return gpu::AllocOp::create(b, loc, type, /*asyncToken=*/Type(),
                                    /*asyncDependencies=*/ValueRange(),
                                    dynamicSizes, /*symbolOperands=*/
                                    ValueRange(), /*hostShared=*/true)
            .getMemref();
      };
      for (memref::AllocOp alloc : allocs) {
        OpBuilder b(alloc);
        Value shared = sharedAlloc(b, alloc.getLoc(), alloc.getType(),
                                   alloc.getDynamicSizes());
        alloc.replaceAllUsesWith(shared);
        alloc.erase();
      }
      // The runtime lowering of gpu.dealloc is the asynchronous form: free
      // on a stream of its own and wait for it.
      auto free = [](OpBuilder &b, Location loc, Value memref) {
        Type token = gpu::AsyncTokenType::get(b.getContext());
        Value start = gpu::WaitOp::create(b, loc, token, ValueRange())
                          .getAsyncToken();
        Value done = gpu::DeallocOp::create(b, loc, token, ValueRange{start},
                                            memref)
                         .getAsyncToken();
        gpu::WaitOp::create(b, loc, Type(), ValueRange{done});
      };
      for (memref::DeallocOp dealloc : deallocs) {
        OpBuilder b(dealloc);
        free(b, dealloc.getLoc(), dealloc.getMemref());
        dealloc.erase();
      }
      SmallVector<Value> copies;
      for (memref::GetGlobalOp global : globals) {
        OpBuilder b(global->getNextNode());
        Value shared = sharedAlloc(b, global.getLoc(), global.getType(), {});
        global.getResult().replaceAllUsesWith(shared);
        memref::CopyOp::create(b, global.getLoc(), global.getResult(), shared);
        copies.push_back(shared);
      }
      if (copies.empty())
        continue;
      fn.walk([&](func::ReturnOp ret) {
        OpBuilder b(ret);
        for (Value copy : copies)
          free(b, ret.getLoc(), copy);
      });
    }
  }
};
} // namespace
