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
 * Vectors of length n are floats (n can be 3*4096*4096); every dot product
 * accumulates in double.  The two-loop recursion, most of a step's own time,
 * runs on the worker pool over fixed blocks whose partial sums are added in
 * block order: the same inputs give the same bytes on any number of workers. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/parallel.h"
#include "optim/box.h"
#include "optim/optim.h"

#define LBFGS_WHO "L-BFGS"
#define LBFGS_MAX_HISTORY 1000
/* Elements per block of the two-loop recursion's passes. */
#define LBFGS_BLOCK 16384
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
    size_t n;
    int history;
    float lower, upper;

    double value;   /* f at the accepted point */
    float *grad;    /* gradient at the accepted point */
    int have_value; /* value and grad belong to the x whose hash is x_hash */
    uint64_t x_hash;

    float *dir;
    unsigned char *held; /* 1 where x sits on a bound that g pushes against */
    float *trial_x;
    float *trial_grad;
    double trial_value;

    float **s; /* ring of curvature pairs; `newest` is the last one written */
    float **y;
    double *rho;   /* 1 / (s.y) on the free variables; 0 = pair unusable now */
    double *alpha; /* two-loop scratch */
    double *partial; /* two-loop scratch: three sums per block */
    int n_pairs;
    int newest;
};

/* Detects a caller that changed x between steps without a reset, so a stale
 * gradient is never used.  Four FNV-1a lanes keep the loop fast. */
static uint64_t hash_vector(const float *x, size_t n)
{
    const uint64_t prime = 0x100000001b3ULL;
    uint64_t lane[4] = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL, 0x9e3779b97f4a7c15ULL, 0x7f4a7c159e3779b9ULL};
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        lane[i & 3] = (lane[i & 3] ^ bits) * prime;
    }
    uint64_t h = (uint64_t)n;
    for (int k = 0; k < 4; k++)
        h = (h ^ lane[k]) * prime;
    return h;
}

static int is_held(float x, float g, float lower, float upper)
{
    return (x <= lower && g > 0.0f) || (x >= upper && g < 0.0f);
}

nst_lbfgs *nst_lbfgs_new(size_t n, int history, float lower, float upper, nst_error *err)
{
    if (nst_box_validate(n, lower, upper, LBFGS_WHO, err) != NST_OK)
        return NULL;
    if (history < 1 || history > LBFGS_MAX_HISTORY) {
        nst_error_set(err, NST_ERR_INVALID, "L-BFGS: history %d is outside [1, %d]", history, LBFGS_MAX_HISTORY);
        return NULL;
    }
    nst_lbfgs *opt = nst_alloc_zero(1, sizeof *opt, "the L-BFGS state", err);
    if (!opt)
        return NULL;
    opt->n = n;
    opt->history = history;
    opt->lower = lower;
    opt->upper = upper;
    opt->grad = nst_box_vector_new(n, "the L-BFGS gradient", err);
    opt->dir = opt->grad ? nst_box_vector_new(n, "the L-BFGS direction", err) : NULL;
    opt->held = opt->dir ? nst_alloc_zero(n, 1, "the L-BFGS active set", err) : NULL;
    opt->trial_x = opt->held ? nst_box_vector_new(n, "the L-BFGS trial point", err) : NULL;
    opt->trial_grad = opt->trial_x ? nst_box_vector_new(n, "the L-BFGS trial gradient", err) : NULL;
    opt->s = opt->trial_grad ? nst_alloc_zero((size_t)history, sizeof *opt->s, "the L-BFGS history", err) : NULL;
    opt->y = opt->s ? nst_alloc_zero((size_t)history, sizeof *opt->y, "the L-BFGS history", err) : NULL;
    opt->rho = opt->y ? nst_alloc_zero((size_t)history, sizeof *opt->rho, "the L-BFGS history", err) : NULL;
    opt->alpha = opt->rho ? nst_alloc_zero((size_t)history, sizeof *opt->alpha, "the L-BFGS history", err) : NULL;
    opt->partial = opt->alpha ? nst_alloc_zero(3 * (n / LBFGS_BLOCK + 1), sizeof *opt->partial, "L-BFGS sums", err)
                              : NULL;
    if (!opt->partial) {
        nst_lbfgs_free(opt);
        return NULL;
    }
    for (int k = 0; k < history; k++) {
        opt->s[k] = nst_box_vector_new(n, "an L-BFGS history pair", err);
        opt->y[k] = opt->s[k] ? nst_box_vector_new(n, "an L-BFGS history pair", err) : NULL;
        if (!opt->y[k]) {
            nst_lbfgs_free(opt);
            return NULL;
        }
    }
    nst_lbfgs_reset(opt);
    return opt;
}

