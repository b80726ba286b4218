/* The host backend of optim/vectors.h: the reference.  Every dot product
 * accumulates in double.  The two-loop recursion's passes, most of an
 * L-BFGS step's own time, run on the worker pool over fixed blocks whose
 * partial sums are added in block order: the same inputs give the same bytes
 * on any number of workers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/parallel.h"
#include "optim/box.h"
#include "optim/vectors.h"

/* Elements per block of the two-loop recursion's passes. */
#define HOST_BLOCK 16384

typedef struct host_vectors {
    nst_vectors base;
    float **vec;          /* by id; vec[NST_VEC_X] is the caller's */
    unsigned char *held;  /* 1 where x sits on a bound that g pushes against */
    double *partial;      /* two-loop scratch: three sums per block */
} host_vectors;

static host_vectors *host_of(nst_vectors *v)
{
    return (host_vectors *)v;
}

static void host_free(nst_vectors *v)
{
    host_vectors *h = host_of(v);
    for (int id = NST_VEC_GRAD; h->vec && id < NST_VEC_PAIRS + 2 * v->pairs; id++)
        free(h->vec[id]);
    free(h->vec);
    free(h->held);
    free(h->partial);
    free(h);
}

static float *host_vector(nst_vectors *v, int id)
{
    return host_of(v)->vec[id];
}

static nst_status host_first_nonfinite(nst_vectors *v, int id, size_t *index, nst_error *err)
{
    (void)err;
    *index = nst_box_first_nonfinite(host_vector(v, id), v->n);
    return NST_OK;
}

static nst_status host_project(nst_vectors *v, int dst, int src, nst_error *err)
{
    (void)err;
    float *out = host_vector(v, dst);
    const float *in = host_vector(v, src);
    for (size_t i = 0; i < v->n; i++)
        out[i] = nst_box_project(in[i], v->lower, v->upper);
    return NST_OK;
}

static nst_status host_take_trial(nst_vectors *v, nst_error *err)
{
    (void)err;
    host_vectors *h = host_of(v);
    memcpy(h->vec[NST_VEC_X], h->vec[NST_VEC_TRIAL_X], v->n * sizeof(float));
    float *swap = h->vec[NST_VEC_GRAD];
    h->vec[NST_VEC_GRAD] = h->vec[NST_VEC_TRIAL_GRAD];
    h->vec[NST_VEC_TRIAL_GRAD] = swap;
    return NST_OK;
}

static int is_held(float x, float g, float lower, float upper)
{
    return (x <= lower && g > 0.0f) || (x >= upper && g < 0.0f);
}

static nst_status host_steepest(nst_vectors *v, double *largest, nst_error *err)
{
    (void)err;
    host_vectors *h = host_of(v);
    const float *x = h->vec[NST_VEC_X], *grad = h->vec[NST_VEC_GRAD];
    float *dir = h->vec[NST_VEC_DIR];
    double most = 0.0;
    for (size_t i = 0; i < v->n; i++) {
        float g = grad[i];
        unsigned char held = (unsigned char)is_held(x[i], g, v->lower, v->upper);
        h->held[i] = held;
        dir[i] = held ? 0.0f : -g;
        if (!held)
            most = fmax(most, fabs((double)g));
    }
    *largest = most;
    return NST_OK;
}

typedef struct two_loop_pass {
    host_vectors *h;
    nst_vec_pass kind;
    const float *s, *v; /* v: y, or the axpy's vector */
    double coef;
} two_loop_pass;

static void run_block(void *ctx, int block, int worker)
{
    (void)worker;
    const two_loop_pass *p = ctx;
    const unsigned char *held = p->h->held;
    float *q = p->h->vec[NST_VEC_DIR];
    const float *s = p->s, *v = p->v;
    size_t n = p->h->base.n;
    size_t begin = (size_t)block * HOST_BLOCK, end = begin + HOST_BLOCK < n ? begin + HOST_BLOCK : n;
    double a = 0.0, b = 0.0, c = 0.0;
    switch (p->kind) {
    case NST_VEC_FREE_DOTS:
        for (size_t i = begin; i < end; i++) {
            if (held[i])
                continue;
            a += (double)s[i] * v[i];
            b += (double)v[i] * v[i];
            c += (double)s[i] * q[i];
        }
        break;
    case NST_VEC_FREE_AXPY:
        for (size_t i = begin; i < end; i++)
            if (!held[i])
                q[i] = (float)(q[i] + p->coef * v[i]);
        break;
    case NST_VEC_DOT:
        for (size_t i = begin; i < end; i++)
            a += (double)v[i] * q[i];
        break;
    case NST_VEC_SCALE:
        for (size_t i = begin; i < end; i++)
            q[i] = (float)(p->coef * q[i]);
        break;
    }
    double *sums = p->h->partial + 3 * (size_t)block;
    sums[0] = a, sums[1] = b, sums[2] = c;
}

