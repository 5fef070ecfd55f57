//===- AmpAttrs.td - amp attributes ------------------------*- tablegen -*-===//
//
// The precision decision attached to each op and the policy attribute.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_DIALECT_AMP_IR_AMPATTRS_TD
#define AMPC_DIALECT_AMP_IR_AMPATTRS_TD

include "ampc/Dialect/Amp/IR/AmpBase.td"

class Amp_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Amp_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Amp_PolicyAttr : EnumAttr<Amp_Dialect, Amp_Policy, "policy"> {
  let summary = "a named mixed-precision policy";
  let description = [{
    One of the presets `fp32`, `bf16`, `fp16` and `fp8`; see DESIGN.md for
    the compute type, loss scaling and op-class rules of each.

    Example: `#amp.policy<bf16>`
  }];
  let assemblyFormat = "`<` $value `>`";
}

def Amp_ScalingRecipeAttr
    : EnumAttr<Amp_Dialect, Amp_ScalingRecipe, "scaling_recipe"> {
  let summary = "an fp8 scaling recipe";
  let description = "Example: `#amp.scaling_recipe<delayed>`";
  let assemblyFormat = "`<` $value `>`";
}

def Amp_PrecisionAttr : Amp_Attr<"Precision", "precision"> {
  let summary = "the precision one op computes and accumulates in";
  let description = [{
    The decision for one op: the element type its inputs are computed in
    (`compute`), the type contractions and reductions accumulate in
    (`accumulate`, at least as wide as `compute`) and, for fp8 compute types,
    the per-tensor scaling recipe. Attached under the name `amp.precision` by
    `amp-autocast`; a hand-written one always wins over the policy.

    Examples:

    ```mlir
    #amp.precision<compute = bf16, accumulate = f32>
    #amp.precision<compute = f8E4M3FN, accumulate = f32, recipe = delayed>
    ```
  }];
  let parameters = (ins
    "::mlir::FloatType":$compute,
    "::mlir::FloatType":$accumulate,
    OptionalParameter<"std::optional<::ampc::amp::ScalingRecipe>">:$recipe);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let builders = [
    AttrBuilderWithInferredContext<(ins "::mlir::FloatType":$compute,
                                        "::mlir::FloatType":$accumulate), [{
      return $_get(compute.getContext(), compute, accumulate, std::nullopt);
    }]>
  ];
  let extraClassDeclaration = [{
    /// The attribute name under which ops carry their decision.
    static constexpr ::llvm::StringLiteral getAttrName() {
      return ::llvm::StringLiteral("amp.precision");
    }
  }];
}

#endif // AMPC_DIALECT_AMP_IR_AMPATTRS_TD
