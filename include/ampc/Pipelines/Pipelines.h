//===- Pipelines.h - AMPC pass pipelines ------------------------*- C++ -*-===//
//
// The pipelines users run by name: ampc-train-pipeline (precision part).
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_PIPELINES_PIPELINES_H
#define AMPC_PIPELINES_PIPELINES_H

#include "ampc/Pipelines/PrecisionOptions.h"

#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mlir {
class OpPassManager;
} // namespace mlir

namespace ampc {

/// The textual form of PrecisionOptions, for ampc-opt's
/// `--ampc-train-pipeline="policy=... fp8-recipe=..."`; C++ callers fill a
/// PrecisionOptions directly.
struct TrainPipelineOptions : mlir::PassPipelineOptions<TrainPipelineOptions> {
  Option<std::string> policy{*this, "policy",
                             llvm::cl::desc("fp32, bf16, fp16 or fp8"),
                             llvm::cl::init("bf16")};
  ListOption<std::string> lowerOps{
      *this, "lower-ops", llvm::cl::desc("op names computed in the low type")};
  ListOption<std::string> fp32Ops{*this, "fp32-ops",
                                  llvm::cl::desc("op names kept in f32")};
  ListOption<std::string> promoteOps{
      *this, "promote-ops",
      llvm::cl::desc("op names taking their widest input's precision")};
  ListOption<std::string> followOps{
      *this, "follow-ops",
      llvm::cl::desc("op names taking their input's precision")};
  Option<std::string> fp8Recipe{
      *this, "fp8-recipe",
      llvm::cl::desc("delayed or current fp8 scaling (default: delayed in "
                     "the training step, current elsewhere)"),
      llvm::cl::init("")};
  Option<int64_t> fp8HistoryLength{
      *this, "fp8-history-len",
      llvm::cl::desc("amax history length of delayed fp8 scaling"),
      llvm::cl::init(1024)};
  Option<std::string> fp8Algo{*this, "fp8-algo",
                              llvm::cl::desc("max or most_recent"),
                              llvm::cl::init("max")};
  Option<bool> castStatistics{
      *this, "cast-statistics",
      llvm::cl::desc("return per-cast underflow/overflow shares from the "
                     "training step (amp-cast-statistics)"),
      llvm::cl::init(false)};
  Option<int64_t> fp8Margin{
      *this, "fp8-margin", llvm::cl::desc("fp8 scales are divided by 2^margin"),
      llvm::cl::init(0)};

