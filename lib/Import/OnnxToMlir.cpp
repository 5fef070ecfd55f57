//===- OnnxToMlir.cpp - an ONNX graph as AMPC's @forward ------------------===//
//
// Arguments (parameters from float initializers, graph inputs, labels),
// the walk over the nodes, the loss, and the entry points of Onnx.h.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"
#include "OnnxGraph.h"
#include "ampc/Dialect/Amp/IR/Amp.h"
#include "ampc/Dialect/Amp/IR/TrainStepABI.h"
#include "ampc/Import/Onnx.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <set>

using namespace mlir;
using namespace ampc;
using namespace ampc::onnx_import;

namespace {

llvm::Error makeError(const llvm::Twine &message) {
  std::string text = message.str();
  while (!text.empty() && text.back() == '\n')
    text.pop_back();
  return llvm::createStringError(llvm::inconvertibleErrorCode(), text);
}

/// Inputs of these ops that must be constants (shapes, axes, running
/// statistics, exponents): a float initializer used only there stays a
/// constant instead of becoming a parameter.
bool isConstantSlot(llvm::StringRef opType, size_t index) {
  static const std::map<std::string, std::set<size_t>> slots = {
      {"Reshape", {1}},
      {"Unsqueeze", {1}},
      {"Squeeze", {1}},
      {"Slice", {1, 2, 3, 4}},
      {"Pad", {1, 2}},
      {"ReduceSum", {1}},
      {"ReduceMean", {1}},
      {"ReduceMax", {1}},
      {"BatchNormalization", {3, 4}},
      {"Clip", {1, 2}},
      {"Gather", {1}},
      {"Expand", {1}},
      {"Dropout", {1, 2}},
      {"Pow", {1}},
      {"ConstantOfShape", {0}}};
  auto it = slots.find(opType.str());
  return it != slots.end() && it->second.count(index);
}

/// "conv1.weight" as a parameter name: no '/', no leading '.', unique.
std::string parameterName(const std::string &name, llvm::StringSet<> &used) {
  std::string result;
  for (char c : name)
    result += (c == '/' || c < 0x20 || c > 0x7e) ? '_' : c;
  while (!result.empty() && result[0] == '.')
    result.erase(0, 1);
  if (result.empty())
    result = "param";
  std::string unique = result;
  for (int i = 1; used.contains(unique); ++i)
    unique = result + "_" + std::to_string(i);
  used.insert(unique);
  return unique;
}

class ModelBuilder {
public:
  ModelBuilder(MLIRContext &context, const Graph &graph,
               const OnnxImportOptions &options)
      : importer(context, graph), graph(graph), options(options) {}

  llvm::Expected<ImportedModel> build();

private:
  void classifyInitializers();
  LogicalResult addArguments(SmallVectorImpl<Type> &types,
                             SmallVectorImpl<std::string> &names);
  LogicalResult buildFunction(ModuleOp module, StringRef name, bool training);
  LogicalResult importNodes();
  FailureOr<SmallVector<Value>> results();
  Value crossEntropy(Value logits, Value onehot);
  Value meanSquaredError(Value output, Value target);

