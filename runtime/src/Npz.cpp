//===- Npz.cpp - .npz archives
//---------------------------------------------===//
//
// A .npz is a zip archive of .npy files. Entries are stored (method 0) with
// their CRC-32; sizes and offsets must fit the 32-bit fields of a plain zip
// (no zip64), which is checked.
//
//===----------------------------------------------------------------------===//

#include "ampc_rt/Tensor.h"

#include "FileWrite.h"

#include <zlib.h>

#include <cstdint>
#include <limits>

namespace ampc_rt {

namespace {

void put16(std::string &out, uint32_t v) {
  out += char(v & 0xff);
  out += char((v >> 8) & 0xff);
}

void put32(std::string &out, uint32_t v) {
  put16(out, v & 0xffff);
  put16(out, v >> 16);
}

/// The fields a local header and a central directory entry share, from
/// "version needed" to "extra field length".
void commonFields(std::string &out, uint32_t crc, uint32_t size,
                  size_t nameSize) {
  put16(out, 20);   // version needed: 2.0
  put16(out, 0);    // flags
  put16(out, 0);    // method: stored
  put16(out, 0);    // time 00:00
  put16(out, 0x21); // date 1980-01-01
  put32(out, crc);
  put32(out, size); // compressed
  put32(out, size); // uncompressed
  put16(out, uint32_t(nameSize));
  put16(out, 0); // extra field length
}

} // namespace

std::string writeNpz(const std::string &path,
                     const std::vector<NamedTensor> &entries) {
  constexpr uint64_t limit = std::numeric_limits<uint32_t>::max();
  std::string archive, directory;
  for (const NamedTensor &entry : entries) {
    std::string name = entry.name + ".npy";
    std::string data = npyBytes(*entry.tensor);
    if (data.size() >= limit || archive.size() >= limit || name.size() > 0xffff)
      return "cannot write '" + path + "': '" + entry.name +
             "' does not fit a .npz without zip64";
    uint32_t crc = uint32_t(crc32(
        0, reinterpret_cast<const Bytef *>(data.data()), uInt(data.size())));
    uint32_t offset = uint32_t(archive.size());
    put32(archive, 0x04034b50);
    commonFields(archive, crc, uint32_t(data.size()), name.size());
    archive += name;
    archive += data;
    put32(directory, 0x02014b50);
    put16(directory, 20); // version made by
    commonFields(directory, crc, uint32_t(data.size()), name.size());
    put16(directory, 0); // comment length
    put16(directory, 0); // disk number
    put16(directory, 0); // internal attributes
    put32(directory, 0); // external attributes
    put32(directory, offset);
    directory += name;
  }
  if (archive.size() + directory.size() >= limit || entries.size() > 0xffff)
    return "cannot write '" + path + "': too large for a .npz without zip64";
  uint32_t directoryOffset = uint32_t(archive.size());
  archive += directory;
  put32(archive, 0x06054b50);
  put16(archive, 0); // this disk
  put16(archive, 0); // disk of the directory
  put16(archive, uint32_t(entries.size()));
  put16(archive, uint32_t(entries.size()));
  put32(archive, uint32_t(directory.size()));
  put32(archive, directoryOffset);
  put16(archive, 0); // comment length
  return detail::writeFileWhole(path, [&](std::FILE *out) {
    return std::fwrite(archive.data(), 1, archive.size(), out) ==
           archive.size();
  });
}

} // namespace ampc_rt
