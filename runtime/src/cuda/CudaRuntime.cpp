//===- CudaRuntime.cpp - mgpu* entry points over a dlopen'd driver --------===//
//
// Declares the few driver types it needs itself, so that building needs no
// CUDA toolkit.
//
//===----------------------------------------------------------------------===//

#include "ampc_rt/Cuda.h"
#include "ampc_rt/DevicePool.h"

#include "../DynamicLibrary.h"

#include <dlfcn.h>

#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using Handle = void *;

/// The driver functions used, resolved once.
struct Driver {
  std::string error; // why the driver is unusable ("" if usable)
  Handle context = nullptr;
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDevicePrimaryCtxRetain)(Handle *, CUdevice);
  CUresult (*cuCtxPushCurrent)(Handle);
  CUresult (*cuCtxPopCurrent)(Handle *);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuModuleLoadData)(Handle *, const void *);
  CUresult (*cuModuleLoadDataEx)(Handle *, const void *, unsigned, int *,
                                 void **);
  CUresult (*cuModuleUnload)(Handle);
  CUresult (*cuModuleGetFunction)(Handle *, Handle, const char *);
  CUresult (*cuLaunchKernel)(Handle, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, Handle, void **,
                             void **);
  CUresult (*cuStreamCreate)(Handle *, unsigned);
  CUresult (*cuStreamDestroy)(Handle);
  CUresult (*cuStreamSynchronize)(Handle);
  CUresult (*cuStreamWaitEvent)(Handle, Handle, unsigned);
  CUresult (*cuEventCreate)(Handle *, unsigned);
  CUresult (*cuEventDestroy)(Handle);
  CUresult (*cuEventSynchronize)(Handle);
  CUresult (*cuEventRecord)(Handle, Handle);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, Handle);
  CUresult (*cuMemsetD32Async)(CUdeviceptr, unsigned, size_t, Handle);
  CUresult (*cuMemsetD16Async)(CUdeviceptr, unsigned short, size_t, Handle);
};

thread_local std::string lastError;
/// The result of the last cuMemAlloc/cuMemAllocManaged of this thread.
thread_local CUresult lastAllocFailure = 0;
thread_local int32_t defaultDevice = 0;

template <typename Fn>
bool resolve(void *library, const char *name, Fn &fn, std::string &error) {
  return ampc_rt::detail::resolveSymbol(library, name, fn, error,
                                        "the CUDA driver");
}

Driver &driver() {
  static Driver d;
  static std::once_flag once;
  std::call_once(once, [] {
    void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
      d.error = "no CUDA driver: cannot load libcuda.so.1 (" +
                ampc_rt::detail::lastDlError() + ")";
      return;
    }
    std::string &e = d.error;
    resolve(library, "cuInit", d.cuInit, e);
    resolve(library, "cuDeviceGetCount", d.cuDeviceGetCount, e);
    resolve(library, "cuDeviceGet", d.cuDeviceGet, e);
    resolve(library, "cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain, e);
    resolve(library, "cuCtxPushCurrent_v2", d.cuCtxPushCurrent, e);
    resolve(library, "cuCtxPopCurrent_v2", d.cuCtxPopCurrent, e);
    resolve(library, "cuGetErrorName", d.cuGetErrorName, e);
    resolve(library, "cuModuleLoadData", d.cuModuleLoadData, e);
    resolve(library, "cuModuleLoadDataEx", d.cuModuleLoadDataEx, e);
    resolve(library, "cuModuleUnload", d.cuModuleUnload, e);
    resolve(library, "cuModuleGetFunction", d.cuModuleGetFunction, e);
    resolve(library, "cuLaunchKernel", d.cuLaunchKernel, e);
    resolve(library, "cuStreamCreate", d.cuStreamCreate, e);
    resolve(library, "cuStreamDestroy_v2", d.cuStreamDestroy, e);
    resolve(library, "cuStreamSynchronize", d.cuStreamSynchronize, e);
    resolve(library, "cuStreamWaitEvent", d.cuStreamWaitEvent, e);
    resolve(library, "cuEventCreate", d.cuEventCreate, e);
    resolve(library, "cuEventDestroy_v2", d.cuEventDestroy, e);
    resolve(library, "cuEventSynchronize", d.cuEventSynchronize, e);
    resolve(library, "cuEventRecord", d.cuEventRecord, e);
    resolve(library, "cuMemAlloc_v2", d.cuMemAlloc, e);
    resolve(library, "cuMemAllocManaged", d.cuMemAllocManaged, e);
    resolve(library, "cuMemFree_v2", d.cuMemFree, e);
    resolve(library, "cuMemcpyAsync", d.cuMemcpyAsync, e);
    resolve(library, "cuMemsetD32Async", d.cuMemsetD32Async, e);
    resolve(library, "cuMemsetD16Async", d.cuMemsetD16Async, e);
    if (!e.empty())
      return;
    int count = 0;
    if (d.cuInit(0) != 0 || d.cuDeviceGetCount(&count) != 0 || count == 0) {
      e = "the CUDA driver found no GPU";
      return;
    }
  });
  return d;
}

