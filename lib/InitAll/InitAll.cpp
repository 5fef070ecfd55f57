//===- InitAll.cpp - register everything AMPC's tools use -----------------===//
//
// The one place that decides which dialects and passes AMPC's tools know.
//
//===----------------------------------------------------------------------===//

#include "ampc/InitAll.h"

#include "ampc/Autodiff/Passes.h"
#include "ampc/Codegen/CPU/Passes.h"
#include "ampc/Codegen/Common/Passes.h"
#include "ampc/Codegen/NVGPU/Passes.h"
#include "ampc/Dialect/Amp/IR/Amp.h"
#include "ampc/Dialect/Amp/Transforms/Passes.h"
#include "ampc/Pipelines/Pipelines.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void ampc::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<amp::AmpDialect, mlir::arith::ArithDialect,
                  mlir::bufferization::BufferizationDialect,
                  mlir::func::FuncDialect, mlir::gpu::GPUDialect,
                  mlir::LLVM::LLVMDialect, mlir::NVVM::NVVMDialect,
                  mlir::linalg::LinalgDialect, mlir::math::MathDialect,
                  mlir::memref::MemRefDialect, mlir::scf::SCFDialect,
                  mlir::tensor::TensorDialect, mlir::tosa::TosaDialect,
                  mlir::vector::VectorDialect>();
  // The external models that bufferization, tiling and the conversions to
  // LLVM find through interfaces live in upstream's registration helpers;
  // they register the other upstream dialects too, so that any upstream pass
  // runs on AMPC's output.
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registerAllReduceBufferization(registry);
  // Translations to LLVM IR, which serializing GPU modules (and the JIT)
  // needs for every dialect that reaches LLVM.
  mlir::registerAllToLLVMIRTranslations(registry);
}

void ampc::registerAllPasses() {
  // Upstream passes first: AMPC's IR is standard MLIR plus amp ops, and users
  // run canonicalize, cse, tosa-to-linalg and the lowering passes on it.
  mlir::registerAllPasses();
  amp::registerAmpPasses();
  registerCodegenCommonPasses();
  registerCodegenCPUPasses();
  registerCodegenNVGPUPasses();
  registerAutodiffPasses();
  registerPipelines();
}
