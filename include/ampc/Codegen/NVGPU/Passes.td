//===- Passes.td - code generation for NVIDIA GPUs -*- tablegen -*-===//
//
// Passes of AMPC's NVGPU code generation layer (lib/Codegen/NVGPU).
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_CODEGEN_NVGPU_PASSES_TD
#define AMPC_CODEGEN_NVGPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def AmpcCheckGpuTarget : Pass<"ampc-check-gpu-target", "::mlir::ModuleOp"> {
  let summary = "reject GPU target options the NVVM serialization cannot use";
  let description = [{
    Fails with an error naming the option when `chip` is not `sm_<N>` with
    N >= 80 (tensor cores with bf16; CUDA 13's ptxas has dropped older
    chips), `features` is not of the form `+ptx<N>`, or `format` is not
    `isa`, `bin` or `fatbin`. `ampc-gpu-pipeline` runs it first, so that a
    bad option stops the pipeline instead of producing a module without
    device code.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90\"", "GPU architecture">,
    Option<"features", "features", "std::string", /*default=*/"\"+ptx80\"", "PTX features">,
    Option<"format", "format", "std::string", /*default=*/"\"isa\"", "isa, bin or fatbin">
  ];
}

def AmpcGpuExpandMath : Pass<"ampc-gpu-expand-math", "::mlir::ModuleOp"> {
  let summary = "self-contained math in kernels (no libdevice)";
  let description = [{
    The NVVM lowering turns `math.exp`, `math.log`, `math.tanh`, `math.erf`,
    `math.rsqrt`, ... into calls to CUDA's libdevice (`__nv_expf`, ...),
    which must then be linked from the CUDA toolkit. Inside every
    `gpu.module` this pass rewrites them into f32 arithmetic instead
    (upstream's polynomial approximations, the same on every machine; rsqrt
    as 1 / sqrt), and the ops PTX has instructions for (floor, ceil, abs,
    sqrt, fma, copysign, trunc, roundeven) into LLVM intrinsics, so that the
    PTX has no unresolved functions and needs no toolkit. Host code is left
    alone.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def AmpcGpuReductions : Pass<"ampc-gpu-reductions", "::mlir::func::FuncOp"> {
  let summary = "run reductions on the GPU: full ones in one block with a "
                "fixed tree, partial ones with the parallel loops outermost";
  let description = [{
    On buffers: replaces each `linalg.generic` without parallel loops and
    with one rank-0 output (a sum, a sum of squares, an amax) whose body
    combines a value computed from the inputs with the accumulator through
    an associative op (addf, mulf, maximumf, minimumf, maxnumf, minnumf,
    addi, muli, andi, ori, xori, max/min signed/unsigned) by a `gpu.launch`
    of one block of 256 threads: thread t folds elements t, t + 256, ...
    into a partial starting from the combiner's identity (-0.0 for addf,
    -inf for maximumf, NaN for maxnumf, ...), the partials are combined by a
    tree in workgroup memory, and thread 0 combines the total with the
    output's initial value. Without it such ops stay on the host, which
    reads their operands through managed memory. The summation order
    differs from a sequential loop (as a vectorized CPU loop's does) but is
    fixed, so results repeat exactly. Other bodies are left alone.

    Partial reductions with a reduction loop before a parallel one (a bias
    gradient's column sum, an f32 weight gradient with k first) get their
    loops interchanged, parallel first: otherwise the parallel-loop mapping
    keeps the reduction as a host loop that launches one kernel per step.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect"];
}

def AmpcGpuTensorCores : Pass<"ampc-gpu-tensor-cores", "::mlir::func::FuncOp"> {
  let summary = "run bf16/f16/fp8 contractions on tensor cores (mma.sync), "
                "with their fill and elementwise epilogue in the same kernel";
  let description = [{
    On buffers: replaces each contraction `linalg.generic` with two bf16 (or
    two f16) inputs and an f32 output by a `gpu.launch` that accumulates in
    f32 with `mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}` (sm_80+),
    as `nvvm.mma.sync` (so the NVVM verifier checks shape, layouts and
    register types).
    The op's loops form four groups, each run as one linear index decoded
    per element: m (parallel loops only the first input reads), n (only the
    second reads), batch (both read; blockIdx.z) and k (the reductions).
    So matmuls with any transposes, batch matmuls (an input may lack a batch
    dim) and convolutions (m = (n, oh, ow), k = (kh, kw, c); the input is
    read through oh + kh, ...) all qualify: the output must hold every
    parallel loop once and the inputs' maps be affine in the loops. When the
    output's last dim is read by the first input the inputs swap roles, so
    that each lane stores neighbours along it.

    Tiling (`block-tiles`, the default): one block of 4 warps per 64x64
    output tile; per step of two mma k tiles the block stages 64 rows of A
    and of B (k along each row, packed into 32-bit words, rows padded
    against bank conflicts) in shared memory, coalescing the global loads
    along whichever of k or the row dim is contiguous; each warp computes
    32x32 as 2x4 mma tiles. Otherwise one warp per 16x8 tile, its fragments
    loaded from global memory. Sizes need not be tile multiples: the grid
    rounds up, k runs in whole tiles, lanes past an edge read zeros (through
    a clamped address) and store nothing. The output's initial value is
    added. The scalar body is not inspected beyond its shape (an add of the
    output and a product of the two inputs): amp-insert-casts made it.
    Other contractions are left to the generic path.

    Epilogue fusion: a fill of the output right before the contraction
    becomes the accumulators' initial value (the fill is erased), and an
    elementwise `linalg.generic` right after it (only allocations and pure
    ops between) that reads the output in place (bias add, activation, the
    cast to the next layer's type, the fp8 descale; stores into buffers
    allocated after the contraction may lie between) runs on the
    accumulators in the same kernel. The output is still stored if it is
    not a local buffer or anything else reads it; otherwise its buffer
    disappears. Not fused: consumers that read the
    output through another map or a view, or write into the contraction's
    operands.

    With `fp8` (sm_89+ and PTX 8.4+), contractions of E4M3/E5M2 inputs
    (any mix, as the HYBRID recipe makes) run on
    `mma.sync.aligned.m16n8k32.row.col.f32.<a>.<b>.f32`. That one is inline
    PTX: LLVM 22's `nvvm.mma.sync` has no dense fp8 shape (only sparse and
    block-scaled ones).
  }];
  let options = [
    Option<"fp8", "fp8", "bool", /*default=*/"false",
           "also fp8 contractions (m16n8k32; sm_89+, PTX 8.4+)">,
    Option<"blockTiles", "block-tiles", "bool", /*default=*/"true",
           "64x64 output tiles per block of 4 warps, operands staged in "
           "shared memory (false: one warp per 16x8 tile, fragments from "
           "global memory)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::NVVM::NVVMDialect"];
}

def AmpcGpuHostBuffers : Pass<"ampc-gpu-host-buffers", "::mlir::ModuleOp"> {
  let summary = "give host code buffers that kernels and the host both reach";
  let description = [{
    After kernel outlining, the host functions still allocate their
    temporaries with `memref.alloc` and read constants from `memref.global`
    in host memory, while kernels need device-reachable memory. This pass
    turns every host `memref.alloc` into `gpu.alloc host_shared` (CUDA
    managed memory: the host code between launches, such as scalar
    arithmetic and full reductions, can still read and write it) and every
    `memref.dealloc` into `gpu.dealloc`, and copies each `memref.get_global`
    into such a buffer, freed before the function returns. Buffers passed in
    by the caller must be device-reachable too (the JIT's CUDA target passes
    managed memory).
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect"];
}

def AmpcGpuLowerCollectives
    : Pass<"ampc-gpu-lower-collectives", "::mlir::ModuleOp"> {
  let summary = "amp.all_reduce (blocking or started and waited for) on "
                "buffers as calls to the runtime's NCCL collectives";
  let description = [{
    Runs after bufferization, before the host buffers become managed memory
    (a strided buffer's contiguous temporary becomes managed memory too).
    The host code calls

    ```
    ampc_rt_cuda_all_reduce_f32(ptr data, i64 count, i32 kind)   // kind: 0 sum, 1 mean, 2 max
    i64 h = ampc_rt_cuda_all_reduce_start_f32(ptr data, i64 count, i32 kind)
    ampc_rt_cuda_all_reduce_wait(i64 h)
    ```

    which run `ncclAllReduce` in place on the device buffer (the start on
    the runtime's communication stream, so that the kernels launched until
    the wait run meanwhile), across the ranks `mpirun` started (one GPU
    each; one rank without mpirun). An all-reduce still on tensors is an
    error.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::memref::MemRefDialect"];
}

def AmpcGpuLowerAmp : Pass<"ampc-gpu-lower-amp", "::mlir::func::FuncOp"> {
  let summary = "amp-lower-to-arith with NVIDIA's conversion instructions";
  let description = [{
    Lowers the amp dialect as `amp-lower-to-arith` does (the same patterns),
    except that casts from f32 use NVIDIA's conversion instructions where
    they compute the integer path's bits: bf16/f16 with IEEE overflow as
    `arith.truncf` (`cvt.rn.bf16.f32` / `cvt.rn.f16.f32`, sm_80+), and
    saturating E4M3/E5M2 as `cvt.rn.satfinite.e4m3x2.f32` /
    `e5m2x2` (sm_89+, inline PTX: the NVVM dialect of LLVM 22 has no op for
    it). Both round to nearest even with subnormals; NaN is mapped to the
    integer path's encoding (the format's quiet NaN, the input's sign).
    Below sm_80, or for other overflow rules, the integer path is used.
  }];
  let options = [
    Option<"chip", "chip", "int64_t", /*default=*/"90",
           "the sm_<N> architecture the code runs on">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::vector::VectorDialect",
                           "::ampc::amp::AmpDialect"];
}

#endif // AMPC_CODEGEN_NVGPU_PASSES_TD
