//===- Utils.cpp - helpers shared by the precision passes -----------------===//
//
// Casting values once per target type, converting destination tensors, and
// retyping linalg payloads.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/Transforms/Utils.h"

#include "ampc/Dialect/Amp/IR/Amp.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace ampc::amp;

Type ampc::amp::withElementType(Type type, Type element) {
  if (auto shaped = dyn_cast<ShapedType>(type))
    return shaped.clone(element);
  return element;
}

static void setInsertionPointAfterDef(OpBuilder &builder, Value value) {
  if (auto arg = dyn_cast<BlockArgument>(value))
    builder.setInsertionPointToStart(arg.getOwner());
  else
    builder.setInsertionPointAfter(value.getDefiningOp());
}

Value ValueCaster::cast(Value value, FloatType to) {
  if (getElementTypeOrSelf(value.getType()) == to)
    return value;
  // A tensor without contents (a pooling window, say) is made anew.
  if (value.getDefiningOp<tensor::EmptyOp>())
    return convertInit(value, to);
  auto key = std::make_pair(value, Type(to));
  if (Value cached = cache.lookup(key))
    return cached;
  OpBuilder builder(value.getContext());
  setInsertionPointAfterDef(builder, value);
  Value result = CastOp::create(builder, value.getLoc(),
                                withElementType(value.getType(), to), value);
  cache[key] = result;
  return result;
}

Value ValueCaster::convertInit(Value value, FloatType to) {
  if (getElementTypeOrSelf(value.getType()) == to)
    return value;
  if (auto castOp = value.getDefiningOp<CastOp>())
    if (!castOp.getScale() &&
        getElementTypeOrSelf(castOp.getInput().getType()) == to)
      return castOp.getInput();
  auto key = std::make_pair(value, Type(to));
  if (Value cached = cache.lookup(key))
    return cached;

  OpBuilder builder(value.getContext());
  Value result;
  if (auto empty = value.getDefiningOp<tensor::EmptyOp>()) {
    builder.setInsertionPointAfter(empty);
    result = tensor::EmptyOp::create(builder, empty.getLoc(),
                                     empty.getType().clone(to),
                                     empty.getDynamicSizes());
  } else if (auto fill = value.getDefiningOp<linalg::FillOp>()) {
    auto constant = fill.value().getDefiningOp<arith::ConstantOp>();
    auto constValue =
        constant ? dyn_cast<FloatAttr>(constant.getValue()) : FloatAttr();
    auto empty = fill.output().getDefiningOp<tensor::EmptyOp>();
    if (constValue && empty) {
      bool losesInfo = false;
      APFloat converted = constValue.getValue();
      (void)converted.convert(to.getFloatSemantics(),
                              APFloat::rmNearestTiesToEven, &losesInfo);
      builder.setInsertionPointAfter(fill);
      Value newConstant = arith::ConstantOp::create(
          builder, constant.getLoc(), FloatAttr::get(to, converted));
      Value newEmpty = tensor::EmptyOp::create(builder, empty.getLoc(),
                                               empty.getType().clone(to),
                                               empty.getDynamicSizes());
      result =
          linalg::FillOp::create(builder, fill.getLoc(),
                                 ValueRange{newConstant}, ValueRange{newEmpty})
              .getResult(0);
    }
  }
  if (!result) {
    OpBuilder castBuilder(value.getContext());
    setInsertionPointAfterDef(castBuilder, value);
    result = CastOp::create(castBuilder, value.getLoc(),
                            withElementType(value.getType(), to), value);
  }
  cache[key] = result;
  return result;
}

/// Converts a scalar float between types with arith.extf / arith.truncf.
static Value convertScalar(OpBuilder &builder, Location loc, Value value,
                           Type to) {
  Type from = value.getType();
  if (from == to)
    return value;
  if (cast<FloatType>(from).getWidth() < cast<FloatType>(to).getWidth())
    return arith::ExtFOp::create(builder, loc, to, value);
  return arith::TruncFOp::create(builder, loc, to, value);
}

static bool isScalarConversion(Operation *op) {
  return isa_and_nonnull<arith::ExtFOp, arith::TruncFOp>(op);
}

