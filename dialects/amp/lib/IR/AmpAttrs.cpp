//===- AmpAttrs.cpp - amp attributes --------------------------------------===//
//
// Parsing, printing and verification of #amp.precision; the generated code of
// the enum attributes.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/IR/Amp.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace ampc::amp;

#include "ampc/Dialect/Amp/IR/AmpEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "ampc/Dialect/Amp/IR/AmpAttrs.cpp.inc"

void AmpDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "ampc/Dialect/Amp/IR/AmpAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// PrecisionAttr
//===----------------------------------------------------------------------===//

static ParseResult parseFloatField(AsmParser &parser, StringRef name,
                                   FloatType &result) {
  Type type;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseKeyword(name) || parser.parseEqual() ||
      parser.parseType(type))
    return failure();
  result = dyn_cast<FloatType>(type);
  if (!result)
    return parser.emitError(loc)
           << "'" << name << "' must be a float type, got " << type;
  return success();
}

Attribute PrecisionAttr::parse(AsmParser &parser, Type) {
  FloatType compute, accumulate;
  std::optional<ScalingRecipe> recipe;
  if (parser.parseLess() || parseFloatField(parser, "compute", compute) ||
      parser.parseComma() || parseFloatField(parser, "accumulate", accumulate))
    return {};
  if (succeeded(parser.parseOptionalComma())) {
    StringRef keyword;
    SMLoc loc = parser.getCurrentLocation();
    if (parser.parseKeyword("recipe") || parser.parseEqual() ||
        parser.parseKeyword(&keyword))
      return {};
    recipe = symbolizeScalingRecipe(keyword);
    if (!recipe) {
      parser.emitError(loc) << "unknown fp8 scaling recipe '" << keyword
                            << "', expected 'delayed' or 'current'";
      return {};
    }
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<PrecisionAttr>(parser.getContext(), compute,
                                          accumulate, recipe);
}

void PrecisionAttr::print(AsmPrinter &printer) const {
  printer << "<compute = " << getCompute()
          << ", accumulate = " << getAccumulate();
  if (getRecipe())
    printer << ", recipe = " << stringifyScalingRecipe(*getRecipe());
  printer << ">";
}

LogicalResult
PrecisionAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      FloatType compute, FloatType accumulate,
                      std::optional<ScalingRecipe> recipe) {
  if (!compute || !isSupportedFloatType(compute))
    return emitError() << "compute type must be one of f32, f16, bf16, "
                          "f8E4M3FN, f8E5M2; got "
                       << compute;
  if (!accumulate || !isa<Float32Type, Float16Type, BFloat16Type>(accumulate))
    return emitError() << "accumulate type must be one of f32, f16, bf16; got "
                       << accumulate;
  if (accumulate.getWidth() < compute.getWidth())
    return emitError() << "accumulate type " << accumulate
                       << " is narrower than compute type " << compute;
  if (recipe && !isFp8Type(compute))
    return emitError()
           << "an fp8 scaling recipe needs an fp8 compute type, got "
           << compute;
  return success();
}
