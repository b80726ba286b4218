/* Finite differences of the whole objective (content + style + TV) with
 * respect to the picture, on SqueezeNet 1.1 with the shared weights at 3x40x48:
 * the analytic gradient (the engine's backward pass) must match central
 * differences, for each term alone and for all three together with zero
 * padding, and for all three with reflect and replicate padding (the three
 * modes are also checked against PyTorch in test_torch_reference, where the
 * style term dominates the total).
 *
 * The network is piecewise linear (ReLU, max pooling), so a difference that
 * straddles a kink is no reference: a point is used only when its forward and
 * backward one-sided differences agree.  Only pixels whose gradient is at
 * least a fifth of the largest are tested, where the float32 rounding of the
 * objective (the numerator) is small against the change that h makes.
 *
 * The guided style term (regions, objective.h) passes the same check: two
 * styles with feathered, overlapping masks, the reflected border the driver
 * uses, the style term alone and all terms; and it is the unguided term
 * when it should be: one style whose mask is 1 everywhere gives the same
 * loss and gradient as no mask, an all-zero mask gives no style term.
 *
 * Last, the objective at 96x128 (large enough for the Gram matrices to be
 * summed in parts) gives the same bytes on one worker thread as on all. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/parallel.h"
#include "model_test_util.h"
#include "test_util.h"

#define H 40
#define W 48
#define STYLE_H 36
#define STYLE_W 52
#define COUNT ((size_t)3 * H * W)
#define POINTS 30
#define MIN_POINTS 20
/* Smaller than the usual 1e-2: every kink crossed within +-h biases the
 * difference, and the engine sums the losses in double, so float32 rounding
 * stays ~1e-5 of the gradient even at this h. */
#define STEP 1e-3f
/* A point is used only when |forward - backward| <= KINK_LIMIT |central|.  A
 * kink within h shifts the central difference by half that gap at most, so
 * the used points carry at most 1% from kinks; float32 rounding adds ~1e-5
 * (the TV term alone, which has no kink, matches to that).  Smooth curvature
 * (the terms are polynomials of degree 2 and 4 between kinks) makes the gap
 * h f'' / f', far below the limit at this h. */
#define KINK_LIMIT 0.02
#define TOLERANCE 2e-2
/* Points just outside +-h of a kink still move by a few 1e-3: the median. */
#define MEDIAN_TOLERANCE 5e-3

typedef struct gradcheck {
    nst_objective *obj;
    float *x;
    float *grad;
} gradcheck;

static int eval_at(gradcheck *g, float *grad, double *total)
{
    nst_error err = {0};
    nst_losses losses;
    nst_status st = nst_objective_eval(g->obj, g->x, grad, &losses, &err);
    CHECK(st == NST_OK, "eval: %s", err.message);
    *total = losses.total;
    return st == NST_OK;
}

static float max_abs(const float *a, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmaxf(m, fabsf(a[i]));
    return m;
}

