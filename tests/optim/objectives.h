/* Test objectives for the optimisers, wrapped in a probe that counts
 * evaluations, flags any point outside the box and injects failures. */
#ifndef NST_TESTS_OPTIM_OBJECTIVES_H
#define NST_TESTS_OPTIM_OBJECTIVES_H

#include <stddef.h>

#include "nst/nst.h"

/* Fills grad and returns f(x); computed in double. */
typedef double (*objective_value_fn)(const float *x, float *grad, size_t n, const void *data);

/* Chained Rosenbrock: sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, minimum 0 at all ones. */
double rosenbrock(const float *x, float *grad, size_t n, const void *data);

/* scale * (0.5 x'Ax - b'x) with A tridiagonal: diag[i] on the diagonal,
 * `off` beside it.  SPD when diag[i] > 2 |off|. */
typedef struct quadratic {
    const double *diag;
    double off;
    const double *b;
    double scale;
} quadratic;
double quadratic_value(const float *x, float *grad, size_t n, const void *data);

typedef struct probe {
    objective_value_fn fn;
    const void *data;
    size_t n;
    float lower, upper;
    long calls;
    long outside;   /* evaluations at a point outside [lower, upper] or non-finite */
    long cancel_at; /* this call (1-based) returns NST_ERR_CANCELLED; 0 = never */
    /* Where the objective fails: a NaN in the value, or with
     * nan_in_gradient_only in one gradient entry, at every call (NAN_ALWAYS)
     * or when some coordinate moved more than nan_step_limit since the last
     * finite call (NAN_LONG_STEPS; `previous` holds n floats for that). */
    enum { NAN_NEVER, NAN_ALWAYS, NAN_LONG_STEPS } nan_mode;
    int nan_in_gradient_only;
    double nan_step_limit;
    float *previous;
    int have_previous;
    long nan_calls; /* how many evaluations returned a NaN */
    /* When set: the point of call record_call is copied here. */
    float *record;
    long record_call;
} probe;

void probe_init(probe *p, objective_value_fn fn, const void *data, size_t n, float lower, float upper);
/* The nst_minimized_fn to hand to the optimisers, with a probe as user data. */
nst_status probe_objective(const float *x, float *grad, double *value, void *user_data, nst_error *err);

int all_finite(const float *x, size_t n);
int inside_box(const float *x, size_t n, float lower, float upper);
double max_abs_diff_to(const float *x, double target, size_t n);

#endif
