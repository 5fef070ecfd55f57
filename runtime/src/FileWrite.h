//===- FileWrite.h - write a file whole or not at all ------------*- C++
//-*-===//
//
// The one way the runtime writes files (.npy, checkpoints): a regular file
// (or a new one) is written to PATH.tmp, flushed, synced and renamed over
// PATH, so a failure leaves the old file or none; anything else that exists
// at PATH (/dev/stdout, /dev/full, a pipe) is written in place, never
// replaced, and a failed write or flush is still an error.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_RT_SRC_FILEWRITE_H
#define AMPC_RT_SRC_FILEWRITE_H

#include <cstdio>
#include <functional>
#include <string>

namespace ampc_rt::detail {

/// Writes `path` through `write` (false on a failed write); returns "" or
/// "cannot write 'PATH': REASON".
std::string writeFileWhole(const std::string &path,
                           const std::function<bool(std::FILE *)> &write);

} // namespace ampc_rt::detail

#endif // AMPC_RT_SRC_FILEWRITE_H
