//===- DynamicLibrary.h - libraries loaded on demand ------------*- C++ -*-===//
//
// What the runtime's on-demand loaders (the CUDA driver, Open MPI) share:
// resolving a library's symbols with one message for the first missing one.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_RT_SRC_DYNAMICLIBRARY_H
#define AMPC_RT_SRC_DYNAMICLIBRARY_H

#include <dlfcn.h>

#include <string>

namespace ampc_rt::detail {

/// Looks `name` up in `library` into `out`; the first failure records
/// "<library name> lacks <name>" in `error`.
template <typename T>
bool resolveSymbol(void *library, const char *name, T &out, std::string &error,
                   const char *libraryName) {
  void *symbol = dlsym(library, name);
  if (!symbol && error.empty())
    error = std::string(libraryName) + " lacks " + name;
  out = reinterpret_cast<T>(symbol);
  return symbol != nullptr;
}

/// dlerror()'s message, never null.
inline std::string lastDlError() {
  const char *why = dlerror();
  return why ? why : "unknown reason";
}

} // namespace ampc_rt::detail

#endif // AMPC_RT_SRC_DYNAMICLIBRARY_H
