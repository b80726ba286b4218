/* Adam: convergence to the box-projected optimum with exact clamping, a
 * non-finite gradient rejected without touching x or the moments, reset,
 * determinism. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "objectives.h"
#include "optim/optim.h"
#include "test_util.h"

enum { n = 32 };

/* Separable: sum (x[i] - target[i])^2 as 0.5 x'Ax - b'x with A = 2I, b = 2 target. */
typedef struct separable {
    double diag[n];
    double b[n];
    quadratic q;
} separable;

/* Targets spread over [-0.5, 1.5]: a quarter below the box, a quarter above.
 * The probe evaluates it in the box [0, 1]. */
static void separable_init(separable *s, probe *p)
{
    for (int i = 0; i < n; i++) {
        double target = -0.5 + 2.0 * i / (n - 1);
        s->diag[i] = 2.0;
        s->b[i] = 2.0 * target;
    }
    s->q = (quadratic){.diag = s->diag, .off = 0.0, .b = s->b, .scale = 1.0};
    probe_init(p, quadratic_value, &s->q, n, 0.0f, 1.0f);
}

static double separable_target(const separable *s, int i)
{
    return s->b[i] / s->diag[i];
}

static nst_status run_adam(nst_adam *opt, float *x, probe *p, int steps, nst_error *err)
{
    for (int k = 0; k < steps; k++) {
        nst_status status = nst_adam_step(opt, x, probe_objective, p, err);
        if (status != NST_OK)
            return status;
    }
    return NST_OK;
}

static void test_converges_and_clamps(void)
{
    nst_error err = {0};
    separable s;
    probe p;
    separable_init(&s, &p);
    float x[n];
    test_fill_uniform(x, n, 5, 0.0f, 1.0f);
    nst_adam *opt = nst_adam_new(n, 0.02, 0.0f, 1.0f, &err);
    CHECK(opt != NULL, "%s", err.message);
    nst_status status = run_adam(opt, x, &p, 1500, &err);
    nst_adam_set_learning_rate(opt, 0.001); /* settle the oscillation around the optimum */
    if (status == NST_OK)
        status = run_adam(opt, x, &p, 1500, &err);
    CHECK(status == NST_OK, "%s", err.message);
    CHECK(p.outside == 0, "%ld evaluations outside the box", p.outside);
    int exact = 1, on_bound = 0;
    double worst = 0.0;
    for (int i = 0; i < n; i++) {
        double target = separable_target(&s, i);
        double expected = fmin(1.0, fmax(0.0, target));
        if (target < 0.0 || target > 1.0) {
            on_bound++;
            exact &= x[i] == (float)expected;
        }
        worst = fmax(worst, fabs(x[i] - expected));
    }
    CHECK(on_bound >= 8, "too few targets outside the box: %d", on_bound);
    CHECK(exact, "coordinates with a target outside the box are not exactly on the bound");
    CHECK(worst <= 1e-4, "max |x - clamp(target)| = %g", worst);
    printf("adam: max |x - clamp(target)| = %.3g after 3000 steps\n", worst);
    nst_adam_free(opt);
}

/* The value reported is f at the x the step started from. */
static void test_value(void)
{
    nst_error err = {0};
    separable s;
    probe p;
    separable_init(&s, &p);
    float x[n], grad[n];
    test_fill_uniform(x, n, 6, 0.0f, 1.0f);
    double start_value = quadratic_value(x, grad, n, &s.q);
    nst_adam *opt = nst_adam_new(n, 0.01, 0.0f, 1.0f, &err);
    CHECK(isnan(nst_adam_value(opt)), "a value before any step");
    nst_adam_step(opt, x, probe_objective, &p, &err);
    CHECK(nst_adam_value(opt) == start_value, "value %g, expected %g", nst_adam_value(opt), start_value);
    nst_adam_free(opt);
}

/* With bias correction the first update is lr * g / |g| (Kingma & Ba 2015,
 * section 2.1: the effective step is bounded by lr, and equal to it when the
 * gradient is the same at every step so far). */
static void test_first_step_is_learning_rate(void)
{
    nst_error err = {0};
    separable s;
    probe p;
    separable_init(&s, &p);
    float x[n], start[n];
    for (int i = 0; i < n; i++)
        x[i] = start[i] = 0.5f;
    const double lr = 0.01;
    nst_adam *opt = nst_adam_new(n, lr, 0.0f, 1.0f, &err);
    nst_adam_step(opt, x, probe_objective, &p, &err);
    double worst = 0.0;
    for (int i = 0; i < n; i++) {
        double target = separable_target(&s, i);
        double expected = start[i] + (target > start[i] ? lr : -lr);
        worst = fmax(worst, fabs(x[i] - expected));
    }
    CHECK(worst <= 1e-6, "first step differs from lr by %g", worst);
    nst_adam_free(opt);
}

