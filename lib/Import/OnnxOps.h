//===- OnnxOps.h - the operator handlers' registration ---------*- C++ -*-===//

#ifndef AMPC_LIB_IMPORT_ONNXOPS_H
#define AMPC_LIB_IMPORT_ONNXOPS_H

#include "Importer.h"

#include <map>

namespace ampc::onnx_import {

using HandlerTable = std::map<std::string, Handler>;

/// A handler from one taking an extra argument: `bound<pool, true>`.
template <auto Fn, auto Arg>
mlir::LogicalResult bound(Importer &importer, const Node &node) {
  return Fn(importer, node, Arg);
}

void registerElementwiseOps(HandlerTable &table);
void registerStructuredOps(HandlerTable &table);
void registerShapeOps(HandlerTable &table);

/// `x` [N, C, ...] plus `bias` [C] along the channels.
mlir::Value addChannelBias(Importer &importer, mlir::Value x, mlir::Value bias);
/// numpy's broadcast of two shapes, or failure.
mlir::FailureOr<llvm::SmallVector<int64_t>>
broadcastShape(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b);

} // namespace ampc::onnx_import

#endif // AMPC_LIB_IMPORT_ONNXOPS_H