  Importer importer;
  const Graph &graph;
  const OnnxImportOptions &options;
  std::vector<const onnx_graph::Tensor *> params;
  /// Buffers by initializer name, with their initialiser (amp.init).
  std::map<std::string, std::string> buffers;
  /// The Dropout step counter's argument, when there is one.
  onnx_graph::Tensor dropoutStep;
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  ImportedModel model;
};

void ModelBuilder::classifyInitializers() {
  std::map<std::string, bool> dataUse;
  for (const Node &node : graph.nodes) {
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (!isConstantSlot(node.opType, i))
        dataUse[node.inputs[i]] = true;
    // The running statistics of a BatchNormalization in training mode are
    // buffers: parameters the step replaces instead of training.
    if (node.opType == "BatchNormalization" && isTrainingNode(graph, node) &&
        node.inputs.size() >= 5) {
      for (auto [slot, init] : {std::pair{3, "zeros"}, std::pair{4, "ones"}}) {
        buffers[node.inputs[slot]] = init;
        dataUse[node.inputs[slot]] = true;
      }
    }
  }
  llvm::StringSet<> used;
  for (const onnx_graph::Tensor &init : graph.initializers) {
    if (init.elementType == onnx_graph::kFloat && dataUse[init.name]) {
      params.push_back(&init);
      OnnxParameter param;
      param.name = parameterName(init.name, used);
      param.initializer = init.name;
      param.value = ampc_rt::Tensor(ampc_rt::DType::F32, init.dims);
      std::copy(init.floats.begin(), init.floats.end(),
                param.value.as<float>());
      model.parameters.push_back(std::move(param));
    } else {
      importer.defineConstant(init.name, init);
    }
  }
  // Training-mode Dropout draws its masks from a step counter: a buffer
  // with no initializer in the model (not exported).
  if (llvm::any_of(graph.nodes, [&](const Node &node) {
        return node.opType == "Dropout" && isTrainingNode(graph, node);
      })) {
    dropoutStep.name = "ampc.dropout_step";
    dropoutStep.elementType = onnx_graph::kFloat;
    dropoutStep.dims = {1};
    params.push_back(&dropoutStep);
    OnnxParameter param;
    param.name = parameterName("dropout_step", used);
    param.value = ampc_rt::Tensor(ampc_rt::DType::F32, {1});
    param.value.as<float>()[0] = 0.0f;
    model.parameters.push_back(std::move(param));
    buffers[""] = "zeros";
  }
}

LogicalResult ModelBuilder::addArguments(SmallVectorImpl<Type> &types,
                                         SmallVectorImpl<std::string> &names) {
  Type f32 = importer.builder.getF32Type();
  for (const onnx_graph::Tensor *param : params) {
    types.push_back(RankedTensorType::get(param->dims, f32));
    names.push_back(param->name);
  }
  for (const onnx_graph::ValueInfo &input : graph.inputs) {
    std::string what = "graph input '" + input.name + "'";
    if (input.elementType != onnx_graph::kFloat) {
      importer.errors += what + " is " +
                         onnx_graph::elementTypeName(input.elementType) +
                         "; the importer takes float inputs\n";
      return failure();
    }
    SmallVector<int64_t> shape;
    for (auto [i, dim] : llvm::enumerate(input.dims)) {
      if (dim.size < 0) {
        importer.errors +=
            what + " has the symbolic dimension '" + dim.symbol +
            "' (dimension " + std::to_string(i) +
            "): import with a batch size (" + options.batchOption + "=N)" +
            (i ? ", which fixes only the leading dimension" : "") + "\n";
        return failure();
      }
      shape.push_back(dim.size);
    }
    if (!input.hasShape) {
      importer.errors += what + " has no shape\n";
      return failure();
    }
    types.push_back(RankedTensorType::get(shape, f32));
    names.push_back(input.name);
  }
  return success();
}

LogicalResult ModelBuilder::importNodes() {
  for (const Node &node : graph.nodes) {
    // "Conv 'conv1'": what errors and reports name.
    std::string locName =
        node.opType + " '" +
        (node.name.empty() && !node.outputs.empty() ? node.outputs[0]
                                                    : node.name) +
        "'";
    importer.currentLoc = NameLoc::get(importer.builder.getStringAttr(locName));
    if (!node.domain.empty() && node.domain != "ai.onnx")
      return importer.fail(node, "operators of domain '" + node.domain +
                                     "' are not supported");
    if (foldConstant(importer, node))
      continue;
    Handler handler = findHandler(node.opType);
    if (!handler)
      return importer.fail(node, "the operator is not supported (supported: " +
                                     supportedOps() + ")");
    if (failed(handler(importer, node)))
      return failure();
  }
  return success();
}

/// -(1/B) sum(onehot * log_softmax(logits)).
Value ModelBuilder::crossEntropy(Value logits, Value onehot) {
  ArrayRef<int64_t> shape = shapeOf(logits);
  int64_t rows = shape[0];
  auto maxf = [](OpBuilder &b, Location l, ValueRange v) -> Value {
    return arith::MaximumFOp::create(b, l, v[0], v[1]);
  };
  auto addf = [](OpBuilder &b, Location l, ValueRange v) -> Value {
    return arith::AddFOp::create(b, l, v[0], v[1]);
  };
  Value rowMax = importer.reduce(logits, {1}, -INFINITY, maxf);
  Value rowMax2 = importer.reshape(rowMax, {rows, 1});
  Value shifted = importer.elementwise(
      {logits, rowMax2}, shape, [](OpBuilder &b, Location l, ValueRange v) {
        return arith::SubFOp::create(b, l, v[0], v[1]).getResult();
      });
  Value exps = importer.elementwise(
      {shifted}, shape, [](OpBuilder &b, Location l, ValueRange v) {
        return math::ExpOp::create(b, l, v[0]).getResult();
      });
  Value sums =
      importer.reshape(importer.reduce(exps, {1}, 0.0, addf), {rows, 1});
  Value picked =
      importer.elementwise({onehot, shifted, sums}, shape,
                           [](OpBuilder &b, Location l, ValueRange v) -> Value {
                             Value logSum = math::LogOp::create(b, l, v[2]);
                             Value logProb =
                                 arith::SubFOp::create(b, l, v[1], logSum);
                             return arith::MulFOp::create(b, l, v[0], logProb);
                           });
  Value total = importer.reduce(picked, {0, 1}, 0.0, addf);
  return importer.scaled(total, -1.0 / double(rows));
}

/// sum((output - target)^2) / numel.
Value ModelBuilder::meanSquaredError(Value output, Value target) {
  ArrayRef<int64_t> shape = shapeOf(output);
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  Value squares = importer.elementwise(
      {output, target}, shape, [](OpBuilder &b, Location l, ValueRange v) {
        Value d = arith::SubFOp::create(b, l, v[0], v[1]);
        return arith::MulFOp::create(b, l, d, d).getResult();
      });
  SmallVector<int64_t> all =
      llvm::to_vector(llvm::seq<int64_t>(0, shape.size()));
  Value total = importer.reduce(
      squares, all, 0.0, [](OpBuilder &b, Location l, ValueRange v) {
        return arith::AddFOp::create(b, l, v[0], v[1]).getResult();
      });
  return importer.scaled(total, 1.0 / double(count));
}

FailureOr<SmallVector<Value>> ModelBuilder::results() {
  SmallVector<Value> outputs;
  for (const onnx_graph::ValueInfo &output : graph.outputs) {
    FailureOr<Value> value = importer.lookup(output.name);
    if (failed(value)) {
      importer.errors += "graph output '" + output.name +
                         "' is not a float tensor the importer computed\n";
      return failure();
    }
    outputs.push_back(*value);
  }
  if (outputs.empty()) {
    importer.errors += "the model has no outputs\n";
    return failure();
  }
  return outputs;
}

/// Appends the loss's labels argument to `fn` and the loss before
/// `outputs`.
static LogicalResult appendLoss(Importer &importer, func::FuncOp fn,
                                OnnxLoss loss, SmallVector<Value> &outputs,
                                const std::function<Value(Value, Value)> &ce,
                                const std::function<Value(Value, Value)> &mse) {
  RankedTensorType type = tensorType(outputs[0]);
  if (loss == OnnxLoss::CrossEntropy && type.getRank() != 2) {
    importer.errors += "--loss=cross-entropy needs logits [batch, classes] "
                       "as the first output; it is " +
                       std::to_string(type.getRank()) + "-D\n";
    return failure();
  }
  Block &entry = fn.getBody().front();
  Value labels = entry.addArgument(
      type, NameLoc::get(importer.builder.getStringAttr("labels")));
  Value value = loss == OnnxLoss::CrossEntropy ? ce(outputs[0], labels)
                                               : mse(outputs[0], labels);
  outputs.insert(outputs.begin(), value);
  return success();
}

/// @<name>(params..., inputs...) -> (loss?, outputs..., [buffers...]).
LogicalResult ModelBuilder::buildFunction(ModuleOp module, StringRef name,
                                          bool training) {
  OpBuilder &b = importer.builder;
  importer.values.clear();
  importer.bufferUpdates.clear();
  importer.training = training;
  importer.dropoutStepUpdated = false;
  b.setInsertionPointToEnd(module.getBody());
  auto fn = func::FuncOp::create(b, b.getUnknownLoc(), name,
                                 b.getFunctionType(argTypes, {}));
  Block *entry = fn.addEntryBlock();
  for (auto [i, argName] : llvm::enumerate(argNames)) {
    entry->getArgument(i).setLoc(NameLoc::get(b.getStringAttr(argName)));
    importer.define(argName, entry->getArgument(i));
  }
  if (!dropoutStep.name.empty())
    importer.dropoutStep = importer.values[dropoutStep.name];
  for (auto [i, param] : llvm::enumerate(model.parameters)) {
    fn.setArgAttr(i, amp::abi::kParamAttrName, b.getStringAttr(param.name));
    if (auto buffer = buffers.find(param.initializer);
        buffer != buffers.end()) {
      fn.setArgAttr(i, amp::abi::kBufferAttrName, b.getUnitAttr());
      fn.setArgAttr(i, amp::abi::kInitAttrName,
                    b.getStringAttr(buffer->second));
    }
  }
  b.setInsertionPointToEnd(entry);
  if (failed(importNodes()))
    return failure();
  FailureOr<SmallVector<Value>> outputs = results();
  if (failed(outputs))
    return failure();
  importer.currentLoc = NameLoc::get(b.getStringAttr("loss"));
  if (options.loss != OnnxLoss::None &&
      failed(appendLoss(
          importer, fn, options.loss, *outputs,
          [&](Value x, Value y) { return crossEntropy(x, y); },
          [&](Value x, Value y) { return meanSquaredError(x, y); })))
    return failure();
  size_t numOutputs = outputs->size();
  for (auto &[initializer, value] : importer.bufferUpdates)
    outputs->push_back(value);
  func::ReturnOp::create(b, importer.loc(), *outputs);
  fn.setType(b.getFunctionType(entry->getArgumentTypes(),
                               ValueRange(*outputs).getTypes()));
  for (auto [i, update] : llvm::enumerate(importer.bufferUpdates))
    for (const OnnxParameter &param : model.parameters)
      if (param.initializer == update.first)
        fn.setResultAttr(numOutputs + i, amp::abi::kBufferAttrName,
                         b.getStringAttr(param.name));
  return success();
}

llvm::Expected<ImportedModel> ModelBuilder::build() {
  OpBuilder &b = importer.builder;
  OwningOpRef<ModuleOp> module = ModuleOp::create(b.getUnknownLoc());
  classifyInitializers();
  if (failed(addArguments(argTypes, argNames)))
    return makeError(importer.errors);
  // A model with training-mode nodes (BatchNormalization) has a second
  // function for training; @forward evaluates.
  if (failed(buildFunction(*module, "forward", /*training=*/false)) ||
      (!buffers.empty() &&
       failed(buildFunction(*module, amp::abi::kTrainingForwardName,
                            /*training=*/true))))
    return makeError(importer.errors);
  std::string diagnostics;
  {
    ScopedDiagnosticHandler handler(b.getContext(), [&](Diagnostic &diag) {
      diagnostics += diag.str() + "\n";
      return success();
    });
    if (failed(verify(*module)))
      return makeError("the imported model does not verify (an importer "
                       "bug): " +
                       diagnostics);
  }
  llvm::raw_string_ostream os(model.source);
  module->print(os, OpPrintingFlags().enableDebugInfo(true, false));
  return std::move(model);
}

} // namespace

