//===- Collectives.cpp - MPI loaded on demand -----------------------------===//
//
// Open MPI's C API through dlopen: its handles (MPI_COMM_WORLD, MPI_FLOAT,
// MPI_SUM, ...) are addresses of its predefined objects, resolved like its
// functions. libmpi is loaded RTLD_GLOBAL, as Open MPI's components need.
//
// Every collective runs on one communication thread, in the order the
// collectives were submitted (the same on every rank): a compiled step
// starts a bucket's all-reduce and computes on while that thread is in
// MPI_Allreduce (Horovod's design; MPI_Iallreduce, measured on the same
// thread, was slower: Open MPI's non-blocking collectives do not use its
// tuned algorithms); the blocking functions submit and wait. MPI is
// initialised for that (MPI_THREAD_SERIALIZED: one thread at a time calls
// it); where it cannot be, the collectives run on the caller's thread.
//
//===----------------------------------------------------------------------===//

#include "ampc_rt/Collectives.h"

#include "DynamicLibrary.h"

#include <dlfcn.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>

namespace {

using Handle = void *;

struct Mpi {
  std::string error; // why MPI is unusable ("" if usable)
  bool active = false;
  int rank = 0, size = 1;
  bool threaded = false; // collectives run on the communication thread
  int (*Initialized)(int *);
  int (*InitThread)(int *, char ***, int, int *);
  int (*QueryThread)(int *);
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
  resolve(lib, "MPI_Init_thread", m.InitThread, e);
  resolve(lib, "MPI_Query_thread", m.QueryThread, e);
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

void *inPlace() { return reinterpret_cast<void *>(1); } // MPI_IN_PLACE

/// One collective: an in-place all-reduce or a broadcast, of `count`
/// elements of `width` bytes (MPI counts are ints: large ones in chunks).
struct Job {
  enum class Kind { AllReduce, Broadcast } what;
  void *data;
  int64_t count;
  Handle type;
  size_t width;
  ampc_rt::ReduceKind reduce;
  int root;
  /// Divides the combined values by the group's size (mean), or null.
  void (*divide)(void *, int64_t, int);
};

template <typename T> void divideBy(void *data, int64_t count, int size) {
  T *values = static_cast<T *>(data);
  for (int64_t i = 0; i < count; ++i)
    values[i] /= T(size);
}

std::string run(Mpi &m, const Job &job) {
  const int64_t chunk = int64_t(1) << 30;
  Handle op = job.reduce == ampc_rt::ReduceKind::Max ? m.max : m.sum;
  for (int64_t at = 0; at < job.count; at += chunk) {
    int n = int(std::min(chunk, job.count - at));
    char *start = static_cast<char *>(job.data) + at * job.width;
    if (job.what == Job::Kind::AllReduce) {
      if (m.Allreduce(inPlace(), start, n, job.type, op, m.world) != 0)
        return "MPI_Allreduce failed";
    } else if (m.Bcast(start, n, job.type, job.root, m.world) != 0) {
      return "MPI_Bcast failed";
    }
  }
  if (job.divide)
    job.divide(job.data, job.count, m.size);
  return "";
}

/// The communication thread: runs submitted jobs in order. Tickets count
/// jobs from 1; a ticket is done when `completed` reaches it.
class Channel {
public:
  int64_t submit(const Job &job) {
    std::unique_lock<std::mutex> lock(mutex);
    if (!thread.joinable())
      thread = std::thread([this] { serve(); });
    queue.push_back(job);
    changed.notify_all();
    return ++submitted;
  }

  std::string wait(int64_t ticket) {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait(lock, [&] { return completed >= ticket; });
    return error;
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
      changed.notify_all();
    }
    if (thread.joinable())
      thread.join();
  }

private:
  void serve() {
    std::unique_lock<std::mutex> lock(mutex);
    while (true) {
      changed.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty())
        return;
      Job job = queue.front();
      queue.pop_front();
      lock.unlock();
      std::string failure = run(mpi(), job);
      lock.lock();
      if (error.empty())
        error = failure;
      ++completed;
      changed.notify_all();
    }
  }

  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Job> queue;
  int64_t submitted = 0, completed = 0;
  std::string error; // the first failure: the group is unusable after it
  bool stopping = false;
  std::thread thread;
};

