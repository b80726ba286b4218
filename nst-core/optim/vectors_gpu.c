/* The device backend of optim/vectors.h (built with NST_HAVE_VULKAN): the
 * vectors are device buffers and each operation one pass of gpu/vectors.h,
 * so only its scalars come back.  The point the objective evaluates and its
 * gradient are the objective's own buffers, used in place: L-BFGS's trial
 * point and gradient, Adam's x and gradient.  x is read back only when the
 * caller asks (previews, the end of a stage). */
#include <stdlib.h>

#include "base/error.h"
#include "gpu/vectors.h"
#include "optim/box.h"
#include "optim/optim.h"
#include "optim/vectors.h"

typedef struct gpu_vectors {
    nst_vectors base;
    nst_gpu *gpu;
    nst_gpu_vectors *passes;
    nst_gpu_buffer **vec; /* by id; NULL where the optimiser has none */
    int count;
    int eval_x, eval_grad; /* the objective's buffers' ids */
    uint64_t generation;   /* X's writes from the host */
} gpu_vectors;

static gpu_vectors *gpu_of(nst_vectors *v)
{
    return (gpu_vectors *)v;
}

static void gpu_free(nst_vectors *v)
{
    gpu_vectors *g = gpu_of(v);
    for (int id = 0; g->vec && id < g->count; id++)
        if (id != g->eval_x && id != g->eval_grad)
            nst_gpu_buffer_free(g->gpu, g->vec[id]);
    free(g->vec);
    nst_gpu_vectors_free(g->passes);
    free(g);
}

static float *gpu_host(nst_vectors *v, int id)
{
    (void)v, (void)id;
    return NULL;
}

/* One pass on the vectors named by id (-1: none). */
static nst_status pass(nst_vectors *v, nst_gpu_vec_op op, int out, int a, int b, int c, int d, int use_mask,
                       double p0, nst_gpu_vec_result *result, nst_error *err)
{
    gpu_vectors *g = gpu_of(v);
    nst_gpu_vec_args args = {out >= 0 ? g->vec[out] : NULL,
                             a >= 0 ? g->vec[a] : NULL,
                             b >= 0 ? g->vec[b] : NULL,
                             c >= 0 ? g->vec[c] : NULL,
                             d >= 0 ? g->vec[d] : NULL,
                             use_mask,
                             {(float)p0},
                             0};
    return nst_gpu_vectors_run(g->passes, op, &args, result, err);
}

static nst_status gpu_first_nonfinite(nst_vectors *v, int id, size_t *index, nst_error *err)
{
    nst_gpu_vec_result r;
    nst_status s = pass(v, NST_GPU_VEC_NONFINITE, -1, id, -1, -1, -1, 0, 0.0, &r, err);
    *index = s == NST_OK ? r.first_bad : v->n;
    return s;
}

static nst_status gpu_project(nst_vectors *v, int dst, int src, nst_error *err)
{
    return pass(v, NST_GPU_VEC_PROJECT, dst, src, -1, -1, -1, 0, 0.0, NULL, err);
}

static nst_status gpu_take_trial(nst_vectors *v, nst_error *err)
{
    nst_status s = pass(v, NST_GPU_VEC_COPY, NST_VEC_X, NST_VEC_TRIAL_X, -1, -1, -1, 0, 0.0, NULL, err);
    return s == NST_OK ? pass(v, NST_GPU_VEC_COPY, NST_VEC_GRAD, NST_VEC_TRIAL_GRAD, -1, -1, -1, 0, 0.0, NULL, err)
                       : s;
}

static nst_status gpu_steepest(nst_vectors *v, double *largest, nst_error *err)
{
    nst_gpu_vec_result r;
    nst_status s = pass(v, NST_GPU_VEC_STEEPEST, NST_VEC_DIR, NST_VEC_X, NST_VEC_GRAD, -1, -1, 0, 0.0, &r, err);
    *largest = s == NST_OK ? r.largest : 0.0;
    return s;
}

/* GRAD.DIR (the third sum of DOTS with a = b = GRAD); r also brings back
 * the two-loop's pairs used. */
static nst_status dir_slope(nst_vectors *v, nst_gpu_vec_result *r, nst_error *err)
{
    return pass(v, NST_GPU_VEC_DOTS, NST_VEC_DIR, NST_VEC_GRAD, NST_VEC_GRAD, -1, -1, 0, 0.0, r, err);
}

/* A HISTORY pass of the two-loop on DIR: on pair `slot` (-1: none). */
static nst_status history_pass(gpu_vectors *g, nst_gpu_vec_op op, int slot, double eps, nst_error *err)
{
    nst_gpu_vec_args args = {g->vec[NST_VEC_DIR], NULL, NULL, NULL, NULL, 0, {0}, 0};
    if (slot >= 0)
        args = (nst_gpu_vec_args){g->vec[NST_VEC_DIR], g->vec[NST_VEC_PAIRS + 2 * slot],
                                  g->vec[NST_VEC_PAIRS + 2 * slot + 1], NULL, NULL, 1, {(float)eps}, slot};
    return nst_gpu_vectors_run(g->passes, op, &args, NULL, err);
}

