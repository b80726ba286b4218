/* The optimisers' vector work on the device: one element-wise pass over n
 * floats per call (shaders/optim_vectors.comp), with the few scalars it
 * yields read back: three sums (per-workgroup partials added in a fixed
 * order, so the same inputs give the same bytes), the first non-finite
 * index, the largest |g| and a count.  optim/'s device backend
 * (optim/vectors_gpu.c) builds L-BFGS and Adam on it; nothing here knows
 * them.  Arithmetic is in float (devices need not have doubles). */
#ifndef NST_GPU_VECTORS_H
#define NST_GPU_VECTORS_H

#include <stddef.h>

#include "gpu/vk.h"

/* The passes; the letters name the args' buffers. */
typedef enum nst_gpu_vec_op {
    NST_GPU_VEC_NONFINITE = 1, /* first_bad: first i with a[i] not finite */
    NST_GPU_VEC_PROJECT,       /* out = a clamped to [lower, upper] */
    NST_GPU_VEC_COPY,          /* out = a */
    NST_GPU_VEC_STEEPEST,      /* x = a, g = b: held = on a bound g pushes against; out = held ? 0 : -g;
                                  largest = max |g| over the free */
    NST_GPU_VEC_DOTS,          /* sums a.b, b.b, a.out (over the free with use_mask) */
    NST_GPU_VEC_AXPY,          /* out += p[0] a (on the free with use_mask) */
    NST_GPU_VEC_SCALE,         /* out *= p[0] */
    NST_GPU_VEC_PROJECT_TRIAL, /* out = clamp(a + p[0] b); moved = count of out != a; sums[0] = c.(out - a) */
    NST_GPU_VEC_DIFF_DOTS,     /* s = a - b, y = c - d: sums s.y, y.y */
    NST_GPU_VEC_SUB,           /* out = a - b */
    NST_GPU_VEC_ADAM,          /* g = a, m = c, v = d, x = out; p: beta1, beta2, eps, step, sqrt(bias2) */
    NST_GPU_VEC_ZERO,          /* out = 0 */
    /* The L-BFGS two-loop recursion on q = out, its coefficients kept on
     * the device, so the host waits for none of it: */
    NST_GPU_VEC_HISTORY_START,  /* q = -out (from dir = -g); no pair used yet, gamma 1 */
    NST_GPU_VEC_HISTORY_FIRST,  /* pair `slot` (s = a, y = b): rho = 1 / s.y, alpha = rho s.q over the free
                                   (rho = 0 where s.y <= p[0] y.y: skipped); q -= alpha y on the free */
    NST_GPU_VEC_HISTORY_GAMMA,  /* q *= s.y / y.y of the first pair used (1 if none) */
    NST_GPU_VEC_HISTORY_SECOND, /* pair `slot`: q += (alpha - rho y.q) s on the free */
} nst_gpu_vec_op;

typedef struct nst_gpu_vec_args {
    nst_gpu_buffer *out, *a, *b, *c, *d; /* NULL where the pass does not use it */
    int use_mask;                        /* skip the variables STEEPEST marked held */
    float p[5];
    int slot; /* the HISTORY passes' pair, 0 .. pairs - 1 */
} nst_gpu_vec_args;

typedef struct nst_gpu_vec_result {
    double sums[3];
    size_t first_bad; /* n when all are finite */
    double largest;
    size_t moved;
    int used; /* the pairs the two-loop used since HISTORY_START */
} nst_gpu_vec_result;

typedef struct nst_gpu_vectors nst_gpu_vectors;

/* The passes' scratch for vectors of n floats in [lower, upper] and up to
 * `pairs` L-BFGS pairs: the held mask, the partial sums and the results,
 * made once.  Up to max_passes
 * different passes (an op on given buffers) keep their recorded sequence,
 * made at their first run, so later runs allocate nothing; the others share
 * one sequence recorded again each time. */
nst_gpu_vectors *nst_gpu_vectors_new(nst_gpu *gpu, size_t n, float lower, float upper, int pairs, int max_passes,
                                     nst_error *err);
void nst_gpu_vectors_free(nst_gpu_vectors *v);
/* Runs one pass and waits, result receiving its scalars; with result NULL
 * the pass is only queued (nst_gpu_seq_queue) and costs no round trip. */
nst_status nst_gpu_vectors_run(nst_gpu_vectors *v, nst_gpu_vec_op op, const nst_gpu_vec_args *args,
                               nst_gpu_vec_result *result, nst_error *err);

#endif