void nst_lbfgs_free(nst_lbfgs *opt)
{
    if (!opt)
        return;
    for (int k = 0; opt->s && opt->y && k < opt->history; k++) {
        free(opt->s[k]);
        free(opt->y[k]);
    }
    free(opt->s);
    free(opt->y);
    free(opt->rho);
    free(opt->alpha);
    free(opt->partial);
    free(opt->grad);
    free(opt->dir);
    free(opt->held);
    free(opt->trial_x);
    free(opt->trial_grad);
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

/* Evaluates f at P(x) (x itself when the caller kept it in the box) and makes
 * that the accepted point.  x is written only once the value is known to be
 * finite, so a failure leaves it untouched. */
static nst_status evaluate_start(nst_lbfgs *opt, float *x, nst_minimized_fn f, void *user_data, nst_error *err)
{
    opt->have_value = 0;
    size_t bad = nst_box_first_nonfinite(x, opt->n);
    if (bad < opt->n)
        return nst_error_set(err, NST_ERR_INVALID, "L-BFGS: x[%zu] is %g at the start of a step", bad,
                             (double)x[bad]);
    for (size_t i = 0; i < opt->n; i++)
        opt->trial_x[i] = nst_box_project(x[i], opt->lower, opt->upper);
    double value = NAN;
    nst_status status = f(opt->trial_x, opt->grad, &value, user_data, err);
    if (status != NST_OK)
        return status;
    status = nst_box_check_start(value, opt->grad, opt->n, LBFGS_WHO, err);
    if (status != NST_OK)
        return status;
    memcpy(x, opt->trial_x, opt->n * sizeof *x);
    opt->value = value;
    opt->have_value = 1;
    opt->x_hash = hash_vector(x, opt->n);
    return NST_OK;
}

/* Marks the held variables; dir = -g on the free ones, 0 on the held ones.
 * Returns max |dir|. */
static double steepest_direction(nst_lbfgs *opt, const float *x)
{
    double largest = 0.0;
    for (size_t i = 0; i < opt->n; i++) {
        float g = opt->grad[i];
        unsigned char held = (unsigned char)is_held(x[i], g, opt->lower, opt->upper);
        opt->held[i] = held;
        opt->dir[i] = held ? 0.0f : -g;
        if (!held)
            largest = fmax(largest, fabs((double)g));
    }
    return largest;
}

static int ring_index(const nst_lbfgs *opt, int age)
{
    return (opt->newest - age + opt->history) % opt->history;
}

/* One pass of the two-loop recursion over the vector q = opt->dir. */
typedef enum pass_kind {
    PASS_FREE_DOTS, /* sums s.y, y.y, s.q over the free variables */
    PASS_FREE_AXPY, /* q += coef v on the free variables */
    PASS_DOT,       /* sums v.q (q is 0 on the held variables) */
    PASS_SCALE,     /* q *= coef */
} pass_kind;

typedef struct two_loop_pass {
    nst_lbfgs *opt;
    pass_kind kind;
    const float *s, *v; /* v: y, or the axpy's vector */
    double coef;
} two_loop_pass;

static void run_block(void *ctx, int block, int worker)
{
    (void)worker;
    const two_loop_pass *p = ctx;
    const unsigned char *held = p->opt->held;
    float *q = p->opt->dir;
    const float *s = p->s, *v = p->v;
    size_t begin = (size_t)block * LBFGS_BLOCK, end = begin + LBFGS_BLOCK < p->opt->n ? begin + LBFGS_BLOCK : p->opt->n;
    double a = 0.0, b = 0.0, c = 0.0;
    switch (p->kind) {
    case PASS_FREE_DOTS:
        for (size_t i = begin; i < end; i++) {
            if (held[i])
                continue;
            a += (double)s[i] * v[i];
            b += (double)v[i] * v[i];
            c += (double)s[i] * q[i];
        }
        break;
    case PASS_FREE_AXPY:
        for (size_t i = begin; i < end; i++)
            if (!held[i])
                q[i] = (float)(q[i] + p->coef * v[i]);
        break;
    case PASS_DOT:
        for (size_t i = begin; i < end; i++)
            a += (double)v[i] * q[i];
        break;
    case PASS_SCALE:
        for (size_t i = begin; i < end; i++)
            q[i] = (float)(p->coef * q[i]);
        break;
    }
    double *sums = p->opt->partial + 3 * (size_t)block;
    sums[0] = a, sums[1] = b, sums[2] = c;
}

/* Runs one pass; sums (may be NULL) receives its three totals. */
static void two_loop_run(nst_lbfgs *opt, pass_kind kind, const float *s, const float *v, double coef, double sums[3])
{
    two_loop_pass p = {opt, kind, s, v, coef};
    int blocks = (int)((opt->n + LBFGS_BLOCK - 1) / LBFGS_BLOCK);
    nst_parallel_for(blocks, run_block, &p);
    if (!sums)
        return;
    sums[0] = sums[1] = sums[2] = 0.0;
    for (int b = 0; b < blocks; b++)
        for (int k = 0; k < 3; k++)
            sums[k] += opt->partial[3 * (size_t)b + k];
}

/* The two-loop recursion on the free variables, starting from dir = -g there
 * (after steepest_direction).  Pairs whose curvature on the free set is not
 * positive are skipped for this step.  Leaves -H g in dir and returns how
 * many pairs it used. */
static int history_direction(nst_lbfgs *opt)
{
    /* dir holds -g (0 where held); the recursion turns q = +g into H g */
    two_loop_run(opt, PASS_SCALE, NULL, NULL, -1.0, NULL);
    double gamma = 1.0;
    int used = 0;
    for (int age = 0; age < opt->n_pairs; age++) {
        int k = ring_index(opt, age);
        double sums[3]; /* s.y, y.y, s.q */
        two_loop_run(opt, PASS_FREE_DOTS, opt->s[k], opt->y[k], 0.0, sums);
        double sy = sums[0], yy = sums[1];
        opt->rho[k] = 0.0;
        if (!(sy > curvature_eps * yy) || !isfinite(sy) || !isfinite(yy))
            continue;
        opt->rho[k] = 1.0 / sy;
        opt->alpha[k] = opt->rho[k] * sums[2];
        if (used++ == 0)
            gamma = sy / yy;
        two_loop_run(opt, PASS_FREE_AXPY, NULL, opt->y[k], -opt->alpha[k], NULL);
    }
    two_loop_run(opt, PASS_SCALE, NULL, NULL, gamma, NULL);
    for (int age = opt->n_pairs - 1; age >= 0; age--) {
        int k = ring_index(opt, age);
        if (opt->rho[k] == 0.0)
            continue;
        double sums[3];
        two_loop_run(opt, PASS_DOT, NULL, opt->y[k], 0.0, sums);
        two_loop_run(opt, PASS_FREE_AXPY, NULL, opt->s[k], opt->alpha[k] - opt->rho[k] * sums[0], NULL);
    }
    two_loop_run(opt, PASS_SCALE, NULL, NULL, -1.0, NULL);
    return used;
}

static double directional_derivative(const nst_lbfgs *opt)
{
    double gd = 0.0;
    for (size_t i = 0; i < opt->n; i++)
        gd += (double)opt->grad[i] * opt->dir[i];
    return gd;
}

/* trial_x = P(x + t dir).  Returns how many variables moved and stores the
 * predicted change g.(trial_x - x) in *slope. */
static size_t project_trial(nst_lbfgs *opt, const float *x, double t, double *slope)
{
    size_t moved = 0;
    double change = 0.0;
    for (size_t i = 0; i < opt->n; i++) {
        float vf = nst_box_project((double)x[i] + t * opt->dir[i], opt->lower, opt->upper);
        opt->trial_x[i] = vf;
        if (vf != x[i]) {
            moved++;
            change += (double)opt->grad[i] * ((double)vf - x[i]);
        }
    }
    *slope = change;
    return moved;
}

/* Safeguarded minimiser of the quadratic through f(0), the slope and f(t),
 * as a factor of t in [0.1, 0.5]. */
static double backtrack_factor(double f0, double slope, double ft)
{
    double curvature = ft - f0 - slope;
    double factor = curvature > 0.0 ? -slope / (2.0 * curvature) : 0.5;
    return factor < 0.1 ? 0.1 : (factor > 0.5 ? 0.5 : factor);
}

/* Backtracking along the projected path.  *accepted says whether trial_x,
 * trial_grad and trial_value hold a point with sufficient decrease.  A
 * non-finite value or gradient is a failed trial; an error from f is
 * returned as it is. */
static nst_status line_search(nst_lbfgs *opt, const float *x, double t, nst_minimized_fn f, void *user_data,
                              int *accepted, nst_error *err)
{
    *accepted = 0;
    for (int trial = 0; trial < LBFGS_MAX_TRIALS; trial++) {
        double slope;
        if (project_trial(opt, x, t, &slope) == 0)
            return NST_OK; /* the step fell below float resolution */
        if (!(slope < 0.0)) {
            t *= 0.5; /* the projection bent the step uphill: no evaluation */
            continue;
        }
        if (-slope <= value_resolution * fabs(opt->value))
            return NST_OK; /* shorter steps cannot decrease f measurably */
        double value = NAN;
        nst_status status = f(opt->trial_x, opt->trial_grad, &value, user_data, err);
        if (status != NST_OK)
            return status;
        int finite = isfinite(value) && nst_box_first_nonfinite(opt->trial_grad, opt->n) == opt->n;
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
static void accept_trial(nst_lbfgs *opt, float *x)
{
    const size_t n = opt->n;
    double sy = 0.0, yy = 0.0;
    for (size_t i = 0; i < n; i++) {
        double s = (double)opt->trial_x[i] - x[i];
        double y = (double)opt->trial_grad[i] - opt->grad[i];
        sy += s * y;
        yy += y * y;
    }
    if (has_curvature(sy, yy)) {
        int k = next_slot(opt);
        for (size_t i = 0; i < n; i++) {
            opt->s[k][i] = (float)((double)opt->trial_x[i] - x[i]);
            opt->y[k][i] = (float)((double)opt->trial_grad[i] - opt->grad[i]);
        }
        push_pair(opt);
    }
    memcpy(x, opt->trial_x, n * sizeof *x);
    float *swap = opt->grad;
    opt->grad = opt->trial_grad;
    opt->trial_grad = swap;
    opt->value = opt->trial_value;
    opt->x_hash = hash_vector(x, n);
}

/* Line search along -g from a step that moves the steepest variable by a
 * fraction of the box. */
static nst_status steepest_search(nst_lbfgs *opt, const float *x, double largest, nst_minimized_fn f,
                                  void *user_data, int *accepted, nst_error *err)
{
    double width = (double)opt->upper - opt->lower;
    double move = fmin(first_move_fraction * width, first_move_cap);
    return line_search(opt, x, move / largest, f, user_data, accepted, err);
}

nst_status nst_lbfgs_step(nst_lbfgs *opt, float *x, nst_minimized_fn f, void *user_data, int *converged,
                          nst_error *err)
{
    if (!opt || !x || !f || !converged)
        return nst_error_set(err, NST_ERR_INVALID, "L-BFGS: step called with a NULL argument");
    *converged = 0;
    nst_status status;
    if (!opt->have_value || hash_vector(x, opt->n) != opt->x_hash) {
        status = evaluate_start(opt, x, f, user_data, err);
        if (status != NST_OK)
            return status;
    }
    double largest = steepest_direction(opt, x);
    if (largest == 0.0) {
        *converged = 1; /* the projected gradient vanishes: a KKT point */
        return NST_OK;
    }
    int accepted = 0;
    int used = opt->n_pairs > 0 ? history_direction(opt) : 0;
    double gd = used > 0 ? directional_derivative(opt) : 0.0;
    if (used > 0 && gd < 0.0 && isfinite(gd)) {
        status = line_search(opt, x, 1.0, f, user_data, &accepted, err);
        if (status != NST_OK)
            return status;
        if (!accepted) /* the history misleads: forget it and go downhill */
            largest = steepest_direction(opt, x);
    } else if (used > 0) {
        largest = steepest_direction(opt, x); /* not a descent direction */
    }
    if (!accepted) {
        forget_history(opt);
        status = steepest_search(opt, x, largest, f, user_data, &accepted, err);
        if (status != NST_OK)
            return status;
    }
    if (!accepted) {
        *converged = 1; /* not even -g decreases f measurably */
        return NST_OK;
    }
    accept_trial(opt, x);
    return NST_OK;
}

int nst_lbfgs_pair_count(const nst_lbfgs *opt)
{
    return opt ? opt->n_pairs : 0;
}

void nst_lbfgs_get_pair(const nst_lbfgs *opt, int index, const float **s, const float **y)
{
    int k = ring_index(opt, opt->n_pairs - 1 - index);
    *s = opt->s[k];
    *y = opt->y[k];
}

nst_status nst_lbfgs_new_pair(nst_lbfgs *opt, float **s, float **y, nst_error *err)
{
    if (opt->n_pairs >= opt->history)
        return nst_error_set(err, NST_ERR_INVALID, "L-BFGS: no room for another pair (history %d)", opt->history);
    *s = opt->s[next_slot(opt)];
    *y = opt->y[next_slot(opt)];
    return NST_OK;
}

int nst_lbfgs_add_pair(nst_lbfgs *opt)
{
    const float *s = opt->s[next_slot(opt)], *y = opt->y[next_slot(opt)];
    double sy = 0.0, yy = 0.0;
    for (size_t i = 0; i < opt->n; i++) {
        sy += (double)s[i] * y[i];
        yy += (double)y[i] * y[i];
    }
    if (!has_curvature(sy, yy))
        return 0;
    push_pair(opt);
    return 1;
}
