//===- Onnx.h - ONNX models in and trained weights out ----------*- C++ -*-===//
//
// Imports an ONNX model (what torch.onnx.export writes, opsets 13-17) into
// AMPC's model contract: `@forward` in linalg/tensor/arith/math on tensors,
// the float initializers as `amp.param` arguments (named as in the model),
// the graph inputs as batch inputs, optionally a loss over the first output.
// Writes a model back with trained parameters as its initializers.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_IMPORT_ONNX_H
#define AMPC_IMPORT_ONNX_H

#include "ampc_rt/Tensor.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace ampc {

/// The loss appended to an imported model.
enum class OnnxLoss {
  /// None: the model's first output is its loss (a float scalar).
  None,
  /// Softmax cross-entropy of the first output [B, C] against one-hot f32
  /// labels [B, C] (a new last input), averaged over the batch.
  CrossEntropy,
  /// Mean squared error of the first output against targets of its shape
  /// (a new last input), averaged over every element.
  MeanSquaredError,
};

/// Parses "none", "cross-entropy" or "mse".
llvm::Expected<OnnxLoss> parseOnnxLoss(llvm::StringRef text);

struct OnnxImportOptions {
  /// The batch size: the leading dimension of every graph input, whether
  /// exported as symbolic or as the example input's size (shape inference
  /// carries it through the graph). 0: as exported, where a symbolic
  /// dimension is an error.
  int64_t batch = 0;
  OnnxLoss loss = OnnxLoss::None;
  /// How the caller's user sets `batch`, for the message when one is
  /// needed.
  std::string batchOption = "--batch";
};

/// A parameter of an imported model: its `amp.param` name, the initializer
/// it came from, and its exported value. A model with Dropout in training
/// mode has one more, last: `dropout_step`, the step counter its masks are
/// drawn from (a buffer of shape [1], no initializer, not exported).
struct OnnxParameter {
  std::string name;
  std::string initializer;
  ampc_rt::Tensor value;
};

struct ImportedModel {
  /// The module's text (`@forward`).
  std::string source;
  /// In the order of `@forward`'s `amp.param` arguments.
  std::vector<OnnxParameter> parameters;
};

/// True when `path` names an ONNX file (ends in ".onnx").
bool isOnnxPath(llvm::StringRef path);

/// Imports the bytes of an .onnx file (`name` names it in messages).
/// Unsupported operators, attributes and types are errors naming the node.
llvm::Expected<ImportedModel> importOnnx(llvm::StringRef bytes,
                                         llvm::StringRef name,
                                         const OnnxImportOptions &options);
llvm::Expected<ImportedModel> importOnnxFile(llvm::StringRef path,
                                             const OnnxImportOptions &options);

/// Writes `originalPath`'s model to `outputPath` with the initializers
/// named in `values` (an initializer name, f32 data of its shape) replaced.
llvm::Error
exportOnnx(llvm::StringRef originalPath,
           llvm::ArrayRef<std::pair<std::string, ampc_rt::Tensor>> values,
           llvm::StringRef outputPath);

/// exportOnnx for a trained import: `parameters` in the order of
/// `model.parameters` (as Trainer::parameters() returns them).
llvm::Error exportTrainedOnnx(llvm::StringRef originalPath,
                              const ImportedModel &model,
                              llvm::ArrayRef<ampc_rt::Tensor> parameters,
                              llvm::StringRef outputPath);

} // namespace ampc

#endif // AMPC_IMPORT_ONNX_H