/// Records a failure of `what`; returns false.
bool fail(const std::string &what) {
  lastError = what;
  std::fprintf(stderr, "ampc_rt: %s\n", what.c_str());
  return false;
}

/// Checks a driver call; records and reports a failure.
bool check(CUresult result, const char *call) {
  if (result == 0)
    return true;
  const char *name = nullptr;
  driver().cuGetErrorName(result, &name);
  return fail(std::string(call) + " failed with " +
              (name ? name : std::to_string(result)));
}

/// The driver, if usable; records why not otherwise.
Driver *usable(const char *entry) {
  Driver &d = driver();
  if (!d.error.empty()) {
    fail(std::string(entry) + ": " + d.error);
    return nullptr;
  }
  return &d;
}

/// Makes the primary context of the default device current for a scope.
class ScopedContext {
public:
  explicit ScopedContext(Driver &d) : d(d) {
    static Handle context = [&] {
      CUdevice device = 0;
      Handle ctx = nullptr;
      if (check(d.cuDeviceGet(&device, defaultDevice), "cuDeviceGet"))
        check(d.cuDevicePrimaryCtxRetain(&ctx, device),
              "cuDevicePrimaryCtxRetain");
      return ctx;
    }();
    pushed = context && check(d.cuCtxPushCurrent(context), "cuCtxPushCurrent");
  }
  ~ScopedContext() {
    if (pushed)
      check(d.cuCtxPopCurrent(nullptr), "cuCtxPopCurrent");
  }
  explicit operator bool() const { return pushed; }

private:
  Driver &d;
  bool pushed = false;
};

/// Freed device and managed blocks, reused (see DevicePool.h).
ampc_rt::DevicePool &pool() {
  static ampc_rt::DevicePool instance(
      [](size_t bytes, bool managed) -> uintptr_t {
        Driver &d = driver();
        ScopedContext scope(d);
        CUdeviceptr ptr = 0;
        if (!scope)
          return 0;
        // A failure is retried after the cache is emptied: mgpuMemAlloc
        // reports it only if the retry fails too.
        lastAllocFailure = managed ? d.cuMemAllocManaged(&ptr, bytes, 1)
                                   : d.cuMemAlloc(&ptr, bytes);
        return lastAllocFailure == 0 ? uintptr_t(ptr) : 0;
      },
      [](uintptr_t ptr) {
        Driver &d = driver();
        ScopedContext scope(d);
        if (scope)
          check(d.cuMemFree(CUdeviceptr(ptr)), "cuMemFree");
      });
  return instance;
}

/// Streams, reused: compiled code creates and destroys one per launch.
struct StreamPool {
  std::mutex mutex;
  std::vector<Handle> idle;
};
StreamPool &streams() {
  static StreamPool instance;
  return instance;
}

} // namespace

