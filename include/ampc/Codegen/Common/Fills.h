//===- Fills.h - recognizing tensors filled with one value ------*- C++ -*-===//

#ifndef AMPC_CODEGEN_COMMON_FILLS_H
#define AMPC_CODEGEN_COMMON_FILLS_H

#include "mlir/IR/Value.h"

namespace ampc {

/// The scalar that a fill writes into every element of `tensor`, or null:
/// a linalg.fill on tensors, or its generic form (an all-parallel
/// linalg.generic whose body only yields a scalar input or a value defined
/// outside it, as linalg-generalize-named-ops and fusion leave fills),
/// possibly reshaped (a convolution's accumulator is its fill collapsed to
/// M x N).
mlir::Value filledValue(mlir::Value tensor);

} // namespace ampc

#endif // AMPC_CODEGEN_COMMON_FILLS_H
