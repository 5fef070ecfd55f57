//===- Pipelines.cpp - AMPC pass pipelines --------------------------------===//
//
// Builds and registers the named pipelines.
//
//===----------------------------------------------------------------------===//

#include "ampc/Pipelines/Pipelines.h"

#include "ampc/Codegen/CPU/CpuTarget.h"
#include "ampc/Codegen/CPU/Passes.h"
#include "ampc/Codegen/Common/Passes.h"
#include "ampc/Codegen/NVGPU/GpuTarget.h"
#include "ampc/Codegen/NVGPU/Passes.h"
#include "ampc/Dialect/Amp/Transforms/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/OpenMPToLLVM/ConvertOpenMPToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToGPU/SCFToGPUPass.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

#include <optional>

using namespace mlir;

llvm::Expected<ampc::PrecisionOptions>
ampc::TrainPipelineOptions::toPrecisionOptions() const {
  PrecisionOptions options;
  if (llvm::Error error = options.setPolicy(policy))
    return std::move(error);
  options.lowerOps.assign(lowerOps.begin(), lowerOps.end());
  options.fp32Ops.assign(fp32Ops.begin(), fp32Ops.end());
  options.promoteOps.assign(promoteOps.begin(), promoteOps.end());
  options.followOps.assign(followOps.begin(), followOps.end());
  if (llvm::Error error = options.setFp8Recipe(fp8Recipe))
    return std::move(error);
  options.fp8HistoryLength = fp8HistoryLength;
  if (llvm::Error error = options.setFp8Algo(fp8Algo))
    return std::move(error);
  options.fp8Margin = fp8Margin;
  options.castStatistics = castStatistics;
  if (llvm::Error error = options.verify())
    return std::move(error);
  return options;
}

