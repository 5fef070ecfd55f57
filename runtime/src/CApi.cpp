//===- CApi.cpp - the runtime's C interface -------------------------------===//

#include "ampc_rt/Tensor.h"
#include "ampc_rt/ampc_rt.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

struct ampc_tensor {
  ampc_rt::Tensor tensor;
};

struct ampc_state {
  std::vector<std::pair<std::string, std::unique_ptr<ampc_tensor>>> entries;
};

namespace {

void setError(char *error, size_t size, const std::string &message) {
  if (!error || size == 0)
    return;
  std::snprintf(error, size, "%s", message.c_str());
}

ampc_rt::DType toDType(ampc_dtype d) { return static_cast<ampc_rt::DType>(d); }

} // namespace

static_assert(sizeof(ampc_dtype) == sizeof(int), "C enum is an int");
static_assert(AMPC_U16 == static_cast<int>(ampc_rt::DType::U16),
              "ampc_dtype matches ampc_rt::DType");

extern "C" {

size_t ampc_dtype_size(ampc_dtype dtype) {
  return ampc_rt::dtypeSize(toDType(dtype));
}

ampc_tensor *ampc_tensor_create(ampc_dtype dtype, int rank,
                                const int64_t *shape, char *error,
                                size_t error_size) {
  if (rank < 0 || (rank > 0 && !shape)) {
    setError(error, error_size, "rank must be >= 0 with a shape");
    return nullptr;
  }
  std::vector<int64_t> dims(shape, shape + rank);
  for (int64_t d : dims)
    if (d < 0) {
      setError(error, error_size, "negative size in shape");
      return nullptr;
    }
  auto *t =
      new (std::nothrow) ampc_tensor{ampc_rt::Tensor(toDType(dtype), dims)};
  if (!t)
    setError(error, error_size, "out of memory");
  return t;
}

void ampc_tensor_destroy(ampc_tensor *tensor) { delete tensor; }
void *ampc_tensor_data(ampc_tensor *t) { return t->tensor.data.data(); }
ampc_dtype ampc_tensor_dtype(const ampc_tensor *t) {
  return static_cast<ampc_dtype>(t->tensor.dtype);
}
int ampc_tensor_rank(const ampc_tensor *t) {
  return int(t->tensor.shape.size());
}
const int64_t *ampc_tensor_shape(const ampc_tensor *t) {
  return t->tensor.shape.data();
}
size_t ampc_tensor_nbytes(const ampc_tensor *t) {
  return t->tensor.data.size();
}

void ampc_tensor_describe(ampc_tensor *t, void *descriptor) {
  auto *words = static_cast<int64_t *>(descriptor);
  void *data = t->tensor.data.data();
  std::memcpy(&words[0], &data, sizeof(void *));
  std::memcpy(&words[1], &data, sizeof(void *));
  words[2] = 0;
  size_t rank = t->tensor.shape.size();
  int64_t stride = 1;
  for (size_t i = rank; i-- > 0;) {
    words[3 + i] = t->tensor.shape[i];
    words[3 + rank + i] = stride;
    stride *= t->tensor.shape[i];
  }
}

ampc_tensor *ampc_tensor_read_npy(const char *path, char *error,
                                  size_t error_size) {
  auto result = ampc_rt::readNpy(path);
  if (!result) {
    setError(error, error_size, result.message());
    return nullptr;
  }
  return new ampc_tensor{std::move(*result)};
}

int ampc_tensor_write_npy(const ampc_tensor *t, const char *path, char *error,
                          size_t error_size) {
  std::string message = ampc_rt::writeNpy(path, t->tensor);
  if (!message.empty()) {
    setError(error, error_size, message);
    return -1;
  }
  return 0;
}

ampc_state *ampc_state_create(void) { return new ampc_state(); }
void ampc_state_destroy(ampc_state *state) { delete state; }

ampc_tensor *ampc_state_add(ampc_state *state, const char *name,
                            ampc_dtype dtype, int rank, const int64_t *shape,
                            char *error, size_t error_size) {
  if (!name || !*name) {
    setError(error, error_size, "a state tensor needs a name");
    return nullptr;
  }
  if (ampc_state_get(state, name)) {
    setError(error, error_size,
             std::string("the state already has a tensor named '") + name +
                 "'");
    return nullptr;
  }
  ampc_tensor *t = ampc_tensor_create(dtype, rank, shape, error, error_size);
  if (!t)
    return nullptr;
  state->entries.emplace_back(name, std::unique_ptr<ampc_tensor>(t));
  return t;
}

ampc_tensor *ampc_state_get(ampc_state *state, const char *name) {
  for (auto &entry : state->entries)
    if (entry.first == name)
      return entry.second.get();
  return nullptr;
}

size_t ampc_state_count(const ampc_state *state) {
  return state->entries.size();
}

const char *ampc_state_name(const ampc_state *state, size_t index) {
  return index < state->entries.size() ? state->entries[index].first.c_str()
                                       : nullptr;
}

int ampc_state_save(const ampc_state *state, const char *path, char *error,
                    size_t error_size) {
  std::vector<ampc_rt::NamedTensor> entries;
  for (const auto &[name, tensor] : state->entries)
    entries.push_back({name, const_cast<ampc_rt::Tensor *>(&tensor->tensor)});
  std::string message = ampc_rt::saveCheckpoint(path, entries);
  if (message.empty())
    return 0;
  setError(error, error_size, message);
  return -1;
}

int ampc_state_load(ampc_state *state, const char *path, char *error,
                    size_t error_size) {
  std::vector<ampc_rt::NamedTensor> entries;
  for (auto &[name, tensor] : state->entries)
    entries.push_back({name, &tensor->tensor});
  std::string message = ampc_rt::loadCheckpoint(path, entries);
  if (message.empty())
    return 0;
  setError(error, error_size, message);
  return -1;
}

} // extern "C"
