//===- OpClassification.h - autocast op classes -----------------*- C++ -*-===//
//
// The op classes of automatic mixed precision (the compiler form of torch
// autocast's lists and TensorFlow's allow/deny/infer lists).
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_DIALECT_AMP_TRANSFORMS_OPCLASSIFICATION_H
#define AMPC_DIALECT_AMP_TRANSFORMS_OPCLASSIFICATION_H

#include "mlir/IR/Operation.h"
#include "llvm/ADT/StringRef.h"

#include <optional>

namespace ampc::amp {

enum class OpClass { Lower, Fp32, Promote, Follow };

llvm::StringRef stringifyOpClass(OpClass opClass);

/// What classification says of an op.
enum class OpKind {
  /// Computes on floats and has a class.
  Classified,
  /// Takes no part in precision decisions (constants, tensor.empty, returns,
  /// amp ops, ops without float values).
  Neutral,
  /// Computes on floats but is not known to AMPC.
  Unsupported
};

struct Classification {
  OpKind kind;
  OpClass opClass = OpClass::Fp32;
};

/// Classifies `op` from its name and, for linalg.generic, its body and
/// iterator types.
Classification classifyOp(mlir::Operation *op);

/// True for a float scalar or a shaped value of floats.
bool isFloatValue(mlir::Value value);

/// True for ops whose float values take part in precision decisions.
bool hasFloatValues(mlir::Operation *op);

/// True when `op` is a contraction or convolution that accumulates.
bool isContraction(mlir::Operation *op);

} // namespace ampc::amp

#endif // AMPC_DIALECT_AMP_TRANSFORMS_OPCLASSIFICATION_H
