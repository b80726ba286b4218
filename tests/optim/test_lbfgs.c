/* Projected L-BFGS: convergence without and with active bounds, the box kept
 * at every evaluation, NaN handling, cancel, reset, determinism, carried
 * curvature pairs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objectives.h"
#include "optim/optim.h"
#include "test_util.h"

typedef struct run_stats {
    int steps;
    long evaluations;
    int converged;
} run_stats;

/* Steps until converged or max_steps; returns the first error. */
static nst_status run_lbfgs(nst_lbfgs *opt, float *x, probe *p, int max_steps, run_stats *stats, nst_error *err)
{
    long calls_before = p->calls;
    memset(stats, 0, sizeof *stats);
    nst_status status = NST_OK;
    while (stats->steps < max_steps && !stats->converged) {
        status = nst_lbfgs_step(opt, x, probe_objective, p, &stats->converged, err);
        if (status != NST_OK)
            break;
        stats->steps++;
    }
    stats->evaluations = p->calls - calls_before;
    return status;
}

static void rosenbrock_start(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = i % 2 == 0 ? -1.2f : 1.0f;
}

/* The optimum is all ones with value 0 (analytic). */
static void test_rosenbrock(size_t n, int history)
{
    nst_error err = {0};
    float *x = malloc(n * sizeof *x);
    rosenbrock_start(x, n);
    probe p;
    probe_init(&p, rosenbrock, NULL, n, -10.0f, 10.0f);
    nst_lbfgs *opt = nst_lbfgs_new(n, history, -10.0f, 10.0f, &err);
    CHECK(opt != NULL, "%s", err.message);
    run_stats stats;
    nst_status status = run_lbfgs(opt, x, &p, 5000, &stats, &err);
    CHECK(status == NST_OK, "%s", err.message);
    CHECK(stats.converged, "rosenbrock-%zu did not stop in %d steps", n, stats.steps);
    double value = nst_lbfgs_value(opt);
    double distance = max_abs_diff_to(x, 1.0, n);
    CHECK(value <= 1e-6 && distance <= 1e-4, "rosenbrock-%zu: f = %g, max |x - 1| = %g", n, value, distance);
    CHECK(p.outside == 0, "%ld evaluations outside the box", p.outside);
    /* The first step also evaluates the start point. */
    double per_step = (double)stats.evaluations / stats.steps;
    printf("rosenbrock-%zu (history %d): %d steps, %ld evaluations, %.3f per step, f = %.3g, max |x - 1| = %.3g\n",
           n, history, stats.steps, stats.evaluations, per_step, value, distance);
    CHECK(per_step < 1.5, "line search too expensive: %.3f evaluations per step", per_step);
    nst_lbfgs_free(opt);
    free(x);
}

/* A tridiagonal SPD quadratic whose unconstrained optimum leaves [0,1] on
 * several coordinates. */
#define BOX_N 40
typedef struct box_problem {
    double diag[BOX_N];
    double b[BOX_N];
    quadratic q;
} box_problem;

static void box_problem_init(box_problem *bp, double phase, double scale)
{
    for (int i = 0; i < BOX_N; i++) {
        bp->diag[i] = 3.0 + i % 4;
        bp->b[i] = 6.0 * sin(0.9 * i + phase) + 1.0;
    }
    bp->q = (quadratic){.diag = bp->diag, .off = -1.0, .b = bp->b, .scale = scale};
}

/* Reference: projected Gauss-Seidel on the box-constrained problem, in
 * double, swept to a fixed point.  An independent algorithm: exact
 * coordinate minimisation, no line search and no quasi-Newton model. */
static void box_reference(const box_problem *bp, double lower, double upper, double *x)
{
    for (int i = 0; i < BOX_N; i++)
        x[i] = 0.5 * (lower + upper);
    for (int sweep = 0; sweep < 20000; sweep++) {
        for (int i = 0; i < BOX_N; i++) {
            double r = bp->b[i];
            if (i > 0)
                r -= bp->q.off * x[i - 1];
            if (i + 1 < BOX_N)
                r -= bp->q.off * x[i + 1];
            x[i] = fmin(upper, fmax(lower, r / bp->diag[i]));
        }
    }
}

/* Checks x against the reference: coordinates the reference puts on a bound
 * sit exactly on it, and the projected gradient vanishes (KKT). */
