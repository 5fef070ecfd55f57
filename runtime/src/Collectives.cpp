//===- Collectives.cpp - MPI loaded on demand -----------------------------===//
//
// Open MPI's C API through dlopen: its handles (MPI_COMM_WORLD, MPI_FLOAT,
// MPI_SUM, ...) are addresses of its predefined objects, resolved like its
// functions. libmpi is loaded RTLD_GLOBAL, as Open MPI's components need.
//
//===----------------------------------------------------------------------===//

#include "ampc_rt/Collectives.h"

#include "DynamicLibrary.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace {

using Handle = void *;

struct Mpi {
  std::string error; // why MPI is unusable ("" if usable)
  bool active = false;
  int rank = 0, size = 1;
  int (*Initialized)(int *);
  int (*Init)(int *, char ***);
  int (*Finalize)();
  int (*Finalized)(int *);
  int (*Comm_rank)(Handle, int *);
  int (*Comm_size)(Handle, int *);
  int (*Allreduce)(const void *, void *, int, Handle, Handle, Handle);
  int (*Bcast)(void *, int, Handle, int, Handle);
  int (*Abort)(Handle, int);
  Handle world, floatType, doubleType, byteType, sum, max;
};

template <typename T>
bool resolve(void *library, const char *name, T &out, std::string &error) {
  return ampc_rt::detail::resolveSymbol(library, name, out, error,
                                        "libmpi.so.40 (not Open MPI?)");
}

bool load(Mpi &m) {
  void *lib = dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL);
  if (!lib) {
    m.error = "cannot load Open MPI (libmpi.so.40: " +
              ampc_rt::detail::lastDlError() +
              "); install openmpi-bin and libopenmpi-dev";
    return false;
  }
  std::string &e = m.error;
  resolve(lib, "MPI_Initialized", m.Initialized, e);
  resolve(lib, "MPI_Init", m.Init, e);
  resolve(lib, "MPI_Finalize", m.Finalize, e);
  resolve(lib, "MPI_Finalized", m.Finalized, e);
  resolve(lib, "MPI_Comm_rank", m.Comm_rank, e);
  resolve(lib, "MPI_Comm_size", m.Comm_size, e);
  resolve(lib, "MPI_Allreduce", m.Allreduce, e);
  resolve(lib, "MPI_Bcast", m.Bcast, e);
  resolve(lib, "MPI_Abort", m.Abort, e);
  resolve(lib, "ompi_mpi_comm_world", m.world, e);
  resolve(lib, "ompi_mpi_float", m.floatType, e);
  resolve(lib, "ompi_mpi_double", m.doubleType, e);
  resolve(lib, "ompi_mpi_byte", m.byteType, e);
  resolve(lib, "ompi_mpi_op_sum", m.sum, e);
  resolve(lib, "ompi_mpi_op_max", m.max, e);
  return e.empty();
}

Mpi &mpi() {
  static Mpi m;
  return m;
}

void finalizeAtExit() {
  Mpi &m = mpi();
  int finalized = 0;
  if (m.active && m.Finalized(&finalized) == 0 && !finalized)
    m.Finalize();
}

std::string initOnce() {
  Mpi &m = mpi();
  if (!ampc_rt::launchedWithRanks())
    return "";
  if (!load(m))
    return m.error;
  int initialized = 0;
  m.Initialized(&initialized);
  if (!initialized && m.Init(nullptr, nullptr) != 0)
    return m.error = "MPI_Init failed";
  m.Comm_rank(m.world, &m.rank);
  m.Comm_size(m.world, &m.size);
  m.active = true;
  if (!initialized)
    std::atexit(finalizeAtExit);
  return "";
}

void *inPlace() { return reinterpret_cast<void *>(1); } // MPI_IN_PLACE

std::string reduce(void *data, int64_t count, Handle type, size_t width,
                   ampc_rt::ReduceKind kind) {
  Mpi &m = mpi();
  if (!m.active || m.size == 1 || count == 0)
    return "";
  Handle op = kind == ampc_rt::ReduceKind::Max ? m.max : m.sum;
  // MPI counts are ints: large buffers go in chunks.
  const int64_t chunk = int64_t(1) << 30;
  for (int64_t at = 0; at < count; at += chunk) {
    int n = int(std::min(chunk, count - at));
    char *start = static_cast<char *>(data) + at * width;
    if (m.Allreduce(inPlace(), start, n, type, op, m.world) != 0)
      return "MPI_Allreduce failed";
  }
  return "";
}

template <typename T> void divideBySize(T *data, int64_t count) {
  int size = ampc_rt::distributedSize();
  if (size > 1)
    for (int64_t i = 0; i < count; ++i)
      data[i] /= T(size);
}

} // namespace

bool ampc_rt::launchedWithRanks() {
  const char *size = std::getenv("OMPI_COMM_WORLD_SIZE");
  return size && std::atoi(size) > 1;
}

std::string ampc_rt::initDistributed() {
  static std::string error;
  static std::once_flag once;
  std::call_once(once, [] { error = initOnce(); });
  return error;
}

int ampc_rt::distributedRank() { return mpi().active ? mpi().rank : 0; }
int ampc_rt::distributedSize() { return mpi().active ? mpi().size : 1; }

std::string ampc_rt::allReduce(float *data, int64_t count, ReduceKind kind) {
  std::string error = reduce(data, count, mpi().floatType, sizeof(float), kind);
  if (error.empty() && kind == ReduceKind::Mean)
    divideBySize(data, count);
  return error;
}

std::string ampc_rt::allReduce(double *data, int64_t count, ReduceKind kind) {
  std::string error =
      reduce(data, count, mpi().doubleType, sizeof(double), kind);
  if (error.empty() && kind == ReduceKind::Mean)
    divideBySize(data, count);
  return error;
}

std::string ampc_rt::broadcast(void *data, int64_t bytes, int root) {
  Mpi &m = mpi();
  if (!m.active || m.size == 1)
    return "";
  const int64_t chunk = int64_t(1) << 30;
  for (int64_t at = 0; at < bytes; at += chunk) {
    int n = int(std::min(chunk, bytes - at));
    if (m.Bcast(static_cast<char *>(data) + at, n, m.byteType, root, m.world) !=
        0)
      return "MPI_Bcast failed";
  }
  return "";
}

void ampc_rt::abortAll(const std::string &message, int code) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::fflush(stderr);
  if (mpi().active && mpi().size > 1)
    mpi().Abort(mpi().world, code);
  std::exit(code);
}

extern "C" void ampc_rt_all_reduce_f32(float *data, int64_t count,
                                       int32_t kind) {
  // Compiled code under mpirun joins the group on its first all-reduce.
  std::string error = ampc_rt::initDistributed();
  if (error.empty())
    error =
        ampc_rt::allReduce(data, count, static_cast<ampc_rt::ReduceKind>(kind));
  if (!error.empty())
    ampc_rt::abortAll("ampc: all-reduce of " + std::to_string(count) +
                          " floats failed on rank " +
                          std::to_string(ampc_rt::distributedRank()) + ": " +
                          error,
                      1);
}
