//===- Allocator.cpp - buffer allocation for compiled code ----------------===//

#include "ampc_rt/Allocator.h"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace {

/// Stored just before each block handed out.
struct Header {
  void *base;       // what aligned_alloc returned
  size_t size;      // usable bytes
  size_t alignment; // alignment of the block
};

constexpr size_t kMinAlignment = 64;
constexpr size_t kMaxCachedBytes = size_t(1) << 30;

/// The cache of freed blocks. It is the runtime's one piece of process-wide
/// state: compiled code calls the allocation functions without a context.
class BlockCache {
public:
  void *allocate(size_t size, size_t alignment) {
    alignment = alignment < kMinAlignment ? kMinAlignment : alignment;
    size = (size + kMinAlignment - 1) / kMinAlignment * kMinAlignment;
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto it = blocks.find({size, alignment});
      if (it != blocks.end() && !it->second.empty()) {
        void *ptr = it->second.back();
        it->second.pop_back();
        cached -= size;
        return ptr;
      }
    }
    // The header lives in the padding of one alignment unit before the block.
    size_t padding = alignment < sizeof(Header) ? sizeof(Header) : alignment;
    // aligned_alloc wants a multiple of the alignment (C11).
    size_t total = (padding + size + alignment - 1) / alignment * alignment;
    void *base = std::aligned_alloc(alignment, total);
    if (!base)
      return nullptr;
    void *ptr = static_cast<char *>(base) + padding;
    *(reinterpret_cast<Header *>(ptr) - 1) = Header{base, size, alignment};
    return ptr;
  }

  void release(void *ptr) {
    if (!ptr)
      return;
    Header header = *(reinterpret_cast<Header *>(ptr) - 1);
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (cached + header.size <= kMaxCachedBytes) {
        blocks[{header.size, header.alignment}].push_back(ptr);
        cached += header.size;
        return;
      }
    }
    std::free(header.base);
  }

  void releaseAll() {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto &entry : blocks)
      for (void *ptr : entry.second)
        std::free((reinterpret_cast<Header *>(ptr) - 1)->base);
    blocks.clear();
    cached = 0;
  }

  size_t cachedBytes() {
    std::lock_guard<std::mutex> lock(mutex);
    return cached;
  }

private:
  std::mutex mutex;
  std::map<std::pair<size_t, size_t>, std::vector<void *>> blocks;
  size_t cached = 0;
};

BlockCache &cache() {
  // Never destroyed: buffers may be freed by other static destructors at
  // exit, and the cached blocks stay reachable (no leak reports).
  static BlockCache *instance = new BlockCache;
  return *instance;
}

} // namespace

extern "C" void *_mlir_memref_to_llvm_alloc(size_t size) {
  return cache().allocate(size, kMinAlignment);
}

extern "C" void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment,
                                                    size_t size) {
  return cache().allocate(size, alignment);
}

extern "C" void _mlir_memref_to_llvm_free(void *ptr) { cache().release(ptr); }

extern "C" void ampc_rt_release_cached_memory(void) { cache().releaseAll(); }

extern "C" size_t ampc_rt_cached_bytes(void) { return cache().cachedBytes(); }
