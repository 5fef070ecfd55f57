//===- OnnxReader.cpp - ONNX protobuf to plain C++ values -----------------===//
//
// The one place that sees protobuf and libonnx: parsing, the checker, shape
// inference (all of which throw), and writing initializers back.
//
//===----------------------------------------------------------------------===//

#include "OnnxGraph.h"

#include "onnx/checker.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"

#include <cstring>
#include <exception>
#include <set>

using namespace ampc::onnx_graph;

namespace {

/// The opsets whose operators the importer was written against.
constexpr int64_t kMinOpset = 13, kMaxOpset = 17;

float halfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exponent = (h >> 10) & 0x1f,
           mantissa = h & 0x3ff;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else { // Subnormal: normalize.
    int shift = 0;
    while (!(mantissa & 0x400)) {
      mantissa <<= 1;
      ++shift;
    }
    bits = sign | ((113 - shift) << 23) | ((mantissa & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bfloatToFloat(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

template <typename T> T readRaw(const std::string &raw, size_t index) {
  T value;
  std::memcpy(&value, raw.data() + index * sizeof(T), sizeof(T));
  return value;
}

/// Element size of the raw data of `type`, 0 for an unsupported type.
size_t rawSize(int32_t type) {
  switch (type) {
  case kFloat:
  case kInt32:
    return 4;
  case kDouble:
  case kInt64:
    return 8;
  case kFloat16:
  case kBFloat16:
    return 2;
  case kUint8:
  case kInt8:
  case kBool:
    return 1;
  default:
    return 0;
  }
}

double rawElement(const std::string &raw, int32_t type, size_t index) {
  switch (type) {
  case kFloat:
    return readRaw<float>(raw, index);
  case kDouble:
    return readRaw<double>(raw, index);
  case kFloat16:
    return halfToFloat(readRaw<uint16_t>(raw, index));
  case kBFloat16:
    return bfloatToFloat(readRaw<uint16_t>(raw, index));
  case kInt32:
    return readRaw<int32_t>(raw, index);
  case kInt64:
    return double(readRaw<int64_t>(raw, index));
  case kInt8:
    return readRaw<int8_t>(raw, index);
  default: // uint8, bool
    return readRaw<uint8_t>(raw, index);
  }
}

/// Typed-field element `index` of `proto` (no raw data).
double typedElement(const onnx::TensorProto &proto, size_t index) {
  switch (proto.data_type()) {
  case kFloat:
    return proto.float_data(index);
  case kDouble:
    return proto.double_data(index);
  case kInt64:
    return double(proto.int64_data(index));
  case kFloat16:
    return halfToFloat(uint16_t(proto.int32_data(index)));
  case kBFloat16:
    return bfloatToFloat(uint16_t(proto.int32_data(index)));
  default: // int32, int8, uint8, bool: int32_data
    return proto.int32_data(index);
  }
}

size_t typedCount(const onnx::TensorProto &proto) {
  switch (proto.data_type()) {
  case kFloat:
    return proto.float_data_size();
  case kDouble:
    return proto.double_data_size();
  case kInt64:
    return proto.int64_data_size();
  default:
    return proto.int32_data_size();
  }
}

bool convertTensor(const onnx::TensorProto &proto, Tensor &tensor,
                   std::string &error) {
  tensor.name = proto.name();
  tensor.elementType = proto.data_type();
  tensor.dims.assign(proto.dims().begin(), proto.dims().end());
  std::string what = "tensor '" + proto.name() + "'";
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    error = what + " keeps its data in an external file, which the importer "
                   "does not read (save the model with its data inside)";
    return false;
  }
  size_t size = rawSize(tensor.elementType);
  if (size == 0) {
    error = what + " has element type " + elementTypeName(tensor.elementType) +
            " (supported: float, double, float16, bfloat16, int8/32/64, "
            "uint8, bool)";
    return false;
  }
  int64_t count = tensor.numElements();
  if (count < 0) {
    error = what + " has a negative dimension";
    return false;
  }
  bool raw = proto.has_raw_data();
  size_t available = raw ? proto.raw_data().size() / size : typedCount(proto);
  if (available != size_t(count)) {
    error = what + " holds " + std::to_string(available) +
            " elements, where its shape has " + std::to_string(count);
    return false;
  }
  for (int64_t i = 0; i < count; ++i) {
    double value = raw ? rawElement(proto.raw_data(), tensor.elementType, i)
                       : typedElement(proto, i);
    if (tensor.isFloat())
      tensor.floats.push_back(float(value));
    else
      tensor.ints.push_back(int64_t(value));
  }
  return true;
}

bool convertAttribute(const onnx::AttributeProto &proto, Attribute &attribute,
                      std::string &error) {
  switch (proto.type()) {
  case onnx::AttributeProto::FLOAT:
    attribute.kind = Attribute::Float;
    attribute.f = proto.f();
    return true;
  case onnx::AttributeProto::INT:
    attribute.kind = Attribute::Int;
    attribute.i = proto.i();
    return true;
  case onnx::AttributeProto::STRING:
    attribute.kind = Attribute::String;
    attribute.s = proto.s();
    return true;
  case onnx::AttributeProto::TENSOR:
    attribute.kind = Attribute::TensorValue;
    return convertTensor(proto.t(), attribute.t, error);
  case onnx::AttributeProto::FLOATS:
    attribute.kind = Attribute::Floats;
    attribute.floats.assign(proto.floats().begin(), proto.floats().end());
    return true;
  case onnx::AttributeProto::INTS:
    attribute.kind = Attribute::Ints;
    attribute.ints.assign(proto.ints().begin(), proto.ints().end());
    return true;
  case onnx::AttributeProto::STRINGS:
    attribute.kind = Attribute::Strings;
    attribute.strings.assign(proto.strings().begin(), proto.strings().end());
    return true;
  default:
    attribute.kind = Attribute::Other;
    return true;
  }
}

ValueInfo convertValueInfo(const onnx::ValueInfoProto &proto) {
  ValueInfo info;
  info.name = proto.name();
  if (!proto.type().has_tensor_type())
    return info;
  const onnx::TypeProto::Tensor &type = proto.type().tensor_type();
  info.elementType = type.elem_type();
  if (!type.has_shape())
    return info;
  info.hasShape = true;
  for (const onnx::TensorShapeProto::Dimension &dim : type.shape().dim()) {
    Dim d;
    if (dim.has_dim_value())
      d.size = dim.dim_value();
    else
      d.symbol = dim.has_dim_param() ? dim.dim_param() : "?";
    info.dims.push_back(d);
  }
  return info;
}

/// Checks the operator sets: the default one within what the importer
/// knows, no other domain.
bool readOpset(const onnx::ModelProto &model, Graph &graph,
               std::string &error) {
  for (const onnx::OperatorSetIdProto &opset : model.opset_import())
    if (opset.domain().empty() || opset.domain() == "ai.onnx")
      graph.opset = opset.version();
  if (graph.opset == 0) {
    error = "the model imports no version of the default operator set";
    return false;
  }
  if (graph.opset < kMinOpset || graph.opset > kMaxOpset) {
    error = "the model uses operator set " + std::to_string(graph.opset) +
            "; the importer reads opsets " + std::to_string(kMinOpset) + "-" +
            std::to_string(kMaxOpset) +
            " (export with torch.onnx.export(..., opset_version=13..17))";
    return false;
  }
  return true;
}

/// Gives the leading dimension of every data input the batch size
/// (symbolic, unknown, or the fixed size of the exporter's example input).
/// Returns the fixed size it replaced (0: none).
int64_t fixBatch(onnx::GraphProto &graph, int64_t batch) {
  int64_t replaced = 0;
  std::set<std::string> initializers;
  for (const onnx::TensorProto &init : graph.initializer())
    initializers.insert(init.name());
  for (onnx::ValueInfoProto &input : *graph.mutable_input()) {
    if (initializers.count(input.name()) || !input.type().has_tensor_type() ||
        !input.type().tensor_type().has_shape())
      continue;
    auto *shape = input.mutable_type()->mutable_tensor_type()->mutable_shape();
    if (shape->dim_size() == 0)
      continue;
    if (shape->dim(0).has_dim_value() && shape->dim(0).dim_value() != batch)
      replaced = shape->dim(0).dim_value();
    shape->mutable_dim(0)->set_dim_value(batch);
  }
  // Shapes recorded by the exporter for its batch would clash.
  graph.clear_value_info();
  for (onnx::ValueInfoProto &output : *graph.mutable_output())
    if (output.type().has_tensor_type())
      output.mutable_type()->mutable_tensor_type()->clear_shape();
  return replaced;
}

bool convertGraph(const onnx::ModelProto &model, Graph &graph,
                  std::string &error) {
  const onnx::GraphProto &g = model.graph();
  graph.name = g.name();
  graph.producer = model.producer_name();
  std::set<std::string> initializerNames;
  for (const onnx::TensorProto &init : g.initializer()) {
    graph.initializers.emplace_back();
    if (!convertTensor(init, graph.initializers.back(), error))
      return false;
    initializerNames.insert(init.name());
  }
  for (const onnx::ValueInfoProto &input : g.input())
    if (!initializerNames.count(input.name()))
      graph.inputs.push_back(convertValueInfo(input));
  for (const onnx::ValueInfoProto &output : g.output())
    graph.outputs.push_back(convertValueInfo(output));
  for (const auto *list : {&g.input(), &g.output(), &g.value_info()})
    for (const onnx::ValueInfoProto &info : *list)
      graph.values[info.name()] = convertValueInfo(info);
  for (const onnx::NodeProto &proto : g.node()) {
    Node node;
    node.name = proto.name();
    node.opType = proto.op_type();
    node.domain = proto.domain();
    node.inputs.assign(proto.input().begin(), proto.input().end());
    node.outputs.assign(proto.output().begin(), proto.output().end());
    for (const onnx::AttributeProto &attr : proto.attribute()) {
      Attribute attribute;
      if (!convertAttribute(attr, attribute, error)) {
        error = node.opType + " node '" + node.name + "': attribute '" +
                attr.name() + "': " + error;
        return false;
      }
      node.attributes[attr.name()] = std::move(attribute);
    }
    graph.nodes.push_back(std::move(node));
  }
  return true;
}

} // namespace

std::string ampc::onnx_graph::elementTypeName(int32_t type) {
  if (type >= 0 && type <= onnx::TensorProto::DataType_MAX &&
      onnx::TensorProto::DataType_IsValid(type)) {
    std::string name = onnx::TensorProto::DataType_Name(
        static_cast<onnx::TensorProto::DataType>(type));
    for (char &c : name)
      c = char(std::tolower(static_cast<unsigned char>(c)));
    return name;
  }
  return "type " + std::to_string(type);
}

int64_t Tensor::numElements() const {
  int64_t count = 1;
  for (int64_t d : dims)
    count = d < 0 ? -1 : count * d;
  return count;
}

std::string Node::describe() const {
  return opType + " node '" +
         (name.empty() ? outputs.empty() ? "" : outputs[0] : name) + "'";
}

bool ampc::onnx_graph::readModel(const std::string &bytes,
                                 const std::string &name,
                                 const ReadOptions &options, Graph &graph,
                                 std::string &error) {
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes) || !model.has_graph()) {
    error = "'" + name +
            "' is not an ONNX model (empty, truncated or not a "
            "ModelProto)";
    return false;
  }
  if (!readOpset(model, graph, error)) {
    error = "'" + name + "': " + error;
    return false;
  }
  int64_t exportedBatch = 0;
  try {
    onnx::checker::check_model(model);
    if (options.batch > 0)
      exportedBatch = fixBatch(*model.mutable_graph(), options.batch);
    onnx::ShapeInferenceOptions inference(/*check_type=*/true,
                                          /*strict_mode=*/1,
                                          /*data_prop=*/true);
    onnx::shape_inference::InferShapes(
        model, onnx::OpSchemaRegistry::Instance(), inference);
  } catch (const std::exception &e) {
    error = "'" + name + "' is not a valid ONNX model: " + e.what();
    if (exportedBatch)
      error += "\n(the model was exported for batches of " +
               std::to_string(exportedBatch) +
               " and may compute shapes from it: export it with a dynamic "
               "batch, torch.onnx.export(..., dynamic_axes={'x': {0: "
               "'batch'}}), or import it with --batch=" +
               std::to_string(exportedBatch) + ")";
    return false;
  }
  if (!convertGraph(model, graph, error)) {
    error = "'" + name + "': " + error;
    return false;
  }
  return true;
}

bool ampc::onnx_graph::replaceInitializers(
    const std::string &original, const std::vector<Tensor> &replacements,
    std::string &bytes, std::string &error) {
  onnx::ModelProto model;
  if (!model.ParseFromString(original)) {
    error = "the original model cannot be parsed again";
    return false;
  }
  for (const Tensor &replacement : replacements) {
    onnx::TensorProto *target = nullptr;
    for (onnx::TensorProto &init :
         *model.mutable_graph()->mutable_initializer())
      if (init.name() == replacement.name)
        target = &init;
    if (!target) {
      error = "the model has no initializer '" + replacement.name + "'";
      return false;
    }
    std::vector<int64_t> dims(target->dims().begin(), target->dims().end());
    if (dims != replacement.dims || target->data_type() != kFloat) {
      error = "initializer '" + replacement.name +
              "' is not a float tensor of the trained parameter's shape";
      return false;
    }
    target->clear_float_data();
    target->clear_raw_data();
    target->set_raw_data(
        std::string(reinterpret_cast<const char *>(replacement.floats.data()),
                    replacement.floats.size() * sizeof(float)));
  }
  if (!model.SerializeToString(&bytes)) {
    error = "the model cannot be serialized";
    return false;
  }
  return true;
}
