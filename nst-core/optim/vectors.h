/* The optimisers' vector work behind one small interface, so that L-BFGS and
 * Adam are written once and run on the host (vectors_host.c, the reference)
 * or on a Vulkan device (vectors_gpu.c, where x and the gradient never leave
 * the device and only scalars come back).
 *
 * A backend holds the optimiser's vectors of n floats, named by id, inside
 * the box [lower, upper]; each operation is one pass over them.  Sums come
 * back in double; every backend adds them in a fixed order, so the same
 * inputs give the same bytes.  Operations that touch the device can fail
 * (a lost device): they return a status. */
#ifndef NST_OPTIM_VECTORS_H
#define NST_OPTIM_VECTORS_H

#include <stddef.h>
#include <stdint.h>

#include "nst/nst.h"

/* The vectors.  The objective is evaluated at NST_VEC_EVAL_X into
 * NST_VEC_EVAL_GRAD: L-BFGS evaluates trial points, Adam x itself. */
enum {
    NST_VEC_X,
    NST_VEC_GRAD,
    NST_VEC_DIR,
    NST_VEC_TRIAL_X,
    NST_VEC_TRIAL_GRAD,
    NST_VEC_M, /* Adam's moments */
    NST_VEC_V,
    NST_VEC_PAIRS, /* L-BFGS pair k: s at NST_VEC_PAIRS + 2k, y after it */
};

/* Which vectors a backend allocates. */
enum {
    NST_VECS_LBFGS = 1, /* GRAD, DIR, TRIAL_X, TRIAL_GRAD, the held mask and the pairs */
    NST_VECS_ADAM = 2,  /* GRAD, M, V */
};

/* The two-loop recursion's passes over q = NST_VEC_DIR. */
typedef enum nst_vec_pass {
    NST_VEC_FREE_DOTS, /* sums s.y, y.y, s.q over the free variables */
    NST_VEC_FREE_AXPY, /* q += coef y on the free variables */
    NST_VEC_DOT,       /* sums y.q (q is 0 on the held variables) */
    NST_VEC_SCALE,     /* q *= coef */
} nst_vec_pass;

typedef struct nst_vectors nst_vectors;

typedef struct nst_vectors_ops {
    void (*free)(nst_vectors *v);
    /* The host array of vector `id`, or NULL where it lives on a device. */
    float *(*host)(nst_vectors *v, int id);
    /* Index of the first NaN/Inf of `id` in *index, or n when all are finite. */
    nst_status (*first_nonfinite)(nst_vectors *v, int id, size_t *index, nst_error *err);
    /* dst = src clamped to the box. */
    nst_status (*project)(nst_vectors *v, int dst, int src, nst_error *err);
    /* X = TRIAL_X and GRAD = TRIAL_GRAD (TRIAL_GRAD is left undefined). */
    nst_status (*take_trial)(nst_vectors *v, nst_error *err);
    /* Marks the variables on a bound that GRAD pushes against as held; DIR =
     * -GRAD on the free ones, 0 on the held ones; *largest = max |GRAD| free. */
    nst_status (*steepest)(nst_vectors *v, double *largest, nst_error *err);
    /* One pass of the two-loop recursion (s, y: vector ids, unused ones
     * ignored); sums may be NULL.  NULL where the backend has `history`. */
    nst_status (*two_loop)(nst_vectors *v, nst_vec_pass pass, int s, int y, double coef, double sums[3],
                           nst_error *err);
    /* The whole two-loop recursion at once, for a backend whose round
     * trips cost (NULL: lbfgs.c drives two_loop pass by pass, the
     * reference): from DIR = -GRAD on the free variables to DIR = -H GRAD,
     * over the pairs in ring slots[0..count) (newest first), each skipped
     * where s.y <= eps y.y on the free variables; *used = the pairs used,
     * *slope = GRAD.DIR. */
    nst_status (*history)(nst_vectors *v, const int *slots, int count, double eps, int *used, double *slope,
                          nst_error *err);
    /* GRAD.DIR. */
    nst_status (*slope)(nst_vectors *v, double *out, nst_error *err);
    /* TRIAL_X = P(X + t DIR); *moved = how many entries differ from X,
     * *slope = GRAD.(TRIAL_X - X). */
    nst_status (*project_trial)(nst_vectors *v, double t, size_t *moved, double *slope, nst_error *err);
    /* s = TRIAL_X - X, y = TRIAL_GRAD - GRAD: sums s.y and y.y; with
     * s_id >= 0 s and y are also written there. */
    nst_status (*trial_pair)(nst_vectors *v, int s_id, int y_id, double *sy, double *yy, nst_error *err);
    /* s.y and y.y of a stored pair. */
    nst_status (*pair_dots)(nst_vectors *v, int s_id, int y_id, double *sy, double *yy, nst_error *err);
    /* Adam's update of M, V and X from EVAL_GRAD (GRAD), X clamped to the box. */
    nst_status (*adam_update)(nst_vectors *v, double beta1, double beta2, double eps, double step,
                              double root_bias2, nst_error *err);
    /* id = 0. */
    nst_status (*zero)(nst_vectors *v, int id, nst_error *err);
    /* Copies between vector `id` and n host floats. */
    nst_status (*read)(nst_vectors *v, int id, float *out, nst_error *err);
    nst_status (*write)(nst_vectors *v, int id, const float *in, nst_error *err);
    /* A number that changes whenever X changes from outside the optimiser:
     * a hash of X on the host, a count of writes on a device. */
    uint64_t (*stamp)(nst_vectors *v);
} nst_vectors_ops;

struct nst_vectors {
    const nst_vectors_ops *ops;
    size_t n;
    float lower, upper;
    int pairs; /* the L-BFGS pairs allocated */
};

/* The host backend: vectors in memory, X the caller's array (set_x before
 * each step). */
nst_vectors *nst_vectors_new_host(size_t n, float lower, float upper, int kinds, int pairs, nst_error *err);
void nst_vectors_host_set_x(nst_vectors *v, float *x);

/* nst_box_check_start on vector grad_id (box.c). */
nst_status nst_vectors_check_start(nst_vectors *v, double value, int grad_id, const char *who, nst_error *err);

static inline void nst_vectors_free(nst_vectors *v)
{
    if (v)
        v->ops->free(v);
}

#endif
