//===- CudaRuntimeTest.cpp - the mgpu* entry points without a GPU ---------===//
//
// On a machine without a CUDA driver (or without a device), every entry
// point must return NULL or do nothing and leave a clear message; nothing
// may crash. With a GPU these paths are not reachable, and the test says so.
//
//===----------------------------------------------------------------------===//

#include "ampc_rt/Cuda.h"

#include "gtest/gtest.h"

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

} // namespace
