/*===- Cuda.h - the runtime's CUDA support --------------------------------===*
 *
 * The entry points that MLIR's GPU-to-LLVM lowering calls (mgpu*), over the
 * CUDA driver API loaded with dlopen("libcuda.so.1"): one binary runs with or
 * without a GPU. Without a driver or a device, every entry point does nothing
 * (or returns NULL) and records a message that ampc_rt_gpu_last_error()
 * returns; nothing crashes.
 *
 *===----------------------------------------------------------------------===*/

#ifndef AMPC_RT_CUDA_H
#define AMPC_RT_CUDA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 if the driver loads and has at least one device; otherwise 0, with the
   reason in `error`. */
int ampc_rt_gpu_available(char *error, size_t error_size);
/* The last CUDA failure of this thread ("" if none), and clearing it. */
const char *ampc_rt_gpu_last_error(void);
void ampc_rt_gpu_clear_error(void);
/* Frees the GPU blocks the runtime keeps for reuse (mgpuMemFree caches
   them; see DevicePool.h). */
void ampc_rt_gpu_release_cached_memory(void);

/* Data-parallel collectives of the cuda target, over NCCL (libnccl.so.2,
   loaded on first use; AMPC_NCCL_LIBRARY names another file) across the
   ranks of ampc_rt/Collectives.h, one GPU each: the all-reduces of
   amp.all_reduce (enqueued and waited for), amp.all_reduce_start
   (enqueued on the communication stream; the handle for the wait) and
   amp.all_reduce_wait, in place on device-reachable floats, kinds 0 sum,
   1 mean, 2 max. A failure ends every rank with a message (the replicas
   would part). ampc_rt_cuda_collectives_available sets them up: 1 if
   usable, else 0 with the reason (no GPU, no NCCL, NCCL older than 2.10,
   a failed initialization) in `error`. */
int ampc_rt_cuda_collectives_available(char *error, size_t error_size);
void ampc_rt_cuda_all_reduce_f32(float *data, int64_t count, int32_t kind);
int64_t ampc_rt_cuda_all_reduce_start_f32(float *data, int64_t count,
                                          int32_t kind);
void ampc_rt_cuda_all_reduce_wait(int64_t request);

void *mgpuModuleLoad(void *data, size_t size);
void *mgpuModuleLoadJIT(void *data, int optLevel);
void mgpuModuleUnload(void *module);
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t paramsCount);
void *mgpuStreamCreate(void);
void mgpuStreamDestroy(void *stream);
void mgpuStreamSynchronize(void *stream);
void mgpuStreamWaitEvent(void *stream, void *event);
void *mgpuEventCreate(void);
void mgpuEventDestroy(void *event);
void mgpuEventSynchronize(void *event);
void mgpuEventRecord(void *event, void *stream);
void *mgpuMemAlloc(uint64_t sizeBytes, void *stream, bool isHostShared);
void mgpuMemFree(void *ptr, void *stream);
void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream);
void mgpuMemset32(void *dst, uint32_t value, size_t count, void *stream);
void mgpuMemset16(void *dst, uint16_t value, size_t count, void *stream);
void mgpuSetDefaultDevice(int32_t device);

#ifdef __cplusplus
}
#endif

#endif /* AMPC_RT_CUDA_H */
