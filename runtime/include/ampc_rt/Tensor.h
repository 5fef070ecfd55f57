//===- Tensor.h - host tensors and .npy files -------------------*- C++ -*-===//
//
// The runtime's host-side tensor: an element type, a shape and row-major
// bytes; and reading/writing NumPy .npy files. Plain C++17, no MLIR.
// Errors come back as values with a message; nothing here aborts.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_RT_TENSOR_H
#define AMPC_RT_TENSOR_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace ampc_rt {

/// Element types. U8 and U16 are raw bit patterns: .npy files carry bf16
/// and fp8 data as uint16/uint8 arrays (NumPy has no such types).
enum class DType : uint8_t {
  F32,
  F64,
  F16,
  BF16,
  F8E4M3FN,
  F8E5M2,
  I1,
  I8,
  I32,
  I64,
  U8,
  U16
};

/// Bytes per element.
size_t dtypeSize(DType type);
/// The MLIR spelling (f32, bf16, f8E4M3FN, i32, ...; u8/u16 for raw bits).
const char *dtypeName(DType type);
/// Parses an MLIR spelling.
std::optional<DType> parseDType(std::string_view name);

/// Either a value or an error message.
template <typename T> class Result {
public:
  Result(T value) : state(std::move(value)) {}
  static Result error(std::string message) {
    Result r;
    r.state = Error{std::move(message)};
    return r;
  }
  explicit operator bool() const { return std::holds_alternative<T>(state); }
  T &operator*() { return std::get<T>(state); }
  T *operator->() { return &std::get<T>(state); }
  const std::string &message() const { return std::get<Error>(state).text; }

private:
  struct Error {
    std::string text;
  };
  Result() = default;
  std::variant<Error, T> state;
};

/// A dense, row-major host tensor. A rank-0 tensor holds one element.
struct Tensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;

  Tensor() = default;
  Tensor(DType dtype, std::vector<int64_t> shape);

  int64_t numElements() const;
  /// "2x3xf32" (rank 0: "f32").
  std::string typeString() const;

  template <typename T> T *as() { return reinterpret_cast<T *>(data.data()); }
  template <typename T> const T *as() const {
    return reinterpret_cast<const T *>(data.data());
  }
};

/// Reads a .npy file (format 1.0-3.0, little-endian, C order).
Result<Tensor> readNpy(const std::string &path);
/// readNpy on the bytes of a .npy file (`name` names it in messages).
Result<Tensor> parseNpy(std::string_view bytes, const std::string &name);

/// Writes a .npy file (format 1.0). bf16 is written as uint16 and fp8 as
/// uint8 bit patterns. Returns an error message, or an empty string.
std::string writeNpy(const std::string &path, const Tensor &tensor);

/// The bytes of `tensor` as a .npy file (what writeNpy writes).
std::string npyBytes(const Tensor &tensor);

/// A tensor with a name, as checkpoints and .npz archives store them.
struct NamedTensor {
  std::string name;
  Tensor *tensor;
};

/// Writes `entries` as a .npz archive (numpy.load reads it: NAME.npy per
/// entry, stored uncompressed), whole or not at all. Returns an error
/// message, or an empty string.
std::string writeNpz(const std::string &path,
                     const std::vector<NamedTensor> &entries);

/// Parses "2x3xf32=1 2 3 4 5 6" (values separated by spaces or commas;
/// "f32=1.5" for a scalar; one value fills the whole tensor).
Result<Tensor> parseTensorLiteral(std::string_view text);

/// Reads an IDX file (the MNIST / Fashion-MNIST format), gzip-compressed or
/// not: unsigned bytes, as a U8 tensor of the file's shape.
Result<Tensor> readIdx(const std::string &path);
/// readIdx on the bytes of an IDX file (`name` names it in messages).
Result<Tensor> parseIdx(std::string_view bytes, const std::string &name);

/// Reads element `index` as a double (raw bit patterns are decoded by the
/// caller; U8/U16 read as integers).
double elementAsDouble(const Tensor &tensor, int64_t index);

/// Writes `entries` to `path` atomically (a temporary file, flushed, then
/// renamed over `path`): a crash leaves the old checkpoint or the new one.
/// Returns an error message, or an empty string.
std::string saveCheckpoint(const std::string &path,
                           const std::vector<NamedTensor> &entries);

/// Reads `path` into `entries`. The file's checksums (per tensor and for
/// the whole file) must match, and it must hold exactly these names, in
/// this order, with the same types and shapes; otherwise nothing is changed
/// and the message names the first problem.
std::string loadCheckpoint(const std::string &path,
                           const std::vector<NamedTensor> &entries);
/// loadCheckpoint on the bytes of a checkpoint file (`name` names it in
/// messages).
std::string loadCheckpointBytes(std::string_view bytes, const std::string &name,
                                const std::vector<NamedTensor> &entries);

} // namespace ampc_rt

#endif // AMPC_RT_TENSOR_H
