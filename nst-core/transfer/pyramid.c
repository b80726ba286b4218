/* The multi-scale pyramid: coarse to fine from ~192 px up to the working
 * size in steps of at most 2x, each stage starting from the previous result.
 * Up to 1024 px the last stage does most of the work; on bigger pictures the
 * stage nearest below 1024 px does, and the larger ones refine.
 *
 * Measured pitfalls (shared/docs/findings.md): a naive pyramid lets the
 * style erase the content's large structure at the coarse stages, and the
 * upsampled result has lost the fine texture conv1 measures.  So coarse
 * stages weigh the content more (alpha x the stage's reduction, capped), and
 * a stage starts from the content at its own size plus the previous stage's
 * stylisation (result - content) upsampled: the content's detail is sharp
 * again and only the style's texture has to be rebuilt.
 *
 * L-BFGS carries its curvature pairs from a stage to the next, resampled,
 * so the larger stage does not start over from steepest descent.  Without
 * them the coarse stages bought back fewer evaluations than they cost; with
 * them the pyramid reaches single scale's final loss in fewer evaluations on
 * most samples (bench/multiscale.py measures it). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "color/color.h"
#include "image/image.h"
#include "loss/objective.h"
#include "optim/optim.h"
#include "transfer/driver.h"

/* Share of the iterations the final stage gets; the coarse ones split the rest. */
#define FINAL_STAGE_SHARE 0.9
/* Coarse stages weigh alpha by (final size / stage size), at most this. */
#define MAX_CONTENT_FACTOR 4.0
/* Stages larger than this only refine: the picture is arranged and styled
 * at or below it, where an iteration is cheap, and the larger stages rebuild
 * the fine texture the upsampling blurred.  A refining stage of side S gets
 * REFINE_SHARE x MAIN_STAGE_SIDE / S of the iterations (at least one), so
 * a 24-megapixel picture spends minutes, not hours, at full size. */
#define MAIN_STAGE_SIDE 1024
#define REFINE_SHARE 0.25

static int longest_side(int w, int h)
{
    return w > h ? w : h;
}

/* Splits `total` iterations over the n stages of a pyramid whose last stage
 * is its main one (FINAL_STAGE_SHARE there, the rest evenly).  With too few
 * iterations the coarsest stages go, so that every stage left gets at least
 * one: returns how many stages (the last ones) are kept, their iterations in
 * iterations[0 .. kept - 1]. */
static int split_iterations(int total, int n, int *iterations)
{
    /* The coarse stages' share (1e-9: 10 x 0.1 must give 1, not 0.999...). */
    int coarse = (int)floor(total * (1.0 - FINAL_STAGE_SHARE) + 1e-9);
    int keep = n;
    while (keep > 1 && coarse / (keep - 1) < 1)
        keep--;
    int given = 0;
    for (int s = 0; s < keep - 1; s++) {
        iterations[s] = coarse / (keep - 1);
        given += iterations[s];
    }
    iterations[keep - 1] = total - given;
    return keep;
}