static nst_status host_two_loop(nst_vectors *v, nst_vec_pass pass, int s, int y, double coef, double sums[3],
                                nst_error *err)
{
    (void)err;
    host_vectors *h = host_of(v);
    two_loop_pass p = {h, pass, s >= 0 ? h->vec[s] : NULL, y >= 0 ? h->vec[y] : NULL, coef};
    int blocks = (int)((v->n + HOST_BLOCK - 1) / HOST_BLOCK);
    nst_parallel_for(blocks, run_block, &p);
    if (!sums)
        return NST_OK;
    sums[0] = sums[1] = sums[2] = 0.0;
    for (int b = 0; b < blocks; b++)
        for (int k = 0; k < 3; k++)
            sums[k] += h->partial[3 * (size_t)b + k];
    return NST_OK;
}

static nst_status host_slope(nst_vectors *v, double *out, nst_error *err)
{
    (void)err;
    const float *grad = host_vector(v, NST_VEC_GRAD), *dir = host_vector(v, NST_VEC_DIR);
    double gd = 0.0;
    for (size_t i = 0; i < v->n; i++)
        gd += (double)grad[i] * dir[i];
    *out = gd;
    return NST_OK;
}

static nst_status host_project_trial(nst_vectors *v, double t, size_t *moved, double *slope, nst_error *err)
{
    (void)err;
    const float *x = host_vector(v, NST_VEC_X), *dir = host_vector(v, NST_VEC_DIR);
    const float *grad = host_vector(v, NST_VEC_GRAD);
    float *trial = host_vector(v, NST_VEC_TRIAL_X);
    size_t count = 0;
    double change = 0.0;
    for (size_t i = 0; i < v->n; i++) {
        float vf = nst_box_project((double)x[i] + t * dir[i], v->lower, v->upper);
        trial[i] = vf;
        if (vf != x[i]) {
            count++;
            change += (double)grad[i] * ((double)vf - x[i]);
        }
    }
    *moved = count;
    *slope = change;
    return NST_OK;
}

static nst_status host_trial_pair(nst_vectors *v, int s_id, int y_id, double *sy, double *yy, nst_error *err)
{
    (void)err;
    const float *x = host_vector(v, NST_VEC_X), *trial_x = host_vector(v, NST_VEC_TRIAL_X);
    const float *grad = host_vector(v, NST_VEC_GRAD), *trial_grad = host_vector(v, NST_VEC_TRIAL_GRAD);
    if (s_id >= 0) {
        float *s = host_vector(v, s_id), *y = host_vector(v, y_id);
        for (size_t i = 0; i < v->n; i++) {
            s[i] = (float)((double)trial_x[i] - x[i]);
            y[i] = (float)((double)trial_grad[i] - grad[i]);
        }
        return NST_OK;
    }
    double a = 0.0, b = 0.0;
    for (size_t i = 0; i < v->n; i++) {
        double s = (double)trial_x[i] - x[i];
        double y = (double)trial_grad[i] - grad[i];
        a += s * y;
        b += y * y;
    }
    *sy = a;
    *yy = b;
    return NST_OK;
}

static nst_status host_pair_dots(nst_vectors *v, int s_id, int y_id, double *sy, double *yy, nst_error *err)
{
    (void)err;
    const float *s = host_vector(v, s_id), *y = host_vector(v, y_id);
    double a = 0.0, b = 0.0;
    for (size_t i = 0; i < v->n; i++) {
        a += (double)s[i] * y[i];
        b += (double)y[i] * y[i];
    }
    *sy = a;
    *yy = b;
    return NST_OK;
}

static nst_status host_adam_update(nst_vectors *v, double beta1, double beta2, double eps, double step,
                                   double root_bias2, nst_error *err)
{
    (void)err;
    float *x = host_vector(v, NST_VEC_X), *m = host_vector(v, NST_VEC_M), *sq = host_vector(v, NST_VEC_V);
    const float *grad = host_vector(v, NST_VEC_GRAD);
    for (size_t i = 0; i < v->n; i++) {
        double g = grad[i];
        double mi = beta1 * m[i] + (1.0 - beta1) * g;
        double vi = beta2 * sq[i] + (1.0 - beta2) * g * g;
        m[i] = (float)mi;
        sq[i] = (float)vi;
        x[i] = nst_box_project(x[i] - step * mi / (sqrt(vi) / root_bias2 + eps), v->lower, v->upper);
    }
    return NST_OK;
}

