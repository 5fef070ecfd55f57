//===- AmpBase.td - amp dialect and enums ------------------*- tablegen -*-===//
//
// The amp dialect adds meaning to MLIR's builtin float types for mixed-precision
// training: which precision each op computes in, how values are cast, how the
// loss is scaled and how fp8 tensors are scaled.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_DIALECT_AMP_IR_AMPBASE_TD
#define AMPC_DIALECT_AMP_IR_AMPBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Amp_Dialect : Dialect {
  let name = "amp";
  let cppNamespace = "::ampc::amp";
  let summary = "Mixed-precision annotations, casts and scaling for training";
  let description = [{
    The `amp` dialect states, in the IR, every decision that automatic mixed
    precision makes: the precision an op computes and accumulates in
    (`#amp.precision`), the policy a function was compiled under
    (`#amp.policy`), conversions with explicit rounding, saturation and scale
    (`amp.cast`), dynamic loss scaling with GradScaler semantics
    (`amp.scale_loss`, `amp.unscale_grads`, `amp.update_loss_scale`,
    `amp.select_update`) and per-tensor fp8 scaling in the style of
    Transformer Engine's delayed scaling (`amp.amax`,
    `amp.update_amax_history`), and the communication of data-parallel
    steps (`amp.all_reduce`, `amp.all_reduce_start`, `amp.all_reduce_wait`,
    `!amp.request`).

    The dialect adds no number formats: values use the builtin `f32`, `f16`,
    `bf16`, `f8E4M3FN` and `f8E5M2` types.
  }];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let extraClassDeclaration = [{
    /// Registers the attributes; defined next to their storage classes.
    void registerAttributes();
  }];
  // Folded casts of constants materialize as arith.constant.
  let hasConstantMaterializer = 1;
  // `amp.*` attributes on ops, arguments and results (the training-step
  // contract of TrainStepABI.h) are verified.
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Amp_RoundingModeAttr : I32EnumAttr<"RoundingMode",
    "rounding of a narrowing conversion", [
      I32EnumAttrCase<"nearest_even", 0>,
      I32EnumAttrCase<"stochastic", 1>
    ]> {
  let cppNamespace = "::ampc::amp";
}

def Amp_OverflowModeAttr : I32EnumAttr<"OverflowMode",
    "what a conversion does with values beyond the target's finite range", [
      // Finite overflow and +-inf become +-max finite; NaN stays NaN.
      I32EnumAttrCase<"saturate", 0>,
      // IEEE / OCP behaviour: overflow becomes inf, or NaN for f8E4M3FN.
      I32EnumAttrCase<"nonfinite", 1>
    ]> {
  let cppNamespace = "::ampc::amp";
}

def Amp_Policy : I32Enum<"Policy", "mixed-precision policy", [
      I32EnumCase<"fp32", 0>,
      I32EnumCase<"bf16", 1>,
      I32EnumCase<"fp16", 2>,
      I32EnumCase<"fp8", 3>
    ]> {
  let cppNamespace = "::ampc::amp";
}

def Amp_ScalingRecipe : I32Enum<"ScalingRecipe", "fp8 scaling recipe", [
      // The scale used at step t comes from the amax history up to step t-1.
      I32EnumCase<"delayed", 0>,
      // The scale comes from this tensor's amax, computed just before the cast.
      I32EnumCase<"current", 1>
    ]> {
  let cppNamespace = "::ampc::amp";
}

def Amp_AmaxAlgoAttr : I32EnumAttr<"AmaxAlgo",
    "how an amax history is reduced to the amax that sets the scale", [
      I32EnumAttrCase<"max", 0>,
      I32EnumAttrCase<"most_recent", 1>
    ]> {
  let cppNamespace = "::ampc::amp";
}

def Amp_ReduceKindAttr : I32EnumAttr<"ReduceKind",
    "how amp.all_reduce combines the ranks' values", [
      I32EnumAttrCase<"sum", 0>,
      I32EnumAttrCase<"mean", 1>,
      I32EnumAttrCase<"max", 2>
    ]> {
  let cppNamespace = "::ampc::amp";
}

#endif // AMPC_DIALECT_AMP_IR_AMPBASE_TD
