/* Helpers shared by the optimisers: the box [lower, upper], work vectors of n
 * floats and the finiteness checks that turn a bad evaluation into an error. */
#ifndef NST_OPTIM_BOX_H
#define NST_OPTIM_BOX_H

#include <stddef.h>

#include "nst/nst.h"

/* NST_ERR_INVALID unless n > 0 and lower < upper (both not NaN). */
nst_status nst_box_validate(size_t n, float lower, float upper, const char *who, nst_error *err);

/* n zeroed floats, or NULL with NST_ERR_NOMEM naming `what`. */
float *nst_box_vector_new(size_t n, const char *what, nst_error *err);

/* v clamped to the box, as a float.  Clamping happens in double before the
 * rounding: the bounds are floats, so the rounded value stays inside. */
static inline float nst_box_project(double v, float lower, float upper)
{
    return (float)(v < lower ? lower : (v > upper ? upper : v));
}

/* Index of the first NaN/Inf in v, or n when all are finite. */
size_t nst_box_first_nonfinite(const float *v, size_t n);

/* NST_ERR_NUMERIC naming `who` unless value and every gradient entry are
 * finite: used at the point an optimiser starts from, where shrinking a step
 * cannot help. */
nst_status nst_box_check_start(double value, const float *grad, size_t n, const char *who, nst_error *err);

#endif
