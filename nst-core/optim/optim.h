/* Optimisers over a float vector x kept inside the box [lower, upper]
 * (pixels in [0,1]): projected L-BFGS and Adam.
 *
 * The driver owns the loop and calls *_step() once per iteration, so it can
 * report progress, honour a cancel and steer between iterations.  When the
 * objective itself changes (a weight was steered), call *_reset(): the next
 * step evaluates again and L-BFGS forgets its curvature history.
 *
 * Robustness: a step never leaves x non-finite or outside the box.  A
 * non-finite value or gradient during a line search shrinks the step; one at
 * the starting point is an NST_ERR_NUMERIC error and x is left unchanged. */
#ifndef NST_OPTIM_OPTIM_H
#define NST_OPTIM_OPTIM_H

#include <stddef.h>

#include "nst/nst.h"

/* The function an optimiser minimises: f(x) and its gradient (not the
 * style-transfer objective of loss/, which the driver wraps in one).
 * Returns NST_OK or an error (NST_ERR_CANCELLED included) that the step
 * passes straight up. */
typedef nst_status (*nst_minimized_fn)(const float *x, float *grad, double *value, void *user_data,
                                       nst_error *err);

/* ---- L-BFGS ---- */

typedef struct nst_lbfgs nst_lbfgs;
typedef struct nst_vectors nst_vectors; /* optim/vectors.h */
struct nst_gpu;                         /* gpu/vk.h */
struct nst_gpu_buffer;

nst_lbfgs *nst_lbfgs_new(size_t n, int history, float lower, float upper, nst_error *err);
/* On a vector backend made for it (NST_VECS_LBFGS, its pairs the
 * history), which the optimiser then owns (freed on failure too). */
nst_lbfgs *nst_lbfgs_new_on(nst_vectors *vec, nst_error *err);
/* The checks of nst_lbfgs_new's arguments, for other constructors. */
nst_status nst_lbfgs_check_args(size_t n, int history, float lower, float upper, nst_error *err);
void nst_lbfgs_free(nst_lbfgs *opt);
/* One iteration: a direction from the history, projected onto the box, and a
 * backtracking line search along the projected path.  Converged (no progress
 * possible) is not an error: *converged is set and x is unchanged.  On a
 * device backend x is NULL (x lives on the device: nst_lbfgs_read_x and
 * nst_lbfgs_write_x move it) and f is called with x == grad == NULL: it
 * evaluates the picture already in the objective's device buffer. */
nst_status nst_lbfgs_step(nst_lbfgs *opt, float *x, nst_minimized_fn f, void *user_data, int *converged,
                          nst_error *err);
void nst_lbfgs_reset(nst_lbfgs *opt);
/* The value at the current x after the last step (valid after one step). */
double nst_lbfgs_value(const nst_lbfgs *opt);

/* Carrying the curvature history to a related problem (the next, larger
 * pyramid stage, whose caller resamples each pair).  Pairs are numbered
 * from the oldest, 0, to pair_count - 1. */
int nst_lbfgs_pair_count(const nst_lbfgs *opt);
void nst_lbfgs_get_pair(const nst_lbfgs *opt, int index, const float **s, const float **y);
/* Storage for one pair newer than all the others, for the caller to fill
 * before nst_lbfgs_add_pair().  Only while the history has room (count <
 * history): a full history is an NST_ERR_INVALID error. */
nst_status nst_lbfgs_new_pair(nst_lbfgs *opt, float **s, float **y, nst_error *err);
/* Keeps the pair just filled when it carries positive curvature (s.y > 0);
 * returns 1 when kept. */
int nst_lbfgs_add_pair(nst_lbfgs *opt);
/* Copies of pair `index` to n host floats each, and a new pair from them
 * (nst_lbfgs_new_pair + fill): for pairs on a device too. */
nst_status nst_lbfgs_read_pair(nst_lbfgs *opt, int index, float *s, float *y, nst_error *err);
nst_status nst_lbfgs_write_pair(nst_lbfgs *opt, const float *s, const float *y, nst_error *err);
/* x to or from n host floats (a device backend's x; a host one's is the
 * array last given to step).  Writing x makes the next step evaluate. */
nst_status nst_lbfgs_read_x(nst_lbfgs *opt, float *x, nst_error *err);
nst_status nst_lbfgs_write_x(nst_lbfgs *opt, const float *x, nst_error *err);

/* On the device the objective runs on (built with NST_HAVE_VULKAN only):
 * f evaluates the picture in x_buffer into grad_buffer (the device
 * objective's nst_gpu_objective_picture and _gradient, n floats each, which
 * must outlive the steps); x starts as nst_lbfgs_write_x gives it. */
nst_lbfgs *nst_lbfgs_new_on_device(struct nst_gpu *gpu, struct nst_gpu_buffer *x_buffer,
                                   struct nst_gpu_buffer *grad_buffer, size_t n, int history, float lower,
                                   float upper, nst_error *err);

/* ---- Adam ---- */

typedef struct nst_adam nst_adam;

nst_adam *nst_adam_new(size_t n, double learning_rate, float lower, float upper, nst_error *err);
/* On a vector backend made for it (NST_VECS_ADAM); it owns it. */
nst_adam *nst_adam_new_on(nst_vectors *vec, double learning_rate, nst_error *err);
nst_status nst_adam_check_args(size_t n, double learning_rate, float lower, float upper, nst_error *err);
void nst_adam_free(nst_adam *opt);
/* Evaluates f at x, then moves x by one Adam update and clamps it to the box. */
nst_status nst_adam_step(nst_adam *opt, float *x, nst_minimized_fn f, void *user_data, nst_error *err);
void nst_adam_set_learning_rate(nst_adam *opt, double learning_rate);
void nst_adam_reset(nst_adam *opt); /* zero the moments */
double nst_adam_value(const nst_adam *opt); /* the value evaluated by the last step */
/* As nst_lbfgs_read_x / nst_lbfgs_write_x (x NULL in step on a device). */
nst_status nst_adam_read_x(nst_adam *opt, float *x, nst_error *err);
nst_status nst_adam_write_x(nst_adam *opt, const float *x, nst_error *err);
/* As nst_lbfgs_new_on_device: x is the objective's picture buffer itself. */
nst_adam *nst_adam_new_on_device(struct nst_gpu *gpu, struct nst_gpu_buffer *x_buffer,
                                 struct nst_gpu_buffer *grad_buffer, size_t n, double learning_rate, float lower,
                                 float upper, nst_error *err);

#endif
