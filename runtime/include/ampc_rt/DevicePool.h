//===- DevicePool.h - reuse of freed GPU blocks -----------------*- C++ -*-===//
//
// cuMemFree waits for the whole device, and cuMemAlloc/cuMemAllocManaged
// cost tens of microseconds; a GPU training step allocates and frees dozens
// of temporaries of the same sizes on every call. The CUDA runtime keeps
// freed blocks here, by kind (managed or device) and size rounded up to
// 512 bytes, and hands them out again, as PyTorch's caching allocator does.
// Reuse is safe because every launch of compiled code is synchronous: when
// host code frees a buffer, no kernel that uses it is still running.
//
// The pool is generic over the functions that really allocate and free, so
// that it can be tested without a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_RT_DEVICEPOOL_H
#define AMPC_RT_DEVICEPOOL_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ampc_rt {

class DevicePool {
public:
  /// Allocates `bytes` of a kind (managed or not); returns 0 on failure.
  using AllocFn = std::function<uintptr_t(size_t bytes, bool managed)>;
  /// Frees what AllocFn returned.
  using FreeFn = std::function<void(uintptr_t)>;

  static constexpr size_t kGranule = 512;

  DevicePool(AllocFn alloc, FreeFn free)
      : allocFn(std::move(alloc)), freeFn(std::move(free)) {}
  ~DevicePool() = default; // blocks outlive the pool (process exit)

  /// A block of at least `bytes` (a cached one if any has this rounded
  /// size and kind). When the allocator fails, every cached block is freed
  /// and the allocation tried once more.
  uintptr_t allocate(size_t bytes, bool managed) {
    size_t size = (bytes + kGranule - 1) / kGranule * kGranule;
    if (size == 0)
      size = kGranule;
    std::lock_guard<std::mutex> lock(mutex);
    auto it = freeBlocks.find({managed, size});
    if (it != freeBlocks.end() && !it->second.empty()) {
      uintptr_t ptr = it->second.back();
      it->second.pop_back();
      cached -= size;
      live[ptr] = {managed, size};
      ++hits;
      return ptr;
    }
    uintptr_t ptr = allocFn(size, managed);
    if (!ptr && cached) {
      releaseLocked();
      ptr = allocFn(size, managed);
    }
    if (ptr)
      live[ptr] = {managed, size};
    return ptr;
  }

  /// Returns a block to the pool; false if it did not come from here (the
  /// caller frees it itself).
  bool release(uintptr_t ptr) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = live.find(ptr);
    if (it == live.end())
      return false;
    freeBlocks[it->second].push_back(ptr);
    cached += it->second.second;
    live.erase(it);
    return true;
  }

  /// Frees every cached block.
  void releaseCached() {
    std::lock_guard<std::mutex> lock(mutex);
    releaseLocked();
  }

  size_t cachedBytes() {
    std::lock_guard<std::mutex> lock(mutex);
    return cached;
  }
  /// Allocations served from the cache so far.
  size_t cacheHits() {
    std::lock_guard<std::mutex> lock(mutex);
    return hits;
  }

private:
  void releaseLocked() {
    for (auto &[key, blocks] : freeBlocks)
      for (uintptr_t ptr : blocks)
        freeFn(ptr);
    freeBlocks.clear();
    cached = 0;
  }

  AllocFn allocFn;
  FreeFn freeFn;
  std::mutex mutex;
  /// (managed, rounded size) of each block handed out.
  std::unordered_map<uintptr_t, std::pair<bool, size_t>> live;
  std::map<std::pair<bool, size_t>, std::vector<uintptr_t>> freeBlocks;
  size_t cached = 0, hits = 0;
};

} // namespace ampc_rt

#endif // AMPC_RT_DEVICEPOOL_H
