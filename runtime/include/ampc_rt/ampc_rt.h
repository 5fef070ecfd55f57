/*===- ampc_rt.h - AMPC runtime, C ABI ------------------------------------===*
 *
 * The C interface of the runtime, for host programs in any language and for
 * code compiled ahead of time (ampc-compile): dense row-major tensors,
 * memref descriptors over them, .npy files, and the training state
 * (named tensors: parameters, optimizer state, loss-scale state, amax
 * histories) with checkpoints written atomically.
 *
 * Functions that can fail return NULL or a negative value and write a
 * message into `error` (of `error_size` bytes, always NUL-terminated; may be
 * NULL). Nothing here aborts the process.
 *
 *===----------------------------------------------------------------------===*/

#ifndef AMPC_RT_AMPC_RT_H
#define AMPC_RT_AMPC_RT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  AMPC_F32,
  AMPC_F64,
  AMPC_F16,
  AMPC_BF16,
  AMPC_F8E4M3FN,
  AMPC_F8E5M2,
  AMPC_I1,
  AMPC_I8,
  AMPC_I32,
  AMPC_I64,
  AMPC_U8,
  AMPC_U16
} ampc_dtype;

typedef struct ampc_tensor ampc_tensor;
typedef struct ampc_state ampc_state;

/* Bytes per element of `dtype`. */
size_t ampc_dtype_size(ampc_dtype dtype);

/* A zero-filled tensor; NULL if a size is negative or memory runs out. */
ampc_tensor *ampc_tensor_create(ampc_dtype dtype, int rank,
                                const int64_t *shape, char *error,
                                size_t error_size);
void ampc_tensor_destroy(ampc_tensor *tensor);
void *ampc_tensor_data(ampc_tensor *tensor);
ampc_dtype ampc_tensor_dtype(const ampc_tensor *tensor);
int ampc_tensor_rank(const ampc_tensor *tensor);
const int64_t *ampc_tensor_shape(const ampc_tensor *tensor);
size_t ampc_tensor_nbytes(const ampc_tensor *tensor);

/* Fills `descriptor` (an AMPC_MemRef<rank>D of the generated header: two
   pointers, an offset, `rank` sizes, `rank` strides) to describe `tensor`,
   row-major. */
void ampc_tensor_describe(ampc_tensor *tensor, void *descriptor);

ampc_tensor *ampc_tensor_read_npy(const char *path, char *error,
                                  size_t error_size);
int ampc_tensor_write_npy(const ampc_tensor *tensor, const char *path,
                          char *error, size_t error_size);

/* The training state: tensors by name, in insertion order. */
ampc_state *ampc_state_create(void);
void ampc_state_destroy(ampc_state *state);
/* Adds a zero-filled tensor; returns it, or NULL if the name is taken. */
ampc_tensor *ampc_state_add(ampc_state *state, const char *name,
                            ampc_dtype dtype, int rank, const int64_t *shape,
                            char *error, size_t error_size);
ampc_tensor *ampc_state_get(ampc_state *state, const char *name);
size_t ampc_state_count(const ampc_state *state);
const char *ampc_state_name(const ampc_state *state, size_t index);

/* Writes every tensor to `path` atomically (a temporary file, flushed, then
   renamed over `path`): a crash leaves the old checkpoint or the new one. */
int ampc_state_save(const ampc_state *state, const char *path, char *error,
                    size_t error_size);
/* Reads `path` into the state's tensors. The checkpoint's CRC-32s (per
   tensor and for the file) must match, and it must hold exactly the state's
   names with the same types and shapes; otherwise nothing is changed and
   the error names the first problem. */
int ampc_state_load(ampc_state *state, const char *path, char *error,
                    size_t error_size);

#ifdef __cplusplus
}
#endif

#endif /* AMPC_RT_AMPC_RT_H */
