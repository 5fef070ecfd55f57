/*===- AsanWithUninstrumentedLLVM.h - ASan next to Debian's LLVM -*- C -*-===*\
|*
|* Force-included into every AMPC source of an AddressSanitizer build
|* (cmake/AMPCSanitizers.cmake). LLVM's headers take an ASan compile to mean
|* that LLVM itself is instrumented: the inline llvm::BumpPtrAllocator then
|* poisons each new slab and unpoisons what it hands out. Debian's libLLVM and
|* libMLIR are not instrumented, and their copies of the same inline code
|* hand out memory of those slabs without unpoisoning it (MLIR's attribute
|* and type storage share one allocator), so reading an attribute MLIR made
|* was reported as a use-after-poison. Here the poisoning in LLVM's headers
|* is turned off, as it is in the libraries they belong to; ASan still checks
|* every heap, stack and global access of AMPC's code.
|*
\*===----------------------------------------------------------------------===*/
#ifndef AMPC_ASAN_WITH_UNINSTRUMENTED_LLVM_H
#define AMPC_ASAN_WITH_UNINSTRUMENTED_LLVM_H

#include <sanitizer/asan_interface.h>

#undef ASAN_POISON_MEMORY_REGION
#undef ASAN_UNPOISON_MEMORY_REGION
#define __asan_poison_memory_region(addr, size) ((void)(addr), (void)(size))
#define __asan_unpoison_memory_region(addr, size) ((void)(addr), (void)(size))

#endif
