//===- Checkpoint.cpp - named tensors in one file, written atomically -----===//
//
// Format 2 (little-endian): "AMPCCKPT", u32 version, u64 count, then per
// tensor: u32 name length, name, u32 dtype, u32 rank, i64 shape[rank],
// u64 byte count, bytes, u32 CRC-32 of the entry (name length through
// bytes); then u32 CRC-32 of everything before it. Loading verifies both
// before anything is changed, so a flipped bit is an error naming the
// tensor it hit (or the file), never a silently different state.
//
//===----------------------------------------------------------------------===//

#include "ampc_rt/Tensor.h"

#include "FileWrite.h"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace {
constexpr char kMagic[8] = {'A', 'M', 'P', 'C', 'C', 'K', 'P', 'T'};
constexpr uint32_t kVersion = 2;

std::string describe(ampc_rt::DType dtype, const std::vector<int64_t> &shape) {
  ampc_rt::Tensor t;
  t.dtype = dtype;
  t.shape = shape;
  return t.typeString();
}

uint32_t crc(uint32_t running, const void *data, size_t size) {
  const auto *bytes = static_cast<const Bytef *>(data);
  // zlib takes 32-bit lengths.
  for (size_t done = 0; done < size;) {
    uInt chunk = uInt(std::min<size_t>(size - done, 1u << 30));
    running = uint32_t(crc32(running, bytes + done, chunk));
    done += chunk;
  }
  return running;
}

/// Reads the file in order, keeping the CRC-32 of the whole file and of the
/// current entry.
struct ChecksummedReader {
  std::istream &in;
  uint32_t file = 0, entry = 0;

  bool read(void *data, size_t size) {
    if (!in.read(static_cast<char *>(data), std::streamsize(size)))
      return false;
    file = crc(file, data, size);
    entry = crc(entry, data, size);
    return true;
  }
  /// Reads a stored CRC-32 (not itself checksummed by `entry`).
  bool readChecksum(uint32_t &value) {
    if (!in.read(reinterpret_cast<char *>(&value), 4))
      return false;
    file = crc(file, &value, 4);
    return true;
  }
};
} // namespace

std::string ampc_rt::saveCheckpoint(const std::string &path,
                                    const std::vector<NamedTensor> &entries) {
  return detail::writeFileWhole(path, [&](std::FILE *out) {
    bool ok = true;
    uint32_t file = 0, entry = 0;
    auto put = [&](const void *data, size_t size) {
      ok = ok && std::fwrite(data, 1, size, out) == size;
      file = crc(file, data, size);
      entry = crc(entry, data, size);
    };
    put(kMagic, 8);
    put(&kVersion, 4);
    uint64_t count = entries.size();
    put(&count, 8);
    for (const NamedTensor &named : entries) {
      const Tensor &tensor = *named.tensor;
      entry = 0;
      uint32_t length = uint32_t(named.name.size());
      put(&length, 4);
      put(named.name.data(), length);
      uint32_t dtype = uint32_t(tensor.dtype);
      uint32_t rank = uint32_t(tensor.shape.size());
      put(&dtype, 4);
      put(&rank, 4);
      put(tensor.shape.data(), rank * 8);
      uint64_t bytes = tensor.data.size();
      put(&bytes, 8);
      put(tensor.data.data(), bytes);
      uint32_t entryChecksum = entry;
      put(&entryChecksum, 4);
    }
    uint32_t fileChecksum = file;
    put(&fileChecksum, 4);
    return ok;
  });
}

