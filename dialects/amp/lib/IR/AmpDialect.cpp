//===- AmpDialect.cpp - amp dialect registration and type helpers ---------===//
//
// Registers the amp dialect's ops and attributes and implements the float-type
// queries the verifiers and passes share.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/IR/Amp.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace ampc::amp;

#include "ampc/Dialect/Amp/IR/AmpDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "ampc/Dialect/Amp/IR/AmpTypes.cpp.inc"

void AmpDialect::initialize() {
  registerAttributes();
  addTypes<
#define GET_TYPEDEF_LIST
#include "ampc/Dialect/Amp/IR/AmpTypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "ampc/Dialect/Amp/IR/AmpOps.cpp.inc"
      >();
}

Operation *AmpDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                           Type type, Location loc) {
  return arith::ConstantOp::materialize(builder, value, type, loc);
}

bool ampc::amp::isFp8Type(Type type) {
  return isa<Float8E4M3FNType, Float8E5M2Type>(type);
}

bool ampc::amp::isSupportedFloatType(Type type) {
  return isa<Float32Type, Float16Type, BFloat16Type>(type) || isFp8Type(type);
}

bool ampc::amp::isExactlyRepresentable(FloatType from, FloatType to) {
  return llvm::APFloat::isRepresentableBy(from.getFloatSemantics(),
                                          to.getFloatSemantics());
}

double ampc::amp::getLargestFinite(FloatType type) {
  return llvm::APFloat::getLargest(type.getFloatSemantics()).convertToDouble();
}

FloatType ampc::amp::getFloatElementType(Type type) {
  return dyn_cast<FloatType>(getElementTypeOrSelf(type));
}
