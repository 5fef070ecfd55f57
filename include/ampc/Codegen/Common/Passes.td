//===- Passes.td - target-independent code generation -*- tablegen -*-===//
//
// Passes of AMPC's Common code generation layer (lib/Codegen/Common).
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_CODEGEN_COMMON_PASSES_TD
#define AMPC_CODEGEN_COMMON_PASSES_TD

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

def AmpcReadOnlyArguments
    : Pass<"ampc-read-only-arguments", "::mlir::ModuleOp"> {
  let summary = "keep the callers' inputs: public tensor arguments are not "
                "written by bufferization";
  let description = [{
    Marks every tensor argument of every public `func.func`
    `bufferization.writable = false` (unless it says otherwise), so that
    One-Shot Bufferize never reuses an argument's buffer for a result: a
    function on tensors has value semantics, and the JIT, `ampc-run` and
    ahead-of-time callers pass their own tensors. (Without it a training
    step under dynamic loss scaling wrote the selected parameters into its
    parameter inputs before copying them to its outputs.)
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect"];
}

def AmpcDonateCarriedState
    : Pass<"ampc-donate-carried-state", "::mlir::ModuleOp"> {
  let summary = "the training step computes its new parameters and state "
                "into the buffers of the old ones";
  let description = [{
    For `@train_step` (its `amp.role`s must follow the training-step
    contract): where the op that computes a carried result (a parameter or
    state tensor) is a `linalg.generic` that reads the matching argument
    element by element (the same indexing map as the result), that result
    is computed into the argument instead of a new tensor: the argument
    becomes the result's init, read through the init's block argument, and
    is marked `bufferization.writable = true`. One-Shot Bufferize then
    writes the update into the argument's buffer where no later read of the
    old value forbids it (and copies the old value first where one does: in
    place only where it is safe, by its analysis). The indices of those
    results go into the module attribute `ampc.donated_train_step_results`:
    their callers may pass one buffer as both the argument and the result
    (the Trainer does, so the carried state is held once, not twice).
    A carried result that is its argument with elements replaced
    (`tensor.insert` into it: an fp8 amax history and its block maxima) is
    donated the same way, without a rewrite.
    Run after fusion (the update is one generic) and before vectorization.
    A `@train_step` that breaks the contract is an error naming what
    breaks it; other functions are left alone.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect"];
}

def AmpcConfirmDonatedResults
    : Pass<"ampc-confirm-donated-results", "::mlir::ModuleOp"> {
  let summary = "keep only the donations bufferization made in place";
  let description = [{
    After One-Shot Bufferize (before results become out parameters): of the
    results `ampc.donated_train_step_results` lists, keeps those that
    `@train_step` returns as the very buffer of the argument of the same
    index (itself, or the result of `scf.for` loops that start from it and
    yield their iteration argument: a serial tiled update; or a
    `memref.expand_shape` of a `memref.collapse_shape` of those, of the
    argument's type: an update whose loops were folded into one). Where
    bufferization had to compute the update into a new buffer (a later read
    of the old value), a caller that passed one buffer as both would have it
    overwritten too early: such a result is dropped from the list, so that
    the caller gives it a buffer of its own. Modules without the attribute
    are left alone.
  }];
}

def AmpcSkipSelfCopies : Pass<"ampc-skip-self-copies", "::mlir::func::FuncOp"> {
  let summary = "copies from an argument into an argument run only between "
                "different buffers";
  let description = [{
    After buffer results become out parameters: a `memref.copy` whose
    source and target are both arguments of the function runs only when
    their aligned pointers differ (`scf.if`). A donated result
    (`ampc-donate-carried-state`) is computed into its argument's buffer
    and then copied into its out parameter, which a caller that passes one
    buffer as both (the Trainer) makes a copy of the buffer onto itself:
    every parameter and every fp8 amax history read and written once more
    per step, for nothing. A caller that passes two buffers still gets the
    copy.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
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

def AmpcExpandStridedCopies
    : Pass<"ampc-expand-strided-copies", "::mlir::func::FuncOp"> {
  let summary = "turn copies between non-contiguous memrefs into linalg.copy";
  let description = [{
    The LLVM lowering of `memref.copy` calls the `memrefCopy` runtime helper
    (from MLIR's c_runner_utils) when either side is not a contiguous
    row-major buffer, as strided `tensor.insert_slice` produces after
    bufferization. Compiled code must not depend on that library: this pass
    replaces such copies by `linalg.copy`, which becomes loops. Contiguous
    copies stay `memref.copy` (a `memcpy`).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::memref::MemRefDialect"];
}

def AmpcFuseElementwise
    : Pass<"ampc-fuse-elementwise", "::mlir::func::FuncOp"> {
  let summary = "fuse chains of elementwise linalg ops into one op";
  let description = [{
    Fuses an elementwise `linalg.generic` into the elementwise generic that
    consumes it (bias add, activation, scaling, casts: one loop nest, one
    kernel on the GPU, no intermediate buffer). Consumers with reduction
    loops (contractions, sums) are left alone, so that a producer is never
    recomputed once per reduction step; with `into-reductions`, a reduction
    that reads each element of its input once (a permutation map: a
    gradient norm's sum of squares of the unscaled gradient, a bias
    gradient's sum) computes its producer in its own loop, where that
    reduction is the producer's only reader and the producer does not read
    its init. Run it after the plain fusion and CSE, which merge the
    copies of a gradient that several readers fused alike (a copy fused
    into a sum would otherwise be computed twice).
  }];
  let options = [
    Option<"intoReductions", "into-reductions", "bool", "false",
           "also fuse into reductions that read each input element once">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def AmpcDuplicateFills
    : Pass<"ampc-duplicate-fills", "::mlir::func::FuncOp"> {
  let summary = "every op that writes into a filled or empty tensor gets "
                "one of its own";
  let description = [{
    CSE merges equal `linalg.fill`s (every zero tensor of one shape in a
    training step is one value), and an op that writes into it as its
    init (a gradient accumulated into zeros, a contraction's accumulator)
    then makes One-Shot Bufferize copy the filled buffer for every writer
    but one: a read and a write of the whole tensor each where a fill
    writes once. This pass gives each op that takes the fill as an init
    operand (`outs`) a clone of it (and of its `tensor.empty`), right
    before the op; reads (`ins`, reshapes) share the original. A fill whose
    only use is one writer is left alone.

    Equal `tensor.empty`s are merged the same way (every packed
    contraction of a single tile that overwrites its output starts from
    one): each use of a small `tensor.empty` (at most `empty-bytes`) after
    the first gets a clone of its own, right before the user, so that each
    writer (a micro-kernel writing its tile through an `extract_slice` of
    it) bufferizes in place instead of into a temporary copied into place.
    Larger ones stay shared: bufferization reuses one buffer for writers
    whose values do not overlap in time (a clone each would raise the peak
    memory of a large step).
  }];
  let options = [
    Option<"emptyBytes", "empty-bytes", "int64_t", "4096",
           "the largest tensor.empty (static shape) given to each use">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // AMPC_CODEGEN_COMMON_PASSES_TD
