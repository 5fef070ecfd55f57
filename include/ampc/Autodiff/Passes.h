//===- Passes.h - reverse-mode automatic differentiation --------*- C++ -*-===//

#ifndef AMPC_AUTODIFF_PASSES_H
#define AMPC_AUTODIFF_PASSES_H

#include "ampc/Dialect/Amp/IR/Amp.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace ampc {

#define GEN_PASS_DECL
#include "ampc/Autodiff/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "ampc/Autodiff/Passes.h.inc"

} // namespace ampc

#endif // AMPC_AUTODIFF_PASSES_H
