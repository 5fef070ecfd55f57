//===- AmpOps.cpp - amp operations ----------------------------------------===//
//
// Verifiers, folders and type inference of the amp ops.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/IR/Amp.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/APFloat.h"

using namespace mlir;
using namespace ampc::amp;

#define GET_OP_CLASSES
#include "ampc/Dialect/Amp/IR/AmpOps.cpp.inc"

//===----------------------------------------------------------------------===//
// CastOp
//===----------------------------------------------------------------------===//

FloatType CastOp::getSourceElementType() {
  return getFloatElementType(getInput().getType());
}

FloatType CastOp::getResultElementType() {
  return getFloatElementType(getType());
}

RoundingMode CastOp::getRoundingMode() {
  return getRounding().value_or(RoundingMode::nearest_even);
}

OverflowMode CastOp::getOverflowMode() {
  if (std::optional<OverflowMode> mode = getOverflow())
    return *mode;
  return isFp8Type(getResultElementType()) ? OverflowMode::saturate
                                           : OverflowMode::nonfinite;
}

bool CastOp::isExactWidening() {
  return !getScale() &&
         isExactlyRepresentable(getSourceElementType(), getResultElementType());
}

LogicalResult CastOp::verify() {
  Type inType = getInput().getType(), outType = getType();
  auto inShaped = dyn_cast<ShapedType>(inType);
  auto outShaped = dyn_cast<ShapedType>(outType);
  if (static_cast<bool>(inShaped) != static_cast<bool>(outShaped) ||
      (inShaped && (inType.getTypeID() != outType.getTypeID() ||
                    inShaped.getShape() != outShaped.getShape())))
    return emitOpError("input and result must have the same shape, got ")
           << inType << " and " << outType;

  for (Type elementType : {getSourceElementType(), getResultElementType()})
    if (!isSupportedFloatType(elementType))
      return emitOpError("supports f32, f16, bf16, f8E4M3FN and f8E5M2; got ")
             << elementType;

  if (getScale()) {
    bool fromFp8 = isFp8Type(getSourceElementType());
    bool toFp8 = isFp8Type(getResultElementType());
    if (fromFp8 == toFp8)
      return emitOpError("a scale is only allowed on a cast between fp8 "
                         "(f8E4M3FN, f8E5M2) and a wider type; got ")
             << getSourceElementType() << " to " << getResultElementType();
  }
  return success();
}

/// Converts one constant with round-to-nearest-even and the given overflow
/// behaviour.
static APFloat convertConstant(const APFloat &value, FloatType to,
                               OverflowMode overflow) {
  APFloat result = value;
  bool losesInfo = false;
  (void)result.convert(to.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                       &losesInfo);
  if (overflow == OverflowMode::saturate && !value.isNaN() &&
      (result.isInfinity() || result.isNaN()))
    return APFloat::getLargest(to.getFloatSemantics(), value.isNegative());
  return result;
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (!getScale() && getInput().getType() == getType())
    return getInput();

  // A cast that cannot change a value may be skipped by the cast after it:
  // bf16 -> f32 -> bf16 is the identity, bf16 -> f32 -> f16 is bf16 -> f16.
  if (auto producer = getInput().getDefiningOp<CastOp>()) {
    if (producer.isExactWidening() &&
        !(getScale() && isFp8Type(producer.getSourceElementType()))) {
      getInputMutable().assign(producer.getInput());
      if (!getScale() && getInput().getType() == getType())
        return getInput();
      return getResult();
    }
  }

  // Constants fold only where the conversion is fully determined here.
  if (getScale() || getRoundingMode() != RoundingMode::nearest_even)
    return {};
  FloatType to = getResultElementType();
  OverflowMode overflow = getOverflowMode();
  if (auto scalar = dyn_cast_or_null<FloatAttr>(adaptor.getInput()))
    return FloatAttr::get(to, convertConstant(scalar.getValue(), to, overflow));
  if (auto dense = dyn_cast_or_null<DenseFPElementsAttr>(adaptor.getInput())) {
    return dense.mapValues(to, [&](const APFloat &value) {
      return convertConstant(value, to, overflow).bitcastToAPInt();
    });
  }
  return {};
}

//===----------------------------------------------------------------------===//
// UnscaleGradsOp
//===----------------------------------------------------------------------===//