/* Central difference at pixel i, or NAN where a kink lies within +-h. */
static double central_difference(gradcheck *g, size_t i, double f0)
{
    float x0 = g->x[i];
    float xp = x0 + STEP, xm = x0 - STEP;
    double fp, fm;
    g->x[i] = xp;
    int ok = eval_at(g, NULL, &fp);
    g->x[i] = xm;
    ok = ok && eval_at(g, NULL, &fm);
    g->x[i] = x0;
    if (!ok)
        return NAN;
    double forward = (fp - f0) / ((double)xp - x0), backward = (f0 - fm) / ((double)x0 - xm);
    double central = (fp - fm) / ((double)xp - xm);
    if (fabs(forward - backward) > KINK_LIMIT * fabs(central))
        return NAN;
    return central;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void check_gradient(gradcheck *g, const char *label, uint64_t seed)
{
    double f0;
    if (!eval_at(g, g->grad, &f0))
        return;
    float threshold = 0.2f * max_abs(g->grad, COUNT);
    CHECK(threshold > 0, "%s: the gradient is zero", label);
    double errors[POINTS];
    int used = 0, kinks = 0;
    for (int tries = 0; used < POINTS && tries < 20 * POINTS; tries++) {
        size_t i = (size_t)(test_rand_u64(&seed) % COUNT);
        if (!(fabsf(g->grad[i]) >= threshold))
            continue;
        double fd = central_difference(g, i, f0);
        if (isnan(fd)) {
            kinks++;
            continue;
        }
        double e = fabs(fd - g->grad[i]) / fabs(g->grad[i]);
        errors[used++] = e;
        CHECK(e <= TOLERANCE, "%s: pixel %zu analytic %.6g, finite difference %.6g (rel err %.2e)", label, i,
              g->grad[i], fd, e);
    }
    CHECK(used >= MIN_POINTS, "%s: only %d usable points (%d at kinks)", label, used, kinks);
    if (used < MIN_POINTS)
        return;
    qsort(errors, (size_t)used, sizeof *errors, compare_doubles);
    double median = errors[used / 2];
    printf("  %-24s %d points, %d skipped at kinks, rel err median %.1e, worst %.1e (tolerance %.0e)\n", label,
           used, kinks, median, errors[used - 1], TOLERANCE);
    CHECK(median <= MEDIAN_TOLERANCE, "%s: median rel error %.3e > %.0e", label, median, MEDIAN_TOLERANCE);
}

/* Weights that make the three terms pull about equally on the gradient, so
 * that the combined check sees all of them. */
static void balance_weights(gradcheck *g, double weights[3])
{
    for (int term = 0; term < 3; term++) {
        double f;
        nst_objective_set_weights(g->obj, term == 0, term == 1, term == 2);
        float m = eval_at(g, g->grad, &f) ? max_abs(g->grad, COUNT) : 0;
        weights[term] = m > 0 ? 1.0 / m : 1.0;
    }
    nst_objective_set_weights(g->obj, weights[0], weights[1], weights[2]);
}

static void check_padding(const nst_model *model, nst_padding padding, const float *content, const float *style,
                          gradcheck *g)
{
    static const char *const pad_names[] = {[NST_PAD_ZERO] = "zero", [NST_PAD_REFLECT] = "reflect",
                                            [NST_PAD_REPLICATE] = "replicate"};
    const char *pad_name = pad_names[padding];
    nst_params params;
    make_params(&params, NST_MODEL_SQUEEZENET11, "fire3", "conv1,fire2,fire3,fire4,fire5", 1, 1e5, 0.1);
    nst_net_options options = {.pooling = NST_POOL_MAX, .padding = padding};
    g->obj = make_objective(model, H, W, &params, &options, content, style, STYLE_H, STYLE_W);
    if (!g->obj)
        return;
    char label[64];
    double weights[3];
    balance_weights(g, weights);
    printf("%s padding: balanced weights alpha %.3g beta %.3g tau %.3g\n", pad_name, weights[0], weights[1],
           weights[2]);
    snprintf(label, sizeof label, "%s: all terms", pad_name);
    check_gradient(g, label, 11 + padding);
    if (padding == NST_PAD_ZERO) {
        static const char *const terms[3] = {"content", "style", "tv"};
        for (int term = 0; term < 3; term++) {
            nst_objective_set_weights(g->obj, term == 0, term == 1, term == 2);
            snprintf(label, sizeof label, "%s: %s only", pad_name, terms[term]);
            check_gradient(g, label, 23 + term);
        }
    }
    nst_objective_free(g->obj);
    g->obj = NULL;
}

#define STYLE2_H 44
#define STYLE2_W 40
#define GUIDED_BORDER 8

/* Left (feathered over 12 px around x = 28) and right (around x = 20), so
 * the middle is in both regions and each mask has every value in [0,1]. */
static void fill_masks(float *left, float *right)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float l = (28.0f - x) / 12.0f + 0.5f, r = (x - 20.0f) / 12.0f + 0.5f;
            left[y * W + x] = fminf(fmaxf(l, 0.0f), 1.0f);
            right[y * W + x] = fminf(fmaxf(r, 0.0f), 1.0f) * (y < H - 6 ? 1.0f : 0.5f);
        }
}

/* An objective with the driver's reflected border and the given styles
 * grouped (groups NULL: blended) and masks. */
