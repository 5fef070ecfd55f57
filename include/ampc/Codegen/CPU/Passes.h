//===- Passes.h - code generation for CPUs (x86 vector extensions) passes -*-
//C++ -*-===//

#ifndef AMPC_CODEGEN_CPU_PASSES_H
#define AMPC_CODEGEN_CPU_PASSES_H

#include "ampc/Dialect/Amp/IR/Amp.h"
#include "mlir/Dialect/AMX/AMXDialect.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace ampc {

#define GEN_PASS_DECL
#include "ampc/Codegen/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "ampc/Codegen/CPU/Passes.h.inc"

} // namespace ampc

#endif // AMPC_CODEGEN_CPU_PASSES_H
