//===- NcclCollectives.cpp - data-parallel collectives over NCCL ----------===//
//
// The cuda target's all-reduces: NVIDIA's NCCL (libnccl.so.2, loaded on
// first use like the driver, so that a build and a run without it work)
// over the ranks of ampc_rt/Collectives.h (mpirun's, or this process
// alone), one GPU each. Rank 0's NCCL id reaches the others through an MPI
// broadcast. Every all-reduce is enqueued, in place, on one communication
// stream, in call order (the same on every rank): a started one runs while
// the host launches the kernels up to its wait, which synchronizes the
// stream. Compiled code launches kernels synchronously, so a buffer is
// complete when its all-reduce is enqueued.
//
//===----------------------------------------------------------------------===//

#include "ampc_rt/Collectives.h"
#include "ampc_rt/Cuda.h"

#include "../DynamicLibrary.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace {

struct NcclUniqueId {
  char internal[128];
};

// The values of NCCL's enums (nccl.h, stable since NCCL 2.0; ncclAvg since
// 2.10).
constexpr int kNcclFloat32 = 7;
constexpr int kNcclSum = 0, kNcclMax = 2, kNcclAvg = 4;
constexpr int kNcclMinVersion = 21000;

struct Nccl {
  std::string error; // why the collectives are unusable ("" if usable)
  void *comm = nullptr;
  void *stream = nullptr; // the communication stream
  int64_t enqueued = 0;
  std::mutex mutex;
  int (*GetVersion)(int *);
  int (*GetUniqueId)(NcclUniqueId *);
  int (*CommInitRank)(void **, int, NcclUniqueId, int);
  int (*AllReduce)(const void *, void *, size_t, int, int, void *, void *);
  const char *(*GetErrorString)(int);
};

Nccl &nccl() {
  static Nccl n;
  return n;
}

/// libnccl.so.2 from AMPC_NCCL_LIBRARY, the loader's path or the CUDA
/// toolkit's directory.
void *openLibrary(std::string &tried) {
  const char *candidates[] = {std::getenv("AMPC_NCCL_LIBRARY"), "libnccl.so.2",
                              "/usr/local/cuda/lib64/libnccl.so.2"};
  for (const char *path : candidates) {
    if (!path || !*path)
      continue;
    if (void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL))
      return library;
    tried += (tried.empty() ? "" : "; ") + ampc_rt::detail::lastDlError();
  }
  return nullptr;
}

bool load(Nccl &n) {
  std::string tried;
  void *library = openLibrary(tried);
  if (!library) {
    n.error = "cannot load NCCL (" + tried +
              "); install NVIDIA's NCCL (libnccl2, 2.10 or newer) or name "
              "its libnccl.so.2 in AMPC_NCCL_LIBRARY";
    return false;
  }
  auto resolve = [&](const char *name, auto &fn) {
    ampc_rt::detail::resolveSymbol(library, name, fn, n.error,
                                   "libnccl.so.2 (not NCCL?)");
  };
  resolve("ncclGetVersion", n.GetVersion);
  resolve("ncclGetUniqueId", n.GetUniqueId);
  resolve("ncclCommInitRank", n.CommInitRank);
  resolve("ncclAllReduce", n.AllReduce);
  resolve("ncclGetErrorString", n.GetErrorString);
  int version = 0;
  if (n.error.empty() &&
      (n.GetVersion(&version) != 0 || version < kNcclMinVersion))
    n.error = "NCCL " + std::to_string(version) +
              " is too old: the mean all-reduce (ncclAvg) needs 2.10 or newer";
  return n.error.empty();
}

std::string ncclFailure(Nccl &n, const char *call, int result) {
  return std::string(call) + " failed: " + n.GetErrorString(result);
}

