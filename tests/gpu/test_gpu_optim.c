/* The optimisers on the device (optim/vectors_gpu.c over gpu/vectors.c)
 * against the host's, the reference: projected L-BFGS and Adam on a chained
 * Rosenbrock function whose box [0, 0.8] holds part of the variables on a
 * bound, step by step (the device sums in float, the host in double).
 * Adam: each step's value within relative 1e-5 and x within 1e-4 of the
 * host's.  L-BFGS: the first 8 steps within 1e-6 and 1e-5, the later ones
 * within 1e-4 and 1e-3: Rosenbrock's curved valley magnifies the float
 * sums' rounding (up to 1.6e-4 in x seen after 17 steps, shrinking again as
 * both converge), while a wrong direction or step differs by far more at
 * once.  Also the
 * same bytes from two device runs, L-BFGS pairs carried through host copies
 * to fresh optimisers, a non-finite start refused, and the bytes that cross
 * per step: only scalars (no vector of n floats) besides what the objective
 * itself copies.  On a mapped device and through staging copies.  Skipped
 * (77) when built without Vulkan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_test_util.h"
#include "test_util.h"

#ifndef NST_HAVE_VULKAN
int main(void)
{
    printf("built without the Vulkan backend: skipped\n");
    return 77;
}
#else

#include <math.h>

#include "gpu/vk.h"
#include "optim/optim.h"

#define N 3001 /* not a multiple of a workgroup */
#define STEPS 25
static const float lower = 0.0f, upper = 0.8f;
static const double value_tolerance = 1e-5, x_tolerance = 1e-4;
/* L-BFGS's: close while the two runs are close, then the drift allowed. */
#define LBFGS_CLOSE_STEPS 8
static const double lbfgs_close_value = 1e-6, lbfgs_close_x = 1e-5;
static const double lbfgs_drift_value = 1e-4, lbfgs_drift_x = 1e-3;

static double rosenbrock(const float *x, float *grad, size_t n)
{
    double f = 0.0;
    for (size_t i = 0; i < n; i++)
        grad[i] = 0.0f;
    for (size_t i = 0; i + 1 < n; i++) {
        double a = x[i + 1] - (double)x[i] * x[i], b = 1.0 - x[i];
        f += 100.0 * a * a + b * b;
        grad[i] += (float)(-400.0 * a * x[i] - 2.0 * b);
        grad[i + 1] += (float)(200.0 * a);
    }
    return f;
}

static nst_status host_objective(const float *x, float *grad, double *value, void *user_data, nst_error *err)
{
    (void)user_data, (void)err;
    *value = rosenbrock(x, grad, N);
    return NST_OK;
}

/* The device objective stands in for the style-transfer one: it evaluates
 * the picture in its buffer into its gradient buffer (copying through the
 * host, which only this test does, and counts). */
typedef struct device_objective {
    nst_gpu *gpu;
    nst_gpu_buffer *picture, *gradient;
    float x[N], grad[N];
    size_t own_bytes;       /* what this objective copied */
    size_t own_submissions; /* and the submissions its copies made */
    size_t evaluations;
    int nan_value;
} device_objective;

static nst_status device_eval(const float *x, float *grad, double *value, void *user_data, nst_error *err)
{
    device_objective *o = user_data;
    CHECK(!x && !grad, "the device optimiser passed host arrays");
    size_t submissions = o->gpu->submissions;
    nst_status s = nst_gpu_buffer_read(o->gpu, o->picture, 0, o->x, sizeof o->x, err);
    *value = o->nan_value ? NAN : rosenbrock(o->x, o->grad, N);
    if (s == NST_OK)
        s = nst_gpu_buffer_write(o->gpu, o->gradient, 0, o->grad, sizeof o->grad, err);
    o->own_bytes += sizeof o->x + sizeof o->grad;
    o->own_submissions += o->gpu->submissions - submissions;
    o->evaluations++;
    return s;
}

static void start_point(float *x, double phase)
{
    for (size_t i = 0; i < N; i++)
        x[i] = (float)(0.4 + 0.45 * sin(0.37 * (double)i + phase));
}

