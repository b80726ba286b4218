/* Projected L-BFGS for x inside the box [lower, upper].
 *
 * A variable sitting on a bound whose gradient pushes it outwards is "held":
 * the two-loop recursion runs on the other ("free") variables only, so the
 * curvature of held pixels does not bend the direction of the free ones.  The
 * line search walks the projected path x(t) = P(x + t d) and accepts the
 * first trial with Armijo decrease measured on the projected step, so every
 * point ever evaluated lies inside the box.
 *
 * Evaluations are expensive (seconds each), so the search starts at t = 1
 * once there is curvature history and normally costs one evaluation; the
 * value and gradient at the accepted point are kept for the next step.
 *
 * Vectors of length n are floats (n can be 3*4096*4096), held by a vector
 * backend (optim/vectors.h): on the host, or on the device the objective
 * runs on, where only scalars come back to this file's decisions. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/error.h"
#include "optim/box.h"
#include "optim/optim.h"
#include "optim/vectors.h"

#define LBFGS_WHO "L-BFGS"
#define LBFGS_MAX_HISTORY 1000
/* Trials per line search; each costs one evaluation. */
#define LBFGS_MAX_TRIALS 10

static const double armijo_c1 = 1e-4;
/* A pair (s, y) is kept only when s.y > eps |y|^2: otherwise it carries no
 * positive curvature and would break the positive definiteness of H. */
static const double curvature_eps = 1e-10;
/* Without history the direction is -g, whose length says nothing about a
 * good step: the first trial moves the variable with the largest gradient by
 * this fraction of the box width (at most by first_move_cap). */
static const double first_move_fraction = 0.1;
static const double first_move_cap = 1.0;
/* A predicted decrease below this fraction of |f| is lost in the rounding of
 * f itself: no trial is evaluated for it. */
static const double value_resolution = 8.0 * DBL_EPSILON;

struct nst_lbfgs {
    nst_vectors *vec; /* X, GRAD (at the accepted point), DIR, the trial and the pairs */
    size_t n;
    int history;
    float lower, upper;

    double value;   /* f at the accepted point */
    int have_value; /* value and GRAD belong to the X whose stamp is x_stamp */
    uint64_t x_stamp;
    double trial_value;

    double *rho;   /* 1 / (s.y) on the free variables; 0 = pair unusable now */
    double *alpha; /* two-loop scratch */
    int n_pairs;
    int newest; /* ring slot of the last pair written */
};

static int s_id(int slot)
{
    return NST_VEC_PAIRS + 2 * slot;
}

static int y_id(int slot)
{
    return NST_VEC_PAIRS + 2 * slot + 1;
}

static nst_status check_history(int history, nst_error *err)
{
    if (history < 1 || history > LBFGS_MAX_HISTORY)
        return nst_error_set(err, NST_ERR_INVALID, "L-BFGS: history %d is outside [1, %d]", history,
                             LBFGS_MAX_HISTORY);
    return NST_OK;
}

nst_lbfgs *nst_lbfgs_new_on(nst_vectors *vec, nst_error *err)
{
    if (!vec)
        return NULL;
    nst_lbfgs *opt = nst_alloc_zero(1, sizeof *opt, "the L-BFGS state", err);
    if (!opt) {
        nst_vectors_free(vec);
        return NULL;
    }
    opt->vec = vec;
    opt->n = vec->n;
    opt->history = vec->pairs;
    opt->lower = vec->lower;
    opt->upper = vec->upper;
    opt->rho = nst_alloc_zero((size_t)opt->history, sizeof *opt->rho, "the L-BFGS history", err);
    opt->alpha = opt->rho ? nst_alloc_zero((size_t)opt->history, sizeof *opt->alpha, "the L-BFGS history", err)
                          : NULL;
    if (!opt->alpha) {
        nst_lbfgs_free(opt);
        return NULL;
    }
    nst_lbfgs_reset(opt);
    return opt;
}