/* The two-loop recursion as passes the host queues and never waits for:
 * each pair's coefficients are computed and used on the device
 * (gpu/vectors.h's HISTORY passes); one wait at the end brings back the
 * pairs used and the slope. */
static nst_status gpu_history(nst_vectors *v, const int *slots, int count, double eps, int *used, double *slope,
                              nst_error *err)
{
    gpu_vectors *g = gpu_of(v);
    nst_status s = history_pass(g, NST_GPU_VEC_HISTORY_START, -1, eps, err);
    for (int i = 0; i < count && s == NST_OK; i++)
        s = history_pass(g, NST_GPU_VEC_HISTORY_FIRST, slots[i], eps, err);
    if (s == NST_OK)
        s = history_pass(g, NST_GPU_VEC_HISTORY_GAMMA, -1, eps, err);
    for (int i = count - 1; i >= 0 && s == NST_OK; i--)
        s = history_pass(g, NST_GPU_VEC_HISTORY_SECOND, slots[i], eps, err);
    if (s == NST_OK)
        s = pass(v, NST_GPU_VEC_SCALE, NST_VEC_DIR, -1, -1, -1, -1, 0, -1.0, NULL, err);
    nst_gpu_vec_result r;
    if (s == NST_OK) /* waits for all of the above */
        s = dir_slope(v, &r, err);
    *used = s == NST_OK ? r.used : 0;
    *slope = s == NST_OK ? r.sums[2] : 0.0;
    return s;
}

static nst_status gpu_slope(nst_vectors *v, double *out, nst_error *err)
{
    nst_gpu_vec_result r;
    nst_status s = dir_slope(v, &r, err);
    *out = s == NST_OK ? r.sums[2] : 0.0;
    return s;
}

static nst_status gpu_project_trial(nst_vectors *v, double t, size_t *moved, double *slope, nst_error *err)
{
    nst_gpu_vec_result r;
    nst_status s = pass(v, NST_GPU_VEC_PROJECT_TRIAL, NST_VEC_TRIAL_X, NST_VEC_X, NST_VEC_DIR, NST_VEC_GRAD, -1, 0,
                        t, &r, err);
    *moved = s == NST_OK ? r.moved : 0;
    *slope = s == NST_OK ? r.sums[0] : 0.0;
    return s;
}

static nst_status gpu_trial_pair(nst_vectors *v, int s_id, int y_id, double *sy, double *yy, nst_error *err)
{
    if (s_id >= 0) {
        nst_status s = pass(v, NST_GPU_VEC_SUB, s_id, NST_VEC_TRIAL_X, NST_VEC_X, -1, -1, 0, 0.0, NULL, err);
        return s == NST_OK ? pass(v, NST_GPU_VEC_SUB, y_id, NST_VEC_TRIAL_GRAD, NST_VEC_GRAD, -1, -1, 0, 0.0, NULL, err)
                           : s;
    }
    nst_gpu_vec_result r;
    nst_status s = pass(v, NST_GPU_VEC_DIFF_DOTS, -1, NST_VEC_TRIAL_X, NST_VEC_X, NST_VEC_TRIAL_GRAD, NST_VEC_GRAD, 0,
                        0.0, &r, err);
    *sy = s == NST_OK ? r.sums[0] : 0.0;
    *yy = s == NST_OK ? r.sums[1] : 0.0;
    return s;
}

static nst_status gpu_pair_dots(nst_vectors *v, int s_id, int y_id, double *sy, double *yy, nst_error *err)
{
    nst_gpu_vec_result r;
    nst_status s = pass(v, NST_GPU_VEC_DOTS, s_id, s_id, y_id, -1, -1, 0, 0.0, &r, err);
    *sy = s == NST_OK ? r.sums[0] : 0.0;
    *yy = s == NST_OK ? r.sums[1] : 0.0;
    return s;
}

static nst_status gpu_adam_update(nst_vectors *v, double beta1, double beta2, double eps, double step,
                                  double root_bias2, nst_error *err)
{
    gpu_vectors *g = gpu_of(v);
    nst_gpu_vec_args args = {g->vec[NST_VEC_X], g->vec[NST_VEC_GRAD], NULL, g->vec[NST_VEC_M], g->vec[NST_VEC_V], 0,
                             {(float)beta1, (float)beta2, (float)eps, (float)step, (float)root_bias2},
                             0};
    return nst_gpu_vectors_run(g->passes, NST_GPU_VEC_ADAM, &args, NULL, err);
}

static nst_status gpu_zero(nst_vectors *v, int id, nst_error *err)
{
    return pass(v, NST_GPU_VEC_ZERO, id, -1, -1, -1, -1, 0, 0.0, NULL, err);
}