static void check_box_solution(const box_problem *bp, const float *x, float lower, float upper, const char *what)
{
    double ref[BOX_N];
    box_reference(bp, lower, upper, ref);
    int on_lower = 0, on_upper = 0, exact = 1;
    double worst_error = 0.0;
    for (int i = 0; i < BOX_N; i++) {
        on_lower += ref[i] == lower;
        on_upper += ref[i] == upper;
        if ((ref[i] == lower || ref[i] == upper) && x[i] != (float)ref[i])
            exact = 0;
        worst_error = fmax(worst_error, fabs(x[i] - ref[i]));
    }
    CHECK(on_lower >= 3 && on_upper >= 3, "%s: the problem should have active bounds on both sides (%d, %d)",
          what, on_lower, on_upper);
    CHECK(exact, "%s: coordinates the reference puts on a bound are not exactly on it", what);
    CHECK(worst_error <= 1e-5, "%s: max |x - reference| = %g", what, worst_error);
    float grad[BOX_N];
    quadratic_value(x, grad, BOX_N, &bp->q);
    double worst_kkt = 0.0;
    for (int i = 0; i < BOX_N; i++) {
        double g = grad[i];
        double projected = x[i] <= lower ? fmin(g, 0.0) : (x[i] >= upper ? fmax(g, 0.0) : g);
        worst_kkt = fmax(worst_kkt, fabs(projected) / bp->q.scale);
    }
    CHECK(worst_kkt <= 1e-4, "%s: projected gradient %g", what, worst_kkt);
}

static void test_box_quadratic(void)
{
    nst_error err = {0};
    box_problem bp;
    box_problem_init(&bp, 0.0, 1.0);
    float x[BOX_N];
    test_fill_uniform(x, BOX_N, 7, 0.0f, 1.0f);
    x[0] = 1.7f; /* a start outside the box is projected before the first evaluation */
    x[1] = -0.4f;
    probe p;
    probe_init(&p, quadratic_value, &bp.q, BOX_N, 0.0f, 1.0f);
    nst_lbfgs *opt = nst_lbfgs_new(BOX_N, 5, 0.0f, 1.0f, &err);
    run_stats stats;
    nst_status status = run_lbfgs(opt, x, &p, 500, &stats, &err);
    CHECK(status == NST_OK, "%s", err.message);
    CHECK(stats.converged, "box quadratic did not stop in %d steps", stats.steps);
    CHECK(p.outside == 0, "%ld evaluations outside the box", p.outside);
    CHECK(inside_box(x, BOX_N, 0.0f, 1.0f), "x left the box");
    check_box_solution(&bp, x, 0.0f, 1.0f, "box quadratic");
    printf("box quadratic: %d steps, %ld evaluations\n", stats.steps, stats.evaluations);
    nst_lbfgs_free(opt);
}

/* The objective is NaN (or has a NaN gradient) after a step longer than
 * 0.05 in some coordinate; the start is 1 away from the optimum and the first
 * trial moves by 1, so most first trials fail and decreases must be made of
 * short steps. */
static void test_nan_for_long_steps(int nan_in_gradient_only)
{
    nst_error err = {0};
    box_problem bp;
    box_problem_init(&bp, 1.0, 1.0);
    double optimum[BOX_N];
    box_reference(&bp, -10.0, 10.0, optimum);
    float x[BOX_N], previous[BOX_N];
    for (int i = 0; i < BOX_N; i++)
        x[i] = (float)optimum[i] + (i % 2 ? 1.0f : -1.0f);
    probe p;
    probe_init(&p, quadratic_value, &bp.q, BOX_N, -10.0f, 10.0f);
    p.nan_mode = NAN_LONG_STEPS;
    p.nan_step_limit = 0.05;
    p.previous = previous;
    p.nan_in_gradient_only = nan_in_gradient_only;
    nst_lbfgs *opt = nst_lbfgs_new(BOX_N, 5, -10.0f, 10.0f, &err);
    run_stats stats;
    nst_status status = run_lbfgs(opt, x, &p, 2000, &stats, &err);
    CHECK(status == NST_OK && stats.converged, "%s after %d steps", err.message, stats.steps);
    CHECK(p.nan_calls > 0, "the test never produced a NaN");
    double worst = 0.0;
    for (int i = 0; i < BOX_N; i++)
        worst = fmax(worst, fabs(x[i] - optimum[i]));
    CHECK(all_finite(x, BOX_N) && worst <= 1e-5, "NaN %s: max |x - optimum| = %g",
          nan_in_gradient_only ? "gradient" : "value", worst);
    printf("NaN %s after steps > 0.05: %d steps, %ld evaluations, %ld NaN\n",
           nan_in_gradient_only ? "gradient" : "value", stats.steps, stats.evaluations, p.nan_calls);
    nst_lbfgs_free(opt);
}