bool ampc::isOnnxPath(llvm::StringRef path) {
  return path.ends_with_insensitive(".onnx");
}

llvm::Expected<OnnxLoss> ampc::parseOnnxLoss(llvm::StringRef text) {
  if (text == "none")
    return OnnxLoss::None;
  if (text == "cross-entropy")
    return OnnxLoss::CrossEntropy;
  if (text == "mse")
    return OnnxLoss::MeanSquaredError;
  return makeError("unknown loss '" + text +
                   "' (expected none, cross-entropy or mse)");
}

llvm::Expected<ImportedModel>
ampc::importOnnx(llvm::StringRef bytes, llvm::StringRef name,
                 const OnnxImportOptions &options) {
  if (options.batch < 0)
    return makeError("the batch size must be positive, got " +
                     llvm::Twine(options.batch));
  onnx_graph::Graph graph;
  onnx_graph::ReadOptions read;
  read.batch = options.batch;
  std::string error;
  if (!onnx_graph::readModel(bytes.str(), name.str(), read, graph, error))
    return makeError(error);
  MLIRContext context;
  context.loadDialect<func::FuncDialect, arith::ArithDialect, math::MathDialect,
                      linalg::LinalgDialect, tensor::TensorDialect,
                      amp::AmpDialect>();
  ModelBuilder builder(context, graph, options);
  llvm::Expected<ImportedModel> model = builder.build();
  if (!model)
    return makeError("cannot import '" + name +
                     "': " + llvm::toString(model.takeError()));
  return model;
}

