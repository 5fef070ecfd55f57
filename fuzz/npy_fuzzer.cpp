//===- npy_fuzzer.cpp - libFuzzer target: the .npy reader -----------------===//
//
// Any bytes: an error or a tensor, never a crash or an allocation beyond
// what the data holds. A tensor that is read back after writing it (npyBytes)
// must come out equal: the writer and the reader agree.
//
//===----------------------------------------------------------------------===//

#include "ampc_rt/Tensor.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char *>(data), size);
  ampc_rt::Result<ampc_rt::Tensor> tensor = ampc_rt::parseNpy(bytes, "input");
  if (!tensor) {
    if (tensor.message().empty())
      std::abort(); // every error says what is wrong
    return 0;
  }
  if (tensor->data.size() !=
      uint64_t(tensor->numElements()) * ampc_rt::dtypeSize(tensor->dtype))
    std::abort();
  ampc_rt::Result<ampc_rt::Tensor> again =
      ampc_rt::parseNpy(ampc_rt::npyBytes(*tensor), "written");
  // bf16 and fp8 tensors are written as raw uint16/uint8 bit patterns; a
  // .npy file never reads back as those types, so compare the bytes.
  if (!again || again->shape != tensor->shape || again->data != tensor->data)
    std::abort();
  return 0;
}
