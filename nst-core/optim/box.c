#include "optim/box.h"

#include <math.h>

#include "base/error.h"

nst_status nst_box_validate(size_t n, float lower, float upper, const char *who, nst_error *err)
{
    if (n == 0)
        return nst_error_set(err, NST_ERR_INVALID, "%s: the vector to optimise is empty", who);
    if (!(lower < upper))
        return nst_error_set(err, NST_ERR_INVALID, "%s: the box [%g, %g] is empty", who, (double)lower,
                             (double)upper);
    return NST_OK;
}

float *nst_box_vector_new(size_t n, const char *what, nst_error *err)
{
    return nst_alloc_zero(n, sizeof(float), what, err);
}

size_t nst_box_first_nonfinite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return i;
    return n;
}

nst_status nst_box_check_start(double value, const float *grad, size_t n, const char *who, nst_error *err)
{
    if (!isfinite(value))
        return nst_error_set(err, NST_ERR_NUMERIC, "%s: the objective is %g at the starting point", who, value);
    size_t bad = nst_box_first_nonfinite(grad, n);
    if (bad < n)
        return nst_error_set(err, NST_ERR_NUMERIC, "%s: gradient entry %zu of %zu is %g at the starting point",
                             who, bad, n, (double)grad[bad]);
    return NST_OK;
}
