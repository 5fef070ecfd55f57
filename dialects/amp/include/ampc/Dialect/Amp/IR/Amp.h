//===- Amp.h - the amp dialect ----------------------------------*- C++ -*-===//
//
// Declares the amp dialect, its enums, attributes and operations.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_DIALECT_AMP_IR_AMP_H
#define AMPC_DIALECT_AMP_IR_AMP_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "ampc/Dialect/Amp/IR/TrainStepABI.h"

#include "ampc/Dialect/Amp/IR/AmpDialect.h.inc"
#include "ampc/Dialect/Amp/IR/AmpEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "ampc/Dialect/Amp/IR/AmpAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "ampc/Dialect/Amp/IR/AmpTypes.h.inc"

#define GET_OP_CLASSES
#include "ampc/Dialect/Amp/IR/AmpOps.h.inc"

namespace ampc::amp {

/// True for the float types AMPC computes in: f32, f16, bf16, f8E4M3FN and
/// f8E5M2.
bool isSupportedFloatType(mlir::Type type);

/// True for f8E4M3FN and f8E5M2.
bool isFp8Type(mlir::Type type);

/// True when every value of `from` is exactly representable in `to`.
bool isExactlyRepresentable(mlir::FloatType from, mlir::FloatType to);

/// Largest finite value of a float type.
double getLargestFinite(mlir::FloatType type);

/// The element type of a float scalar, tensor or vector; null otherwise.
mlir::FloatType getFloatElementType(mlir::Type type);

} // namespace ampc::amp

#endif // AMPC_DIALECT_AMP_IR_AMP_H