Channel &channel() {
  // Never destroyed: the thread is stopped at exit, before MPI_Finalize.
  static Channel *c = new Channel();
  return *c;
}

void finalizeAtExit() {
  Mpi &m = mpi();
  if (m.threaded)
    channel().stop();
  int finalized = 0;
  if (m.active && m.Finalized(&finalized) == 0 && !finalized)
    m.Finalize();
}

constexpr int kThreadSerialized = 2; // MPI_THREAD_SERIALIZED

std::string initOnce() {
  Mpi &m = mpi();
  if (!ampc_rt::launchedWithRanks())
    return "";
  if (!load(m))
    return m.error;
  int initialized = 0, provided = 0;
  m.Initialized(&initialized);
  if (initialized)
    m.QueryThread(&provided);
  else if (m.InitThread(nullptr, nullptr, kThreadSerialized, &provided) != 0)
    return m.error = "MPI_Init_thread failed";
  m.Comm_rank(m.world, &m.rank);
  m.Comm_size(m.world, &m.size);
  m.threaded = provided >= kThreadSerialized;
  m.active = true;
  if (!initialized)
    std::atexit(finalizeAtExit);
  return "";
}

/// Submits `job` to the group (0: nothing to wait for).
int64_t submit(const Job &job, std::string &error) {
  Mpi &m = mpi();
  if (!m.active || m.size == 1 || job.count == 0)
    return 0;
  if (m.threaded)
    return channel().submit(job);
  error = run(m, job);
  return 0;
}

std::string waitFor(int64_t ticket) {
  return ticket > 0 ? channel().wait(ticket) : "";
}

/// Runs `job` and waits for it (after every job submitted before it).
std::string runNow(const Job &job) {
  std::string error;
  int64_t ticket = submit(job, error);
  return error.empty() ? waitFor(ticket) : error;
}

/// An in-place all-reduce of `count` values of type T (MPI's `type`).
template <typename T>
Job reduceJob(T *data, int64_t count, Handle type, ampc_rt::ReduceKind kind) {
  return {Job::Kind::AllReduce,
          data,
          count,
          type,
          sizeof(T),
          kind,
          0,
          kind == ampc_rt::ReduceKind::Mean ? &divideBy<T> : nullptr};
}

[[noreturn]] void communicationFailed(const std::string &what, int64_t count,
                                      const std::string &error) {
  ampc_rt::abortAll("ampc: " + what + " of " + std::to_string(count) +
                        " floats failed on rank " +
                        std::to_string(ampc_rt::distributedRank()) + ": " +
                        error,
                    1);
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
  return runNow(reduceJob(data, count, mpi().floatType, kind));
}

std::string ampc_rt::allReduce(double *data, int64_t count, ReduceKind kind) {
  return runNow(reduceJob(data, count, mpi().doubleType, kind));
}

std::string ampc_rt::broadcast(void *data, int64_t bytes, int root) {
  return runNow({Job::Kind::Broadcast, data, bytes, mpi().byteType, 1,
                 ReduceKind::Sum, root, nullptr});
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
    communicationFailed("all-reduce", count, error);
}

extern "C" int64_t ampc_rt_all_reduce_start_f32(float *data, int64_t count,
                                                int32_t kind) {
  std::string error = ampc_rt::initDistributed();
  int64_t ticket = 0;
  if (error.empty())
    ticket = submit(reduceJob(data, count, mpi().floatType,
                              static_cast<ampc_rt::ReduceKind>(kind)),
                    error);
  if (!error.empty())
    communicationFailed("all-reduce", count, error);
  return ticket;
}

extern "C" void ampc_rt_all_reduce_wait(int64_t request) {
  if (std::string error = waitFor(request); !error.empty())
    communicationFailed("waiting for an all-reduce", 0, error);
}
