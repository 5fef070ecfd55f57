//===- Error.h - errors of the training library -----------------*- C++ -*-===//

#ifndef AMPC_LIB_TRAIN_ERROR_H
#define AMPC_LIB_TRAIN_ERROR_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

namespace ampc::train::detail {

/// An error carrying `message` (what a user did, and what to do instead).
inline llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

} // namespace ampc::train::detail

#endif // AMPC_LIB_TRAIN_ERROR_H
