//===- AmpOps.td - amp operations --------------------------*- tablegen -*-===//
//
// Casts, dynamic loss scaling and fp8 scaling.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_DIALECT_AMP_IR_AMPOPS_TD
#define AMPC_DIALECT_AMP_IR_AMPOPS_TD

include "ampc/Dialect/Amp/IR/AmpAttrs.td"
include "ampc/Dialect/Amp/IR/AmpTypes.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

class Amp_Op<string mnemonic, list<Trait> traits = []>
    : Op<Amp_Dialect, mnemonic, traits>;

/// A float scalar, or a ranked tensor or vector of floats.
def Amp_FloatLike : AnyTypeOf<[AnyFloat, RankedTensorOf<[AnyFloat]>,
                               VectorOfAnyRankOf<[AnyFloat]>],
                              "float or ranked tensor/vector of float">;

/// An f32 scalar, or a ranked tensor or vector of f32.
def Amp_F32Like : AnyTypeOf<[F32, RankedTensorOf<[F32]>, VectorOfAnyRankOf<[F32]>],
                            "f32 or ranked tensor/vector of f32">;

def Amp_Fp8Type : AnyTypeOf<[F8E4M3FN, F8E5M2], "f8E4M3FN or f8E5M2">;

//===----------------------------------------------------------------------===//
// amp.cast
//===----------------------------------------------------------------------===//

