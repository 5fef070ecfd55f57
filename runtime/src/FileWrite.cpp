//===- FileWrite.cpp - write a file whole or not at all -------------------===//

#include "FileWrite.h"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

std::string
ampc_rt::detail::writeFileWhole(const std::string &path,
                                const std::function<bool(std::FILE *)> &write) {
  struct stat info;
  bool special = ::stat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode);
  std::string target = special ? path : path + ".tmp";
  std::FILE *out = std::fopen(target.c_str(), "wb");
  if (!out)
    return "cannot write '" + path + "': " + std::strerror(errno);
  errno = 0;
  bool ok = write(out) && std::fflush(out) == 0;
  if (ok && !special)
    ok = fsync(fileno(out)) == 0;
  int saved = errno;
  ok = std::fclose(out) == 0 && ok;
  if (!saved)
    saved = errno;
  if (ok && !special && std::rename(target.c_str(), path.c_str()) != 0) {
    ok = false;
    saved = errno;
  }
  if (ok)
    return "";
  if (!special)
    std::remove(target.c_str());
  return "cannot write '" + path +
         "': " + (saved ? std::strerror(saved) : "write failed");
}