static size_t crossed(const nst_gpu *gpu)
{
    return gpu->bytes_read + gpu->bytes_written;
}

/* Steps the host and the device L-BFGS side by side; returns the device's
 * final x in out (for the determinism check). */
static void compare_lbfgs(nst_gpu *gpu, device_objective *o, nst_lbfgs *host, nst_lbfgs *dev, float *host_x, float *out,
                          const char *what)
{
    nst_error err = {0};
    float dev_x[N];
    size_t most_per_step = 0, most_submissions = 0;
    for (int k = 0; k < STEPS; k++) {
        int host_converged = 0, dev_converged = 0;
        nst_status hs = nst_lbfgs_step(host, host_x, host_objective, NULL, &host_converged, &err);
        size_t before = crossed(gpu), own_before = o->own_bytes;
        size_t submissions_before = gpu->submissions, own_submissions_before = o->own_submissions;
        size_t evaluations_before = o->evaluations;
        int pairs = nst_lbfgs_pair_count(dev);
        nst_status ds = nst_lbfgs_step(dev, NULL, device_eval, o, &dev_converged, &err);
        size_t optimiser_bytes = crossed(gpu) - before - (o->own_bytes - own_before);
        most_per_step = optimiser_bytes > most_per_step ? optimiser_bytes : most_per_step;
        /* Passes whose scalars the host does not need wait for the next one
         * that it does, and the two-loop keeps its coefficients on the
         * device: one round trip for the whole recursion and its slope
         * whatever the pairs, two per trial point, three more (the steepest
         * direction, again when the history misleads, the new pair). */
        size_t submissions =
            gpu->submissions - submissions_before - (o->own_submissions - own_submissions_before);
        size_t evaluations = o->evaluations - evaluations_before;
        CHECK(submissions <= 4 + 2 * evaluations,
              "%s step %d: %zu submissions with %d pairs and %zu evaluations", what, k, submissions, pairs,
              evaluations);
        most_submissions = submissions > most_submissions ? submissions : most_submissions;
        CHECK(hs == NST_OK && ds == NST_OK, "%s step %d: %s", what, k, err.message);
        CHECK(host_converged == dev_converged, "%s step %d: converged %d on the host, %d on the device", what, k,
              host_converged, dev_converged);
        double hv = nst_lbfgs_value(host), dv = nst_lbfgs_value(dev);
        int close = k < LBFGS_CLOSE_STEPS;
        double value_tol = close ? lbfgs_close_value : lbfgs_drift_value;
        double x_tol = close ? lbfgs_close_x : lbfgs_drift_x;
        CHECK(fabs(dv - hv) <= value_tol * fabs(hv), "%s step %d: value %.9g on the device, %.9g on the host",
              what, k, dv, hv);
        CHECK(nst_lbfgs_read_x(dev, dev_x, &err) == NST_OK, "%s: reading x: %s", what, err.message);
        double worst = 0.0;
        for (size_t i = 0; i < N; i++)
            worst = fmax(worst, fabs((double)dev_x[i] - host_x[i]));
        CHECK(worst <= x_tol, "%s step %d: x differs by %g", what, k, worst);
        int outside = 0;
        for (size_t i = 0; i < N; i++)
            outside += !(dev_x[i] >= lower && dev_x[i] <= upper);
        CHECK(outside == 0, "%s step %d: %d entries outside the box", what, k, outside);
        if (k == 0 || k == STEPS - 1)
            printf("%s step %d: value %.9g (host %.9g), x within %.2g\n", what, k, dv, hv, worst);
    }
    printf("%s: at most %zu bytes crossed per step besides the objective's own "
           "(x is %zu)\n",
           what, most_per_step, sizeof dev_x);
    CHECK(most_per_step < N * sizeof(float), "%s: %zu bytes crossed in a step: a vector went to the host", what,
          most_per_step);
    printf("%s: at most %zu submissions in a step besides the objective's own\n", what, most_submissions);
    memcpy(out, dev_x, sizeof dev_x);
}