static void test_nan_at_start(int nan_in_gradient_only)
{
    nst_error err = {0};
    enum { n = 16 };
    float x[n], before[n], grad[n];
    test_fill_uniform(x, n, 3, 0.0f, 1.0f);
    memcpy(before, x, sizeof x);
    probe p;
    probe_init(&p, rosenbrock, NULL, n, 0.0f, 1.0f);
    p.nan_mode = NAN_ALWAYS;
    p.nan_in_gradient_only = nan_in_gradient_only;
    nst_lbfgs *opt = nst_lbfgs_new(n, 5, 0.0f, 1.0f, &err);
    int converged = 0;
    nst_status status = nst_lbfgs_step(opt, x, probe_objective, &p, &converged, &err);
    CHECK(status == NST_ERR_NUMERIC && err.code == NST_ERR_NUMERIC, "status %d", status);
    CHECK(strlen(err.message) > 0, "no message");
    CHECK(memcmp(x, before, sizeof x) == 0, "x changed");
    CHECK(isnan(nst_lbfgs_value(opt)), "a value after a failed start");
    /* The optimiser stays usable once the objective is fixed. */
    p.nan_mode = NAN_NEVER;
    status = nst_lbfgs_step(opt, x, probe_objective, &p, &converged, &err);
    CHECK(status == NST_OK && nst_lbfgs_value(opt) < rosenbrock(before, grad, n, NULL), "%s", err.message);
    nst_lbfgs_free(opt);
}

static void test_nonfinite_x(void)
{
    nst_error err = {0};
    float x[4] = {0.5f, NAN, 0.5f, 0.5f};
    probe p;
    probe_init(&p, rosenbrock, NULL, 4, 0.0f, 1.0f);
    nst_lbfgs *opt = nst_lbfgs_new(4, 3, 0.0f, 1.0f, &err);
    int converged = 0;
    nst_status status = nst_lbfgs_step(opt, x, probe_objective, &p, &converged, &err);
    CHECK(status == NST_ERR_INVALID && p.calls == 0, "status %d after %ld calls", status, p.calls);
    CHECK(isnan(x[1]) && x[0] == 0.5f, "x changed");
    nst_lbfgs_free(opt);
}

/* Cancel on a given call: the step returns CANCELLED and x is the last
 * accepted point; afterwards the run resumes and still converges. */
static void test_cancel(long cancel_at)
{
    nst_error err = {0};
    enum { n = 100 };
    float x[n], accepted[n];
    rosenbrock_start(x, n);
    memcpy(accepted, x, sizeof x);
    probe p;
    probe_init(&p, rosenbrock, NULL, n, -10.0f, 10.0f);
    p.cancel_at = cancel_at;
    nst_lbfgs *opt = nst_lbfgs_new(n, 10, -10.0f, 10.0f, &err);
    int converged = 0, steps = 0;
    nst_status status = NST_OK;
    while (status == NST_OK && steps < 100) {
        status = nst_lbfgs_step(opt, x, probe_objective, &p, &converged, &err);
        if (status == NST_OK) {
            memcpy(accepted, x, sizeof x);
            steps++;
        }
    }
    CHECK(status == NST_ERR_CANCELLED && err.code == NST_ERR_CANCELLED, "status %d", status);
    CHECK(p.calls == cancel_at, "cancelled on call %ld", p.calls);
    CHECK(memcmp(x, accepted, sizeof x) == 0, "x is not the last accepted point");
    CHECK(all_finite(x, n) && inside_box(x, n, -10.0f, 10.0f), "x is not finite or left the box");
    p.cancel_at = 0;
    run_stats stats;
    status = run_lbfgs(opt, x, &p, 5000, &stats, &err);
    CHECK(status == NST_OK && stats.converged && max_abs_diff_to(x, 1.0, n) <= 1e-3,
          "no convergence after the cancel: %s", err.message);
    nst_lbfgs_free(opt);
}