extern "C" {

int ampc_rt_gpu_available(char *error, size_t error_size) {
  Driver &d = driver();
  if (d.error.empty())
    return 1;
  if (error && error_size)
    std::snprintf(error, error_size, "%s", d.error.c_str());
  return 0;
}

const char *ampc_rt_gpu_last_error(void) { return lastError.c_str(); }
void ampc_rt_gpu_clear_error(void) { lastError.clear(); }

void *mgpuModuleLoad(void *data, size_t /*size*/) {
  Driver *d = usable("mgpuModuleLoad");
  if (!d)
    return nullptr;
  ScopedContext scope(*d);
  Handle module = nullptr;
  if (scope)
    check(d->cuModuleLoadData(&module, data), "cuModuleLoadData");
  return module;
}

void *mgpuModuleLoadJIT(void *data, int optLevel) {
  Driver *d = usable("mgpuModuleLoadJIT");
  if (!d)
    return nullptr;
  ScopedContext scope(*d);
  Handle module = nullptr;
  int options[] = {7 /* CU_JIT_OPTIMIZATION_LEVEL */};
  void *values[] = {reinterpret_cast<void *>(static_cast<intptr_t>(optLevel))};
  if (scope)
    check(d->cuModuleLoadDataEx(&module, data, 1, options, values),
          "cuModuleLoadDataEx");
  return module;
}

void mgpuModuleUnload(void *module) {
  if (Driver *d = usable("mgpuModuleUnload")) {
    ScopedContext scope(*d);
    if (scope)
      check(d->cuModuleUnload(module), "cuModuleUnload");
  }
}

void *mgpuModuleGetFunction(void *module, const char *name) {
  Driver *d = usable("mgpuModuleGetFunction");
  Handle function = nullptr;
  if (!d)
    return nullptr;
  ScopedContext scope(*d);
  if (scope)
    check(d->cuModuleGetFunction(&function, module, name),
          "cuModuleGetFunction");
  return function;
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t /*paramsCount*/) {
  Driver *d = usable("mgpuLaunchKernel");
  if (!d)
    return;
  ScopedContext scope(*d);
  if (scope)
    check(d->cuLaunchKernel(function, unsigned(gridX), unsigned(gridY),
                            unsigned(gridZ), unsigned(blockX), unsigned(blockY),
                            unsigned(blockZ), unsigned(smem), stream, params,
                            extra),
          "cuLaunchKernel");
}

void *mgpuStreamCreate(void) {
  Driver *d = usable("mgpuStreamCreate");
  if (!d)
    return nullptr;
  {
    StreamPool &pool = streams();
    std::lock_guard<std::mutex> lock(pool.mutex);
    if (!pool.idle.empty()) {
      Handle stream = pool.idle.back();
      pool.idle.pop_back();
      return stream;
    }
  }
  ScopedContext scope(*d);
  Handle stream = nullptr;
  if (scope)
    check(d->cuStreamCreate(&stream, 1 /* CU_STREAM_NON_BLOCKING */),
          "cuStreamCreate");
  return stream;
}

void mgpuStreamDestroy(void *stream) {
  // Compiled code synchronizes a stream before destroying it: it is idle
  // and can serve the next launch.
  if (!usable("mgpuStreamDestroy") || !stream)
    return;
  StreamPool &pool = streams();
  std::lock_guard<std::mutex> lock(pool.mutex);
  pool.idle.push_back(stream);
}

void mgpuStreamSynchronize(void *stream) {
  if (Driver *d = usable("mgpuStreamSynchronize")) {
    ScopedContext scope(*d);
    if (scope)
      check(d->cuStreamSynchronize(stream), "cuStreamSynchronize");
  }
}

void mgpuStreamWaitEvent(void *stream, void *event) {
  if (Driver *d = usable("mgpuStreamWaitEvent")) {
    ScopedContext scope(*d);
    if (scope)
      check(d->cuStreamWaitEvent(stream, event, 0), "cuStreamWaitEvent");
  }
}

void *mgpuEventCreate(void) {
  Driver *d = usable("mgpuEventCreate");
  if (!d)
    return nullptr;
  ScopedContext scope(*d);
  Handle event = nullptr;
  if (scope)
    check(d->cuEventCreate(&event, 2 /* CU_EVENT_DISABLE_TIMING */),
          "cuEventCreate");
  return event;
}

void mgpuEventDestroy(void *event) {
  if (Driver *d = usable("mgpuEventDestroy")) {
    ScopedContext scope(*d);
    if (scope)
      check(d->cuEventDestroy(event), "cuEventDestroy");
  }
}

void mgpuEventSynchronize(void *event) {
  if (Driver *d = usable("mgpuEventSynchronize")) {
    ScopedContext scope(*d);
    if (scope)
      check(d->cuEventSynchronize(event), "cuEventSynchronize");
  }
}

void mgpuEventRecord(void *event, void *stream) {
  if (Driver *d = usable("mgpuEventRecord")) {
    ScopedContext scope(*d);
    if (scope)
      check(d->cuEventRecord(event, stream), "cuEventRecord");
  }
}

void *mgpuMemAlloc(uint64_t sizeBytes, void * /*stream*/, bool isHostShared) {
  if (!usable("mgpuMemAlloc") || !sizeBytes)
    return nullptr;
  // Managed memory only where the IR asks for host-shared buffers
  // (CU_MEM_ATTACH_GLOBAL).
  lastAllocFailure = 0;
  void *ptr = reinterpret_cast<void *>(pool().allocate(sizeBytes, isHostShared));
  if (!ptr)
    check(lastAllocFailure ? lastAllocFailure : 1 /* CUDA_ERROR_INVALID_VALUE */,
          isHostShared ? "cuMemAllocManaged" : "cuMemAlloc");
  return ptr;
}

void mgpuMemFree(void *ptr, void * /*stream*/) {
  if (!ptr)
    return;
  Driver *d = usable("mgpuMemFree");
  if (!d || pool().release(reinterpret_cast<uintptr_t>(ptr)))
    return;
  ScopedContext scope(*d);
  if (scope)
    check(d->cuMemFree(reinterpret_cast<CUdeviceptr>(ptr)), "cuMemFree");
}

void ampc_rt_gpu_release_cached_memory(void) {
  if (driver().error.empty())
    pool().releaseCached();
}

void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream) {
  if (Driver *d = usable("mgpuMemcpy")) {
    ScopedContext scope(*d);
    if (scope)
      check(d->cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                             reinterpret_cast<CUdeviceptr>(src), sizeBytes,
                             stream),
            "cuMemcpyAsync");
  }
}

void mgpuMemset32(void *dst, uint32_t value, size_t count, void *stream) {
  if (Driver *d = usable("mgpuMemset32")) {
    ScopedContext scope(*d);
    if (scope)
      check(d->cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                                stream),
            "cuMemsetD32Async");
  }
}

void mgpuMemset16(void *dst, uint16_t value, size_t count, void *stream) {
  if (Driver *d = usable("mgpuMemset16")) {
    ScopedContext scope(*d);
    if (scope)
      check(d->cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                                stream),
            "cuMemsetD16Async");
  }
}

void mgpuSetDefaultDevice(int32_t device) { defaultDevice = device; }

} // extern "C"
