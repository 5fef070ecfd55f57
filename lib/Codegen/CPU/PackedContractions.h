//===- PackedContractions.h - contractions on packed tiles ------*- C++ -*-===//
//
// The CPU's one path for contractions, whatever their operand layouts:
//
//  1. packContraction: a contraction (linalg.matmul, batch_matmul, or a
//     linalg.generic multiply-add whose maps are any permutation of its
//     batch, m, n and k loops) becomes linalg.pack of each input into
//     register-tile panels (A: [b,] M/mr, K, mr; B: [b,] N/nr, K, nr; a
//     ragged last panel zero-padded) and a contraction with mmt4d's loops
//     on them. C (padded to whole tiles) is accumulated in place, seen as
//     M/mr, mr, N/nr, nr tiles; a narrow C computed transposed (C^T = B^T
//     A^T) as N/nr, nr, M/mr, mr tiles, which its micro-kernels store
//     transposed. A batch contraction, or a transposed one whose tiles the
//     micro-kernel cannot transpose (transposedStoreBlock), packs C ([b,]
//     M/mr, N/nr, mr, nr) for a linalg.batch_mmt4d (or mmt4d) and unpacks
//     the result.
//  2. lowerPackedContraction: the contraction is tiled into one scf.forall
//     iteration per output tile (parallel: threads split the tiles, each
//     tile's sum runs in a fixed order) and every tile becomes a micro-kernel
//     built with the vector dialect: mr rows of nr-lane accumulators kept in
//     registers through the k loop, one vector of B and mr broadcasts of A
//     per step, fused multiply-adds. Two bf16 inputs on a target with
//     AVX-512 BF16 are packed in k pairs instead of widened, and the
//     micro-kernel's steps are dot products of pairs (vdpbf16ps).
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_LIB_CODEGEN_CPU_PACKEDCONTRACTIONS_H
#define AMPC_LIB_CODEGEN_CPU_PACKEDCONTRACTIONS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/StringRef.h"

#include <optional>