/* Mid-run the objective changes scale (x1000) and optimum; after a reset the
 * next step evaluates at x again and the run converges to the new optimum. */
static void test_reset(void)
{
    nst_error err = {0};
    box_problem bp;
    box_problem_init(&bp, 0.0, 1.0);
    float x[BOX_N], before[BOX_N], first_point[BOX_N];
    test_fill_uniform(x, BOX_N, 11, 0.0f, 1.0f);
    probe p;
    probe_init(&p, quadratic_value, &bp.q, BOX_N, 0.0f, 1.0f);
    nst_lbfgs *opt = nst_lbfgs_new(BOX_N, 5, 0.0f, 1.0f, &err);
    run_stats stats;
    run_lbfgs(opt, x, &p, 5, &stats, &err);
    CHECK(stats.steps == 5 && !stats.converged, "the first phase should run 5 steps");

    box_problem_init(&bp, 2.0, 1000.0);
    nst_lbfgs_reset(opt);
    CHECK(isnan(nst_lbfgs_value(opt)), "reset kept the value");
    memcpy(before, x, sizeof x);
    p.record = first_point;
    p.record_call = p.calls + 1;
    nst_status status = run_lbfgs(opt, x, &p, 500, &stats, &err);
    CHECK(memcmp(first_point, before, sizeof x) == 0, "the step after a reset did not evaluate at x");
    CHECK(status == NST_OK && stats.converged, "no convergence after reset: %s", err.message);
    check_box_solution(&bp, x, 0.0f, 1.0f, "after reset");
    CHECK(p.outside == 0, "%ld evaluations outside the box", p.outside);
    nst_lbfgs_free(opt);
}

/* A caller that moves x between steps without a reset gets a fresh
 * evaluation, never a stale gradient. */
static void test_caller_moves_x(void)
{
    nst_error err = {0};
    enum { n = 10 };
    float x[n], moved[n], first_point[n];
    rosenbrock_start(x, n);
    probe p;
    probe_init(&p, rosenbrock, NULL, n, -10.0f, 10.0f);
    nst_lbfgs *opt = nst_lbfgs_new(n, 5, -10.0f, 10.0f, &err);
    run_stats stats;
    run_lbfgs(opt, x, &p, 3, &stats, &err);
    x[3] = 0.25f;
    memcpy(moved, x, sizeof x);
    p.record = first_point;
    p.record_call = p.calls + 1;
    int converged = 0;
    float grad[n];
    double moved_value = rosenbrock(moved, grad, n, NULL);
    nst_status status = nst_lbfgs_step(opt, x, probe_objective, &p, &converged, &err);
    CHECK(status == NST_OK && memcmp(first_point, moved, sizeof x) == 0, "the moved x was not re-evaluated");
    CHECK(nst_lbfgs_value(opt) < moved_value, "no decrease from the moved x: %g >= %g", nst_lbfgs_value(opt),
          moved_value);
    nst_lbfgs_free(opt);
}

/* Two runs from the same start give the same bytes. */
static void test_determinism(void)
{
    nst_error err = {0};
    enum { n = 100 };
    float x[2][n];
    double value[2];
    long calls[2];
    for (int run = 0; run < 2; run++) {
        rosenbrock_start(x[run], n);
        probe p;
        probe_init(&p, rosenbrock, NULL, n, -10.0f, 10.0f);
        nst_lbfgs *opt = nst_lbfgs_new(n, 7, -10.0f, 10.0f, &err);
        run_stats stats;
        run_lbfgs(opt, x[run], &p, 60, &stats, &err);
        value[run] = nst_lbfgs_value(opt);
        calls[run] = p.calls;
        nst_lbfgs_free(opt);
    }
    CHECK(memcmp(x[0], x[1], sizeof x[0]) == 0, "x differs between runs");
    CHECK(memcmp(&value[0], &value[1], sizeof value[0]) == 0 && calls[0] == calls[1], "value or calls differ");
}

/* Pairs carried to a fresh optimiser on the same problem make it take the
 * very step the original takes: the carrying loses nothing.  A pair without
 * positive curvature is refused, and a full history has no room. */