void nst_pyramid_stages(const nst_params *p, int width, int height, nst_plan *plan)
{
    int longest = longest_side(width, height);
    int first = p->min_scale_size > 0 ? p->min_scale_size : NST_DEFAULT_MIN_SCALE;
    int n = p->scales;
    if (n <= 0) /* automatic: steps of at most 2x */
        n = longest > first ? 1 + (int)ceil(log((double)longest / first) / log(2.0) - 1e-9) : 1;
    if (longest <= first)
        n = 1;
    if (n > NST_MAX_STAGES)
        n = NST_MAX_STAGES;
    int widths[NST_MAX_STAGES], heights[NST_MAX_STAGES];
    for (int k = 0; k < n; k++) {
        if (k == n - 1) {
            widths[k] = width;
            heights[k] = height;
        } else {
            double side = first * pow((double)longest / first, (double)k / (n - 1));
            nst_image_fit_size(width, height, (int)lround(side), &widths[k], &heights[k]);
        }
    }

    /* The main stage: the last one up to MAIN_STAGE_SIDE; those above refine. */
    int total = p->iterations, main_stage = n - 1, refining = 0;
    int iterations[NST_MAX_STAGES];
    while (main_stage > 0 && longest_side(widths[main_stage], heights[main_stage]) > MAIN_STAGE_SIDE)
        main_stage--;
    for (int k = main_stage + 1; k < n; k++) {
        long share = lround(total * REFINE_SHARE * MAIN_STAGE_SIDE / longest_side(widths[k], heights[k]));
        iterations[k] = share > 1 ? (int)share : 1;
        refining += iterations[k];
    }
    if (refining >= total) { /* too few iterations to refine: the final stage is the main one */
        main_stage = n - 1;
        refining = 0;
    }
    int keep = split_iterations(total - refining, main_stage + 1, iterations);
    int dropped = main_stage + 1 - keep; /* the coarsest stages that got no iteration */
    plan->stages = n - dropped;
    for (int s = 0; s < plan->stages; s++) {
        int k = s + dropped;
        plan->stage_width[s] = widths[k];
        plan->stage_height[s] = heights[k];
        plan->stage_iterations[s] = k <= main_stage ? iterations[s] : iterations[k];
    }
}

/* Splitmix64 noise in [0,1), reproducible from the seed. */
static void fill_noise(float *x, size_t n, uint64_t seed)
{
    uint64_t state = seed;
    for (size_t i = 0; i < n; i++) {
        uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        x[i] = (float)((z >> 40) / (double)(1ull << 24));
    }
}

/* Starting picture of the first stage, planar. */
static nst_status init_picture(nst_transfer *t, float *x, nst_error *err)
{
    if (t->params.init == NST_INIT_NOISE) {
        fill_noise(x, (size_t)3 * t->width * t->height, t->params.seed);
        return NST_OK;
    }
    if (t->params.init == NST_INIT_STYLE) {
        nst_image *style = nst_image_resize(t->styles[0], t->width, t->height, err);
        if (!style)
            return NST_ERR_NOMEM;
        if (t->params.preserve_colors == NST_COLORS_LUMINANCE) {
            nst_color_to_luminance(style);
            nst_color_match_luminance(style, t->stage_colors);
        }
        nst_image_to_planar(style, x);
        nst_image_free(style);
        return NST_OK;
    }
    nst_image_to_planar(t->stage_colors, x);
    return NST_OK;
}

/* out (w x h) = v (vw x vh) resampled and times `scale`; both planar.  No
 * clamping: v may hold differences. */
static nst_status resample_planar(const float *v, int vw, int vh, float *out, int w, int h, double scale,
                                  nst_error *err)
{
    nst_image *from = nst_image_new(vw, vh, err);
    if (!from)
        return NST_ERR_NOMEM;
    nst_planar_to_image(v, from);
    nst_image *to = nst_image_resize_unclamped(from, w, h, err);
    nst_image_free(from);
    if (!to)
        return NST_ERR_NOMEM;
    nst_image_to_planar(to, out);
    nst_image_free(to);
    if (scale != 1.0)
        for (size_t i = 0; i < (size_t)3 * w * h; i++)
            out[i] = (float)(scale * out[i]);
    return NST_OK;
}

/* x = the previous result upsampled; with a content start, only its
 * stylisation (result - content) is upsampled and added to the sharp content
 * of this stage. */
static nst_status start_from_previous(nst_transfer *t, const float *prev_x, const nst_image *prev_colors,
                                      float *x, nst_error *err)
{
    int keep_content = t->params.init == NST_INIT_CONTENT;
    size_t prev_count = (size_t)3 * prev_colors->width * prev_colors->height;
    float *stylisation = nst_alloc(prev_count * sizeof(float), "the previous stylisation", err);
    if (!stylisation)
        return NST_ERR_NOMEM;
    if (keep_content) {
        nst_image_to_planar(prev_colors, stylisation);
        for (size_t i = 0; i < prev_count; i++)
            stylisation[i] = prev_x[i] - stylisation[i];
    } else {
        memcpy(stylisation, prev_x, prev_count * sizeof(float));
    }
    nst_status s = resample_planar(stylisation, prev_colors->width, prev_colors->height, x, t->width, t->height,
                                   1.0, err);
    free(stylisation);
    if (s != NST_OK)
        return s;
    size_t plane = (size_t)t->width * t->height;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) {
            float v = x[c * plane + i] + (keep_content ? t->stage_colors->rgb[3 * i + c] : 0.0f);
            x[c * plane + i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
        }
    return NST_OK;
}

