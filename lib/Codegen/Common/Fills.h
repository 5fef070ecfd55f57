//===- Fills.h - recognizing tensors filled with one value ------*- C++ -*-===//

#ifndef AMPC_LIB_CODEGEN_COMMON_FILLS_H
#define AMPC_LIB_CODEGEN_COMMON_FILLS_H

#include "mlir/IR/Value.h"

namespace ampc {

/// The scalar that a fill writes into every element of `tensor`, or null:
/// a linalg.fill on tensors, or its generic form (an all-parallel
/// linalg.generic whose body only yields a scalar input or a value defined
/// outside it, as linalg-generalize-named-ops and fusion leave fills).
mlir::Value filledValue(mlir::Value tensor);

} // namespace ampc

#endif // AMPC_LIB_CODEGEN_COMMON_FILLS_H
