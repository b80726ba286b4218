#include "optim/box.h"

#include <math.h>

#include "base/error.h"
#include "optim/vectors.h"

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

nst_status nst_vectors_check_start(nst_vectors *v, double value, int grad_id, const char *who, nst_error *err)
{
    const float *grad = v->ops->host(v, grad_id);
    if (grad || !isfinite(value))
        return nst_box_check_start(value, grad, v->n, who, err);
    size_t bad;
    nst_status s = v->ops->first_nonfinite(v, grad_id, &bad, err);
    if (s == NST_OK && bad < v->n)
        s = nst_error_set(err, NST_ERR_NUMERIC, "%s: gradient entry %zu of %zu is not finite at the starting point",
                          who, bad, v->n);
    return s;
}