static nst_lbfgs *device_lbfgs(device_objective *o, int history, const float *x0)
{
    nst_error err = {0};
    nst_lbfgs *opt = nst_lbfgs_new_on_device(o->gpu, o->picture, o->gradient, N, history, lower, upper, &err);
    CHECK(opt, "device L-BFGS: %s", err.message);
    CHECK(!opt || nst_lbfgs_write_x(opt, x0, &err) == NST_OK, "writing x: %s", err.message);
    return opt;
}

/* Moves every pair of `from` to `into` through host copies (a pyramid's
 * carrying, without the resampling); each pair read back from `into` must
 * be the bytes written. */
static void carry_pairs(nst_lbfgs *from, nst_lbfgs *into)
{
    nst_error err = {0};
    float *s = test_floats(N), *y = test_floats(N), *s_back = test_floats(N), *y_back = test_floats(N);
    for (int k = 0; k < nst_lbfgs_pair_count(from); k++) {
        CHECK(nst_lbfgs_read_pair(from, k, s, y, &err) == NST_OK, "reading pair %d: %s", k, err.message);
        CHECK(nst_lbfgs_write_pair(into, s, y, &err) == NST_OK, "writing pair %d: %s", k, err.message);
        CHECK(nst_lbfgs_add_pair(into) == 1, "pair %d not kept", k);
        CHECK(nst_lbfgs_read_pair(into, k, s_back, y_back, &err) == NST_OK && memcmp(s, s_back, N * sizeof *s) == 0 &&
                  memcmp(y, y_back, N * sizeof *y) == 0,
              "pair %d changed on the way", k);
    }
    free(s);
    free(y);
    free(s_back);
    free(y_back);
}

static void test_lbfgs(nst_gpu *gpu, device_objective *o)
{
    nst_error err = {0};
    float x0[N], host_x[N], first[N], second[N];
    start_point(x0, 0.0);
    nst_lbfgs *host = nst_lbfgs_new(N, 5, lower, upper, &err);
    memcpy(host_x, x0, sizeof x0);
    nst_lbfgs *dev = device_lbfgs(o, 5, x0);
    if (host && dev)
        compare_lbfgs(gpu, o, host, dev, host_x, first, "L-BFGS");

    /* The host's pairs carried to fresh optimisers on both sides, which go
     * on from another point (the device's own pairs differ from the host's
     * by the rounding of 25 steps, which Rosenbrock magnifies). */
    nst_lbfgs *host2 = nst_lbfgs_new(N, 5, lower, upper, &err);
    float x1[N];
    start_point(x1, 1.0);
    nst_lbfgs *dev2 = device_lbfgs(o, 5, x1);
    if (host && dev && host2 && dev2) {
        CHECK(nst_lbfgs_pair_count(dev) == nst_lbfgs_pair_count(host), "%d pairs on the device, %d on the host",
              nst_lbfgs_pair_count(dev), nst_lbfgs_pair_count(host));
        carry_pairs(host, host2);
        carry_pairs(host, dev2);
        memcpy(host_x, x1, sizeof x1);
        compare_lbfgs(gpu, o, host2, dev2, host_x, second, "carried L-BFGS");
    }
    nst_lbfgs_free(dev2);
    nst_lbfgs_free(host2);

    /* The same bytes from a second device run. */
    nst_lbfgs *again = device_lbfgs(o, 5, x0);
    nst_lbfgs *host3 = nst_lbfgs_new(N, 5, lower, upper, &err);
    memcpy(host_x, x0, sizeof x0);
    if (again && host3) {
        compare_lbfgs(gpu, o, host3, again, host_x, second, "L-BFGS again");
        CHECK(memcmp(first, second, sizeof first) == 0, "two device runs gave different bytes");
    }
    nst_lbfgs_free(again);
    nst_lbfgs_free(host3);

    /* A non-finite value at the start is refused, x unchanged. */
    nst_lbfgs *bad = device_lbfgs(o, 5, x0);
    o->nan_value = 1;
    int converged = 0;
    nst_status s = bad ? nst_lbfgs_step(bad, NULL, device_eval, o, &converged, &err) : NST_ERR_NUMERIC;
    CHECK(s == NST_ERR_NUMERIC, "a NaN at the start gave %d", (int)s);
    o->nan_value = 0;
    float back[N];
    CHECK(!bad || (nst_lbfgs_read_x(bad, back, &err) == NST_OK && memcmp(back, x0, sizeof x0) == 0),
          "x changed by a refused step");
    nst_lbfgs_free(bad);
    nst_lbfgs_free(host);
    nst_lbfgs_free(dev);
}

