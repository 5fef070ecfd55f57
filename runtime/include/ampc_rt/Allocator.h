//===- Allocator.h - buffer allocation for compiled code --------*- C++ -*-===//
//
// Compiled code allocates its temporaries through these C functions (MLIR's
// "generic" allocation functions). Freed blocks are kept, by size and
// alignment, up to a bounded total, and handed out again: a training step
// that allocates the same temporaries on every call then stops paying for
// fresh pages (mmap, page faults, zeroing) after the first call.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_RT_ALLOCATOR_H
#define AMPC_RT_ALLOCATOR_H

#include <cstddef>

extern "C" {
void *_mlir_memref_to_llvm_alloc(size_t size);
void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size);
void _mlir_memref_to_llvm_free(void *ptr);

/// Returns every cached block to the system.
void ampc_rt_release_cached_memory(void);
/// Bytes currently held in the cache.
size_t ampc_rt_cached_bytes(void);
}

#endif // AMPC_RT_ALLOCATOR_H