/// Retypes the block arguments and yield of a payload written by hand.
static void updateHandWrittenPayload(Operation *op, Block &block) {
  OpBuilder builder(op->getContext());
  Location loc = op->getLoc();
  for (auto [arg, operand] :
       llvm::zip(block.getArguments(), op->getOperands())) {
    Type newType = getElementTypeOrSelf(operand.getType());
    Type oldType = arg.getType();
    if (newType == oldType)
      continue;
    arg.setType(newType);
    // Uses that expected the old type get a conversion; a conversion made
    // earlier from the new type is the argument itself now.
    SmallVector<OpOperand *> oldUses;
    for (OpOperand &use : llvm::make_early_inc_range(arg.getUses())) {
      Operation *user = use.getOwner();
      if (isScalarConversion(user) && user->getResult(0).getType() == newType) {
        user->getResult(0).replaceAllUsesWith(arg);
        user->erase();
        continue;
      }
      oldUses.push_back(&use);
    }
    if (oldUses.empty() || !isa<FloatType>(oldType))
      continue;
    builder.setInsertionPointToStart(&block);
    Value converted = convertScalar(builder, loc, arg, oldType);
    for (OpOperand *use : oldUses)
      use->set(converted);
  }

  Operation *yield = block.getTerminator();
  for (auto [operand, result] :
       llvm::zip(yield->getOpOperands(), op->getResults())) {
    Type wanted = getElementTypeOrSelf(result.getType());
    Value yielded = operand.get();
    if (yielded.getType() == wanted)
      continue;
    Operation *def = yielded.getDefiningOp();
    if (isScalarConversion(def) && def->getOperand(0).getType() == wanted) {
      operand.set(def->getOperand(0));
      if (def->use_empty())
        def->erase();
      continue;
    }
    builder.setInsertionPoint(yield);
    operand.set(convertScalar(builder, loc, yielded, wanted));
  }
}

LogicalResult ampc::amp::updatePayload(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (op->getNumRegions() != 1 || op->getRegion(0).empty())
    return success();
  Block &block = op->getRegion(0).front();
  auto regionBuilder = linalgOp ? linalgOp.getRegionBuilder() : nullptr;
  if (!regionBuilder || isa<linalg::GenericOp>(op)) {
    updateHandWrittenPayload(op, block);
    return success();
  }

  Region &region = op->getRegion(0);
  region.dropAllReferences();
  region.getBlocks().clear();
  Block *newBlock = new Block();
  region.push_back(newBlock);
  for (Value operand : op->getOperands())
    newBlock->addArgument(getElementTypeOrSelf(operand.getType()),
                          op->getLoc());
  ImplicitLocOpBuilder builder(op->getLoc(), op->getContext());
  builder.setInsertionPointToStart(newBlock);
  bool failed = false;
  regionBuilder(builder, *newBlock, op->getAttrDictionary().getValue(), [&]() {
    failed = true;
    return op->emitOpError("cannot rebuild its body");
  });
  return failure(failed);
}

std::string ampc::amp::CastSiteNamer::name(Value source) {
  using abi::RoleKind;
  auto arg = dyn_cast<BlockArgument>(source);
  bool isArgument = arg && arg.getOwner()->isEntryBlock() &&
                    arg.getOwner()->getParentOp() == fn;
  std::optional<abi::Role> role =
      isArgument ? abi::getArgumentRole(fn, arg.getArgNumber()) : std::nullopt;
  // A named parameter goes by its name.
  if (isArgument && (!role || role->kind == RoleKind::Param))
    if (std::string named = abi::getParamName(fn, arg.getArgNumber());
        !named.empty())
      return named;
  if (role && role->param >= 0)
    return role->str();
  if (role && role->kind == RoleKind::Batch) {
    int64_t j = 0;
    for (unsigned i = 0; i < arg.getArgNumber(); ++i) {
      std::optional<abi::Role> other = abi::getArgumentRole(fn, i);
      j += other && other->kind == RoleKind::Batch;
    }
    return "input" + std::to_string(j);
  }
  return "t" + std::to_string(intermediates++);
}

Value ampc::amp::buildElementwiseF32(
    OpBuilder &b, Location loc, RankedTensorType type, ValueRange inputs,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  MLIRContext *context = b.getContext();
  unsigned rank = type.getRank();
  SmallVector<AffineMap> maps;
  for (Value input : inputs)
    maps.push_back(cast<RankedTensorType>(input.getType()).getRank() == 0
                       ? AffineMap::get(rank, 0, context)
                       : AffineMap::getMultiDimIdentityMap(rank, context));
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, context));
  Value init =
      tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{type}, inputs, ValueRange{init}, maps,
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        linalg::YieldOp::create(nb, nloc, body(nb, nloc, args.drop_back()));
      });
  auto f32 = b.getF32Type();
  op->setAttr(PrecisionAttr::getAttrName(), PrecisionAttr::get(f32, f32));
  return op.getResult(0);
}