static nst_status gpu_read(nst_vectors *v, int id, float *out, nst_error *err)
{
    gpu_vectors *g = gpu_of(v);
    return nst_gpu_buffer_read(g->gpu, g->vec[id], 0, out, v->n * sizeof *out, err);
}

static nst_status gpu_write(nst_vectors *v, int id, const float *in, nst_error *err)
{
    gpu_vectors *g = gpu_of(v);
    if (id == NST_VEC_X)
        g->generation++;
    return nst_gpu_buffer_write(g->gpu, g->vec[id], 0, in, v->n * sizeof *in, err);
}

static uint64_t gpu_stamp(nst_vectors *v)
{
    return gpu_of(v)->generation;
}

static const nst_vectors_ops gpu_ops = {
    .free = gpu_free,
    .host = gpu_host,
    .first_nonfinite = gpu_first_nonfinite,
    .project = gpu_project,
    .take_trial = gpu_take_trial,
    .steepest = gpu_steepest,
    .history = gpu_history, /* the recursion without round trips: no two_loop */
    .slope = gpu_slope,
    .project_trial = gpu_project_trial,
    .trial_pair = gpu_trial_pair,
    .pair_dots = gpu_pair_dots,
    .adam_update = gpu_adam_update,
    .zero = gpu_zero,
    .read = gpu_read,
    .write = gpu_write,
    .stamp = gpu_stamp,
};

/* Vectors on gpu for `kinds`, evaluated at the objective's x_buffer into
 * grad_buffer (both n floats, not owned). */
static nst_vectors *gpu_vectors_new(nst_gpu *gpu, nst_gpu_buffer *x_buffer, nst_gpu_buffer *grad_buffer, size_t n,
                                    float lower, float upper, int kinds, int pairs, nst_error *err)
{
    if (!gpu || !x_buffer || !grad_buffer || x_buffer->bytes / sizeof(float) < n ||
        grad_buffer->bytes / sizeof(float) < n) {
        nst_error_set(err, NST_ERR_INVALID, "optimiser on the device: no buffers of %zu floats", n);
        return NULL;
    }
    gpu_vectors *g = nst_alloc_zero(1, sizeof *g, "the optimiser's vectors", err);
    if (!g)
        return NULL;
    g->base = (nst_vectors){&gpu_ops, n, lower, upper, pairs};
    g->gpu = gpu;
    g->count = NST_VEC_PAIRS + 2 * pairs;
    int lbfgs = kinds & NST_VECS_LBFGS;
    g->eval_x = lbfgs ? NST_VEC_TRIAL_X : NST_VEC_X;
    g->eval_grad = lbfgs ? NST_VEC_TRIAL_GRAD : NST_VEC_GRAD;
    g->vec = nst_alloc_zero((size_t)g->count, sizeof *g->vec, "the optimiser's vectors", err);
    /* Each pair takes part in 5 different passes; the rest need about 20. */
    g->passes = g->vec ? nst_gpu_vectors_new(gpu, n, lower, upper, pairs, 24 + 5 * pairs, err) : NULL;
    int ok = g->passes != NULL;
    if (ok) {
        g->vec[g->eval_x] = x_buffer;
        g->vec[g->eval_grad] = grad_buffer;
    }
    for (int id = 0; ok && id < g->count; id++) {
        int wanted = lbfgs ? id != NST_VEC_M && id != NST_VEC_V : id <= NST_VEC_GRAD || id == NST_VEC_M ||
                                                                      id == NST_VEC_V;
        if (!wanted || g->vec[id])
            continue;
        g->vec[id] = nst_gpu_buffer_new(gpu, n * sizeof(float), err);
        ok = g->vec[id] != NULL;
        if (ok && (id == NST_VEC_M || id == NST_VEC_V)) /* Adam's moments start at zero */
            ok = gpu_zero(&g->base, id, err) == NST_OK;
    }
    if (!ok) {
        gpu_free(&g->base);
        return NULL;
    }
    return &g->base;
}

nst_lbfgs *nst_lbfgs_new_on_device(nst_gpu *gpu, nst_gpu_buffer *x_buffer, nst_gpu_buffer *grad_buffer, size_t n,
                                   int history, float lower, float upper, nst_error *err)
{
    if (nst_lbfgs_check_args(n, history, lower, upper, err) != NST_OK)
        return NULL;
    return nst_lbfgs_new_on(
        gpu_vectors_new(gpu, x_buffer, grad_buffer, n, lower, upper, NST_VECS_LBFGS, history, err), err);
}

nst_adam *nst_adam_new_on_device(nst_gpu *gpu, nst_gpu_buffer *x_buffer, nst_gpu_buffer *grad_buffer, size_t n,
                                 double learning_rate, float lower, float upper, nst_error *err)
{
    if (nst_adam_check_args(n, learning_rate, lower, upper, err) != NST_OK)
        return NULL;
    return nst_adam_new_on(gpu_vectors_new(gpu, x_buffer, grad_buffer, n, lower, upper, NST_VECS_ADAM, 0, err),
                           learning_rate, err);
}