void ampc::buildTrainPipeline(OpPassManager &pm,
                              const PrecisionOptions &options) {
  if (!options.policy) {
    if (options.checkNumerics)
      pm.addPass(amp::createAmpCheckNumerics());
    return;
  }
  amp::AmpAutocastOptions autocast;
  autocast.policy = amp::stringifyPolicy(*options.policy).str();
  autocast.lowerOps.assign(options.lowerOps.begin(), options.lowerOps.end());
  autocast.fp32Ops.assign(options.fp32Ops.begin(), options.fp32Ops.end());
  autocast.promoteOps.assign(options.promoteOps.begin(),
                             options.promoteOps.end());
  autocast.followOps.assign(options.followOps.begin(), options.followOps.end());

  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  funcPm.addPass(amp::createAmpAutocast(autocast));
  funcPm.addPass(amp::createAmpInsertCasts());
  funcPm.addPass(amp::createAmpFp32Accumulate());
  funcPm.addPass(amp::createAmpCastCleanup());
  amp::AmpFp8ScalingOptions fp8;
  fp8.recipe = options.fp8Recipe
                   ? amp::stringifyScalingRecipe(*options.fp8Recipe).str()
                   : "";
  fp8.historyLength = options.fp8HistoryLength;
  fp8.algo = amp::stringifyAmaxAlgo(options.fp8Algo).str();
  fp8.margin = options.fp8Margin;
  pm.addPass(amp::createAmpFp8Scaling(fp8));
  if (options.castStatistics)
    pm.addPass(amp::createAmpCastStatistics());
  if (options.checkNumerics)
    pm.addPass(amp::createAmpCheckNumerics());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// amp ops become standard ops; softmax and elementwise ops on tensors become
/// structured linalg ops.
static void addTensorStage(OpPassManager &pm, bool vectorizeForCpu,
                           bool bf16Dot, int64_t ptxChip = 0,
                           std::pair<int64_t, int64_t> registerTile = {8, 32},
                           bool f16Conversions = false, bool amx = false,
                           bool bf16Conversions = false) {
  if (vectorizeForCpu) {
    ampc::AmpcVectorizeContractionsOptions vectorize;
    vectorize.bf16Dot = bf16Dot;
    vectorize.amx = amx;
    vectorize.registerRows = registerTile.first;
    vectorize.registerCols = registerTile.second;
    pm.addPass(ampc::createAmpcVectorizeContractions(vectorize));
    // A convolution's forward pass and its weight gradient gather (and
    // widen) the same patches of the same image: once.
    pm.addPass(createCSEPass());
  }
  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  funcPm.addPass(ampc::createAmpcDecomposeAggregates());
  funcPm.addPass(createConvertElementwiseToLinalgPass());
  // Named ops carry hidden bodies (fp8 contractions widen with arith.extf):
  // make them explicit so that amp-lower-to-arith sees them.
  funcPm.addPass(createLinalgGeneralizeNamedOpsPass());
  if (ptxChip) {
    // NVIDIA's conversion instructions where they give the same bits.
    ampc::AmpcGpuLowerAmpOptions lowerAmp;
    lowerAmp.chip = ptxChip;
    funcPm.addPass(ampc::createAmpcGpuLowerAmp(lowerAmp));
  } else {
    // bf16/f16 arithmetic and conversions written in the model: no
    // soft-float calls.
    ampc::AmpcCpuNarrowFloatsOptions narrow;
    narrow.f16Conversions = f16Conversions;
    funcPm.addPass(ampc::createAmpcCpuNarrowFloats(narrow));
    // The CPU's f16 conversion instructions where they give the same bits.
    ampc::AmpcCpuLowerAmpOptions lowerAmp;
    lowerAmp.f16Conversions = f16Conversions;
    lowerAmp.bf16Conversions = bf16Conversions;
    funcPm.addPass(ampc::createAmpcCpuLowerAmp(lowerAmp));
  }
  funcPm.addPass(createConvertElementwiseToLinalgPass());
  funcPm.addPass(createCanonicalizerPass());
  // tanh and exp in the loop bodies as arithmetic the loops vectorize, not
  // a libm call per lane.
  if (!ptxChip)
    funcPm.addPass(ampc::createAmpcCpuExpandMath());
  if (vectorizeForCpu) {
    // One loop nest per elementwise chain (a cast to bf16, its widening and
    // the packing transpose of a contraction operand; bias, activation and
    // the cast to the next layer's type), vectorized by the CPU pipeline.
    funcPm.addPass(ampc::createAmpcFuseElementwise());
    // A gradient fused into two readers the same way is computed once.
    funcPm.addPass(createCSEPass());
    // Then sums that are an elementwise result's only reader compute it in
    // their own loop (the unscaling of a loss-scaled gradient, read by the
    // gradient norm): it is never written.
    ampc::AmpcFuseElementwiseOptions reductions;
    reductions.intoReductions = true;
    funcPm.addPass(ampc::createAmpcFuseElementwise(reductions));
    // The elementwise ops that follow a contraction whose whole output is
    // one register tile run on its accumulators.
    funcPm.addPass(ampc::createAmpcCpuFuseEpilogues());
  }
  // After the last CSE and the fusion (which can give a fill more
  // writers): each accumulator into zeros gets zeros of its own, not a
  // copy of shared ones.
  funcPm.addPass(ampc::createAmpcDuplicateFills());
}

/// The largest temporary the CPU pipeline keeps on the stack: a page (the
/// zoo transformer block's 2 KiB activations and weight panels were 29 heap
/// allocations per step, each through the runtime cache's lock).
constexpr unsigned kStackBufferBytes = 4096;

/// Tensors become buffers. Public functions take their results as out
/// parameters, so callers own every buffer; temporaries are freed, or with
/// `stackBuffers`, small ones live on the stack.
static void addBufferizationStage(OpPassManager &pm, bool stackBuffers) {
  // Callers keep their inputs: results never reuse their buffers (except
  // where ampc-donate-carried-state allowed it).
  pm.addPass(ampc::createAmpcReadOnlyArguments());
  // Ops whose result is inserted into a larger tensor (the panels of a
  // packed operand) write into it in place.
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(ampc::createAmpcConfirmDonatedResults());
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  if (stackBuffers) {
    // Small temporaries (a small model's activations, a loss's partial
    // sums) live on the stack: a step of a small model otherwise spends
    // more time in malloc and free than in its loops. Allocations are first
    // hoisted out of loops; one that stays in a loop stays on the heap (the
    // promotion never puts an alloca in a loop, which would grow the stack).
    OpPassManager &funcPm = pm.nest<func::FuncOp>();
    funcPm.addPass(bufferization::createBufferLoopHoistingPass());
    bufferization::PromoteBuffersToStackPassOptions stack;
    stack.maxAllocSizeInBytes = kStackBufferBytes;
    funcPm.addPass(bufferization::createPromoteBuffersToStackPass(stack));
  }
  bufferization::buildBufferDeallocationPipeline(pm);
}

/// Buffers and loops become LLVM.
static void addLLVMStage(OpPassManager &pm, bool runtimeAllocator, bool bf16Dot,
                         bool bf16Conversions, bool nanBranches,
                         int64_t vectorBytes) {
  // AMX tiles a loop carries become LLVM's type before the loops are
  // lowered (no-op without AMX ops).
  pm.addPass(ampc::createAmpcCpuLowerAmx());
  pm.nest<func::FuncOp>().addPass(ampc::createAmpcExpandStridedCopies());
  // Strided copies (out of a padded buffer into a contiguous one) move
  // vectors, not one element per iteration.
  if (vectorBytes > 0) {
    ampc::AmpcCpuVectorizeCopiesOptions copies;
    copies.vectorBytes = vectorBytes;
    pm.nest<func::FuncOp>().addPass(ampc::createAmpcCpuVectorizeCopies(copies));
  }
  // Element-wise ops on n-D vectors with rows narrower than the target's
  // vectors run flattened.
  ampc::AmpcCpuFlattenTransfersOptions flatten;
  flatten.vectorBytes = vectorBytes;
  pm.nest<func::FuncOp>().addPass(ampc::createAmpcCpuFlattenTransfers(flatten));
  // f32 -> bf16 truncations (bf16 casts, with bf16Conversions) round
  // exactly: vcvtneps2bf16 where it gives the integer path's bits.
  ampc::AmpcCpuBf16ConversionsOptions bf16;
  bf16.avx512 = bf16Conversions;
  pm.nest<func::FuncOp>().addPass(ampc::createAmpcCpuBf16Conversions(bf16));
  // Without mask registers, the NaN quieting before the integer rounding
  // of casts runs only where a vector holds a NaN.
  if (nanBranches && vectorBytes > 0) {
    ampc::AmpcCpuNaNBranchesOptions branches;
    branches.lanes = std::max<int64_t>(vectorBytes / 4, 1);
    pm.nest<func::FuncOp>().addPass(ampc::createAmpcCpuNaNBranches(branches));
  }
  pm.nest<func::FuncOp>().addPass(createConvertLinalgToLoopsPass());
  // Fully unrolled: the loop form keeps each transfer's temporary in an
  // alloca inside the surrounding loops, which grows the stack per iteration
  // (a large convolution overflows it).
  pm.addPass(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll()));
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  ConvertVectorToLLVMPassOptions vectorOptions;
  vectorOptions.x86Vector = bf16Dot || bf16Conversions;
  pm.addPass(createConvertVectorToLLVMPass(vectorOptions));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  // Libm calls on vectors (erf, ...) are unrolled into vector.extract and
  // vector.insert: lower those too.
  pm.addPass(createConvertVectorToLLVMPass(vectorOptions));
  // Strided metadata expands into affine arithmetic: lower it again.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  FinalizeMemRefToLLVMConversionPassOptions memrefOptions;
  memrefOptions.useGenericFunctions = runtimeAllocator;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefOptions));
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  // Loads, stores and shuffles of 16-bit floats move their bits as i16
  // (x86's back end cannot legalize some of them).
  pm.addPass(ampc::createAmpcCpuIntegerMoves());
}