  /// The options these texts name; errors name the bad value.
  llvm::Expected<PrecisionOptions> toPrecisionOptions() const;
};

struct CpuPipelineOptions : mlir::PassPipelineOptions<CpuPipelineOptions> {
  Option<bool> emitCInterface{
      *this, "emit-c-interface",
      llvm::cl::desc("emit _mlir_ciface_ wrappers for public functions"),
      llvm::cl::init(true)};
  Option<bool> vectorize{
      *this, "vectorize",
      llvm::cl::desc("tile and vectorize matmuls and generic ops "
                     "(ampc-vectorize-contractions, ampc-vectorize-generics)"),
      llvm::cl::init(true)};
  Option<bool> bf16Dot{
      *this, "bf16-dot",
      llvm::cl::desc("multiply bf16 contractions with AVX-512 BF16 dot "
                     "products on the packed path (the target must have "
                     "avx512bf16; amx takes precedence where it fits)"),
      llvm::cl::init(false)};
  Option<bool> amx{
      *this, "amx",
      llvm::cl::desc("multiply bf16 contractions with AMX tiles "
                     "(ampc-cpu-amx-tiles; the target must have amx-bf16, "
                     "and the program asks Linux for the tile state)"),
      llvm::cl::init(false)};
  Option<bool> f16Conversions{
      *this, "f16-conversions",
      llvm::cl::desc("convert f32 to f16 with the target's instructions (x86 "
                     "F16C, AArch64; see ampc-cpu-lower-amp)"),
      llvm::cl::init(false)};
  Option<bool> bf16Conversions{
      *this, "bf16-conversions",
      llvm::cl::desc("convert f32 to bf16 with AVX-512 BF16's vcvtneps2bf16 "
                     "where it gives the exact bits (the target must have "
                     "avx512bf16, avx512vl and avx512dq; see "
                     "ampc-cpu-bf16-conversions)"),
      llvm::cl::init(false)};
  Option<bool> nanBranches{
      *this, "nan-branches",
      llvm::cl::desc("quiet the NaN lanes of a vector before a cast's integer "
                     "rounding in a branch taken only when one is a NaN (x86 "
                     "without AVX-512; see ampc-cpu-nan-branches)"),
      llvm::cl::init(false)};
  Option<int64_t> registerRows{
      *this, "register-rows",
      llvm::cl::desc("rows of the contractions' register tile (0: sized for "
                     "this machine's CPU, see CpuTarget::registerTile)"),
      llvm::cl::init(0)};
  Option<int64_t> registerCols{
      *this, "register-cols",
      llvm::cl::desc("f32 columns of the register tile (0: sized for this "
                     "machine's CPU)"),
      llvm::cl::init(0)};
  Option<int64_t> vectorBytes{
      *this, "vector-bytes",
      llvm::cl::desc("bytes of the widest vectors strided copies move (0: "
                     "this machine's CPU's, see CpuTarget::vectorBits)"),
      llvm::cl::init(0)};
  Option<int64_t> threads{
      *this, "threads",
      llvm::cl::desc("threads of the parallel loops over contraction tiles "
                     "(OpenMP; 0: all cores, or OMP_NUM_THREADS; 1: no "
                     "OpenMP runtime needed)"),
      llvm::cl::init(0)};
  Option<bool> runtimeAllocator{
      *this, "runtime-allocator",
      llvm::cl::desc("allocate buffers through the runtime's caching "
                     "allocator (_mlir_memref_to_llvm_alloc/free) instead of "
                     "malloc/free"),
      llvm::cl::init(false)};
  Option<bool> donateCarriedState{
      *this, "donate-carried-state",
      llvm::cl::desc("@train_step writes its new parameters and state into "
                     "the buffers of the old ones (ampc-donate-carried-state; "
                     "callers pass the same buffer as argument and result)"),
      llvm::cl::init(false)};
};

struct GpuPipelineOptions : mlir::PassPipelineOptions<GpuPipelineOptions> {
  Option<std::string> chip{
      *this, "chip", llvm::cl::desc("GPU architecture (sm_90: H100/H200)"),
      llvm::cl::init("sm_90")};
  Option<std::string> features{*this, "features",
                               llvm::cl::desc("PTX features (+ptx80)"),
                               llvm::cl::init("+ptx80")};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("isa (PTX text, needs no CUDA toolkit; the driver "
                     "compiles it when the module loads), bin (cubin, needs "
                     "ptxas) or fatbin"),
      llvm::cl::init("isa")};
  Option<int> optLevel{*this, "opt-level",
                       llvm::cl::desc("optimization level of the device code"),
                       llvm::cl::init(2)};
  Option<bool> blockTiles{
      *this, "block-tiles",
      llvm::cl::desc("tensor-core kernels with 64x64 tiles per block and "
                     "operands staged in shared memory (false: one warp per "
                     "16x8 tile, fragments from global memory)"),
      llvm::cl::init(true)};
  Option<bool> emitCInterface{
      *this, "emit-c-interface",
      llvm::cl::desc("emit _mlir_ciface_ wrappers for public functions"),
      llvm::cl::init(true)};
};

/// Decides every op's precision and rewrites the IR to compute that way:
/// amp-autocast, amp-insert-casts, amp-fp32-accumulate, amp-cast-cleanup,
/// amp-fp8-scaling, amp-cast-statistics if asked, then canonicalize and cse.
/// Without a policy, adds nothing.
void buildTrainPipeline(mlir::OpPassManager &pm,
                        const PrecisionOptions &options);

/// Lowers precision-lowered IR on tensors to the LLVM dialect for the host
/// CPU: amp ops to arith, bufferization (function results become out
/// parameters, temporaries are freed), loops, then LLVM.
void buildCpuPipeline(mlir::OpPassManager &pm,
                      const CpuPipelineOptions &options);

/// Lowers precision-lowered IR on tensors for NVIDIA GPUs: the same tensor
/// stage and bufferization as the CPU, then one kernel per parallel loop nest
/// (blocks and threads over the parallel dimensions), host buffers in managed
/// memory (ampc-gpu-host-buffers), NVVM, and the device code serialized as
/// PTX or cubin into a gpu.binary; host code calls the runtime's mgpu*.
void buildGpuPipeline(mlir::OpPassManager &pm,
                      const GpuPipelineOptions &options);

/// Registers the pipelines with the pass registry (for ampc-opt).
void registerPipelines();

} // namespace ampc

#endif // AMPC_PIPELINES_PIPELINES_H
