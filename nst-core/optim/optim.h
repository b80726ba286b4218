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

nst_lbfgs *nst_lbfgs_new(size_t n, int history, float lower, float upper, nst_error *err);
void nst_lbfgs_free(nst_lbfgs *opt);
/* One iteration: a direction from the history, projected onto the box, and a
 * backtracking line search along the projected path.  Converged (no progress
 * possible) is not an error: *converged is set and x is unchanged. */
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

/* ---- Adam ---- */

typedef struct nst_adam nst_adam;

nst_adam *nst_adam_new(size_t n, double learning_rate, float lower, float upper, nst_error *err);
void nst_adam_free(nst_adam *opt);
/* Evaluates f at x, then moves x by one Adam update and clamps it to the box. */
nst_status nst_adam_step(nst_adam *opt, float *x, nst_minimized_fn f, void *user_data, nst_error *err);
void nst_adam_set_learning_rate(nst_adam *opt, double learning_rate);
void nst_adam_reset(nst_adam *opt); /* zero the moments */
double nst_adam_value(const nst_adam *opt); /* the value evaluated by the last step */

#endif