void ampc::buildCpuPipeline(OpPassManager &pm,
                            const CpuPipelineOptions &options) {
  if (options.emitCInterface)
    pm.addPass(ampc::createAmpcEmitCInterface());
  // The register tile fits the target's vector registers (AVX2's 16 ymm
  // would spill AVX-512's 6 x 64).
  // What options leave unset comes from this machine's CPU, read once (the
  // JIT and ampc-compile set them all).
  std::optional<CpuTarget> host;
  auto hostTarget = [&]() -> const CpuTarget & {
    if (!host)
      host = CpuTarget::host();
    return *host;
  };
  std::pair<int64_t, int64_t> tile(options.registerRows, options.registerCols);
  if (tile.first <= 0)
    tile.first = hostTarget().registerTile().first;
  if (tile.second <= 0)
    tile.second = hostTarget().registerTile().second;
  addTensorStage(pm, options.vectorize, options.bf16Dot, /*ptxChip=*/0, tile,
                 options.f16Conversions, options.vectorize && options.amx,
                 options.bf16Conversions);
  // The fused updates of the training step compute into the parameters and
  // state they replace, before vectorization tiles them.
  if (options.donateCarriedState)
    pm.addPass(ampc::createAmpcDonateCarriedState());
  if (options.vectorize)
    pm.addPass(ampc::createAmpcVectorizeGenerics());
  addBufferizationStage(pm, /*stackBuffers=*/true);
  // A donated result's copy into its out parameter is skipped when the
  // caller passed one buffer as both.
  pm.nest<func::FuncOp>().addPass(ampc::createAmpcSkipSelfCopies());
  if (options.vectorize && options.amx)
    pm.addPass(ampc::createAmpcCpuAmxTiles());
  if (options.vectorize)
    pm.nest<func::FuncOp>().addPass(ampc::createAmpcCpuPrefetchTiles());
  pm.addPass(ampc::createAmpcCpuLowerCollectives());
  ampc::AmpcCpuParallelLoopsOptions parallel;
  parallel.threads = options.threads;
  pm.addPass(ampc::createAmpcCpuParallelLoops(parallel));
  // Copies move the target's widest vectors (none: scalar loops, without
  // vectorization).
  int64_t vectorBytes = options.vectorBytes > 0 ? int64_t(options.vectorBytes)
                                                : hostTarget().vectorBits / 8;
  if (!options.vectorize)
    vectorBytes = 0;
  addLLVMStage(pm, options.runtimeAllocator, options.bf16Dot,
               options.bf16Conversions, options.nanBranches, vectorBytes);
}