namespace {

/// One entry as the file has it.
struct Entry {
  std::string name;
  uint32_t dtype = 0;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

/// Reads entry `index` and checks its CRC-32; "" or what is wrong.
/// `remaining` (the bytes left in the file) bounds what is allocated.
std::string readEntry(ChecksummedReader &r, uint64_t index, uint64_t remaining,
                      Entry &entry) {
  std::string where = "entry " + std::to_string(index);
  r.entry = 0;
  uint32_t length = 0, rank = 0;
  if (!r.read(&length, 4) || length > 4096)
    return "truncated or corrupt " + where;
  entry.name.assign(length, '\0');
  if (!r.read(entry.name.data(), length) || !r.read(&entry.dtype, 4) ||
      !r.read(&rank, 4) || rank > 64)
    return "truncated or corrupt " + where;
  entry.shape.assign(rank, 0);
  uint64_t bytes = 0;
  if (!r.read(entry.shape.data(), rank * 8) || !r.read(&bytes, 8) ||
      bytes > remaining)
    return "truncated or corrupt " + where;
  entry.data.resize(bytes);
  uint32_t stored = 0, computed = 0;
  if (!r.read(entry.data.data(), bytes) ||
      (computed = r.entry, !r.readChecksum(stored)))
    return "truncated " + where + " ('" + entry.name + "')";
  if (stored != computed)
    return where + " ('" + entry.name +
           "') is corrupt: its checksum does not match its contents";
  return "";
}

/// "" when `entry` is what `wanted` expects, else the difference.
std::string compare(const Entry &entry, uint64_t index,
                    const ampc_rt::NamedTensor &wanted) {
  using ampc_rt::DType;
  if (entry.name != wanted.name)
    return "entry " + std::to_string(index) + " is '" + entry.name +
           "', the state expects '" + wanted.name + "'";
  bool known = entry.dtype <= uint32_t(DType::U16);
  if (!known || DType(entry.dtype) != wanted.tensor->dtype ||
      entry.shape != wanted.tensor->shape)
    return "'" + entry.name + "' is " +
           (known ? describe(DType(entry.dtype), entry.shape)
                  : std::string("of an unknown type")) +
           ", the state expects " + wanted.tensor->typeString();
  if (entry.data.size() != wanted.tensor->data.size())
    return "'" + entry.name + "' has the wrong byte size";
  return "";
}

} // namespace

namespace {
/// loadCheckpoint on a stream of `size` bytes positioned at its start;
/// `name` names it in messages.
std::string loadFrom(std::istream &in, uint64_t size, const std::string &name,
                     const std::vector<ampc_rt::NamedTensor> &entries) {
  ChecksummedReader r{in};
  auto fail = [&](const std::string &message) {
    return "'" + name + "': " + message;
  };
  char magic[8];
  uint32_t version = 0;
  uint64_t count = 0;
  if (size < 24)
    return fail("truncated (" + std::to_string(size) +
                " bytes; a checkpoint has at least 24)");
  if (!r.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0)
    return fail("not an AMPC checkpoint");
  if (!r.read(&version, 4) || version != kVersion)
    return fail("unsupported checkpoint version " + std::to_string(version) +
                " (this runtime reads version " + std::to_string(kVersion) +
                ")");
  // An entry takes at least 24 bytes.
  if (!r.read(&count, 8) || count > size / 24)
    return fail("truncated or corrupt header");
  // Read and verify everything first: nothing changes on any error.
  std::vector<Entry> read;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t position = uint64_t(r.in.tellg());
    Entry entry;
    std::string error = readEntry(r, i, size - position, entry);
    if (!error.empty())
      return fail(error);
    read.push_back(std::move(entry));
  }
  uint32_t computed = r.file, stored = 0;
  if (!r.readChecksum(stored))
    return fail("truncated (no file checksum)");
  if (stored != computed || r.in.peek() != EOF)
    return fail("corrupt: the file's checksum does not match its contents");
  if (count != entries.size())
    return fail("holds " + std::to_string(count) + " tensors, the state has " +
                std::to_string(entries.size()));
  for (uint64_t i = 0; i < count; ++i)
    if (std::string error = compare(read[i], i, entries[i]); !error.empty())
      return fail(error);
  for (size_t i = 0; i < read.size(); ++i)
    entries[i].tensor->data = std::move(read[i].data);
  return "";
}
} // namespace

std::string ampc_rt::loadCheckpoint(const std::string &path,
                                    const std::vector<NamedTensor> &entries) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in)
    return "cannot open '" + path + "': " + std::strerror(errno);
  uint64_t size = uint64_t(in.tellg());
  in.seekg(0);
  return loadFrom(in, size, path, entries);
}

std::string
ampc_rt::loadCheckpointBytes(std::string_view bytes, const std::string &name,
                             const std::vector<NamedTensor> &entries) {
  std::istringstream in{std::string(bytes)};
  return loadFrom(in, bytes.size(), name, entries);
}