/* A rejected step leaves x and the moments alone: afterwards the run matches
 * one that never saw the bad gradient, byte for byte.  Then reset makes the
 * optimiser behave like a fresh one. */
static void test_nonfinite_and_reset(int nan_in_gradient_only)
{
    nst_error err = {0};
    separable s;
    probe p;
    separable_init(&s, &p);
    float clean[n], hit[n], before[n];
    test_fill_uniform(clean, n, 9, 0.0f, 1.0f);
    memcpy(hit, clean, sizeof clean);
    nst_adam *clean_opt = nst_adam_new(n, 0.05, 0.0f, 1.0f, &err);
    nst_adam *hit_opt = nst_adam_new(n, 0.05, 0.0f, 1.0f, &err);
    run_adam(clean_opt, clean, &p, 10, &err);
    run_adam(hit_opt, hit, &p, 10, &err);

    memcpy(before, hit, sizeof hit);
    p.nan_mode = NAN_ALWAYS;
    p.nan_in_gradient_only = nan_in_gradient_only;
    nst_status status = nst_adam_step(hit_opt, hit, probe_objective, &p, &err);
    CHECK(status == NST_ERR_NUMERIC && err.code == NST_ERR_NUMERIC && strlen(err.message) > 0, "status %d",
          status);
    CHECK(memcmp(hit, before, sizeof hit) == 0, "x changed by a rejected step");
    p.nan_mode = NAN_NEVER;
    run_adam(clean_opt, clean, &p, 10, &err);
    run_adam(hit_opt, hit, &p, 10, &err);
    CHECK(memcmp(hit, clean, sizeof hit) == 0, "the rejected step changed the moments");

    nst_adam *fresh_opt = nst_adam_new(n, 0.05, 0.0f, 1.0f, &err);
    nst_adam_reset(hit_opt);
    run_adam(fresh_opt, clean, &p, 3, &err);
    run_adam(hit_opt, hit, &p, 3, &err);
    CHECK(memcmp(hit, clean, sizeof hit) == 0, "reset did not forget the moments");
    nst_adam_free(clean_opt);
    nst_adam_free(hit_opt);
    nst_adam_free(fresh_opt);
}

static void test_cancel(void)
{
    nst_error err = {0};
    separable s;
    probe p;
    separable_init(&s, &p);
    float x[n], before[n];
    test_fill_uniform(x, n, 4, 0.0f, 1.0f);
    p.cancel_at = 3;
    nst_adam *opt = nst_adam_new(n, 0.05, 0.0f, 1.0f, &err);
    run_adam(opt, x, &p, 2, &err);
    memcpy(before, x, sizeof x);
    nst_status status = nst_adam_step(opt, x, probe_objective, &p, &err);
    CHECK(status == NST_ERR_CANCELLED && memcmp(x, before, sizeof x) == 0, "status %d", status);
    nst_adam_free(opt);
}

static void test_determinism(void)
{
    nst_error err = {0};
    separable s;
    probe p;
    separable_init(&s, &p);
    float x[2][n];
    for (int run = 0; run < 2; run++) {
        test_fill_uniform(x[run], n, 8, 0.0f, 1.0f);
        nst_adam *opt = nst_adam_new(n, 0.03, 0.0f, 1.0f, &err);
        run_adam(opt, x[run], &p, 200, &err);
        nst_adam_free(opt);
    }
    CHECK(memcmp(x[0], x[1], sizeof x[0]) == 0, "x differs between runs");
}

static void test_invalid_arguments(void)
{
    nst_error err = {0};
    CHECK(nst_adam_new(0, 0.01, 0.0f, 1.0f, &err) == NULL && err.code == NST_ERR_INVALID, "n = 0 accepted");
    CHECK(nst_adam_new(4, 0.0, 0.0f, 1.0f, &err) == NULL && err.code == NST_ERR_INVALID, "lr 0 accepted");
    CHECK(nst_adam_new(4, NAN, 0.0f, 1.0f, &err) == NULL && err.code == NST_ERR_INVALID, "lr NaN accepted");
    CHECK(nst_adam_new(4, 0.01, 2.0f, 1.0f, &err) == NULL && err.code == NST_ERR_INVALID, "empty box accepted");
    CHECK(nst_adam_new((size_t)-1 / 2, 0.01, 0.0f, 1.0f, &err) == NULL && err.code == NST_ERR_NOMEM,
          "a huge n did not fail with NOMEM (code %d)", err.code);
    nst_adam_free(NULL);
}

int main(void)
{
    test_converges_and_clamps();
    test_value();
    test_first_step_is_learning_rate();
    test_nonfinite_and_reset(0);
    test_nonfinite_and_reset(1);
    test_cancel();
    test_determinism();
    test_invalid_arguments();
    return test_finish("test_adam");
}
