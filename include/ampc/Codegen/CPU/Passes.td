//===- Passes.td - code generation for CPUs (x86 vector extensions) -*- tablegen -*-===//
//
// Passes of AMPC's CPU code generation layer (lib/Codegen/CPU).
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_CODEGEN_CPU_PASSES_TD
#define AMPC_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def AmpcVectorizeContractions
    : Pass<"ampc-vectorize-contractions", "::mlir::ModuleOp"> {
  let summary = "tile contractions for the caches and registers, then vectorize";
  let description = [{
    Widens low-precision inputs to the accumulator type (exact, and O(n^2)
    against the O(n^3) product), then tiles every `linalg.matmul` and
    `linalg.batch_matmul` on tensors twice
    (a cache tile, then a register tile of `register-rows` x `register-cols`
    with a reduction step of 1), vectorizes the register tile, keeps the
    accumulator in registers across the reduction loop (hoisting its read and
    write out of the loop) and lets the multiply-add contract into an FMA.
    Tile sizes divide the op's dimensions (the largest divisor not above the
    preferred size), so that no tile is partial and no masking is needed.
    Driven by a transform-dialect script built per op.
  }];
  let options = [
    Option<"registerRows", "register-rows", "int64_t", "8",
           "rows of the register tile">,
    Option<"registerCols", "register-cols", "int64_t", "32",
           "columns of the register tile">,
    Option<"cacheRows", "cache-rows", "int64_t", "64", "rows of the cache tile">,
    Option<"cacheCols", "cache-cols", "int64_t", "256",
           "columns of the cache tile">,
    Option<"cacheDepth", "cache-depth", "int64_t", "256",
           "reduction depth of the cache tile">,
    Option<"bf16Dot", "bf16-dot", "bool", "false",
           "compute bf16 x bf16 -> f32 matmuls with AVX-512 BF16 dot products "
           "(vdpbf16ps) where the shapes allow; the host must have avx512bf16">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::x86vector::X86VectorDialect",
                           "::mlir::transform::TransformDialect"];
}

def AmpcVectorizeGenerics
    : Pass<"ampc-vectorize-generics", "::mlir::ModuleOp"> {
  let summary = "tile linalg.generic ops along their innermost loop and vectorize";
  let description = [{
    Every `linalg.generic` on tensors with static sizes and projected
    permutation maps (bias adds, activations, the bit-exact casts of
    amp-lower-to-arith, and reductions such as softmax's and layer norm's
    sums) is tiled to `1 x ... x 1 x V` and vectorized, where V is the
    largest divisor of the innermost loop's size that is at most `width`.
    Reductions along the innermost loop become vector reductions (which sum
    in a different order than the scalar loop). Ops whose innermost size has
    no divisor in 2..`width` stay loops.
  }];
  let options = [
    Option<"width", "width", "int64_t", "16", "preferred vector length">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::transform::TransformDialect"];
}

#endif // AMPC_CODEGEN_CPU_PASSES_TD