/* The L-BFGS of a finished stage, kept for the next stage to start from. */
typedef struct carried_history {
    nst_lbfgs *lbfgs; /* NULL when nothing is carried */
    int width, height;
} carried_history;

static void carried_history_clear(carried_history *carry)
{
    nst_lbfgs_free(carry->lbfgs);
    carry->lbfgs = NULL;
}

/* Gives `into` (this stage's fresh L-BFGS) the carried pairs, resampled to
 * the stage's size: s is a picture change; y a gradient change, and since
 * every term of the objective is a mean over pixels, the gradient of one
 * pixel shrinks as their number grows. */
static nst_status import_history(const nst_transfer *t, const carried_history *carry, nst_lbfgs *into,
                                 nst_error *err)
{
    double gradient_scale = (double)carry->width * carry->height / ((double)t->width * t->height);
    for (int k = 0; k < nst_lbfgs_pair_count(carry->lbfgs); k++) {
        const float *s_from, *y_from;
        float *s_to, *y_to;
        nst_lbfgs_get_pair(carry->lbfgs, k, &s_from, &y_from);
        nst_status s = nst_lbfgs_new_pair(into, &s_to, &y_to, err);
        if (s == NST_OK)
            s = resample_planar(s_from, carry->width, carry->height, s_to, t->width, t->height, 1.0, err);
        if (s == NST_OK)
            s = resample_planar(y_from, carry->width, carry->height, y_to, t->width, t->height, gradient_scale,
                                err);
        if (s != NST_OK)
            return s;
        nst_lbfgs_add_pair(into);
    }
    return NST_OK;
}

/* The content (and the grey version the net sees in luminance mode) and the
 * preview frame at the stage's size. */
static nst_status prepare_stage_pictures(nst_transfer *t, nst_error *err)
{
    t->stage_content = nst_image_resize(t->content, t->width, t->height, err);
    if (!t->stage_content)
        return NST_ERR_NOMEM;
    t->stage_colors = t->stage_content;
    if (t->params.preserve_colors == NST_COLORS_LUMINANCE) {
        t->stage_colors = nst_image_copy(t->stage_content, err);
        if (!t->stage_colors)
            return NST_ERR_NOMEM;
        nst_color_to_luminance(t->stage_colors);
    }
    t->frame = nst_image_new(t->width, t->height, err);
    return t->frame ? NST_OK : NST_ERR_NOMEM;
}

static void drop_stage_pictures(nst_transfer *t, nst_image **keep_colors)
{
    /* The previous stage's colours are kept for the next stage's start. */
    *keep_colors = t->stage_colors;
    if (t->stage_colors != t->stage_content)
        nst_image_free(t->stage_content);
    nst_image_free(t->frame);
    t->stage_content = NULL;
    t->stage_colors = NULL;
    t->frame = NULL;
}

/* A stage in one piece: the objective at the stage's size.  Its L-BFGS
 * starts with the pairs in *carry (which are then freed) and, when `keep`,
 * ends up there for the next stage. */
