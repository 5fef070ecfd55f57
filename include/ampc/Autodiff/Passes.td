//===- Passes.td - reverse-mode automatic differentiation --*- tablegen -*-===//

#ifndef AMPC_AUTODIFF_PASSES_TD
#define AMPC_AUTODIFF_PASSES_TD

include "mlir/Pass/PassBase.td"

def AmpcAutodiff : Pass<"ampc-autodiff", "::mlir::ModuleOp"> {
  let summary = "add a function computing a loss and its gradients";
  let description = [{
    For the function named `function`, whose first result is a scalar loss
    (`f32`/`f64` or a 0-d tensor of them), adds `@<function>_grad` with the
    same arguments, returning the loss and then the gradient of the loss with
    respect to each argument marked `amp.param`, in order.

    Reverse mode over linalg on tensors. `linalg.generic` follows one rule:
    the adjoint of input k is a generic over the same iteration space whose
    body is the derivative of the scalar body (forward mode over arith/math
    ops) times the output's adjoint, written through input k's indexing map,
    with every dimension that map drops turned into a reduction. Bodies that
    combine with the output by addition (sums, contractions) or by maximum
    (the adjoint goes to every element equal to the maximum) are reductions;
    bodies that do not read the output are elementwise. Named linalg ops are
    generalized first; reshapes and transposes take their inverse. An op or a
    scalar op without a rule is an error naming it.

    Adjoints are computed only for values that depend on a parameter; the
    ops producing them carry `amp.gradient` (so the fp8 policy casts
    gradients to f8E5M2), and the gradient function is canonicalized so that
    the adjoint of a contraction is again a contraction (which autocast then
    runs in the low type).
  }];
  let options = [
    Option<"function", "function", "std::string", "\"forward\"",
           "the function to differentiate">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // AMPC_AUTODIFF_PASSES_TD