nst_lbfgs *nst_lbfgs_new(size_t n, int history, float lower, float upper, nst_error *err)
{
    if (nst_box_validate(n, lower, upper, LBFGS_WHO, err) != NST_OK || check_history(history, err) != NST_OK)
        return NULL;
    return nst_lbfgs_new_on(nst_vectors_new_host(n, lower, upper, NST_VECS_LBFGS, history, err), err);
}

nst_status nst_lbfgs_check_args(size_t n, int history, float lower, float upper, nst_error *err)
{
    nst_status s = nst_box_validate(n, lower, upper, LBFGS_WHO, err);
    return s == NST_OK ? check_history(history, err) : s;
}

void nst_lbfgs_free(nst_lbfgs *opt)
{
    if (!opt)
        return;
    nst_vectors_free(opt->vec);
    free(opt->rho);
    free(opt->alpha);
    free(opt);
}

static void forget_history(nst_lbfgs *opt)
{
    opt->n_pairs = 0;
    opt->newest = opt->history - 1;
}

void nst_lbfgs_reset(nst_lbfgs *opt)
{
    if (!opt)
        return;
    forget_history(opt);
    opt->have_value = 0;
    opt->value = NAN;
}

double nst_lbfgs_value(const nst_lbfgs *opt)
{
    return opt && opt->have_value ? opt->value : NAN;
}

/* f at the trial point (EVAL_X = TRIAL_X) into TRIAL_GRAD: host arrays, or
 * NULL where the backend's device buffers are the objective's own. */
static nst_status evaluate_trial(nst_lbfgs *opt, nst_minimized_fn f, void *user_data, double *value, nst_error *err)
{
    nst_vectors *v = opt->vec;
    return f(v->ops->host(v, NST_VEC_TRIAL_X), v->ops->host(v, NST_VEC_TRIAL_GRAD), value, user_data, err);
}

/* Evaluates f at P(x) (x itself when the caller kept it in the box) and makes
 * that the accepted point.  x is written only once the value is known to be
 * finite, so a failure leaves it untouched. */
static nst_status evaluate_start(nst_lbfgs *opt, nst_minimized_fn f, void *user_data, nst_error *err)
{
    nst_vectors *v = opt->vec;
    opt->have_value = 0;
    size_t bad;
    nst_status status = v->ops->first_nonfinite(v, NST_VEC_X, &bad, err);
    if (status != NST_OK)
        return status;
    if (bad < opt->n) {
        const float *x = v->ops->host(v, NST_VEC_X);
        return nst_error_set(err, NST_ERR_INVALID, "L-BFGS: x[%zu] is %g at the start of a step", bad,
                             x ? (double)x[bad] : NAN);
    }
    status = v->ops->project(v, NST_VEC_TRIAL_X, NST_VEC_X, err);
    double value = NAN;
    if (status == NST_OK)
        status = evaluate_trial(opt, f, user_data, &value, err);
    if (status == NST_OK)
        status = nst_vectors_check_start(v, value, NST_VEC_TRIAL_GRAD, LBFGS_WHO, err);
    if (status == NST_OK)
        status = v->ops->take_trial(v, err);
    if (status != NST_OK)
        return status;
    opt->value = value;
    opt->have_value = 1;
    opt->x_stamp = v->ops->stamp(v);
    return NST_OK;
}

static int ring_index(const nst_lbfgs *opt, int age)
{
    return (opt->newest - age + opt->history) % opt->history;
}

/* The two-loop recursion on the free variables, starting from dir = -g there
 * (after the backend's steepest).  Pairs whose curvature on the free set is
 * not positive are skipped for this step.  Leaves -H g in dir and sets *used
 * to how many pairs it used. */