static nst_objective *guided_objective(const nst_model *model, const float *content, int n, const float *const *styles,
                                       const int *heights, const int *widths, const int *groups, int n_masks,
                                       const float *const *masks)
{
    nst_params params;
    make_params(&params, NST_MODEL_SQUEEZENET11, "fire3", "conv1,fire2,fire3,fire4,fire5", 1, 1e5, 0.1);
    nst_net_options options = {.pooling = NST_POOL_MAX, .padding = NST_PAD_REFLECT, .border = GUIDED_BORDER};
    nst_objective *obj = make_objective(model, H, W, &params, &options, content, styles[0], heights[0], widths[0]);
    static const double blend[2] = {1.4, 0.6};
    nst_error err = {0};
    nst_status st = obj ? nst_objective_set_styles_grouped(obj, n, styles, heights, widths, blend, groups, &err)
                        : NST_ERR_INVALID;
    if (st == NST_OK && n_masks)
        st = nst_objective_set_masks(obj, n_masks, masks, W, 0, 0, &err);
    CHECK(!obj || st == NST_OK, "guided objective: %s", err.message);
    if (st != NST_OK) {
        nst_objective_free(obj);
        return NULL;
    }
    return obj;
}

static nst_losses eval_style(nst_objective *obj, const float *x, float *grad)
{
    nst_losses l = {0};
    nst_error err = {0};
    nst_objective_set_weights(obj, 0, 1, 0);
    CHECK(nst_objective_eval(obj, x, grad, &l, &err) == NST_OK, "eval: %s", err.message);
    return l;
}

/* One style with a mask of ones is the unguided term; a mask of zeros is none. */
static void check_guided_limits(const nst_model *model, const float *content, const float *style, const float *x)
{
    const float *styles[1] = {style};
    const int heights[1] = {STYLE_H}, widths[1] = {STYLE_W}, group[1] = {0};
    float *ones = malloc((size_t)H * W * sizeof *ones), *zeros = calloc((size_t)H * W, sizeof *zeros);
    float *g_plain = malloc(COUNT * sizeof(float)), *g_guided = malloc(COUNT * sizeof(float));
    for (int i = 0; ones && i < H * W; i++)
        ones[i] = 1.0f;
    const float *mask_ones[1] = {ones}, *mask_zeros[1] = {zeros};
    nst_objective *plain = guided_objective(model, content, 1, styles, heights, widths, NULL, 0, NULL);
    nst_objective *guided = guided_objective(model, content, 1, styles, heights, widths, group, 1, mask_ones);
    if (plain && guided && g_plain && g_guided && zeros) {
        nst_losses lp = eval_style(plain, x, g_plain), lg = eval_style(guided, x, g_guided);
        double rel = fabs(lg.style - lp.style) / lp.style;
        float worst = 0, scale = max_abs(g_plain, COUNT);
        for (size_t i = 0; i < COUNT; i++)
            worst = fmaxf(worst, fabsf(g_guided[i] - g_plain[i]));
        printf("  mask of ones vs no mask: style %.9g vs %.9g (rel %.1e), gradient max diff %.1e of %.3g\n",
               lg.style, lp.style, rel, worst, scale);
        CHECK(rel <= 1e-5 && worst <= 1e-4 * scale, "a mask of ones differs from no mask: rel %.2e, grad %.2e", rel,
              worst / scale);
        nst_error err = {0};
        CHECK(nst_objective_set_masks(guided, 1, mask_zeros, W, 0, 0, &err) == NST_OK, "%s", err.message);
        lg = eval_style(guided, x, g_guided);
        CHECK(lg.style == 0.0 && max_abs(g_guided, COUNT) == 0.0f, "a mask of zeros: style %g, gradient %g",
              lg.style, max_abs(g_guided, COUNT));
    }
    nst_objective_free(plain);
    nst_objective_free(guided);
    free(ones), free(zeros), free(g_plain), free(g_guided);
}