static void test_carried_pairs(void)
{
    nst_error err = {0};
    enum { n = 100, history = 7 };
    float x[n], carried_x[n];
    rosenbrock_start(x, n);
    probe p;
    probe_init(&p, rosenbrock, NULL, n, -10.0f, 10.0f);
    nst_lbfgs *original = nst_lbfgs_new(n, history, -10.0f, 10.0f, &err);
    nst_lbfgs *fresh = nst_lbfgs_new(n, history, -10.0f, 10.0f, &err);
    run_stats stats;
    run_lbfgs(original, x, &p, 12, &stats, &err); /* the ring has wrapped */
    CHECK(nst_lbfgs_pair_count(original) == history, "%d pairs after 12 steps", nst_lbfgs_pair_count(original));

    float *s, *y;
    const float *from_s, *from_y;
    nst_status status = nst_lbfgs_new_pair(fresh, &s, &y, &err);
    for (int i = 0; i < n && status == NST_OK; i++)
        s[i] = 1.0f, y[i] = -1.0f;
    CHECK(status == NST_OK && !nst_lbfgs_add_pair(fresh) && nst_lbfgs_pair_count(fresh) == 0,
          "a pair with s.y < 0 was kept");
    for (int k = 0; k < nst_lbfgs_pair_count(original); k++) {
        nst_lbfgs_get_pair(original, k, &from_s, &from_y);
        status = nst_lbfgs_new_pair(fresh, &s, &y, &err);
        CHECK(status == NST_OK, "no room for pair %d: %s", k, err.message);
        if (status != NST_OK)
            break;
        memcpy(s, from_s, n * sizeof *s);
        memcpy(y, from_y, n * sizeof *y);
        CHECK(nst_lbfgs_add_pair(fresh), "carried pair %d refused", k);
    }
    CHECK(nst_lbfgs_pair_count(fresh) == history, "%d pairs carried", nst_lbfgs_pair_count(fresh));
    CHECK(nst_lbfgs_new_pair(fresh, &s, &y, &err) == NST_ERR_INVALID, "a full history offered room");

    memcpy(carried_x, x, sizeof x);
    int converged = 0;
    status = nst_lbfgs_step(original, x, probe_objective, &p, &converged, &err);
    CHECK(status == NST_OK, "%s", err.message);
    status = nst_lbfgs_step(fresh, carried_x, probe_objective, &p, &converged, &err);
    CHECK(status == NST_OK, "%s", err.message);
    CHECK(memcmp(x, carried_x, sizeof x) == 0, "the optimiser with carried pairs stepped elsewhere");
    nst_lbfgs_free(original);
    nst_lbfgs_free(fresh);
}

static void test_invalid_arguments(void)
{
    nst_error err = {0};
    CHECK(nst_lbfgs_new(0, 5, 0.0f, 1.0f, &err) == NULL && err.code == NST_ERR_INVALID, "n = 0 accepted");
    CHECK(nst_lbfgs_new(4, 0, 0.0f, 1.0f, &err) == NULL && err.code == NST_ERR_INVALID, "history 0 accepted");
    CHECK(nst_lbfgs_new(4, 5, 1.0f, 1.0f, &err) == NULL && err.code == NST_ERR_INVALID, "empty box accepted");
    CHECK(nst_lbfgs_new(4, 5, NAN, 1.0f, &err) == NULL && err.code == NST_ERR_INVALID, "NaN bound accepted");
    CHECK(nst_lbfgs_new((size_t)-1 / 2, 5, 0.0f, 1.0f, &err) == NULL && err.code == NST_ERR_NOMEM,
          "a huge n did not fail with NOMEM (code %d)", err.code);
    CHECK(isnan(nst_lbfgs_value(NULL)), "value of NULL");
    nst_lbfgs_free(NULL);
}

int main(void)
{
    test_rosenbrock(2, 5);
    test_rosenbrock(100, 10);
    test_box_quadratic();
    test_nan_for_long_steps(0);
    test_nan_for_long_steps(1);
    test_nan_at_start(0);
    test_nan_at_start(1);
    test_nonfinite_x();
    test_cancel(5);
    test_cancel(1);
    test_reset();
    test_caller_moves_x();
    test_determinism();
    test_carried_pairs();
    test_invalid_arguments();
    return test_finish("test_lbfgs");
}