static nst_status run_whole_stage(nst_transfer *t, float *x, int iterations, carried_history *carry, int keep,
                                  nst_error *err)
{
    int piece = longest_side(t->width, t->height);
    size_t n = (size_t)3 * t->width * t->height;
    nst_status s = nst_driver_new_objective(t, t->height, t->width, piece, err);
    float *content = s == NST_OK ? nst_alloc(n * sizeof(float), "the content", err) : NULL;
    if (s == NST_OK && !content)
        s = NST_ERR_NOMEM;
    if (s == NST_OK) {
        nst_image_to_planar(t->stage_colors, content);
        s = nst_objective_set_content(t->objective, content, err);
    }
    free(content);
    if (s != NST_OK)
        return s;
    if (iterations == 0) {
        double value;
        return nst_driver_evaluate(x, NULL, &value, t, err);
    }

    nst_driver_optimizer o;
    s = nst_driver_optimizer_init(&o, &t->params, n, t->params.lbfgs_history, err);
    if (s == NST_OK && o.lbfgs && carry->lbfgs)
        s = import_history(t, carry, o.lbfgs, err);
    carried_history_clear(carry);
    for (int i = 1; i <= iterations && s == NST_OK; i++) {
        if (nst_driver_cancelled(t, &s, err))
            break;
        if (nst_driver_apply_steering(t, piece, &s, err))
            nst_driver_optimizer_reset(&o);
        if (s != NST_OK)
            break;
        int converged = 0, before = t->iter;
        t->iter = t->iter_base + i;
        s = nst_driver_optimizer_step(&o, x, t, &converged, err);
        if (s != NST_OK || converged)
            break;
        if (nst_driver_preview_due(t, before, t->iter))
            nst_driver_preview(t, x, nst_driver_optimizer_value(&o));
    }
    if (s == NST_OK)
        nst_driver_preview(t, x, nst_driver_optimizer_value(&o));
    if (s == NST_OK && keep && o.lbfgs) {
        carry->lbfgs = o.lbfgs;
        carry->width = t->width;
        carry->height = t->height;
        o.lbfgs = NULL;
    }
    nst_driver_optimizer_free(&o);
    return s;
}

nst_status nst_pyramid_run(nst_transfer *t, float **result, nst_error *err)
{
    const nst_plan *plan = &t->plan;
    int final_side = longest_side(plan->stage_width[plan->stages - 1], plan->stage_height[plan->stages - 1]);
    float *prev_x = NULL, *x = NULL;
    nst_image *prev_colors = NULL;
    carried_history carry = {NULL, 0, 0};
    nst_status s = NST_OK;
    t->iter_base = 0;
    for (int stage = 0; stage < plan->stages && s == NST_OK; stage++) {
        t->stage = stage;
        t->width = plan->stage_width[stage];
        t->height = plan->stage_height[stage];
        t->tile = t->tiles = 0;
        double factor = (double)final_side / longest_side(t->width, t->height);
        t->content_factor = factor < MAX_CONTENT_FACTOR ? factor : MAX_CONTENT_FACTOR;

        s = prepare_stage_pictures(t, err);
        x = s == NST_OK ? nst_alloc((size_t)3 * t->width * t->height * sizeof(float), "the picture", err) : NULL;
        if (s == NST_OK && !x)
            s = NST_ERR_NOMEM;
        if (s == NST_OK)
            s = prev_x ? start_from_previous(t, prev_x, prev_colors, x, err) : init_picture(t, x, err);
        free(prev_x);
        prev_x = NULL;
        if (prev_colors != t->stage_colors)
            nst_image_free(prev_colors);
        prev_colors = NULL;
        if (s != NST_OK)
            break;

        int iterations = plan->stage_iterations[stage];
        if (nst_driver_cancelled(t, &s, err))
            break;
        /* Tiles run their own short-lived optimisers: nothing to carry. */
        int carry_on = stage + 1 < plan->stages && !plan->stage_tiled[stage + 1];
        if (plan->stage_tiled[stage]) {
            carried_history_clear(&carry);
            s = nst_tiles_run_stage(t, x, iterations, err);
        } else {
            s = run_whole_stage(t, x, iterations, &carry, carry_on, err);
        }
        nst_objective_free(t->objective);
        t->objective = NULL;
        t->iter_base += iterations;
        t->iter = t->iter_base;
        if (s == NST_OK && stage + 1 < plan->stages) {
            prev_x = x;
            x = NULL;
            drop_stage_pictures(t, &prev_colors);
        }
    }
    carried_history_clear(&carry);
    free(prev_x);
    if (prev_colors && prev_colors != t->stage_colors)
        nst_image_free(prev_colors);
    if (s != NST_OK) {
        free(x);
        x = NULL;
    }
    *result = x;
    return s;
}
