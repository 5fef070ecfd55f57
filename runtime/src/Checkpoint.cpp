//===- Checkpoint.cpp - named tensors in one file, written atomically -----===//
//
// Format (little-endian): "AMPCCKPT", u32 version, u64 count, then per
// tensor: u32 name length, name, u32 dtype, u32 rank, i64 shape[rank],
// u64 byte count, bytes.
//
//===----------------------------------------------------------------------===//

#include "ampc_rt/Tensor.h"

#include "FileWrite.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <unistd.h>

namespace {
constexpr char kMagic[8] = {'A', 'M', 'P', 'C', 'C', 'K', 'P', 'T'};
constexpr uint32_t kVersion = 1;

std::string describe(ampc_rt::DType dtype, const std::vector<int64_t> &shape) {
  ampc_rt::Tensor t;
  t.dtype = dtype;
  t.shape = shape;
  return t.typeString();
}
} // namespace

std::string ampc_rt::saveCheckpoint(const std::string &path,
                                    const std::vector<NamedTensor> &entries) {
  return detail::writeFileWhole(path, [&](std::FILE *out) {
    bool ok = std::fwrite(kMagic, 1, 8, out) == 8;
    auto put = [&](const void *data, size_t size) {
      ok = ok && std::fwrite(data, 1, size, out) == size;
    };
    put(&kVersion, 4);
    uint64_t count = entries.size();
    put(&count, 8);
    for (const NamedTensor &entry : entries) {
      const Tensor &tensor = *entry.tensor;
      uint32_t length = uint32_t(entry.name.size());
      put(&length, 4);
      put(entry.name.data(), length);
      uint32_t dtype = uint32_t(tensor.dtype);
      uint32_t rank = uint32_t(tensor.shape.size());
      put(&dtype, 4);
      put(&rank, 4);
      put(tensor.shape.data(), rank * 8);
      uint64_t bytes = tensor.data.size();
      put(&bytes, 8);
      put(tensor.data.data(), bytes);
    }
    return ok;
  });
}

std::string ampc_rt::loadCheckpoint(const std::string &path,
                                    const std::vector<NamedTensor> &entries) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return "cannot open '" + path + "': " + std::strerror(errno);
  auto fail = [&](const std::string &message) {
    return "'" + path + "': " + message;
  };
  char magic[8];
  uint32_t version = 0;
  uint64_t count = 0;
  if (!in.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0)
    return fail("not an AMPC checkpoint");
  if (!in.read(reinterpret_cast<char *>(&version), 4) || version != kVersion)
    return fail("unsupported checkpoint version " + std::to_string(version));
  if (!in.read(reinterpret_cast<char *>(&count), 8))
    return fail("truncated");
  if (count != entries.size())
    return fail("holds " + std::to_string(count) + " tensors, the state has " +
                std::to_string(entries.size()));
  // Read everything first: a mismatch or a short file changes nothing.
  std::vector<std::vector<uint8_t>> contents;
  for (uint64_t i = 0; i < count; ++i) {
    uint32_t length = 0, dtype = 0, rank = 0;
    if (!in.read(reinterpret_cast<char *>(&length), 4) || length > 4096)
      return fail("truncated or corrupt entry " + std::to_string(i));
    std::string name(length, '\0');
    if (!in.read(name.data(), length) ||
        !in.read(reinterpret_cast<char *>(&dtype), 4) ||
        !in.read(reinterpret_cast<char *>(&rank), 4) || rank > 64)
      return fail("truncated or corrupt entry " + std::to_string(i));
    std::vector<int64_t> shape(rank);
    uint64_t bytes = 0;
    if (!in.read(reinterpret_cast<char *>(shape.data()), rank * 8) ||
        !in.read(reinterpret_cast<char *>(&bytes), 8))
      return fail("truncated entry '" + name + "'");
    const NamedTensor &wanted = entries[i];
    if (name != wanted.name)
      return fail("entry " + std::to_string(i) + " is '" + name +
                  "', the state expects '" + wanted.name + "'");
    if (dtype > uint32_t(DType::U16) || DType(dtype) != wanted.tensor->dtype ||
        shape != wanted.tensor->shape)
      return fail("'" + name + "' is " +
                  (dtype > uint32_t(DType::U16)
                       ? std::string("of an unknown type")
                       : describe(DType(dtype), shape)) +
                  ", the state expects " + wanted.tensor->typeString());
    if (bytes != wanted.tensor->data.size())
      return fail("'" + name + "' has the wrong byte size");
    std::vector<uint8_t> data(bytes);
    if (!in.read(reinterpret_cast<char *>(data.data()), std::streamsize(bytes)))
      return fail("truncated data of '" + name + "'");
    contents.push_back(std::move(data));
  }
  for (size_t i = 0; i < contents.size(); ++i)
    entries[i].tensor->data = std::move(contents[i]);
  return "";
}