static void check_guided(const nst_model *model, const float *content, const float *style, gradcheck *g)
{
    float *style2 = malloc((size_t)3 * STYLE2_H * STYLE2_W * sizeof *style2);
    float *left = malloc((size_t)H * W * sizeof *left), *right = malloc((size_t)H * W * sizeof *right);
    if (style2 && left && right) {
        test_fill_uniform(style2, (size_t)3 * STYLE2_H * STYLE2_W, 4, 0, 1);
        fill_masks(left, right);
        const float *styles[2] = {style, style2}, *masks[2] = {left, right};
        const int heights[2] = {STYLE_H, STYLE2_H}, widths[2] = {STYLE_W, STYLE2_W}, groups[2] = {0, 1};
        g->obj = guided_objective(model, content, 2, styles, heights, widths, groups, 2, masks);
    }
    if (g->obj) {
        double weights[3];
        nst_objective_set_weights(g->obj, 0, 1, 0);
        check_gradient(g, "guided: style only", 41);
        balance_weights(g, weights);
        check_gradient(g, "guided: all terms", 43);
        check_guided_limits(model, content, style, g->x);
    }
    nst_objective_free(g->obj);
    g->obj = NULL;
    free(style2), free(left), free(right);
}

static void check_same_on_any_workers(const nst_model *model)
{
    enum { BH = 96, BW = 128 };
    size_t count = (size_t)3 * BH * BW;
    float *content = malloc(count * sizeof *content), *style = malloc(count * sizeof *style);
    float *x = malloc(count * sizeof *x), *grad1 = malloc(count * sizeof *grad1), *gradn = malloc(count * sizeof *gradn);
    nst_params params;
    make_params(&params, NST_MODEL_SQUEEZENET11, "fire3", "conv1,fire2,fire3,fire4,fire5", 1, 1e5, 0.1);
    nst_net_options options = {.pooling = NST_POOL_MAX, .padding = NST_PAD_REFLECT};
    nst_objective *obj = NULL;
    if (content && style && x && grad1 && gradn) {
        test_fill_uniform(content, count, 31, 0, 1);
        test_fill_uniform(style, count, 32, 0, 1);
        test_fill_uniform(x, count, 33, 0, 1);
        obj = make_objective(model, BH, BW, &params, &options, content, style, BH, BW);
    }
    if (obj) {
        nst_losses one, all;
        nst_error err = {0};
        nst_parallel_set_workers(1);
        nst_status s1 = nst_objective_eval(obj, x, grad1, &one, &err);
        nst_parallel_set_workers(0);
        nst_status sn = nst_objective_eval(obj, x, gradn, &all, &err);
        CHECK(s1 == NST_OK && sn == NST_OK, "eval: %s", err.message);
        CHECK(one.total == all.total && memcmp(grad1, gradn, count * sizeof *grad1) == 0,
              "1 and %d workers differ: total %.17g vs %.17g", nst_parallel_workers(), one.total, all.total);
    }
    nst_objective_free(obj);
    free(content), free(style), free(x), free(grad1), free(gradn);
}

int main(void)
{
    nst_error err = {0};
    nst_model *model = nst_model_load(NST_MODEL_SQUEEZENET11, test_model_file("squeezenet1.1"), &err);
    CHECK(model, "loading SqueezeNet from %s: %s", test_model_file("squeezenet1.1"), err.message);
    float *content = malloc(COUNT * sizeof *content);
    float *style = malloc((size_t)3 * STYLE_H * STYLE_W * sizeof *style);
    gradcheck g = {.x = malloc(COUNT * sizeof(float)), .grad = malloc(COUNT * sizeof(float))};
    if (model && content && style && g.x && g.grad) {
        test_fill_uniform(content, COUNT, 1, 0, 1);
        test_fill_uniform(style, (size_t)3 * STYLE_H * STYLE_W, 2, 0, 1);
        /* Away from 0 and 1 so that x +- h stays a valid picture. */
        test_fill_uniform(g.x, COUNT, 3, 0.05f, 0.95f);
        check_padding(model, NST_PAD_ZERO, content, style, &g);
        check_padding(model, NST_PAD_REFLECT, content, style, &g);
        check_padding(model, NST_PAD_REPLICATE, content, style, &g);
        check_guided(model, content, style, &g);
        check_same_on_any_workers(model);
    }
    free(content);
    free(style);
    free(g.x);
    free(g.grad);
    nst_model_free(model);
    return test_finish("objective_gradcheck");
}
