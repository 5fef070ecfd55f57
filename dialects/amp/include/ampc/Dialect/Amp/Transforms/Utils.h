//===- Utils.h - helpers shared by the precision passes ---------*- C++ -*-===//
//
// Casting values once per target type, converting destination tensors, and
// retyping linalg payloads.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_DIALECT_AMP_TRANSFORMS_UTILS_H
#define AMPC_DIALECT_AMP_TRANSFORMS_UTILS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseMap.h"

namespace ampc::amp {

/// `type` (a float or a shaped type of floats) with element type `element`.
mlir::Type withElementType(mlir::Type type, mlir::Type element);

/// Produces converted copies of values, at most one per (value, element
/// type), placed right after the value's definition so every use can share it.
class ValueCaster {
public:
  /// `value` converted to element type `to` with amp.cast (or `value` itself).
  mlir::Value cast(mlir::Value value, mlir::FloatType to);

  /// Like cast, for a destination (`outs`) tensor: a fresh tensor.empty or a
  /// fill of a constant is recreated in the new type instead of being cast,
  /// and an amp.cast from `to` is looked through.
  mlir::Value convertInit(mlir::Value value, mlir::FloatType to);

private:
  llvm::DenseMap<std::pair<mlir::Value, mlir::Type>, mlir::Value> cache;
};

/// Rebuilds the payload of a linalg op after its operand types changed: named
/// ops get the body their region builder makes for the new types; ops with a
/// hand-written payload (linalg.generic, linalg.map, ...) keep their scalar
/// computation, converting at the block arguments and at the yield.
mlir::LogicalResult updatePayload(mlir::Operation *op);

/// An elementwise linalg.generic over `type`, marked to compute in f32:
/// inputs of that shape are read elementwise, 0-d inputs are broadcast, and
/// `body` maps their elements to the result's.
mlir::Value buildElementwiseF32(
    mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType type,
    mlir::ValueRange inputs,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                   mlir::ValueRange)>
        body);

/// Names the values casts read, for state and statistics: a parameter by its
/// name (abi::getParamName) or `param<i>`, `input<j>` for the j-th batch
/// input (by amp.role), `t<k>` for the k-th other value named.
class CastSiteNamer {
public:
  explicit CastSiteNamer(mlir::func::FuncOp fn) : fn(fn) {}
  std::string name(mlir::Value source);

private:
  mlir::func::FuncOp fn;
  int64_t intermediates = 0;
};

} // namespace ampc::amp

#endif // AMPC_DIALECT_AMP_TRANSFORMS_UTILS_H
