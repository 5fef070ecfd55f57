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
  let summary = "pack contractions and convolutions into register tiles and "
                "run a vector micro-kernel on them";
  let description = [{
    Every contraction on static tensors (`linalg.matmul`, `batch_matmul`,
    and `linalg.generic` multiply-adds whose maps are any permutation of one
    batch, m, n and k loop: the transposed products of a training step's
    backward pass) takes one path:

    * inputs narrower than the f32 accumulator are widened once;
    * `linalg.pack` cuts A into panels of `register-rows` rows
      (`[b,] M/mr x K x mr`), B into panels of `register-cols` columns
      (`[b,] N/nr x K x nr`) and C into `mr x nr` tiles, padding with zeros;
    * a `linalg.mmt4d` (`batch_mmt4d`) on the panels is tiled with
      `scf::tileUsingSCF`: an `scf.forall` over blocks of `block-row-tiles`
      row tiles by `block-col-tiles` column tiles (parallel; each tile sums
      in a fixed order, so results do not depend on the number of threads;
      row blocks of even sizes), then, as in BLIS, `k` blocks of
      `cache-depth`, the block's column tiles (A's k block of the row block
      stays in L2) and its row tiles (B's k block of one column tile stays
      in L1);
    * each tile is a micro-kernel built with the vector dialect: `mr` rows
      of `nr`-lane accumulators carried through the k loop, one vector of B
      and `mr` broadcasts of A per step, `vector.fma`; the sums are added
      to C's tile after the k loop, or written to it without reading it
      where C is +0.0 and k fits one block (C is then not zeroed first);
      the k loop is marked `ampc.micro_kernel`, for
      `ampc-cpu-prefetch-tiles` to prefetch C's tile before it;
    * with `bf16-dot`, contractions of two bf16 inputs with k of at least
      16 are not widened, except where a register tile holding their whole
      output would pad its columns to 16 lanes (a 3x3 convolution over one
      channel, k = 9, or its 9 x 8 weight gradient would spend more on the
      pair packing than the dot products save): k is cut into pairs too
      (A: `M/mr x K/2 x mr x 2`, B: `N/nr x K/2 x nr x 2`, an odd k
      zero-padded) and the micro-kernel
      multiplies a pair of A (broadcast as one 32-bit value) with `nr/16`
      vectors of B's column pairs in AVX-512 BF16 dot products
      (`x86vector.avx512.dot`, vdpbf16ps), into `mr x nr/16` accumulators
      of 16 f32 lanes;
    * with `amx`, contractions of two bf16 inputs without a batch whose m,
      n and k padded to multiples of 32 at most quadruple the work (and,
      where padding more than doubles it, of at least 64 blocks of 32^3)
      are packed for AMX tiles instead (A: `M/32 x K/32 x 32 x 16 x 2`, rows of
      32 k; B: `N/32 x K/32 x 16 x 32 x 2`, 16 k pairs of 32 columns; k
      zero-padded to a multiple of 32; C in 32 x 32 tiles), tiled the same
      way, and each tile's contraction is marked `ampc.amx_tile` for
      `ampc-cpu-amx-tiles`, which computes it once on buffers;
    * `linalg.unpack` writes the tiles back in C's layout; packs and unpacks
      are lowered to pads, reshapes and transposes.

    Where n is narrower than `register-cols` and m is wider (a classifier's
    10 outputs), the product is computed as C^T = B^T A^T: n in the tiles'
    rows, m across their lanes.

    A tile of at least 32 columns (four vectors: AVX-512's 6 x 64) gives
    way to half as many columns by up to 8 rows (8 x 32) where that costs
    fewer vector instructions with the padding counted: a multiply-add per
    accumulator, a load per vector of B and a broadcast per row, for every
    padded element of C (8 filters of a convolution pad 6-row tiles to 12;
    16 columns fill a quarter of 64 lanes). The k blocks are at least 256
    deep (`cache-depth` 0: B's block fills half of `l1-bytes` where that is
    deeper).

    Convolutions (`linalg.conv_2d_nhwc_hwcf`, and the generics of a training
    step whose image is read through window maps such as `oh + kh`: forward
    passes and weight gradients) first become a gather of the image's
    patches (im2col) and a contraction whose loops are folded into one m, n
    and k.
  }];
  let options = [
    Option<"registerRows", "register-rows", "int64_t", "6",
           "rows of the register tile (mr)">,
    Option<"registerCols", "register-cols", "int64_t", "16",
           "f32 columns of the register tile (nr)">,
    Option<"cacheDepth", "cache-depth", "int64_t", "0",
           "k block of the micro-kernel (0: B's block fills half of "
           "l1-bytes, at least 256 deep)">,
    Option<"blockColTiles", "block-col-tiles", "int64_t", "0",
           "column tiles per parallel block (0: B's k block over them fills "
           "a quarter of l2-bytes)">,
    Option<"blockRowTiles", "block-row-tiles", "int64_t", "0",
           "row tiles per parallel block (0: A's block fills half of "
           "l2-bytes)">,
    Option<"parallelMinFlops", "parallel-min-flops", "int64_t", "4194304",
           "contractions of fewer flops loop over their tiles sequentially "
           "(an scf.for instead of the scf.forall)">,
    Option<"l1Bytes", "l1-bytes", "int64_t", "32768", "L1 data cache size">,
    Option<"l2Bytes", "l2-bytes", "int64_t", "524288", "L2 cache size">,
    Option<"amx", "amx", "bool", "false",
           "multiply bf16 x bf16 -> f32 contractions (no batch) with AMX "
           "tiles: packed for them here, marked, and computed by "
           "ampc-cpu-amx-tiles on buffers; the target must have amx-bf16">,
    Option<"bf16Dot", "bf16-dot", "bool", "false",
           "multiply bf16 x bf16 -> f32 contractions with AVX-512 BF16 dot "
           "products (vdpbf16ps) where register-cols is a multiple of 16, "
           "k is at least 16 and the output is larger than one register "
           "tile; the target must have avx512bf16">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::x86vector::X86VectorDialect"];
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
    An op with only parallel loops whose innermost size is not a multiple of
    `width` first folds its trailing loops into one, as many as it takes to
    make one, where every operand reads them as its own trailing dimensions
    in order (a 1352 x 10 weight's cast: 845 vectors of 16, not 1352 of
    10); split across threads, its blocks then hold whole vectors.
    Reductions along the innermost loop become vector reductions (which sum
    in a different order than the scalar loop). Ops whose innermost size has
    no divisor in 2..`width` stay loops. Ops of at least
    `parallel-min-iterations` iterations whose outermost loop (after the
    interchange) is parallel first split it into blocks (up to 16, sizes
    dividing it) of an `scf.forall`, which runs on threads; each block is
    computed by one thread in the same order, so results do not depend on
    the thread count. Tiling is `scf::tileUsingSCF`, vectorization
    `linalg::vectorize`.

    A reduction of a whole tensor to a scalar by an f32 sum, maximum or
    minimum, or an i1 `or` (a loss-scaled step's overflow check), first
    keeps one partial result per element of its trailing loops (as few as
    fill `width` lanes), reduced at the end: the grouping depends on the
    shapes only. Its loops are first interchanged to its inputs' layout where
    all are read through the same permutation (a convolution weight's
    gradient computed as [O, kh, kw, I], read as [O, I, kh, kw]). A
    reduction of inputs read in memory order (identity maps: one contiguous
    run) of a multiple of 64 elements, at least 128 (an fp8
    amax history's maximum, an activation's amax), is first folded into rows
    of 64, so that its 64 partials are independent vector chains; whole
    reductions that read the same tensors through the same maps (a
    loss-scaled step's overflow check and gradient norm, an amax history's
    signed and unsigned maxima; up to 4) are one loop nest with a row of
    partials each, their inits and captured values (fills, a scale read
    from its tensor) moved before the first where they are computed after
    it. A
    reduction of its leading loops into its trailing ones (a bias gradient)
    is read as rows of 64 partials too, and, where it has fewer than
    `parallel-min-iterations` iterations, the same loop nest computes the
    elementwise ops over the same loops that read the tensors it reads or
    produce them (a ReLU gradient, its f16 cast, an fp8 quantization that
    computes it again) and the whole-tensor reductions of those (the
    gradient's fp8 amax, as 64 more partials), up to 8 ops; a result that
    only those ops read is not written. A whole
    innermost loop of at most half of `width` (8 channels) in an op without
    reductions takes the next loop into the vector too, unless an input is
    contiguous along another loop. Ops with window maps (pooling, its
    gradient, im2col) are a loop nest in the op's order with one vector of
    their output's innermost loop of more than one iteration per step (over
    a single channel, an im2col gather's kw), which every operand reads with
    unit stride (`w + kw`, `c + kw`); reduction loops after all the parallel
    ones carry the output's vector, and an output that is a fill is neither
    filled nor read (each window starts from the filled value).
    A copy through a window map whose output, per iteration of its leading
    loops, is one contiguous block of at most 256 elements read from one
    contiguous run of at most 256 input elements (an im2col gather over a
    1-channel image: a row of 26 patches of 3 x 3 from 3 image rows) is a
    loop nest over those leading loops with one read, one `vector.shuffle`
    and one write per iteration.
  }];
  let options = [
    Option<"width", "width", "int64_t", "16", "preferred vector length">,
    Option<"parallelMinIterations", "parallel-min-iterations", "int64_t",
           "262144",
           "ops of at least this many iterations whose outermost loop is "
           "parallel split it into blocks of an scf.forall (threads)">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def AmpcCpuAmxTiles : Pass<"ampc-cpu-amx-tiles", "::mlir::ModuleOp"> {
  let summary = "compute the AMX-packed contraction tiles with AMX tiles";
  let description = [{
    On buffers, after bufferization: every `linalg.generic` that
    `ampc-vectorize-contractions{amx=true}` marked `ampc.amx_tile` (one
    32 x 32 tile of C over a block of k steps: A `1 x D x 32 x 16 x 2`, B
    `1 x D x 16 x 32 x 2`, bf16) becomes four 16 x 16 f32 AMX tiles
    loaded from C (zeroed instead where it is also marked
    `ampc.amx_zero_init`: C starts at +0.0 and D is the whole k loop, so
    C is only written), a loop over the D k steps that loads two A tiles (16
    rows x 32 k) and two B tiles (16 k pairs x 16 columns) and takes four
    tile multiplications (`amx.tile_mulf`, tdpbf16ps), the four tiles
    carried in registers, and four stores back to C. Each function that
    does so first asks Linux for the tiles' state, once per process
    (`syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`,
    inline: objects need no library for it), and stops the program with a
    message on stderr where it is refused.
  }];
  let dependentDialects = ["::mlir::amx::AMXDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def AmpcCpuPrefetchTiles
    : Pass<"ampc-cpu-prefetch-tiles", "::mlir::func::FuncOp"> {
  let summary = "prefetch C's tile before each packed micro-kernel";
  let description = [{
    On buffers, after bufferization: before every k loop that
    `ampc-vectorize-contractions` marked `ampc.micro_kernel` (an `scf.for`
    carrying a register tile's sums), a `memref.prefetch` (read, locality
    3: into L1) of each cache line of `line-bytes` that the loop's sums are
    stored into after it: for each `vector.transfer_write` of a result, or
    of the one op adding a result to C's old value, the lanes starting a
    line and the last lane (a row that does not start on a line ends in one
    more). The micro-kernels of a row block visit a new C tile each time,
    rows a whole row of C apart, which no hardware prefetcher follows: the
    lines arrive while the k loop runs instead of stalling the stores after
    it. A store whose memref or indices are not available before the loop
    gets no prefetch; the marker is removed.
  }];
  let options = [
    Option<"lineBytes", "line-bytes", "int64_t", "64", "cache line size">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

def AmpcCpuLowerAmx : Pass<"ampc-cpu-lower-amx", "::mlir::ModuleOp"> {
  let summary = "lower AMX ops and the loops that carry AMX tiles to LLVM";
  let description = [{
    AMX ops become calls of LLVM's AMX intrinsics and `!amx.tile` values
    LLVM's `x86_amx`, including the tiles an `scf.for` carries (the
    structural conversion of the SCF dialect), before the loops are
    lowered: the control-flow lowering does not know the AMX type. Memrefs
    the ops read stay memrefs behind casts the memref lowering resolves.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def AmpcCpuIntegerMoves
    : Pass<"ampc-cpu-integer-moves", "::mlir::ModuleOp"> {
  let summary = "move vectors of 16-bit floats as vectors of i16";
  let description = [{
    On the LLVM dialect, last: `llvm.load`, `llvm.store` and
    `llvm.shufflevector` of bf16 or f16 vectors become the same operations
    on i16 vectors, with bitcasts (which move no data) where a value is used
    as floats. LLVM's x86 back end legalizes a bf16 vector on AVX-512 BF16
    targets by splitting it into legal vectors and promoting a leftover
    element to f32, which it cannot do for a load, store or shuffle: the
    copies of a 100-17-10 MLP's 17-wide bf16 rows into their packed layout
    (`vector<17xbf16>`) and the gathers of an RGB image's 3 x 3 patches (27
    of a 177-element run) aborted it ("Do not know how to soft promote this
    operator's operand"). Moved as i16, a copy is an integer copy, and
    LLVM's own simplifications fold the bitcasts where the lanes are used
    as bf16. Other element types stay as they are.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def AmpcCpuVectorizeCopies
    : Pass<"ampc-cpu-vectorize-copies", "::mlir::func::FuncOp"> {
  let summary = "copy strided buffers with vector loads and stores";
  let description = [{
    On buffers: a `linalg.copy` between memrefs of one static shape whose
    innermost dimension is contiguous on both sides (a pooled activation
    copied out of the padded buffer its gradient reads, into the
    contiguous one a reshape needs: 32 x 13 x 13 x 8 at a stride of 16 in
    w) becomes a loop nest over its outer dimensions and its innermost one
    in steps of V, each step one V-lane vector read and write, where V is
    the largest divisor of the innermost size that fits `vector-bytes`.
    Without it the copy is a scalar loop (`convert-linalg-to-loops`).
    Copies whose innermost size has no divisor of at least 2 lanes that
    fits (one element, a prime larger than a vector), of dynamic shape, or
    strided in their innermost dimension stay as they are.

    A `memref.copy` of static shape and at most 64 KiB whose innermost
    dimension is contiguous on both sides (what bufferization makes of a
    concatenation: an fp8 amax history moved one place on, 1023 floats
    into an offset of one) becomes a loop nest over its outer dimensions
    and, in it, vectors of as many lanes as fit `vector-bytes` followed by
    one shorter vector for the rest. libc's memcpy moves such a copy with
    `rep movsb`, slow where source and target are not equally aligned: 22
    histories moved one place took 5.2 us that way and 3.3 us as vectors
    (2-core Sapphire Rapids-class Xeon). Larger copies, one element and
    dynamic sizes stay `memref.copy`.
  }];
  let options = [
    Option<"vectorBytes", "vector-bytes", "int64_t", "64",
           "bytes of the widest vector a copy moves at once">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::ub::UBDialect",
                           "::mlir::vector::VectorDialect"];
}

def AmpcCpuFlattenTransfers
    : Pass<"ampc-cpu-flatten-transfers", "::mlir::func::FuncOp"> {
  let summary = "read and write vectors of contiguous memory as 1-D vectors";
  let description = [{
    On buffers, before the vector transfers are unrolled into 1-D loads and
    stores: unit dimensions are dropped from transfers (a tile of 16
    channels of a [128, 64, 1, 1] weight is a vector<1x16x1x1>, which
    would unroll into 16 scalar loads), and an n-D transfer of memory that
    is contiguous (the [3, 3] taps of a filter, a whole [2, 8] block) is
    one 1-D transfer of a collapsed memref, with shape casts around it.
    Transfers of strided memory keep their rows, and a transfer whose
    trailing dimensions cover contiguous memory whole (rows of 4 bf16 pairs
    in a tile of an operand being packed) reads or writes each row as one
    1-D transfer of those dimensions collapsed.

    With `vector-bytes` set, an element-wise op on an n-D vector whose
    rows are narrower than the target's vectors (a [16, 8] f32 tile of a
    transposed cast on AVX-512, [8, 8, 2] bf16 pairs widened to i32) runs
    on the vector flattened to 1-D, with shape casts around it: LLVM
    computes an n-D vector one row at a time, so the [8, 8, 2] x i32 op
    would be 64 two-lane operations instead of two 512-bit ones.
  }];
  let options = [
    Option<"vectorBytes", "vector-bytes", "int64_t", "0",
           "bytes of the target's widest vector: element-wise ops on n-D "
           "vectors with narrower rows are flattened (0: they are not)">
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::vector::VectorDialect"];
}

def AmpcCpuParallelLoops
    : Pass<"ampc-cpu-parallel-loops", "::mlir::ModuleOp"> {
  let summary = "run parallel loops on OpenMP threads";
  let description = [{
    On buffers: every `scf.forall` (the loops over contraction tiles)
    becomes an `scf.parallel`, and with `threads` other than 1, an OpenMP
    parallel work-sharing loop (`convert-scf-to-openmp`) with that many
    threads (0: the OpenMP runtime's default, all cores or
    `OMP_NUM_THREADS`). The alloca scope the conversion wraps each iteration
    in is dissolved where the iteration allocates nothing on the stack, so
    that the loop bodies can become control flow. With one thread the loops
    stay sequential and the code needs no OpenMP runtime.
  }];
  let options = [
    Option<"threads", "threads", "int64_t", "0",
           "threads (0: the OpenMP runtime's default)">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::omp::OpenMPDialect"];
}

def AmpcCpuLowerAmp : Pass<"ampc-cpu-lower-amp", "::mlir::func::FuncOp"> {
  let summary = "amp-lower-to-arith with the CPU's half-precision conversions";
  let description = [{
    Lowers the amp dialect as `amp-lower-to-arith` does (the same patterns),
    except that casts from f32 to f16 with IEEE overflow become
    `arith.truncf` where the target converts in hardware
    (`f16-conversions`: x86 F16C `vcvtps2ph`, AArch64 `fcvt`), on scalars
    and vectors. The instruction rounds to nearest even with subnormals and
    overflows to inf, as the integer path does; NaN is mapped to the integer
    path's encoding (f16's quiet NaN, the input's sign). A cast whose
    elements reach nothing but `addf`, `subf`, `mulf`, `divf` and fma (through
    widening, reshapes, slices, copies, loop-carried values and vector reads:
    the f16 operand of a contraction) skips that mapping, three
    instructions per vector: the payload of a NaN that arithmetic consumes
    cannot be observed (IEEE 754 and LLVM leave the result's payload open),
    and every other value converts identically. Without the option,
    or for saturating casts, the integer path is used: the soft-float call
    LLVM would emit without F16C is not available to the JIT.

    With `bf16-conversions`, casts from f32 to bf16 with IEEE overflow
    become `arith.truncf` (nearest even, subnormals kept, as its semantics
    say), for `ampc-cpu-bf16-conversions` to lower after vectorization.
  }];
  let options = [
    Option<"f16Conversions", "f16-conversions", "bool", /*default=*/"false",
           "the target converts f32 to f16 in hardware (F16C, AArch64)">,
    Option<"bf16Conversions", "bf16-conversions", "bool", /*default=*/"false",
           "leave f32 -> bf16 casts as arith.truncf for "
           "ampc-cpu-bf16-conversions">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::vector::VectorDialect",
                           "::ampc::amp::AmpDialect"];
}

def AmpcCpuBf16Conversions
    : Pass<"ampc-cpu-bf16-conversions", "::mlir::func::FuncOp"> {
  let summary = "f32 -> bf16 arith.truncf, exactly, with AVX-512 BF16 where "
                "it gives the same bits";
  let description = [{
    Lowers every `arith.truncf` from f32 to bf16 (scalars and vectors) to
    the bits of amp-lower-to-arith's integer path: nearest even, subnormals
    kept, overflow to inf, NaN to bf16's quiet NaN with the input's sign.

    With `avx512`, a vector of 8 or of a multiple of 16 elements converts
    with AVX-512 BF16's `vcvtneps2bf16` (`x86vector.avx512.cvt.packed.f32_to_bf16`),
    one instruction per 16 elements in place of eight. The instruction
    rounds to nearest even like the integer path, but reads subnormal
    inputs as zero and keeps a NaN's payload, so the vector is first
    classified (`vfpclassps`: subnormal or NaN, AVX-512 DQ) and a vector
    holding any such element takes the integer path in a branch LLVM is
    told is rarely taken. Everything else (scalars, other lengths, no
    `avx512`) takes the integer path.
  }];
  let options = [
    Option<"avx512", "avx512", "bool", /*default=*/"false",
           "the target has AVX-512 BF16, VL and DQ">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::x86vector::X86VectorDialect"];
}

def AmpcCpuNaNBranches : Pass<"ampc-cpu-nan-branches", "::mlir::func::FuncOp"> {
  let summary = "quiet the NaN lanes of a vector in a branch taken only when "
                "it holds a NaN";
  let description = [{
    A vector `arith.select %m, %quiet, %x'` whose condition is
    `%m = arith.cmpf uno, %x, %x` (how the cast lowering maps NaN to the
    integer path's quiet NaN before a bf16 or f16 rounding) becomes

        scf.if (llvm.intr.expect(any lane of %x is a NaN, false)) {
          the select
        } else {
          %x'
        }

    and the pure ops before it that feed nothing but its condition and its
    true value (the mask, the sign and the quiet NaN) move into the branch.
    The test compares two chunks of `lanes` elements per instruction (a NaN
    in either operand of an unordered comparison sets the lane) and reduces
    the or of the masks: one comparison, a mask move and a jump per two
    vectors where the select took four instructions per vector (compare,
    and, or, blend). Without AVX-512's mask registers (AVX2) that is the
    saving; with them the select is two instructions and the pass is not
    run. Results are unchanged: without a NaN lane the select returns %x'.
  }];
  let options = [
    Option<"lanes", "lanes", "int64_t", /*default=*/"8",
           "f32 elements in one of the target's vector registers">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def AmpcCpuExpandMath : Pass<"ampc-cpu-expand-math", "::mlir::func::FuncOp"> {
  let summary = "f32 tanh and exp as vectorizable arithmetic";
  let description = [{
    LLVM otherwise calls libm's `tanhf` and `expf` once per vector lane.
    On f32 scalars and vectors (in linalg bodies before vectorization):

    - `math.tanh` (GELU's) becomes upstream's rational approximation (a
      degree 13 / 6 ratio of polynomials in fused multiply-adds, the input
      clamped to +-7.9988, where the ratio reaches +-1, and `x` itself below
      0.0004 in magnitude): at most 4.6 ulp from tanh in double over every
      61st f32 bit pattern (glibc's `tanhf`: 2.2); +-0, +-inf and NaN exact.
    - `math.exp` (softmax's, the cross-entropy's) becomes x clamped to
      [-104, 89] (NaN kept out of the integer arithmetic),
      k = roundeven(x log2(e)), r = x - k ln 2 in two steps (Cody and
      Waite), exp(r) as its Taylor polynomial of degree 8 in Horner form,
      and the scaling by 2^k as two exact multiplications by powers of two
      built in the exponent field (the last rounds once into the
      subnormals or overflows to +inf); NaN is selected back. Products
      and sums may fuse (`contract`): within 1 ulp of exp in double with
      FMAs (0.87 over all 2^32 patterns), 1.5 without (1.12 measured);
      exp(+-0) = 1, exp(-inf) = +0, exp(+inf) = +inf
      (test/unit/MathApproximationTest.cpp).

    Other types, and the ops on tensors, are left alone.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def AmpcCpuFuseEpilogues
    : Pass<"ampc-cpu-fuse-epilogues", "::mlir::func::FuncOp"> {
  let summary = "compute elementwise consumers of a register tile on its "
                "accumulators";
  let description = [{
    On tensors, after the elementwise fusion: an all-parallel
    `linalg.generic` whose body computes lane by lane (arith and math ops
    without regions, on integers and floats, reading no init) and one or
    more of whose inputs, read through the identity, were written whole by
    chains of 1-D `vector.transfer_write`s of one width (each element once,
    in bounds, at constant indices along the last dimension; through
    collapses, expansions and an `insert_slice` that fills its
    destination) is replaced by its body on those vectors: one copy of the
    body per stored vector, in the order of the op's loops, each result
    stored into the op's outputs as a vector; the stores nothing reads any
    more are erased. Its other inputs are read as rows of the same width
    (`transfer_read`,
    where their map reads the innermost loop in its last result only) or
    as one element broadcast (where their map does not read it); each
    output must be written along the innermost loop, whose length must be
    a multiple of the vectors' width; at most 64 vectors. Other ops are
    left as they are.

    A contraction whose whole output fits the target's register tile ends
    with such stores of its accumulators, so its bias, activation, the cast
    to the next layer's type and an fp8 scaling run on the accumulators
    in registers (the micro-kernel's epilogue): the tile is not stored and
    read back by a loop of its own. An op computed so stores its results
    as vectors in turn, so the next op of a chain (a cast after a residual
    sum) is computed on them too. Lane by lane the arithmetic is the
    body's own, so the results are bit for bit the same.

    First, such an op that reads the result of a tiled contraction (the
    loops `ampc-vectorize-contractions` marks `ampc.tiled_contraction`: C
    accumulated in place as M1 x mr x N1 x nr tiles, read through the
    identity and reshapes that keep its row-major order, rows and columns
    padded to whole tiles or not) moves into those loops: after each tile's
    micro-kernel, as an op on the tile that the rule above then puts on the
    accumulators. Where it is C's only reader, it writes C's tile itself
    (where k takes several blocks, `ampc.k_blocks`, a select per element
    keeps the partial sums but in the last one) and C, reshaped as before,
    is its result; otherwise its result is one more tensor carried through
    the loops (iter_args, shared outputs of the `scf.forall`) beside C,
    written in an `scf.if` on the last k block. Its other inputs must be
    defined before the loops and read the same for every element of a
    column (a bias, zero-padded to whole tiles), of a row (a per-row
    scale), for all (a scalar), or, where C is not padded, per element (a
    residual); it must have one result. Other ops stay where they are.
  }];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::vector::VectorDialect"];
}

def AmpcCpuNarrowFloats : Pass<"ampc-cpu-narrow-floats", "::mlir::func::FuncOp"> {
  let summary = "AMPC's own conversions for bf16/f16 in user IR";
  let description = [{
    Arithmetic on bf16 (and on f16 without `f16-conversions`) written in the
    model itself is computed in f32 by upstream's
    `arith-emulate-unsupported-floats` (exact for one operation: f32 holds
    twice their precision plus two bits), which leaves conversions. LLVM
    would turn `arith.truncf` to bf16 (and, without F16C, `truncf` to f16 and
    `extf` from f16) into calls of compiler-rt's soft-float builtins
    (`__truncsfbf2`, ...), which neither the JIT nor a plain C link has. This
    pass makes them `amp.cast`s (IEEE rounding and overflow, the defaults),
    which `ampc-cpu-lower-amp` lowers bit-exactly like every other cast.
    A truncation from f64 to bf16/f16 is an error (rounding it through f32
    would round twice). Runs before `ampc-cpu-lower-amp`.
  }];
  let options = [
    Option<"f16Conversions", "f16-conversions", "bool", /*default=*/"false",
           "the target converts between f32 and f16 in hardware: leave f16 "
           "to LLVM">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::ampc::amp::AmpDialect"];
}

def AmpcCpuLowerCollectives
    : Pass<"ampc-cpu-lower-collectives", "::mlir::ModuleOp"> {
  let summary = "amp.all_reduce (blocking or started and waited for) on "
                "buffers as calls to the runtime's collectives";
  let description = [{
    Runs after bufferization. Each buffer of a bufferized `amp.all_reduce`
    becomes one call

    ```
    ampc_rt_all_reduce_f32(ptr data, i64 count, i32 kind)   // kind: 0 sum, 1 mean, 2 max
    ```

    on its first element and element count; the runtime combines it in
    place across the ranks (MPI, `ampc_rt/Collectives.h`). A buffer with a
    strided layout is copied to a contiguous temporary and back.

    A non-blocking pair becomes

    ```
    i64 h = ampc_rt_all_reduce_start_f32(ptr data, i64 count, i32 kind)
    ...                                   // the ops between them
    ampc_rt_all_reduce_wait(i64 h)
    ```

    where the runtime's communication thread combines the buffer while the
    ops in between run (a strided buffer's temporary lives until the wait).
    An all-reduce still on tensors is an error.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::memref::MemRefDialect"];
}

#endif // AMPC_CODEGEN_CPU_PASSES_TD
