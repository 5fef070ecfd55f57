//===- literal_fuzzer.cpp - libFuzzer target: tensor literals -------------===//
//
// The text of `ampc-run --input=...`: an error or a tensor of the type the
// text names, never a crash (number parsing, overflowing shapes, integer
// values out of range).
//
//===----------------------------------------------------------------------===//

#include "ampc_rt/Tensor.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  ampc_rt::Result<ampc_rt::Tensor> tensor = ampc_rt::parseTensorLiteral(text);
  if (!tensor) {
    if (tensor.message().empty())
      std::abort();
    return 0;
  }
  // The type written before '=' is the tensor's type: its element type
  // last, after one 'x' per dimension.
  std::string_view type = text.substr(0, text.find('='));
  std::string_view element = ampc_rt::dtypeName(tensor->dtype);
  if (type.size() < element.size() ||
      type.substr(type.size() - element.size()) != element ||
      size_t(std::count(type.begin(), type.end(), 'x')) != tensor->shape.size())
    std::abort();
  if (tensor->data.size() !=
      uint64_t(tensor->numElements()) * ampc_rt::dtypeSize(tensor->dtype))
    std::abort();
  return 0;
}