static nst_status two_loop_direction(nst_lbfgs *opt, int *used, nst_error *err)
{
    nst_vectors *v = opt->vec;
    /* dir holds -g (0 where held); the recursion turns q = +g into H g */
    nst_status status = v->ops->two_loop(v, NST_VEC_SCALE, -1, -1, -1.0, NULL, err);
    double gamma = 1.0;
    *used = 0;
    for (int age = 0; age < opt->n_pairs && status == NST_OK; age++) {
        int k = ring_index(opt, age);
        double sums[3]; /* s.y, y.y, s.q */
        status = v->ops->two_loop(v, NST_VEC_FREE_DOTS, s_id(k), y_id(k), 0.0, sums, err);
        if (status != NST_OK)
            break;
        double sy = sums[0], yy = sums[1];
        opt->rho[k] = 0.0;
        if (!(sy > curvature_eps * yy) || !isfinite(sy) || !isfinite(yy))
            continue;
        opt->rho[k] = 1.0 / sy;
        opt->alpha[k] = opt->rho[k] * sums[2];
        if ((*used)++ == 0)
            gamma = sy / yy;
        status = v->ops->two_loop(v, NST_VEC_FREE_AXPY, -1, y_id(k), -opt->alpha[k], NULL, err);
    }
    if (status == NST_OK)
        status = v->ops->two_loop(v, NST_VEC_SCALE, -1, -1, gamma, NULL, err);
    for (int age = opt->n_pairs - 1; age >= 0 && status == NST_OK; age--) {
        int k = ring_index(opt, age);
        if (opt->rho[k] == 0.0)
            continue;
        double sums[3];
        status = v->ops->two_loop(v, NST_VEC_DOT, -1, y_id(k), 0.0, sums, err);
        if (status == NST_OK)
            status = v->ops->two_loop(v, NST_VEC_FREE_AXPY, -1, s_id(k), opt->alpha[k] - opt->rho[k] * sums[0],
                                      NULL, err);
    }
    return status == NST_OK ? v->ops->two_loop(v, NST_VEC_SCALE, -1, -1, -1.0, NULL, err) : status;
}

/* The history's direction -H g in dir, by the backend's own recursion
 * where it has one; *used = the pairs used, *slope = g.dir (0 when the
 * host's recursion used no pair: the caller then goes downhill anyway). */
static nst_status history_direction(nst_lbfgs *opt, int *used, double *slope, nst_error *err)
{
    nst_vectors *v = opt->vec;
    *slope = 0.0;
    if (v->ops->history) {
        int slots[LBFGS_MAX_HISTORY];
        for (int age = 0; age < opt->n_pairs; age++)
            slots[age] = ring_index(opt, age);
        return v->ops->history(v, slots, opt->n_pairs, curvature_eps, used, slope, err);
    }
    nst_status status = two_loop_direction(opt, used, err);
    return status == NST_OK && *used > 0 ? v->ops->slope(v, slope, err) : status;
}

/* Safeguarded minimiser of the quadratic through f(0), the slope and f(t),
 * as a factor of t in [0.1, 0.5]. */
static double backtrack_factor(double f0, double slope, double ft)
{
    double curvature = ft - f0 - slope;
    double factor = curvature > 0.0 ? -slope / (2.0 * curvature) : 0.5;
    return factor < 0.1 ? 0.1 : (factor > 0.5 ? 0.5 : factor);
}

/* Backtracking along the projected path.  *accepted says whether the trial
 * point, its gradient and trial_value hold a point with sufficient decrease.
 * A non-finite value or gradient is a failed trial; an error from f is
 * returned as it is. */