static nst_status host_zero(nst_vectors *v, int id, nst_error *err)
{
    (void)err;
    float *out = host_vector(v, id);
    for (size_t i = 0; i < v->n; i++)
        out[i] = 0.0f;
    return NST_OK;
}

static nst_status host_read(nst_vectors *v, int id, float *out, nst_error *err)
{
    (void)err;
    memcpy(out, host_vector(v, id), v->n * sizeof *out);
    return NST_OK;
}

static nst_status host_write(nst_vectors *v, int id, const float *in, nst_error *err)
{
    (void)err;
    memcpy(host_vector(v, id), in, v->n * sizeof *in);
    return NST_OK;
}

/* Detects a caller that changed x between steps.  Four FNV-1a lanes keep the
 * loop fast. */
static uint64_t host_stamp(nst_vectors *v)
{
    const float *x = host_vector(v, NST_VEC_X);
    const uint64_t prime = 0x100000001b3ULL;
    uint64_t lane[4] = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL, 0x9e3779b97f4a7c15ULL, 0x7f4a7c159e3779b9ULL};
    for (size_t i = 0; i < v->n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        lane[i & 3] = (lane[i & 3] ^ bits) * prime;
    }
    uint64_t hash = (uint64_t)v->n;
    for (int k = 0; k < 4; k++)
        hash = (hash ^ lane[k]) * prime;
    return hash;
}

static const nst_vectors_ops host_ops = {
    .free = host_free,
    .host = host_vector,
    .first_nonfinite = host_first_nonfinite,
    .project = host_project,
    .take_trial = host_take_trial,
    .steepest = host_steepest,
    .two_loop = host_two_loop, /* lbfgs.c drives the recursion: no history */
    .slope = host_slope,
    .project_trial = host_project_trial,
    .trial_pair = host_trial_pair,
    .pair_dots = host_pair_dots,
    .adam_update = host_adam_update,
    .zero = host_zero,
    .read = host_read,
    .write = host_write,
    .stamp = host_stamp,
};

/* Allocates vector `id` unless an earlier failure left *ok at 0. */
static void alloc_vector(host_vectors *h, int id, int *ok, nst_error *err)
{
    if (*ok && !h->vec[id]) {
        h->vec[id] = nst_box_vector_new(h->base.n, "an optimiser vector", err);
        *ok = h->vec[id] != NULL;
    }
}

nst_vectors *nst_vectors_new_host(size_t n, float lower, float upper, int kinds, int pairs, nst_error *err)
{
    host_vectors *h = nst_alloc_zero(1, sizeof *h, "the optimiser's vectors", err);
    if (!h)
        return NULL;
    h->base = (nst_vectors){&host_ops, n, lower, upper, pairs};
    h->vec = nst_alloc_zero((size_t)(NST_VEC_PAIRS + 2 * pairs), sizeof *h->vec, "the optimiser's vectors", err);
    int ok = h->vec != NULL;
    alloc_vector(h, NST_VEC_GRAD, &ok, err);
    if (kinds & NST_VECS_ADAM) {
        alloc_vector(h, NST_VEC_M, &ok, err);
        alloc_vector(h, NST_VEC_V, &ok, err);
    }
    if (kinds & NST_VECS_LBFGS) {
        for (int id = NST_VEC_DIR; id <= NST_VEC_TRIAL_GRAD; id++)
            alloc_vector(h, id, &ok, err);
        h->held = ok ? nst_alloc_zero(n, 1, "the L-BFGS active set", err) : NULL;
        h->partial = h->held ? nst_alloc_zero(3 * (n / HOST_BLOCK + 1), sizeof *h->partial, "L-BFGS sums", err)
                             : NULL;
        ok = h->partial != NULL;
        for (int id = NST_VEC_PAIRS; id < NST_VEC_PAIRS + 2 * pairs; id++)
            alloc_vector(h, id, &ok, err);
    }
    if (!ok) {
        host_free(&h->base);
        return NULL;
    }
    return &h->base;
}

void nst_vectors_host_set_x(nst_vectors *v, float *x)
{
    host_of(v)->vec[NST_VEC_X] = x;
}
