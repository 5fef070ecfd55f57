//===- idx_fuzzer.cpp - libFuzzer target: the IDX reader ------------------===//
//
// Any bytes, plain or gzip: an error or a uint8 tensor holding exactly the
// elements its header names, never a crash or an allocation the data cannot
// fill.
//
//===----------------------------------------------------------------------===//

#include "ampc_rt/Tensor.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char *>(data), size);
  ampc_rt::Result<ampc_rt::Tensor> tensor = ampc_rt::parseIdx(bytes, "input");
  if (!tensor) {
    if (tensor.message().empty())
      std::abort();
    return 0;
  }
  if (tensor->dtype != ampc_rt::DType::U8 ||
      tensor->data.size() != uint64_t(tensor->numElements()))
    std::abort();
  // A plain (not gzip) file holds its header and then the data.
  bool gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  if (!gz && tensor->data.size() + 4 + 4 * tensor->shape.size() > size)
    std::abort();
  return 0;
}