static nst_status line_search(nst_lbfgs *opt, double t, nst_minimized_fn f, void *user_data, int *accepted,
                              nst_error *err)
{
    nst_vectors *v = opt->vec;
    *accepted = 0;
    for (int trial = 0; trial < LBFGS_MAX_TRIALS; trial++) {
        double slope;
        size_t moved;
        nst_status status = v->ops->project_trial(v, t, &moved, &slope, err);
        if (status != NST_OK)
            return status;
        if (moved == 0)
            return NST_OK; /* the step fell below float resolution */
        if (!(slope < 0.0)) {
            t *= 0.5; /* the projection bent the step uphill: no evaluation */
            continue;
        }
        if (-slope <= value_resolution * fabs(opt->value))
            return NST_OK; /* shorter steps cannot decrease f measurably */
        double value = NAN;
        status = evaluate_trial(opt, f, user_data, &value, err);
        size_t bad = 0;
        if (status == NST_OK && isfinite(value))
            status = v->ops->first_nonfinite(v, NST_VEC_TRIAL_GRAD, &bad, err);
        if (status != NST_OK)
            return status;
        int finite = isfinite(value) && bad == opt->n;
        if (finite && value <= opt->value + armijo_c1 * slope) {
            opt->trial_value = value;
            *accepted = 1;
            return NST_OK;
        }
        t *= finite ? backtrack_factor(opt->value, slope, value) : 0.5;
    }
    return NST_OK;
}

static int has_curvature(double sy, double yy)
{
    return sy > curvature_eps * yy && isfinite(sy) && isfinite(yy);
}

/* The ring slot the next pair goes to (the oldest pair's when full). */
static int next_slot(const nst_lbfgs *opt)
{
    return (opt->newest + 1) % opt->history;
}

/* Makes the next slot the newest pair. */
static void push_pair(nst_lbfgs *opt)
{
    opt->newest = next_slot(opt);
    if (opt->n_pairs < opt->history)
        opt->n_pairs++;
}

/* Makes the accepted trial the new point and records (s, y) when it carries
 * positive curvature. */
static nst_status accept_trial(nst_lbfgs *opt, nst_error *err)
{
    nst_vectors *v = opt->vec;
    double sy = 0.0, yy = 0.0;
    nst_status status = v->ops->trial_pair(v, -1, -1, &sy, &yy, err);
    if (status == NST_OK && has_curvature(sy, yy)) {
        int k = next_slot(opt);
        status = v->ops->trial_pair(v, s_id(k), y_id(k), NULL, NULL, err);
        if (status == NST_OK)
            push_pair(opt);
    }
    if (status == NST_OK)
        status = v->ops->take_trial(v, err);
    if (status != NST_OK)
        return status;
    opt->value = opt->trial_value;
    opt->x_stamp = v->ops->stamp(v);
    return NST_OK;
}

/* Line search along -g from a step that moves the steepest variable by a
 * fraction of the box. */
static nst_status steepest_search(nst_lbfgs *opt, double largest, nst_minimized_fn f, void *user_data,
                                  int *accepted, nst_error *err)
{
    double width = (double)opt->upper - opt->lower;
    double move = fmin(first_move_fraction * width, first_move_cap);
    return line_search(opt, move / largest, f, user_data, accepted, err);
}

/* The step once the accepted point's value and gradient are known. */
static nst_status step_from_accepted(nst_lbfgs *opt, nst_minimized_fn f, void *user_data, int *converged,
                                     nst_error *err)
{
    nst_vectors *v = opt->vec;
    double largest;
    nst_status status = v->ops->steepest(v, &largest, err);
    if (status != NST_OK)
        return status;
    if (largest == 0.0) {
        *converged = 1; /* the projected gradient vanishes: a KKT point */
        return NST_OK;
    }
    int accepted = 0, used = 0;
    double gd = 0.0;
    if (opt->n_pairs > 0)
        status = history_direction(opt, &used, &gd, err);
    if (status == NST_OK && used > 0 && gd < 0.0 && isfinite(gd)) {
        status = line_search(opt, 1.0, f, user_data, &accepted, err);
        if (status == NST_OK && !accepted) /* the history misleads: forget it and go downhill */
            status = v->ops->steepest(v, &largest, err);
    } else if (status == NST_OK && used > 0) {
        status = v->ops->steepest(v, &largest, err); /* not a descent direction */
    }
    if (status == NST_OK && !accepted) {
        forget_history(opt);
        status = steepest_search(opt, largest, f, user_data, &accepted, err);
    }
    if (status != NST_OK)
        return status;
    if (!accepted) {
        *converged = 1; /* not even -g decreases f measurably */
        return NST_OK;
    }
    return accept_trial(opt, err);
}