namespace ampc::cpu {

/// The loops of a contraction the packed path takes: one m, n and k loop and
/// at most one batch loop.
struct ContractionLoops {
  std::optional<unsigned> batch;
  unsigned m = 0, n = 0, k = 0;
};

/// The loops of `op` if the packed path computes it exactly: two inputs and
/// one output on static tensors, projected-permutation maps with A over
/// (b, m, k), B over (b, n, k) and C over (b, m, n) in any order, a
/// multiply-add body (inputs may be widened with arith.extf), and a float
/// output of at most 32 bits.
std::optional<ContractionLoops>
matchPackableContraction(mlir::linalg::LinalgOp op);

/// Rewrites a convolution written as a linalg.generic multiply-add (an image
/// read through window expressions such as `oh + kh`, a forward pass or a
/// weight gradient) as a gather of the image's patches (im2col: one
/// dimension per loop it is read by, the loop the image is contiguous along
/// moved last in its contraction group) and a contraction with one m, n and
/// k loop (the loops folded), which the packed path takes. Returns the
/// contraction; fails, changing nothing, on other ops.
mlir::FailureOr<mlir::linalg::LinalgOp>
convolutionToContraction(mlir::RewriterBase &rewriter,
                         mlir::linalg::LinalgOp op);

/// Widens the inputs of `op` narrower than `target` (null: its output's
/// type) to it, once, on whole tensors: exact (bf16, f16 and fp8 values and
/// their products are f32 values; fp8 values are bf16 values), and O(n^2)
/// against the O(n^3) contraction.
void widenInputs(mlir::RewriterBase &rewriter, mlir::linalg::LinalgOp op,
                 mlir::FloatType target = {});

/// f32 lanes of an AVX-512 BF16 dot product (vdpbf16ps on zmm registers).
constexpr int64_t kDotLanes = 16;

/// The smallest k a bf16 contraction takes dot products at, its last pair
/// padded where k is odd; a shorter one takes them where k is even and at
/// least kDotMinWholePairsDepth, and otherwise widens to f32 (see
/// pairsPayOff in Vectorize.cpp).
constexpr int64_t kDotMinDepth = 16;
constexpr int64_t kDotMinWholePairsDepth = 8;

/// Rows, columns and k of the C block AMX computes per micro-kernel (2 x 2
/// tiles of 16 x 16 f32; A and B tiles of 16 rows of 32 bf16): the packing,
/// the padding rule and the cache blocking all count in these.
constexpr int64_t kAmxBlock = 32;

/// The attribute on a packed contraction's tile that is computed with AMX
/// tiles once it is on buffers (ampc-cpu-amx-tiles).
constexpr llvm::StringLiteral kAmxTileAttr = "ampc.amx_tile";
/// Next to kAmxTileAttr: the tile's C starts at +0.0 and its k loop is the
/// whole contraction's, so its AMX tiles start zeroed and C is not read.
constexpr llvm::StringLiteral kAmxZeroInitAttr = "ampc.amx_zero_init";

/// The attribute on a micro-kernel's k loop (an `scf.for` carrying the
/// register tile's sums, whose results are added to or written into C's
/// tile after it): ampc-cpu-prefetch-tiles prefetches C's tile before it,
/// once it is on buffers.
constexpr llvm::StringLiteral kMicroKernelAttr = "ampc.micro_kernel";

/// The attribute on the loops over the output tiles (and k blocks) of a
/// contraction whose C accumulates in place (C read as M1 x mr x N1 x nr, or
/// C^T's tiles read as N1 x nr x M1 x mr: the M x N result expanded, padded
/// to whole tiles):
/// ampc-cpu-fuse-epilogues computes its elementwise consumer on each tile's
/// accumulators inside them.
constexpr llvm::StringLiteral kTiledContractionAttr = "ampc.tiled_contraction";
/// The attribute on the loop over the k blocks of such a contraction (none
/// where k is one block): its last iteration leaves each tile's final sums.
constexpr llvm::StringLiteral kKBlocksAttr = "ampc.k_blocks";

/// How a contraction of two bf16 inputs multiplies them.
enum class Bf16Kernel {
  /// Widened to f32 once, fused multiply-adds.
  widen,
  /// Packed in k pairs, AVX-512 BF16 dot products (vdpbf16ps).
  dot,
  /// Packed for AMX tiles, tile multiplications (tdpbf16ps).
  amx,
};

/// True if both inputs of `op` are bf16 or fp8 (values bf16 holds exactly:
/// the bf16 kernels widen fp8 to bf16).
bool hasBf16ExactInputs(mlir::linalg::LinalgOp op);

/// The loops along C's rows and columns that register tiles of `cols`
/// columns follow (the row loop's input is packed as A): C's own, or
/// swapped where C has fewer columns than `cols` and more rows.
std::pair<unsigned, unsigned> tileAxes(mlir::linalg::LinalgOp op, int64_t cols);

/// Replaces `op` (matched above) by packs and the packed contraction with
/// register tiles of `rows` x `cols` (see above). Inputs narrower than the
/// output are widened first, except for two bf16 inputs with a `kernel`
/// other than widen:
///  - dot: k is cut into pairs too (A: [M1, K/2, mr, 2], B: [N1, K/2, nr,
///    2], an odd k zero-padded), the layout of vdpbf16ps's operands; `cols`
///    must be a multiple of kDotLanes;
///  - amx (no batch: the caller never asks for it with one): 32 x 32 tiles
///    whatever `rows` and `cols`, A as [M1,
///    K/32, 32, 16, 2] (rows of 32 k), B as [N1, K/32, 16, 32, 2] (16 k
///    pairs of 32 columns), k zero-padded to a multiple of 32; the
///    contraction is a linalg.generic with loops (M1, N1, K1, M0, N0, P, T).
/// Returns the packed contraction (a linalg.generic with mmt4d's loops, a
/// mmt4d or a batch_mmt4d).
mlir::linalg::LinalgOp packContraction(mlir::RewriterBase &rewriter,
                                       mlir::linalg::LinalgOp op,
                                       const ContractionLoops &loops,
                                       int64_t rows, int64_t cols,
                                       Bf16Kernel kernel);

/// `value` (a static tensor read in memory order) reshaped to `shape` with
/// the same number of elements, through its flat form (defined with the
/// vectorizer, Vectorize.cpp).
mlir::Value reshapeInOrder(mlir::RewriterBase &rewriter, mlir::Location loc,
                           mlir::Value value, llvm::ArrayRef<int64_t> shape);

/// The M x N result (`type`) of a tiled accumulator (M1 x mr x N1 x nr, C
/// padded to whole tiles): collapsed, and sliced where it was padded.
mlir::Value untileAccumulator(mlir::RewriterBase &b, mlir::Location loc,
                              mlir::Value tiles, mlir::RankedTensorType type);

/// The transpose of the n x n matrix `rows` (n rows of n lanes, n a power
/// of two) as log2(n) stages of n two-row shuffles: the stage of block size
/// h swaps, in every 2h x 2h block, its upper right and lower left h x h
/// blocks (row i takes row i + h's lanes c - h where bit h of c is set,
/// and row i + h takes row i's lanes c + h where it is clear). A 16 x 16
/// f32 transpose is 64 single-instruction shuffles on AVX-512; as one
/// 256-lane shuffle, LLVM made it about 880 instructions with spills.
llvm::SmallVector<mlir::Value>
transposeRows(mlir::OpBuilder &b, mlir::Location loc,
              llvm::SmallVector<mlir::Value> rows);

/// The side of the square blocks in which a micro-kernel of `rows` x `cols`
/// transposes its sums to store them into C^T's tiles: `rows` rounded up to
/// a power of two from 4 to 16 that divides `cols` (transposeRows on the
/// sums' lanes of `side` columns, zeros for the rows past `rows`), if there
/// is one.
std::optional<int64_t> transposedStoreBlock(int64_t rows, int64_t cols);

/// `source` zero-padded along `dim` to a multiple of `multiple`.
mlir::Value padToMultiple(mlir::RewriterBase &b, mlir::Location loc,
                          mlir::Value source, int64_t dim, int64_t multiple);

/// `value` with its dimension `dim` split into (its size / `inner`) x
/// `inner`.
mlir::Value splitDim(mlir::RewriterBase &b, mlir::Location loc,
                     mlir::Value value, int64_t dim, int64_t inner);

/// How the micro-kernel walks the packed operands: k blocks of `depth`
/// (B's block of depth x nr stays in L1) over `rowTiles` row tiles at a time
/// (A's block of rowTiles x depth x mr stays in L2).
struct PanelSizes {
  int64_t depth = 256;
  int64_t rowTiles = 16;
  /// Column tiles per parallel block.
  int64_t colTiles = 8;
  /// Contractions of fewer flops run their tiles in a plain loop: starting
  /// threads costs more than they save.
  int64_t minParallelFlops = int64_t(1) << 22;

  /// Sizes for register tiles of `rows` x `cols` f32 and caches of
  /// `l1Bytes` and `l2Bytes`: B's k block of one column tile takes half of
  /// L1 and is at least 256 deep, A's k block of a row block half of L2.
  static PanelSizes forCaches(int64_t rows, int64_t cols, int64_t l1Bytes,
                              int64_t l2Bytes);
  /// Sizes for AMX's 32 x 32 tiles (depth in steps of 32 k).
  static PanelSizes forAmx(int64_t l1Bytes, int64_t l2Bytes);
};

/// Tiles `mmt4d` (from packContraction) into a parallel loop over blocks of
/// output tiles, then k blocks and row tiles (see PanelSizes), and emits the
/// micro-kernel of each tile; with `amxTiles` (packed for AMX), the tile is
/// marked with kAmxTileAttr for ampc-cpu-amx-tiles instead.
mlir::LogicalResult lowerPackedContraction(mlir::RewriterBase &rewriter,
                                           mlir::linalg::LinalgOp mmt4d,
                                           const PanelSizes &panels,
                                           bool amxTiles);

} // namespace ampc::cpu

#endif // AMPC_LIB_CODEGEN_CPU_PACKEDCONTRACTIONS_H