static void test_adam(nst_gpu *gpu, device_objective *o)
{
    nst_error err = {0};
    float host_x[N], dev_x[N], first[N];
    for (int run = 0; run < 2; run++) {
        start_point(host_x, 0.5);
        nst_adam *host = nst_adam_new(N, 0.01, lower, upper, &err);
        nst_adam *dev = nst_adam_new_on_device(gpu, o->picture, o->gradient, N, 0.01, lower, upper, &err);
        CHECK(host && dev, "Adam: %s", err.message);
        if (!host || !dev) {
            nst_adam_free(host);
            nst_adam_free(dev);
            return;
        }
        CHECK(nst_adam_write_x(dev, host_x, &err) == NST_OK, "Adam x: %s", err.message);
        double worst = 0.0, worst_value = 0.0;
        size_t most = 0;
        for (int k = 0; k < STEPS; k++) {
            if (k == STEPS / 2) { /* a reset, as steering does */
                nst_adam_reset(host);
                nst_adam_reset(dev);
            }
            CHECK(nst_adam_step(host, host_x, host_objective, NULL, &err) == NST_OK, "Adam host: %s", err.message);
            size_t before = crossed(gpu), own_before = o->own_bytes;
            CHECK(nst_adam_step(dev, NULL, device_eval, o, &err) == NST_OK, "Adam device: %s", err.message);
            size_t bytes = crossed(gpu) - before - (o->own_bytes - own_before);
            most = bytes > most ? bytes : most;
            double hv = nst_adam_value(host), dv = nst_adam_value(dev);
            worst_value = fmax(worst_value, fabs(dv - hv) / fabs(hv));
            CHECK(nst_adam_read_x(dev, dev_x, &err) == NST_OK, "Adam read: %s", err.message);
            for (size_t i = 0; i < N; i++)
                worst = fmax(worst, fabs((double)dev_x[i] - host_x[i]));
        }
        printf("Adam run %d: values within %.2g, x within %.2g, at most %zu bytes "
               "crossed per step\n",
               run, worst_value, worst, most);
        CHECK(worst_value <= value_tolerance, "Adam: values differ by %g", worst_value);
        CHECK(worst <= x_tolerance, "Adam: x differs by %g", worst);
        CHECK(most < N * sizeof(float), "Adam: %zu bytes crossed in a step", most);
        if (run == 0)
            memcpy(first, dev_x, sizeof first);
        else
            CHECK(memcmp(first, dev_x, sizeof first) == 0, "two device Adam runs gave different bytes");
        nst_adam_free(host);
        nst_adam_free(dev);
    }
}

static void run_on(nst_gpu *gpu)
{
    nst_error err = {0};
    device_objective *o = calloc(1, sizeof *o);
    o->gpu = gpu;
    o->picture = nst_gpu_buffer_new(gpu, N * sizeof(float), &err);
    o->gradient = o->picture ? nst_gpu_buffer_new(gpu, N * sizeof(float), &err) : NULL;
    CHECK(o->gradient, "buffers: %s", err.message);
    if (o->gradient) {
        test_lbfgs(gpu, o);
        test_adam(gpu, o);
    }
    nst_gpu_buffer_free(gpu, o->picture);
    nst_gpu_buffer_free(gpu, o->gradient);
    free(o);
}

int main(void)
{
    nst_gpu *gpu = gpu_test_open(NULL);
    if (gpu) {
        run_on(gpu);
        nst_gpu_free(gpu);
        /* The staging copies of a discrete GPU. */
        gpu = gpu_test_open(&(nst_gpu_options){.force_staging = 1});
        if (gpu)
            run_on(gpu);
        nst_gpu_free(gpu);
    }
    return test_finish("test_gpu_optim");
}

#endif