nst_status nst_lbfgs_step(nst_lbfgs *opt, float *x, nst_minimized_fn f, void *user_data, int *converged,
                          nst_error *err)
{
    if (!opt || !f || !converged || (!x && opt->vec->ops->host(opt->vec, NST_VEC_GRAD)))
        return nst_error_set(err, NST_ERR_INVALID, "L-BFGS: step called with a NULL argument");
    *converged = 0;
    if (x)
        nst_vectors_host_set_x(opt->vec, x);
    if (!opt->have_value || opt->vec->ops->stamp(opt->vec) != opt->x_stamp) {
        nst_status status = evaluate_start(opt, f, user_data, err);
        if (status != NST_OK)
            return status;
    }
    return step_from_accepted(opt, f, user_data, converged, err);
}

int nst_lbfgs_pair_count(const nst_lbfgs *opt)
{
    return opt ? opt->n_pairs : 0;
}

void nst_lbfgs_get_pair(const nst_lbfgs *opt, int index, const float **s, const float **y)
{
    int k = ring_index(opt, opt->n_pairs - 1 - index);
    *s = opt->vec->ops->host(opt->vec, s_id(k));
    *y = opt->vec->ops->host(opt->vec, y_id(k));
}

nst_status nst_lbfgs_read_pair(nst_lbfgs *opt, int index, float *s, float *y, nst_error *err)
{
    int k = ring_index(opt, opt->n_pairs - 1 - index);
    nst_status status = opt->vec->ops->read(opt->vec, s_id(k), s, err);
    return status == NST_OK ? opt->vec->ops->read(opt->vec, y_id(k), y, err) : status;
}

static nst_status check_room(const nst_lbfgs *opt, nst_error *err)
{
    if (opt->n_pairs >= opt->history)
        return nst_error_set(err, NST_ERR_INVALID, "L-BFGS: no room for another pair (history %d)", opt->history);
    return NST_OK;
}

nst_status nst_lbfgs_new_pair(nst_lbfgs *opt, float **s, float **y, nst_error *err)
{
    nst_status status = check_room(opt, err);
    if (status != NST_OK)
        return status;
    *s = opt->vec->ops->host(opt->vec, s_id(next_slot(opt)));
    *y = opt->vec->ops->host(opt->vec, y_id(next_slot(opt)));
    return *s ? NST_OK : nst_error_set(err, NST_ERR_INVALID, "L-BFGS: the pairs are on a device (write_pair)");
}

nst_status nst_lbfgs_write_pair(nst_lbfgs *opt, const float *s, const float *y, nst_error *err)
{
    nst_status status = check_room(opt, err);
    if (status == NST_OK)
        status = opt->vec->ops->write(opt->vec, s_id(next_slot(opt)), s, err);
    return status == NST_OK ? opt->vec->ops->write(opt->vec, y_id(next_slot(opt)), y, err) : status;
}

int nst_lbfgs_add_pair(nst_lbfgs *opt)
{
    int k = next_slot(opt);
    double sy = 0.0, yy = 0.0;
    if (opt->vec->ops->pair_dots(opt->vec, s_id(k), y_id(k), &sy, &yy, NULL) != NST_OK || !has_curvature(sy, yy))
        return 0;
    push_pair(opt);
    return 1;
}

nst_status nst_lbfgs_read_x(nst_lbfgs *opt, float *x, nst_error *err)
{
    return opt->vec->ops->read(opt->vec, NST_VEC_X, x, err);
}

nst_status nst_lbfgs_write_x(nst_lbfgs *opt, const float *x, nst_error *err)
{
    return opt->vec->ops->write(opt->vec, NST_VEC_X, x, err);
}
