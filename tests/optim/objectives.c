#include "objectives.h"

#include <math.h>
#include <string.h>

#include "base/error.h"

double rosenbrock(const float *x, float *grad, size_t n, const void *data)
{
    (void)data;
    double value = 0.0;
    for (size_t i = 0; i < n; i++)
        grad[i] = 0.0f;
    double carry = 0.0; /* d/dx[i] of the term that x[i] shares with x[i-1] */
    for (size_t i = 0; i + 1 < n; i++) {
        double xi = x[i], next = x[i + 1];
        double bend = next - xi * xi;
        value += 100.0 * bend * bend + (1.0 - xi) * (1.0 - xi);
        grad[i] = (float)(carry - 400.0 * xi * bend - 2.0 * (1.0 - xi));
        carry = 200.0 * bend;
    }
    grad[n - 1] = (float)carry;
    return value;
}

double quadratic_value(const float *x, float *grad, size_t n, const void *data)
{
    const quadratic *q = data;
    double value = 0.0;
    for (size_t i = 0; i < n; i++) {
        double ax = q->diag[i] * x[i];
        if (i > 0)
            ax += q->off * x[i - 1];
        if (i + 1 < n)
            ax += q->off * x[i + 1];
        value += 0.5 * x[i] * ax - q->b[i] * x[i];
        grad[i] = (float)(q->scale * (ax - q->b[i]));
    }
    return q->scale * value;
}

void probe_init(probe *p, objective_value_fn fn, const void *data, size_t n, float lower, float upper)
{
    memset(p, 0, sizeof *p);
    p->fn = fn;
    p->data = data;
    p->n = n;
    p->lower = lower;
    p->upper = upper;
}

static int nan_here(probe *p, const float *x)
{
    if (p->nan_mode == NAN_ALWAYS)
        return 1;
    if (p->nan_mode != NAN_LONG_STEPS)
        return 0;
    int too_long = 0;
    for (size_t i = 0; p->have_previous && i < p->n; i++)
        if (fabs((double)x[i] - p->previous[i]) > p->nan_step_limit)
            too_long = 1;
    if (!too_long) {
        memcpy(p->previous, x, p->n * sizeof *x);
        p->have_previous = 1;
    }
    return too_long;
}

nst_status probe_objective(const float *x, float *grad, double *value, void *user_data, nst_error *err)
{
    probe *p = user_data;
    p->calls++;
    if (!inside_box(x, p->n, p->lower, p->upper))
        p->outside++;
    if (p->record && p->calls == p->record_call)
        memcpy(p->record, x, p->n * sizeof *x);
    if (p->calls == p->cancel_at) {
        grad[0] = NAN; /* a half-written gradient must not leak into x */
        return nst_error_set(err, NST_ERR_CANCELLED, "cancelled by the test on call %ld", p->calls);
    }
    *value = p->fn(x, grad, p->n, p->data);
    if (nan_here(p, x)) {
        p->nan_calls++;
        if (p->nan_in_gradient_only)
            grad[p->n / 2] = NAN;
        else
            *value = NAN;
    }
    return NST_OK;
}

int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

int inside_box(const float *x, size_t n, float lower, float upper)
{
    for (size_t i = 0; i < n; i++)
        if (!(x[i] >= lower && x[i] <= upper))
            return 0;
    return 1;
}

double max_abs_diff_to(const float *x, double target, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)x[i] - target);
        if (!(d <= worst))
            worst = isnan(d) ? INFINITY : d;
    }
    return worst;
}