/// What this rank needs before the group sets up NCCL: a GPU, the library
/// and (rank 0) the group's id; "" or why not.
std::string prepare(Nccl &n, NcclUniqueId &id) {
  char reason[512];
  if (!ampc_rt_gpu_available(reason, sizeof(reason)))
    return std::string("no GPU: ") + reason;
  if (!load(n))
    return n.error;
  if (ampc_rt::distributedRank() == 0)
    if (int result = n.GetUniqueId(&id); result != 0)
      return ncclFailure(n, "ncclGetUniqueId", result);
  return "";
}

/// The communicator of this process's group, on its GPU. Every rank learns
/// whether every rank is ready before any waits for the others in NCCL.
std::string initialize(Nccl &n) {
  if (std::string error = ampc_rt::initDistributed(); !error.empty())
    return error;
  NcclUniqueId id{};
  std::string error = prepare(n, id);
  float failed = error.empty() ? 0.0f : 1.0f;
  if (std::string e = ampc_rt::allReduce(&failed, 1, ampc_rt::ReduceKind::Max);
      !e.empty())
    return e;
  if (!error.empty())
    return error;
  if (failed > 0)
    return "another rank could not set up NCCL (its message says why)";
  if (std::string e = ampc_rt::broadcast(&id, sizeof(id), 0); !e.empty())
    return "sending NCCL's id to the ranks: " + e;
  if (int result = n.CommInitRank(&n.comm, ampc_rt::distributedSize(), id,
                                  ampc_rt::distributedRank());
      result != 0)
    return ncclFailure(n, "ncclCommInitRank", result);
  ampc_rt_gpu_clear_error();
  n.stream = mgpuStreamCreate();
  if (!n.stream)
    return std::string("creating the communication stream: ") +
           ampc_rt_gpu_last_error();
  return "";
}

Nccl *ready(std::string &error) {
  static std::once_flag once;
  Nccl &n = nccl();
  std::call_once(once, [&] {
    std::string failure = initialize(n);
    if (!failure.empty())
      n.error = failure;
  });
  error = n.error;
  return error.empty() ? &n : nullptr;
}

[[noreturn]] void fail(const std::string &what, const std::string &error) {
  ampc_rt::abortAll("ampc: " + what + " on the GPU failed on rank " +
                        std::to_string(ampc_rt::distributedRank()) + ": " +
                        error,
                    1);
}

/// Enqueues the all-reduce; returns its ticket.
int64_t enqueue(float *data, int64_t count, int32_t kind) {
  std::string error;
  Nccl *n = ready(error);
  if (!n)
    fail("all-reduce", error);
  int op = kind == 0 ? kNcclSum : kind == 1 ? kNcclAvg : kNcclMax;
  std::lock_guard<std::mutex> lock(n->mutex);
  if (count > 0)
    if (int result = n->AllReduce(data, data, size_t(count), kNcclFloat32, op,
                                  n->comm, n->stream);
        result != 0)
      fail("all-reduce", ncclFailure(*n, "ncclAllReduce", result));
  return ++n->enqueued;
}

void synchronize() {
  Nccl &n = nccl();
  ampc_rt_gpu_clear_error();
  mgpuStreamSynchronize(n.stream);
  if (const char *error = ampc_rt_gpu_last_error(); *error)
    fail("waiting for an all-reduce", error);
}

} // namespace

extern "C" {

int ampc_rt_cuda_collectives_available(char *error, size_t error_size) {
  std::string failure;
  if (ready(failure))
    return 1;
  if (error && error_size)
    std::snprintf(error, error_size, "%s", failure.c_str());
  return 0;
}

void ampc_rt_cuda_all_reduce_f32(float *data, int64_t count, int32_t kind) {
  enqueue(data, count, kind);
  synchronize();
}

int64_t ampc_rt_cuda_all_reduce_start_f32(float *data, int64_t count,
                                          int32_t kind) {
  return enqueue(data, count, kind);
}

void ampc_rt_cuda_all_reduce_wait(int64_t request) {
  // One stream, in order: synchronizing it completes `request` and every
  // all-reduce enqueued before it.
  if (request > 0)
    synchronize();
}

} // extern "C"
