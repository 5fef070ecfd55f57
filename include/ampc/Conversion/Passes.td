//===- Passes.td - AMPC conversion passes ------------------*- tablegen -*-===//
//
// Dialect-independent passes of AMPC's back ends.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_CONVERSION_PASSES_TD
#define AMPC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def AmpcEmitCInterface : Pass<"ampc-emit-c-interface", "::mlir::ModuleOp"> {
  let summary = "give every public function a C-callable wrapper";
  let description = [{
    Marks every public `func.func` with `llvm.emit_c_interface`, so that the
    LLVM lowering emits `_mlir_ciface_NAME`, which takes each memref as a
    pointer to its descriptor: the entry point the JIT host API, `ampc-run`
    and ahead-of-time callers use.
  }];
}

def AmpcDecomposeAggregates
    : Pass<"ampc-decompose-aggregates", "::mlir::func::FuncOp"> {
  let summary = "decompose linalg aggregate ops (softmax) into structured ops";
  let description = [{
    Replaces every op with `linalg::AggregatedOpInterface` (for example
    `linalg.softmax`) by the sequence of linalg ops it stands for (max
    reduction, subtraction, exp, sum, division), so that the CPU back end can
    bufferize and lower it.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // AMPC_CONVERSION_PASSES_TD