def Amp_CastOp : Amp_Op<"cast", [Pure]> {
  let summary = "float conversion with explicit rounding, overflow and scale";
  let description = [{
    Converts a float value (scalar, tensor or vector) to another float element
    type of the same shape.

    - `rounding`: `nearest_even` (the default) or `stochastic` (reserved: it
      is accepted in the IR, and rejected by lowerings that do not implement
      it).
    - `overflow`: `saturate` sends finite overflow and +-inf to +-max finite
      and keeps NaN; `nonfinite` follows IEEE and the OCP 8-bit spec
      (overflow becomes inf, or NaN for `f8E4M3FN`, which has no inf). The
      default is `saturate` when the result is an fp8 type and `nonfinite`
      otherwise.
    - `scale` (fp8 only): a quantizing cast to fp8 computes
      `round(f32(x) * scale)`; a dequantizing cast from fp8 computes
      `round(f32(x) / scale)`. The product and quotient are formed in f32, as
      Transformer Engine does.

    Example:

    ```mlir
    %b = amp.cast %x : tensor<4x8xf32> to tensor<4x8xbf16>
    %q = amp.cast %x scale %s : tensor<4x8xf32> to tensor<4x8xf8E4M3FN>
    %n = amp.cast %x overflow nonfinite : tensor<4x8xf32> to tensor<4x8xf8E5M2>
    ```
  }];
  let arguments = (ins Amp_FloatLike:$input,
                       Optional<F32>:$scale,
                       OptionalAttr<Amp_RoundingModeAttr>:$rounding,
                       OptionalAttr<Amp_OverflowModeAttr>:$overflow);
  let results = (outs Amp_FloatLike:$result);
  let assemblyFormat = [{
    $input (`scale` $scale^)? (`rounding` $rounding^)? (`overflow` $overflow^)?
    attr-dict `:` type($input) `to` type($result)
  }];
  let builders = [
    OpBuilder<(ins "::mlir::Type":$resultType, "::mlir::Value":$input), [{
      build($_builder, $_state, resultType, input, /*scale=*/::mlir::Value(),
            /*rounding=*/nullptr, /*overflow=*/nullptr);
    }]>
  ];
  let extraClassDeclaration = [{
    /// The element types on either side of the conversion.
    ::mlir::FloatType getSourceElementType();
    ::mlir::FloatType getResultElementType();
    /// The rounding mode, with the default applied.
    RoundingMode getRoundingMode();
    /// The overflow behaviour, with the type-dependent default applied.
    OverflowMode getOverflowMode();
    /// True when every value of the source type is exactly representable in
    /// the result type and no scale is applied: the cast cannot change a value.
    bool isExactWidening();
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Dynamic loss scaling
//===----------------------------------------------------------------------===//

def Amp_ScaleLossOp : Amp_Op<"scale_loss",
    [Pure, AllTypesMatch<["loss", "result"]>]> {
  let summary = "multiply the loss by the loss scale";
  let description = [{
    Returns `loss * scale`. The product seeds the backward pass, so every
    gradient is scaled by `scale`; `amp.unscale_grads` divides it out again.

    Example:

    ```mlir
    %scaled = amp.scale_loss %loss by %scale : tensor<f32>
    ```
  }];
  let arguments = (ins Amp_F32Like:$loss, F32:$scale);
  let results = (outs Amp_F32Like:$result);
  let assemblyFormat = "$loss `by` $scale attr-dict `:` type($loss)";
}

def Amp_UnscaleGradsOp : Amp_Op<"unscale_grads", [Pure]> {
  let summary = "divide gradients by the loss scale and check them for inf/NaN";
  let description = [{
    Multiplies each gradient by the inverse of `scale` and reports in
    `found_inf` whether any element of any gradient is inf or NaN. As in torch
    GradScaler, the inverse is computed in f64 and rounded to f32 once, so
    every element sees the same multiplier.

    Example:

    ```mlir
    %gw, %gb, %found_inf = amp.unscale_grads (%dw, %db) by %scale
        : (tensor<784x256xf32>, tensor<256xf32>)
        -> (tensor<784x256xf32>, tensor<256xf32>)
    ```
  }];
  let arguments = (ins Variadic<Amp_FloatLike>:$grads, F32:$scale);
  let results = (outs Variadic<Amp_FloatLike>:$unscaled, I1:$found_inf);
  let assemblyFormat = [{
    `(` $grads `)` `by` $scale attr-dict `:` `(` type($grads) `)`
    `->` `(` type($unscaled) `)`
  }];
  let hasVerifier = 1;
}

def Amp_UpdateLossScaleOp : Amp_Op<"update_loss_scale", [Pure]> {
  let summary = "advance the dynamic loss-scale state by one step";
  let description = [{
    Computes the loss-scale state after one step, with torch GradScaler
    semantics extended by the options peers offer:

    - if `found_inf`: the growth tracker resets to 0 and the hysteresis
      tracker decreases by one; when it reaches 0 the scale is multiplied by
      `backoff_factor` (not below `min_scale`, if set) and the hysteresis
      tracker is reset to `hysteresis`;
    - otherwise the growth tracker increases by one; when it reaches
      `growth_interval` it resets to 0, the hysteresis tracker is reset to
      `hysteresis`, and the scale is multiplied by `growth_factor` if the
      product is finite (and not above `max_scale`, if set: it is clamped).

    With the defaults (`growth_factor = 2.0`, `backoff_factor = 0.5`,
    `growth_interval = 2000`, `hysteresis = 1`, no bounds) this is exactly
    GradScaler's `update()`.

    Example:

    ```mlir
    %s, %g, %h = amp.update_loss_scale %scale, %growth, %hyst, %found_inf
        {growth_interval = 100 : i64, min_scale = 1.0 : f64}
    ```
  }];
  let arguments = (ins F32:$scale, I32:$growth_tracker, I32:$hysteresis_tracker,
                       I1:$found_inf,
                       DefaultValuedAttr<F64Attr, "2.0">:$growth_factor,
                       DefaultValuedAttr<F64Attr, "0.5">:$backoff_factor,
                       DefaultValuedAttr<I64Attr, "2000">:$growth_interval,
                       DefaultValuedAttr<I64Attr, "1">:$hysteresis,
                       OptionalAttr<F64Attr>:$min_scale,
                       OptionalAttr<F64Attr>:$max_scale);
  let results = (outs F32:$new_scale, I32:$new_growth_tracker,
                      I32:$new_hysteresis_tracker);
  let assemblyFormat = [{
    $scale `,` $growth_tracker `,` $hysteresis_tracker `,` $found_inf attr-dict
  }];
  let skipDefaultBuilders = 0;
  let builders = [
    OpBuilder<(ins "::mlir::Value":$scale, "::mlir::Value":$growthTracker,
                   "::mlir::Value":$hysteresisTracker,
                   "::mlir::Value":$foundInf), [{
      // Unset default-valued attributes take their defaults.
      build($_builder, $_state, scale, growthTracker, hysteresisTracker,
            foundInf, ::mlir::FloatAttr(), ::mlir::FloatAttr(),
            ::mlir::IntegerAttr(), ::mlir::IntegerAttr(), ::mlir::FloatAttr(),
            ::mlir::FloatAttr());
    }]>
  ];
  let hasVerifier = 1;
}

def Amp_SelectUpdateOp : Amp_Op<"select_update",
    [Pure, AttrSizedOperandSegments,
     InferTypeOpAdaptor]> {
  let summary = "keep the old state when a step is skipped";
  let description = [{
    Returns `old` when `found_inf` is true and `new` otherwise, value by
    value. A skipped optimizer step leaves parameters and optimizer state
    bit-identical: the update is computed, then discarded as a whole.

    Example:

    ```mlir
    %w, %m = amp.select_update %found_inf,
        old(%w0, %m0 : tensor<4xf32>, tensor<4xf32>),
        new(%w1, %m1 : tensor<4xf32>, tensor<4xf32>)
    ```
  }];
  let arguments = (ins I1:$found_inf, Variadic<AnyType>:$old,
                       Variadic<AnyType>:$new_values);
  let results = (outs Variadic<AnyType>:$results);
  let assemblyFormat = [{
    $found_inf `,` `old` `(` $old `:` type($old) `)` `,`
    `new` `(` $new_values `:` type($new_values) `)` attr-dict
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// fp8 scaling
//===----------------------------------------------------------------------===//

def Amp_AmaxOp : Amp_Op<"amax", [Pure]> {
  let summary = "largest absolute value of a tensor";
  let description = [{
    Returns `max(|x|)` over every element of `input`, in f32. A NaN element
    makes the result NaN, so that the scale update can see it and keep the
    previous scale.

    Example:

    ```mlir
    %a = amp.amax %x : tensor<128x256xf32>
    ```
  }];
  let arguments = (ins Amp_FloatLike:$input);
  let results = (outs F32:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Amp_UpdateAmaxHistoryOp : Amp_Op<"update_amax_history",
    [Pure, AllTypesMatch<["history", "new_history"]>,
     AllTypesMatch<["block_max", "new_block_max"]>,
     AllTypesMatch<["amax", "scale", "new_scale"]>]> {
  let summary = "record the amaxes of fp8 casts and derive their next scales";
  let description = [{
    Delayed scaling as in Transformer Engine's `DelayedScaling`, for every
    scaled cast of a step at once (one column per cast, as TE's fp8 meta
    keeps them), so that recording the amaxes costs the same whatever the
    history length. The history is a ring buffer of rows: an `n x c` f32
    tensor of the last `n` amaxes of each of `c` casts (`n` the history
    length), in which row `position` is where the next amaxes go.
    `block_max` (`k x c`) holds, for the history cut into `k` blocks of
    `b = n / k` consecutive rows (`k` must divide `n`), the maximum of each
    block and column:

    - `new_history` is `history` with `amax` in row `position` (a position
      outside `[0, n)` counts as 0), `new_position` the next one, wrapping
      to 0 after `n - 1`;
    - `new_block_max` is `block_max` with the row of the changed block
      recomputed from `new_history`;
    - the reduced amax of a column is the maximum of its new block maxima,
      that of its last `n` amaxes (`algo max`, the default), or its `amax`
      (`algo most_recent`);
    - `new_scale = (fp8_max / reduced) / 2^margin` per column, where
      `fp8_max` is that of the column's format in `formats` (448 for
      `f8E4M3FN`, 57344 for `f8E5M2`); where the reduced amax is 0, inf or
      NaN the column's previous `scale` is kept.

    The scales are used by the next step's casts, so the scale at step t
    comes from amaxes up to step t-1. Starting from zeros everywhere
    (position 0), the scales are Transformer Engine's, whose history holds
    the same values newest first and is rolled every step.

    Example:

    ```mlir
    %h, %m, %p, %s = amp.update_amax_history %history, %block_max, %position,
        %amax, %scale formats [f8E4M3FN, f8E5M2] algo most_recent
        {margin = 1 : i64} : tensor<1024x2xf32>, tensor<32x2xf32>,
        tensor<2xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$history,
                       RankedTensorOf<[F32]>:$block_max, I32:$position,
                       RankedTensorOf<[F32]>:$amax,
                       RankedTensorOf<[F32]>:$scale,
                       TypeArrayAttr:$formats,
                       OptionalAttr<Amp_AmaxAlgoAttr>:$algo,
                       DefaultValuedAttr<I64Attr, "0">:$margin);
  let results = (outs RankedTensorOf<[F32]>:$new_history,
                      RankedTensorOf<[F32]>:$new_block_max,
                      I32:$new_position, RankedTensorOf<[F32]>:$new_scale);
  let assemblyFormat = [{
    $history `,` $block_max `,` $position `,` $amax `,` $scale
    `formats` $formats (`algo` $algo^)? attr-dict
    `:` type($history) `,` type($block_max) `,` type($scale)
  }];
  let extraClassDeclaration = [{
    /// The amax reduction, with the default applied.
    AmaxAlgo getAmaxAlgo() {
      return getAlgo().value_or(AmaxAlgo::max);
    }
    /// Largest finite value of each column's fp8 format.
    ::llvm::SmallVector<double> getFormatMaxima();
    /// Rows of the history per block maximum.
    int64_t getBlockLength();
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// data parallelism
//===----------------------------------------------------------------------===//

def Amp_AllReduceOp : Amp_Op<"all_reduce", [
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "combine f32 values across the ranks of a data-parallel run";
  let description = [{
    Every rank of the run (the processes `mpirun` started; one rank when
    there is no MPI) contributes its `buffers`, and every rank gets the
    same combination, element by element: their `sum`, their `mean` (the
    sum divided by the number of ranks) or their `max`. Each operand is
    reduced as a whole (a flat bucket of gradients, a loss, an amax); the
    ranks must issue the same all-reduces in the same order, which a step
    compiled from the same module does.

    On tensors the results are the combined values; after bufferization the
    op takes memrefs, combines them in place and has no results. The CPU
    back end calls the runtime (`ampc_rt_all_reduce_f32`, over MPI).

    Example:

    ```mlir
    %g, %l = amp.all_reduce mean %bucket, %loss : tensor<4096xf32>, tensor<f32>
    amp.all_reduce max %amaxes : memref<3xf32>
    ```
  }];
  let arguments = (ins Amp_ReduceKindAttr:$kind,
                       Variadic<AnyTypeOf<[RankedTensorOf<[F32]>,
                                           MemRefOf<[F32]>]>>:$buffers);
  let results = (outs Variadic<RankedTensorOf<[F32]>>:$results);
  let assemblyFormat = [{
    $kind $buffers attr-dict `:` type($buffers) (`->` type($results)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getBuffersMutable();
    }
  }];
  let hasVerifier = 1;
}

def Amp_AllReduceStartOp : Amp_Op<"all_reduce_start", [
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "begin combining a buffer across the ranks; wait for it later";
  let description = [{
    The non-blocking half of `amp.all_reduce`: the communication of
    `buffer` (combined as `kind`, in place) starts here and runs while the
    ops up to the matching `amp.all_reduce_wait` compute, which is how a
    data-parallel step overlaps a gradient bucket's all-reduce with the rest
    of its reverse sweep. Ranks must start and wait in the same order.

    On tensors, `in_flight` stands for the buffer while it is communicated:
    its one use is the `amp.all_reduce_wait` of the same `request`, whose
    result is the combination. After bufferization the op takes the buffer,
    which nothing may read or write until the wait. The CPU back end calls
    `ampc_rt_all_reduce_start_f32` (the request is its handle).

    Example:

    ```mlir
    %f, %r = amp.all_reduce_start mean %bucket : tensor<4096xf32> -> tensor<4096xf32>
    // ... the rest of the backward ...
    %avg = amp.all_reduce_wait %r, %f : tensor<4096xf32> -> tensor<4096xf32>
    ```
  }];
  let arguments = (ins Amp_ReduceKindAttr:$kind,
                       AnyTypeOf<[RankedTensorOf<[F32]>,
                                  MemRefOf<[F32]>]>:$buffer);
  let results = (outs Optional<RankedTensorOf<[F32]>>:$in_flight,
                      Amp_RequestType:$request);
  let assemblyFormat = [{
    $kind $buffer attr-dict `:` type($buffer) (`->` type($in_flight)^)?
  }];
  let hasVerifier = 1;
}

def Amp_AllReduceWaitOp : Amp_Op<"all_reduce_wait", [
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "the end of an amp.all_reduce_start";
  let description = [{
    Waits until the all-reduce `request` names has combined its buffer. On
    tensors, `buffer` is the start's `in_flight` value and the result the
    combined values; on memrefs the op takes the start's buffer (whose
    readers it orders after the communication) and has no result.
  }];
  let arguments = (ins Amp_RequestType:$request,
                       AnyTypeOf<[RankedTensorOf<[F32]>,
                                  MemRefOf<[F32]>]>:$buffer);
  let results = (outs Optional<RankedTensorOf<[F32]>>:$result);
  let assemblyFormat = [{
    $request `,` $buffer attr-dict `:` type($buffer) (`->` type($result)^)?
  }];
  let hasVerifier = 1;
}

#endif // AMPC_DIALECT_AMP_IR_AMPOPS_TD