void ampc::buildGpuPipeline(OpPassManager &pm,
                            const GpuPipelineOptions &options) {
  ampc::AmpcCheckGpuTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  target.format = options.format;
  pm.addPass(ampc::createAmpcCheckGpuTarget(target));
  if (options.emitCInterface)
    pm.addPass(ampc::createAmpcEmitCInterface());
  // Casts use the GPU's conversion instructions where they give the CPU's
  // bits (ampc-gpu-lower-amp).
  // (ampc-check-gpu-target has rejected unreadable options by then.)
  unsigned chipNumber = ampc::parseGpuChip(options.chip).value_or(0);
  addTensorStage(pm, /*vectorizeForCpu=*/false, /*bf16Dot=*/false, chipNumber);
  pm.nest<func::FuncOp>().addPass(ampc::createAmpcFuseElementwise());
  pm.addPass(createCanonicalizerPass());
  addBufferizationStage(pm, /*stackBuffers=*/false);
  pm.addPass(createConvertBufferizationToMemRefPass());
  // Data-parallel steps' all-reduces: NCCL on the device buffers.
  pm.addPass(ampc::createAmpcGpuLowerCollectives());
  // Every parallel loop nest of a linalg op becomes one kernel: its parallel
  // dimensions map onto blocks and threads, its reductions stay loops in
  // each thread. Scalar code (loss-scale arithmetic) stays on the host,
  // which reaches the buffers through managed memory.
  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  // bf16/f16 contractions with f32 accumulation: tensor cores (mma.sync),
  // 64x64 tiles per block staged in shared memory, fill and elementwise
  // epilogue in the same kernel; fp8 too where the chip and PTX version
  // have it.
  unsigned ptxVersion = ampc::parsePtxVersion(options.features).value_or(0);
  ampc::AmpcGpuTensorCoresOptions tensorCores;
  tensorCores.fp8 = chipNumber >= 89 && ptxVersion >= 84;
  tensorCores.blockTiles = options.blockTiles;
  funcPm.addPass(ampc::createAmpcGpuTensorCores(tensorCores));
  // Full reductions (norms, amaxes, losses): one block each, instead of the
  // host reading their operands.
  funcPm.addPass(ampc::createAmpcGpuReductions());
  funcPm.addPass(ampc::createAmpcExpandStridedCopies());
  funcPm.addPass(createConvertLinalgToParallelLoopsPass());
  // Blocks of 8 x 32 threads (the last, contiguous dimension widest); the
  // edges are guarded rather than given dynamic bounds.
  funcPm.addPass(
      createParallelLoopTilingPass({8, 32}, /*noMinMaxBounds=*/true));
  funcPm.addPass(createGpuMapParallelLoopsPass());
  funcPm.addPass(createConvertParallelLoopToGpuPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(ampc::createAmpcGpuHostBuffers());
  pm.addPass(ampc::createAmpcGpuExpandMath());
  gpu::GPUToNVVMPipelineOptions nvvm;
  nvvm.cubinChip = options.chip.getValue();
  nvvm.cubinFeatures = options.features.getValue();
  nvvm.cubinFormat = options.format.getValue();
  nvvm.optLevel = options.optLevel.getValue();
  gpu::buildLowerToNVVMPassPipeline(pm, nvvm);
}

void ampc::registerPipelines() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "ampc-cpu-pipeline",
      "Lower precision-lowered IR on tensors to LLVM for the host CPU",
      buildCpuPipeline);
  PassPipelineRegistration<GpuPipelineOptions>(
      "ampc-gpu-pipeline",
      "Lower precision-lowered IR on tensors to NVVM and PTX/cubin for NVIDIA "
      "GPUs, with host code calling the mgpu* runtime",
      buildGpuPipeline);
  // Registered by hand so that a bad option value is a parse error naming
  // it, like every other pipeline option.
  registerPassPipeline(
      "ampc-train-pipeline",
      "Decide and apply the precision of every op under a policy",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        TrainPipelineOptions textual;
        if (failed(textual.parseFromString(text)))
          return failure();
        llvm::Expected<PrecisionOptions> options = textual.toPrecisionOptions();
        if (!options)
          return errorHandler("ampc-train-pipeline: " +
                              llvm::toString(options.takeError()));
        buildTrainPipeline(pm, *options);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> optHandler) {
        optHandler(TrainPipelineOptions());
      });
}