/// Checks that two value lists of equal length pair up with equal types.
static LogicalResult verifyPairedTypes(Operation *op, ValueRange first,
                                       ValueRange second, StringRef firstName,
                                       StringRef secondName) {
  for (auto [index, pair] : llvm::enumerate(llvm::zip(first, second))) {
    auto [a, b] = pair;
    if (a.getType() != b.getType())
      return op->emitOpError() << firstName << " #" << index << " has type "
                               << a.getType() << " but " << secondName << " #"
                               << index << " has type " << b.getType();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// AllReduceOp
//===----------------------------------------------------------------------===//

LogicalResult AllReduceOp::verify() {
  if (getBuffers().empty())
    return emitOpError("needs at least one buffer");
  bool tensors = isa<RankedTensorType>(getBuffers()[0].getType());
  for (Value buffer : getBuffers())
    if (isa<RankedTensorType>(buffer.getType()) != tensors)
      return emitOpError("takes tensors or memrefs, not both");
  if (!tensors)
    return getNumResults() == 0
               ? success()
               : emitOpError("on memrefs combines in place: it has no results");
  if (getNumResults() != getBuffers().size())
    return emitOpError("has ") << getNumResults() << " results for "
                               << getBuffers().size() << " tensors";
  for (auto [buffer, result] : llvm::zip(getBuffers(), getResults()))
    if (buffer.getType() != result.getType())
      return emitOpError("result type ")
             << result.getType() << " differs from its tensor's "
             << buffer.getType();
  return success();
}

/// The effects of every collective: a write of the default resource (kept,
/// and kept in order with the other collectives, whatever uses the
/// results), and on memrefs a read and a write of each buffer.
static void communicationEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects,
    MutableArrayRef<OpOperand> buffers) {
  effects.emplace_back(MemoryEffects::Write::get(),
                       SideEffects::DefaultResource::get());
  for (OpOperand &operand : buffers)
    if (isa<MemRefType>(operand.get().getType())) {
      effects.emplace_back(MemoryEffects::Read::get(), &operand,
                           SideEffects::DefaultResource::get());
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
    }
}

void AllReduceOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  communicationEffects(effects, getBuffersMutable());
}

//===----------------------------------------------------------------------===//
// AllReduceStartOp / AllReduceWaitOp
//===----------------------------------------------------------------------===//

LogicalResult AllReduceStartOp::verify() {
  bool tensor = isa<RankedTensorType>(getBuffer().getType());
  if (tensor != bool(getInFlight()))
    return emitOpError(tensor ? "on a tensor returns it in flight"
                              : "on a memref communicates in place: it has "
                                "no in-flight result");
  if (tensor && getInFlight().getType() != getBuffer().getType())
    return emitOpError("in-flight type ")
           << getInFlight().getType() << " differs from its tensor's "
           << getBuffer().getType();
  if (!getRequest().hasOneUse())
    return emitOpError("request must have exactly one use, an "
                       "amp.all_reduce_wait");
  auto wait = dyn_cast<AllReduceWaitOp>(*getRequest().getUsers().begin());
  if (!wait || wait->getBlock() != (*this)->getBlock())
    return emitOpError("request must be waited for by an amp.all_reduce_wait "
                       "in the same block");
  if (tensor &&
      (!getInFlight().hasOneUse() || wait.getBuffer() != getInFlight()))
    return emitOpError("in-flight tensor's only use must be the wait of its "
                       "request");
  return success();
}

void AllReduceStartOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  communicationEffects(effects, getBufferMutable());
}

LogicalResult AllReduceWaitOp::verify() {
  auto start = getRequest().getDefiningOp<AllReduceStartOp>();
  if (!start)
    return emitOpError("request must come from an amp.all_reduce_start");
  bool tensor = isa<RankedTensorType>(getBuffer().getType());
  if (tensor != isa<RankedTensorType>(start.getBuffer().getType()))
    return emitOpError("waits on a ")
           << (tensor ? "tensor" : "memref") << " for a start on a "
           << (tensor ? "memref" : "tensor");
  if (tensor != bool(getResult()))
    return emitOpError(tensor ? "on a tensor returns the combined values"
                              : "on a memref has no result");
  if (tensor && getResult().getType() != getBuffer().getType())
    return emitOpError("result type ")
           << getResult().getType() << " differs from its tensor's "
           << getBuffer().getType();
  return success();
}

void AllReduceWaitOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  communicationEffects(effects, getBufferMutable());
}

LogicalResult UnscaleGradsOp::verify() {
  if (getGrads().empty())
    return emitOpError("expects at least one gradient");
  if (getGrads().size() != getUnscaled().size())
    return emitOpError("has ") << getGrads().size() << " gradients but "
                               << getUnscaled().size() << " unscaled results";
  return verifyPairedTypes(*this, getUnscaled(), getGrads(), "result",
                           "gradient");
}

//===----------------------------------------------------------------------===//
// UpdateLossScaleOp
//===----------------------------------------------------------------------===//

