//===- CudaRuntimeTest.cpp - the mgpu* entry points without a GPU ---------===//
//
// On a machine without a CUDA driver (or without a device), every entry
// point must return NULL or do nothing and leave a clear message; nothing
// may crash. With a GPU these paths are not reachable, and the test says so.
//
//===----------------------------------------------------------------------===//

#include "ampc_rt/Cuda.h"
#include "ampc_rt/DevicePool.h"

#include "gtest/gtest.h"

#include <cstdlib>
#include <map>
#include <set>
#include <string>

namespace {

TEST(CudaRuntimeTest, EveryEntryPointFailsCleanlyWithoutAGpu) {
  char reason[256] = "";
  if (ampc_rt_gpu_available(reason, sizeof reason))
    GTEST_SKIP()
        << "a CUDA driver and GPU are present: the no-GPU paths are "
           "not reachable here (GPU tests run via scripts/gpu-check.sh)";
  std::string why = reason;
  EXPECT_TRUE(why.find("libcuda.so.1") != std::string::npos ||
              why.find("found no GPU") != std::string::npos)
      << why;

  auto expectFailure = [&](const char *entry) {
    std::string error = ampc_rt_gpu_last_error();
    EXPECT_EQ(error.rfind(entry, 0), 0u) << error;
    EXPECT_NE(error.find(why), std::string::npos) << error;
    ampc_rt_gpu_clear_error();
    EXPECT_STREQ(ampc_rt_gpu_last_error(), "");
  };

  char blob[16] = {};
  EXPECT_EQ(mgpuModuleLoad(blob, sizeof blob), nullptr);
  expectFailure("mgpuModuleLoad");
  EXPECT_EQ(mgpuModuleLoadJIT(blob, 2), nullptr);
  expectFailure("mgpuModuleLoadJIT");
  EXPECT_EQ(mgpuModuleGetFunction(nullptr, "kernel"), nullptr);
  expectFailure("mgpuModuleGetFunction");
  mgpuLaunchKernel(nullptr, 1, 1, 1, 32, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  expectFailure("mgpuLaunchKernel");
  EXPECT_EQ(mgpuStreamCreate(), nullptr);
  expectFailure("mgpuStreamCreate");
  mgpuStreamSynchronize(nullptr);
  expectFailure("mgpuStreamSynchronize");
  mgpuStreamDestroy(nullptr);
  expectFailure("mgpuStreamDestroy");
  EXPECT_EQ(mgpuEventCreate(), nullptr);
  expectFailure("mgpuEventCreate");
  mgpuEventRecord(nullptr, nullptr);
  expectFailure("mgpuEventRecord");
  EXPECT_EQ(mgpuMemAlloc(1024, nullptr, false), nullptr);
  expectFailure("mgpuMemAlloc");
  mgpuMemcpy(blob, blob, sizeof blob, nullptr);
  expectFailure("mgpuMemcpy");
  mgpuMemset32(blob, 0, 4, nullptr);
  expectFailure("mgpuMemset32");
  mgpuModuleUnload(nullptr);
  expectFailure("mgpuModuleUnload");
  // Freeing nothing is not an error.
  mgpuMemFree(nullptr, nullptr);
  EXPECT_STREQ(ampc_rt_gpu_last_error(), "");
}

// The pool the CUDA runtime keeps freed blocks in, over malloc: reuse by
// kind and rounded size, foreign pointers passed back, and a failed
// allocation retried after the cache is emptied.
TEST(CudaRuntimeTest, DevicePoolReusesBlocksBySizeAndKind) {
  std::set<uintptr_t> outstanding;
  int allocs = 0, frees = 0;
  size_t budget = 1 << 20; // the "device" holds 1 MiB
  size_t used = 0;
  std::map<uintptr_t, size_t> sizes;
  ampc_rt::DevicePool pool(
      [&](size_t bytes, bool) -> uintptr_t {
        EXPECT_EQ(bytes % ampc_rt::DevicePool::kGranule, 0u);
        if (used + bytes > budget)
          return 0;
        ++allocs;
        used += bytes;
        auto ptr = reinterpret_cast<uintptr_t>(std::malloc(bytes));
        outstanding.insert(ptr);
        sizes[ptr] = bytes;
        return ptr;
      },
      [&](uintptr_t ptr) {
        ++frees;
        used -= sizes[ptr];
        outstanding.erase(ptr);
        std::free(reinterpret_cast<void *>(ptr));
      });
  uintptr_t a = pool.allocate(1000, true); // rounded to 1024
  ASSERT_NE(a, 0u);
  EXPECT_TRUE(pool.release(a));
  EXPECT_EQ(pool.cachedBytes(), 1024u);
  // Same rounded size and kind: the same block, no new allocation.
  EXPECT_EQ(pool.allocate(1024, true), a);
  EXPECT_EQ(allocs, 1);
  EXPECT_EQ(pool.cacheHits(), 1u);
  EXPECT_EQ(pool.cachedBytes(), 0u);
  // Another kind or size: a new block.
  uintptr_t device = pool.allocate(1000, false);
  uintptr_t bigger = pool.allocate(2000, true);
  EXPECT_NE(device, a);
  EXPECT_NE(bigger, a);
  EXPECT_EQ(allocs, 3);
  // A pointer the pool did not hand out is the caller's to free.
  EXPECT_FALSE(pool.release(12345));
  EXPECT_FALSE(pool.release(a + 8));
  // Out of memory: the cached blocks are freed and the allocation retried.
  EXPECT_TRUE(pool.release(a));
  EXPECT_TRUE(pool.release(device));
  EXPECT_TRUE(pool.release(bigger));
  uintptr_t huge = pool.allocate(budget - 1024, true);
  EXPECT_NE(huge, 0u);
  EXPECT_EQ(frees, 3);
  EXPECT_EQ(pool.cachedBytes(), 0u);
  // Beyond the device even with an empty cache: 0.
  EXPECT_EQ(pool.allocate(budget, true), 0u);
  EXPECT_TRUE(pool.release(huge));
  pool.releaseCached();
  EXPECT_TRUE(outstanding.empty());
}

} // namespace
