//===- Collectives.h - data-parallel communication over MPI -----*- C++ -*-===//
//
// The group of processes a data-parallel run trains in: the ranks `mpirun`
// started (MPI_COMM_WORLD of Open MPI, whose libmpi.so.40 is loaded when
// the group is first initialised, so that building and running without MPI
// work), or this process alone. Compiled training steps call
// ampc_rt_all_reduce_f32 (amp.all_reduce) and the start/wait pair
// (amp.all_reduce_start / amp.all_reduce_wait); the Trainer and the
// training loop use the C++ functions. Collectives run in the order they
// are called, on a communication thread of the runtime, so that a started
// all-reduce proceeds while its caller computes.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_RT_COLLECTIVES_H
#define AMPC_RT_COLLECTIVES_H

#include <cstdint>
#include <string>

extern "C" {
/// Combines `count` floats at `data` in place across the ranks: kind 0
/// sum, 1 mean, 2 max. A no-op (mean: the value itself) in a group of one.
/// A communication failure ends the run on every rank (MPI's default).
void ampc_rt_all_reduce_f32(float *data, int64_t count, int32_t kind);
/// Starts combining `count` floats at `data` in place (kinds as above) and
/// returns its handle for ampc_rt_all_reduce_wait; the floats must not be
/// read or written until then. 0 (nothing to wait for) in a group of one.
int64_t ampc_rt_all_reduce_start_f32(float *data, int64_t count, int32_t kind);
/// Returns once the all-reduce `request` names (and every one started
/// before it) has combined its floats.
void ampc_rt_all_reduce_wait(int64_t request);
}

namespace ampc_rt {

enum class ReduceKind : int32_t { Sum = 0, Mean = 1, Max = 2 };

/// Joins the group: under mpirun (Open MPI's environment) loads MPI and
/// initialises it, once; otherwise the group is this process. Returns ""
/// or why MPI cannot be used (not installed, failed to initialise).
std::string initDistributed();
/// This process's rank (0 in a group of one) and the group's size.
int distributedRank();
int distributedSize();
/// True when this process was started by mpirun with more than one rank
/// (Open MPI's OMPI_COMM_WORLD_SIZE), whether or not the group is joined.
bool launchedWithRanks();

/// Host-side collectives (no-ops in a group of one); "" or the error.
std::string allReduce(float *data, int64_t count, ReduceKind kind);
std::string allReduce(double *data, int64_t count, ReduceKind kind);
std::string broadcast(void *data, int64_t bytes, int root);
/// Ends every rank: prints `message` and calls MPI_Abort (exit(code) in a
/// group of one).
[[noreturn]] void abortAll(const std::string &message, int code);

} // namespace ampc_rt

#endif // AMPC_RT_COLLECTIVES_H