LogicalResult UpdateLossScaleOp::verify() {
  double growth = getGrowthFactor().convertToDouble();
  double backoff = getBackoffFactor().convertToDouble();
  if (!(growth > 1.0) || !std::isfinite(growth))
    return emitOpError("growth_factor must be finite and greater than 1, got ")
           << growth;
  if (!(backoff > 0.0 && backoff < 1.0))
    return emitOpError("backoff_factor must be in (0, 1), got ") << backoff;
  // The generated getters read these as unsigned: check the signed values.
  int64_t growthInterval = getGrowthIntervalAttr().getInt();
  int64_t hysteresis = getHysteresisAttr().getInt();
  if (growthInterval < 1)
    return emitOpError("growth_interval must be at least 1, got ")
           << growthInterval;
  if (hysteresis < 1)
    return emitOpError("hysteresis must be at least 1, got ") << hysteresis;
  std::optional<double> minScale, maxScale;
  if (auto attr = getMinScaleAttr())
    minScale = attr.getValueAsDouble();
  if (auto attr = getMaxScaleAttr())
    maxScale = attr.getValueAsDouble();
  if (minScale && !(*minScale > 0.0 && std::isfinite(*minScale)))
    return emitOpError("min_scale must be finite and positive, got ")
           << *minScale;
  if (maxScale && !(*maxScale > 0.0 && std::isfinite(*maxScale)))
    return emitOpError("max_scale must be finite and positive, got ")
           << *maxScale;
  if (minScale && maxScale && *minScale > *maxScale)
    return emitOpError("min_scale (")
           << *minScale << ") is greater than max_scale (" << *maxScale << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// SelectUpdateOp
//===----------------------------------------------------------------------===//

LogicalResult
SelectUpdateOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                 Adaptor adaptor,
                                 SmallVectorImpl<Type> &inferredReturnTypes) {
  for (Value value : adaptor.getOld())
    inferredReturnTypes.push_back(value.getType());
  return success();
}

LogicalResult SelectUpdateOp::verify() {
  if (getOld().empty())
    return emitOpError("expects at least one value to select");
  if (getOld().size() != getNewValues().size())
    return emitOpError("has ") << getOld().size() << " old values but "
                               << getNewValues().size() << " new values";
  return verifyPairedTypes(*this, getOld(), getNewValues(), "old value",
                           "new value");
}

LogicalResult SelectUpdateOp::fold(FoldAdaptor adaptor,
                                   SmallVectorImpl<OpFoldResult> &results) {
  auto condition = dyn_cast_or_null<IntegerAttr>(adaptor.getFoundInf());
  if (!condition)
    return failure();
  ValueRange chosen = condition.getValue().isZero() ? getNewValues() : getOld();
  for (Value value : chosen)
    results.push_back(value);
  return success();
}

//===----------------------------------------------------------------------===//
// UpdateAmaxHistoryOp
//===----------------------------------------------------------------------===//

SmallVector<double> UpdateAmaxHistoryOp::getFormatMaxima() {
  SmallVector<double> maxima;
  for (Type format : getFormats().getAsValueRange<TypeAttr>())
    maxima.push_back(getLargestFinite(cast<FloatType>(format)));
  return maxima;
}

int64_t UpdateAmaxHistoryOp::getBlockLength() {
  return cast<RankedTensorType>(getHistory().getType()).getDimSize(0) /
         cast<RankedTensorType>(getBlockMax().getType()).getDimSize(0);
}

LogicalResult UpdateAmaxHistoryOp::verify() {
  auto scale = cast<RankedTensorType>(getScale().getType());
  if (scale.getRank() != 1 || scale.isDynamicDim(0) || scale.getDimSize(0) < 1)
    return emitOpError("amaxes and scales must be 1-D tensors of static, "
                       "non-zero length; got ")
           << scale;
  int64_t columns = scale.getDimSize(0);
  auto history = cast<RankedTensorType>(getHistory().getType());
  if (history.getRank() != 2 || !history.hasStaticShape() ||
      history.getDimSize(0) < 1 || history.getDimSize(1) != columns)
    return emitOpError("amax history must be a static tensor of n >= 1 rows "
                       "and one column per amax (")
           << columns << "); got " << history;
  auto blocks = cast<RankedTensorType>(getBlockMax().getType());
  if (blocks.getRank() != 2 || !blocks.hasStaticShape() ||
      blocks.getDimSize(0) < 1 || blocks.getDimSize(1) != columns ||
      history.getDimSize(0) % blocks.getDimSize(0) != 0)
    return emitOpError("block maxima must be a static tensor of one column "
                       "per amax (")
           << columns << ") and rows dividing the history's "
           << history.getDimSize(0) << "; got " << blocks;
  if (int64_t(getFormats().size()) != columns)
    return emitOpError("needs one format per column (")
           << columns << "), got " << getFormats().size();
  for (Type format : getFormats().getAsValueRange<TypeAttr>())
    if (!isFp8Type(format))
      return emitOpError("formats must be f8E4M3FN or f8E5M2, got ") << format;
  int64_t margin = getMarginAttr().getInt();
  if (margin < 0)
    return emitOpError("margin must be non-negative, got ") << margin;
  return success();
}