llvm::Expected<ImportedModel>
ampc::importOnnxFile(llvm::StringRef path, const OnnxImportOptions &options) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!file)
    return makeError("cannot read '" + path +
                     "': " + file.getError().message());
  return importOnnx((*file)->getBuffer(), path, options);
}

llvm::Error
ampc::exportOnnx(llvm::StringRef originalPath,
                 llvm::ArrayRef<std::pair<std::string, ampc_rt::Tensor>> values,
                 llvm::StringRef outputPath) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
      llvm::MemoryBuffer::getFile(originalPath, /*IsText=*/false);
  if (!file)
    return makeError("cannot read '" + originalPath +
                     "': " + file.getError().message());
  std::vector<onnx_graph::Tensor> replacements;
  for (const auto &[name, value] : values) {
    if (value.dtype != ampc_rt::DType::F32)
      return makeError("parameter '" + name + "' is not f32");
    onnx_graph::Tensor tensor;
    tensor.name = name;
    tensor.elementType = onnx_graph::kFloat;
    tensor.dims = value.shape;
    tensor.floats.assign(value.as<float>(),
                         value.as<float>() + value.numElements());
    replacements.push_back(std::move(tensor));
  }
  std::string bytes, error;
  if (!onnx_graph::replaceInitializers((*file)->getBuffer().str(), replacements,
                                       bytes, error))
    return makeError("cannot export to '" + outputPath + "': " + error);
  std::error_code ec;
  llvm::raw_fd_ostream out(outputPath, ec, llvm::sys::fs::OF_None);
  if (ec)
    return makeError("cannot write '" + outputPath + "': " + ec.message());
  out << bytes;
  out.close();
  if (out.has_error())
    return makeError("cannot write '" + outputPath +
                     "': " + out.error().message());
  return llvm::Error::success();
}

llvm::Error ampc::exportTrainedOnnx(llvm::StringRef originalPath,
                                    const ImportedModel &model,
                                    llvm::ArrayRef<ampc_rt::Tensor> parameters,
                                    llvm::StringRef outputPath) {
  if (parameters.size() != model.parameters.size())
    return makeError("the model has " + llvm::Twine(model.parameters.size()) +
                     " parameters, " + llvm::Twine(parameters.size()) +
                     " values were given");
  std::vector<std::pair<std::string, ampc_rt::Tensor>> values;
  for (auto [param, value] : llvm::zip(model.parameters, parameters))
    if (!param.initializer.empty()) // Not the dropout step counter.
      values.emplace_back(param.initializer, value);
  return exportOnnx(originalPath, values, outputPath);
}
