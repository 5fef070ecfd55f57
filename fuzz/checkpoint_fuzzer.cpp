//===- checkpoint_fuzzer.cpp - libFuzzer target: the checkpoint loader ----===//
//
// Loads any bytes into a fixed state (a 2x3 f32 tensor "w" and an i64
// scalar "step", as fuzz/corpus/checkpoint's seeds hold). An error must
// leave the state untouched; a success must give back what saving the
// loaded state writes, byte for byte.
//
//===----------------------------------------------------------------------===//

#include "ampc_rt/Tensor.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ampc_rt::Tensor w(ampc_rt::DType::F32, {2, 3});
  ampc_rt::Tensor step(ampc_rt::DType::I64, {});
  std::memset(w.data.data(), 0x5a, w.data.size());
  std::memset(step.data.data(), 0xa5, step.data.size());
  std::vector<uint8_t> wBefore = w.data, stepBefore = step.data;
  std::vector<ampc_rt::NamedTensor> state = {{"w", &w}, {"step", &step}};
  std::string_view bytes(reinterpret_cast<const char *>(data), size);
  std::string error = ampc_rt::loadCheckpointBytes(bytes, "input", state);
  if (!error.empty()) {
    if (w.data != wBefore || step.data != stepBefore)
      std::abort(); // an error changed the state
    return 0;
  }
  if (w.data.size() != 24 || step.data.size() != 8)
    std::abort();
  // A loaded checkpoint is what saving that state writes.
  static const std::string path =
      "/tmp/ampc-checkpoint-fuzzer-" + std::to_string(getpid()) + ".ckpt";
  if (!ampc_rt::saveCheckpoint(path, state).empty())
    std::abort();
  std::ifstream in(path, std::ios::binary);
  std::string saved((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  std::remove(path.c_str());
  if (saved != bytes)
    std::abort();
  return 0;
}
