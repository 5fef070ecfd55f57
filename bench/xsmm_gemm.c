// xsmm_gemm.c - libxsmm 1.17's f32 micro-kernels behind AMPC's packed layout.
//
// C = A B (row-major, M x K by K x N) computed the way AMPC's CPU back end
// computes it (see PackedContractions.h): A packed into panels of `mr` rows
// ([M/mr][K][mr], zero-padded), B into panels of `nr` columns ([N/nr][K][nr]),
// k blocks of `kc`, then the column tiles, then the row tiles, one
// micro-kernel call per mr x nr tile of C. The micro-kernel is libxsmm's JIT
// code (column-major C^T = B^T A^T: m = nr, n = mr, k = kc, A read
// transposed), so that the only difference from AMPC is the micro-kernel.
// OpenBLAS's sgemm (PyTorch's BLAS on Debian) runs in alternation. Prints
// one JSON line: GFLOP/s of both (best of `reps`) and the largest difference
// between their results.
//
//   xsmm_gemm M N K mr nr kc reps
#include <libxsmm.h>
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct {
  int m, n, k, mr, nr, kc, mp, np;
  const float *a, *b;
  float *ap, *bp, *cp, *c;
  libxsmm_smmfunction first, rest; // beta = 0 (first k block), beta = 1
} Gemm;

static void pack(Gemm *g) {
  memset(g->ap, 0, sizeof(float) * (size_t)g->mp * g->k);
  memset(g->bp, 0, sizeof(float) * (size_t)g->np * g->k);
  for (int i = 0; i < g->m; ++i)
    for (int k = 0; k < g->k; ++k)
      g->ap[((size_t)(i / g->mr) * g->k + k) * g->mr + i % g->mr] =
          g->a[(size_t)i * g->k + k];
  for (int k = 0; k < g->k; ++k)
    for (int j = 0; j < g->n; ++j)
      g->bp[((size_t)(j / g->nr) * g->k + k) * g->nr + j % g->nr] =
          g->b[(size_t)k * g->n + j];
}

static void run(Gemm *g) {
  pack(g);
  for (int kb = 0; kb < g->k; kb += g->kc) {
    libxsmm_smmfunction kernel = kb == 0 ? g->first : g->rest;
    for (int j = 0; j < g->np / g->nr; ++j)
      for (int i = 0; i < g->mp / g->mr; ++i)
        kernel(g->bp + ((size_t)j * g->k + kb) * g->nr,
               g->ap + ((size_t)i * g->k + kb) * g->mr,
               g->cp + (size_t)i * g->mr * g->np + (size_t)j * g->nr);
  }
  for (int i = 0; i < g->m; ++i)
    memcpy(g->c + (size_t)i * g->n, g->cp + (size_t)i * g->np,
           sizeof(float) * g->n);
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: xsmm_gemm M N K mr nr kc reps\n");
    return 2;
  }
  Gemm g;
  g.m = atoi(argv[1]), g.n = atoi(argv[2]), g.k = atoi(argv[3]);
  g.mr = atoi(argv[4]), g.nr = atoi(argv[5]), g.kc = atoi(argv[6]);
  int reps = atoi(argv[7]);
  if (g.k % g.kc != 0) {
    fprintf(stderr, "xsmm_gemm: K must be a multiple of kc\n");
    return 2;
  }
  g.mp = (g.m + g.mr - 1) / g.mr * g.mr;
  g.np = (g.n + g.nr - 1) / g.nr * g.nr;
  libxsmm_init();
  float *a = malloc(sizeof(float) * (size_t)g.m * g.k);
  float *b = malloc(sizeof(float) * (size_t)g.k * g.n);
  float *ref = malloc(sizeof(float) * (size_t)g.m * g.n);
  g.c = malloc(sizeof(float) * (size_t)g.m * g.n);
  g.ap = aligned_alloc(64, sizeof(float) * (size_t)g.mp * g.k);
  g.bp = aligned_alloc(64, sizeof(float) * (size_t)g.np * g.k);
  g.cp = aligned_alloc(64, sizeof(float) * (size_t)g.mp * g.np);
  srand(3);
  for (size_t i = 0; i < (size_t)g.m * g.k; ++i)
    a[i] = (float)(rand() / (double)RAND_MAX * 2 - 1);
  for (size_t i = 0; i < (size_t)g.k * g.n; ++i)
    b[i] = (float)(rand() / (double)RAND_MAX * 2 - 1);
  g.a = a, g.b = b;
  float one = 1, zero = 0;
  int flags = LIBXSMM_GEMM_FLAG_TRANS_B;
  int flags0 = LIBXSMM_GEMM_FLAG_TRANS_B | LIBXSMM_GEMM_FLAG_BETA_0;
  libxsmm_blasint lda = g.nr, ldb = g.mr, ldc = g.np;
  g.rest = libxsmm_smmdispatch(g.nr, g.mr, g.kc, &lda, &ldb, &ldc, &one, &one,
                               &flags, NULL);
  g.first = libxsmm_smmdispatch(g.nr, g.mr, g.kc, &lda, &ldb, &ldc, &one,
                                &zero, &flags0, NULL);
  if (!g.rest || !g.first) {
    fprintf(stderr, "xsmm_gemm: libxsmm has no kernel for %d x %d x %d\n",
            g.nr, g.mr, g.kc);
    return 1;
  }
  double flops = 2.0 * g.m * g.n * g.k, xsmm = 0, blas = 0;
  for (int r = 0; r < reps; ++r) {
    double t = now();
    run(&g);
    t = now() - t;
    xsmm = fmax(xsmm, flops / t * 1e-9);
    t = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.m, g.n, g.k, 1,
                a, g.k, b, g.n, 0, ref, g.n);
    t = now() - t;
    blas = fmax(blas, flops / t * 1e-9);
  }
  double err = 0;
  for (size_t i = 0; i < (size_t)g.m * g.n; ++i)
    err = fmax(err, fabs(g.c[i] - ref[i]));
  printf("{\"xsmm\": %.2f, \"openblas\": %.2f, \"max_abs_diff\": %.3g}\n", xsmm,
         blas, err);
  return 0;
}
