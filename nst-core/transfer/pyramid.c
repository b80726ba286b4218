/* The multi-scale pyramid: coarse to fine from ~192 px up to the working
 * size in steps of at most 2x, each stage starting from the previous result.
 * Up to 1024 px the last stage does most of the work; on bigger pictures the
 * stage nearest below 1024 px does, and the larger ones refine.
 *
 * Measured pitfalls (the README's "Big pictures" gives the figures): a naive
 * pyramid lets the style erase the content's large structure at the coarse
 * stages, and the upsampled result has lost the fine texture conv1
 * measures.  So coarse stages weigh the content more (alpha x the stage's
 * reduction, capped), and a stage starts from the content at its own size
 * plus the previous stage's stylisation (result - content) upsampled: the
 * content's detail is sharp again and only the style's texture has to be
 * rebuilt.
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
#include "transfer/pyramid.h"
#include "transfer/tiles.h"
#include "transfer/transfer.h"

/* Longest side of the first stage when params.min_scale_size is 0. */
#define DEFAULT_MIN_SCALE 192
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
    int first = p->min_scale_size > 0 ? p->min_scale_size : DEFAULT_MIN_SCALE;
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
static nst_status init_picture(const nst_transfer *t, const nst_stage *st, float *x, nst_error *err)
{
    if (t->params.init == NST_INIT_NOISE) {
        fill_noise(x, (size_t)3 * st->width * st->height, t->params.seed);
        return NST_OK;
    }
    if (t->params.init == NST_INIT_STYLE) {
        nst_image *style = nst_image_resize(t->styles[0], st->width, st->height, err);
        if (!style)
            return NST_ERR_NOMEM;
        if (t->params.preserve_colors == NST_COLORS_LUMINANCE) {
            nst_color_to_luminance(style);
            nst_color_match_luminance(style, st->colors);
        }
        nst_image_to_planar(style, x);
        nst_image_free(style);
        return NST_OK;
    }
    nst_image_to_planar(st->colors, x);
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
static nst_status start_from_previous(const nst_transfer *t, const nst_stage *st, const float *prev_x,
                                      const nst_image *prev_colors, float *x, nst_error *err)
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
    nst_status s = resample_planar(stylisation, prev_colors->width, prev_colors->height, x, st->width, st->height,
                                   1.0, err);
    free(stylisation);
    if (s != NST_OK)
        return s;
    size_t plane = (size_t)st->width * st->height;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) {
            float v = x[c * plane + i] + (keep_content ? st->colors->rgb[3 * i + c] : 0.0f);
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
static nst_status import_history(const nst_stage *st, const carried_history *carry, nst_lbfgs *into,
                                 nst_error *err)
{
    double gradient_scale = (double)carry->width * carry->height / ((double)st->width * st->height);
    size_t from_n = (size_t)3 * carry->width * carry->height, to_n = (size_t)3 * st->width * st->height;
    /* Host copies: the pairs may live on a device. */
    float *from = nst_alloc(2 * from_n * sizeof(float), "a carried pair", err);
    float *to = from ? nst_alloc(2 * to_n * sizeof(float), "a carried pair", err) : NULL;
    nst_status s = to ? NST_OK : NST_ERR_NOMEM;
    for (int k = 0; k < nst_lbfgs_pair_count(carry->lbfgs) && s == NST_OK; k++) {
        s = nst_lbfgs_read_pair(carry->lbfgs, k, from, from + from_n, err);
        if (s == NST_OK)
            s = resample_planar(from, carry->width, carry->height, to, st->width, st->height, 1.0, err);
        if (s == NST_OK)
            s = resample_planar(from + from_n, carry->width, carry->height, to + to_n, st->width, st->height,
                                gradient_scale, err);
        if (s == NST_OK)
            s = nst_lbfgs_write_pair(into, to, to + to_n, err);
        if (s == NST_OK)
            nst_lbfgs_add_pair(into);
    }
    free(from);
    free(to);
    return s;
}

/* The stage `index` of the plan, after `iter_base` iterations, without its
 * pictures yet. */
static nst_stage stage_from_plan(const nst_plan *plan, int index, int iter_base)
{
    int final_side = longest_side(plan->stage_width[plan->stages - 1], plan->stage_height[plan->stages - 1]);
    nst_stage st = {.index = index, .width = plan->stage_width[index], .height = plan->stage_height[index],
                    .iter_base = iter_base};
    double factor = (double)final_side / longest_side(st.width, st.height);
    st.content_factor = factor < MAX_CONTENT_FACTOR ? factor : MAX_CONTENT_FACTOR;
    return st;
}

/* The content (and the grey version the net sees in luminance mode), the
 * preview frame and the styles' masks at the stage's size. */
static nst_status stage_pictures_new(const nst_run *run, nst_stage *st, nst_error *err)
{
    const nst_transfer *t = run->transfer;
    st->content = nst_image_resize(t->content, st->width, st->height, err);
    if (!st->content)
        return NST_ERR_NOMEM;
    st->colors = st->content;
    if (t->params.preserve_colors == NST_COLORS_LUMINANCE) {
        st->colors = nst_image_copy(st->content, err);
        if (!st->colors)
            return NST_ERR_NOMEM;
        nst_color_to_luminance(st->colors);
    }
    st->frame = nst_image_new(st->width, st->height, err);
    if (!st->frame)
        return NST_ERR_NOMEM;
    return nst_driver_new_masks(run, st, err);
}

/* Frees the stage's pictures; with keep_colors, its colours are handed
 * there instead, for the next stage's start. */
static void stage_pictures_free(nst_stage *st, nst_image **keep_colors)
{
    nst_image *kept = keep_colors ? st->colors : NULL;
    if (st->colors != kept && st->colors != st->content)
        nst_image_free(st->colors);
    if (st->content != kept)
        nst_image_free(st->content);
    nst_image_free(st->frame);
    nst_driver_free_masks(st);
    st->content = NULL;
    st->colors = NULL;
    st->frame = NULL;
    if (keep_colors)
        *keep_colors = kept;
}

/* A stage in one piece: the objective at the stage's size.  Its L-BFGS
 * starts with the pairs in *carry (which are then freed) and, when `keep`,
 * ends up there for the next stage. */
static nst_status run_whole_stage(nst_run *run, nst_stage *st, float *x, int iterations, carried_history *carry,
                                  int keep, nst_error *err)
{
    const nst_params *p = &run->transfer->params;
    int piece = longest_side(st->width, st->height);
    size_t n = (size_t)3 * st->width * st->height;
    nst_status s = nst_driver_new_objective(run, st, st->height, st->width, piece, err);
    float *content = s == NST_OK ? nst_alloc(n * sizeof(float), "the content", err) : NULL;
    if (s == NST_OK && !content)
        s = NST_ERR_NOMEM;
    if (s == NST_OK) {
        nst_image_to_planar(st->colors, content);
        s = nst_driver_set_content(st, content, err);
    }
    free(content);
    if (s != NST_OK)
        return s;
    if (iterations == 0) {
        double value;
        return nst_driver_evaluate(run, st, x, NULL, &value, err);
    }

    nst_driver_optimizer o;
    s = nst_driver_optimizer_init(&o, run, st, n, p->lbfgs_history, err);
    if (s == NST_OK && o.lbfgs && carry->lbfgs)
        s = import_history(st, carry, o.lbfgs, err);
    carried_history_clear(carry);
    if (s == NST_OK)
        s = nst_driver_optimizer_load(&o, x, err);
    for (int i = 1; i <= iterations && s == NST_OK; i++) {
        if (nst_driver_cancelled(run, &s, err))
            break;
        if (nst_driver_apply_steering(run, st, piece, &s, err))
            nst_driver_optimizer_reset(&o);
        if (s != NST_OK)
            break;
        int converged = 0, iter = st->iter_base + i;
        s = nst_driver_optimizer_step(&o, x, iter, &converged, err);
        if (s != NST_OK || converged)
            break;
        if (nst_driver_preview_due(run, iter - 1, iter)) {
            s = nst_driver_optimizer_fetch(&o, x, err); /* x comes back only for a preview */
            if (s == NST_OK)
                nst_driver_preview(run, st, x, nst_driver_optimizer_value(&o));
        }
    }
    /* x as the optimiser left it, also after a cancel or an error. */
    if (o.lbfgs || o.adam) {
        nst_error fetch_err = {0};
        nst_status fetched = nst_driver_optimizer_fetch(&o, x, s == NST_OK ? err : &fetch_err);
        if (s == NST_OK)
            s = fetched;
    }
    if (s == NST_OK)
        nst_driver_preview(run, st, x, nst_driver_optimizer_value(&o));
    if (s == NST_OK && keep && o.lbfgs) {
        carry->lbfgs = o.lbfgs;
        carry->width = st->width;
        carry->height = st->height;
        o.lbfgs = NULL;
    }
    nst_driver_optimizer_free(&o);
    return s;
}

nst_status nst_pyramid_run(nst_run *run, nst_image **result, nst_error *err)
{
    const nst_transfer *t = run->transfer;
    const nst_plan *plan = run->plan;
    float *prev_x = NULL, *x = NULL;
    nst_image *prev_colors = NULL;
    carried_history carry = {NULL, 0, 0};
    nst_stage st = {0};
    nst_status s = NST_OK;
    int iter_base = 0;
    *result = NULL;
    for (int index = 0; index < plan->stages && s == NST_OK; index++) {
        st = stage_from_plan(plan, index, iter_base);
        s = stage_pictures_new(run, &st, err);
        x = s == NST_OK ? nst_alloc((size_t)3 * st.width * st.height * sizeof(float), "the picture", err) : NULL;
        if (s == NST_OK && !x)
            s = NST_ERR_NOMEM;
        if (s == NST_OK)
            s = prev_x ? start_from_previous(t, &st, prev_x, prev_colors, x, err) : init_picture(t, &st, x, err);
        free(prev_x);
        prev_x = NULL;
        nst_image_free(prev_colors);
        prev_colors = NULL;
        if (s != NST_OK)
            break;

        int iterations = plan->stage_iterations[index];
        if (nst_driver_cancelled(run, &s, err))
            break;
        /* Tiles run their own short-lived optimisers: nothing to carry. */
        int carry_on = index + 1 < plan->stages && !plan->stage_tiled[index + 1];
        if (plan->stage_tiled[index]) {
            carried_history_clear(&carry);
            s = nst_tiles_run_stage(run, &st, x, iterations, err);
        } else {
            s = run_whole_stage(run, &st, x, iterations, &carry, carry_on, err);
        }
        nst_driver_free_objective(&st);
        iter_base += iterations;
        if (s == NST_OK && index + 1 < plan->stages) {
            prev_x = x;
            x = NULL;
            stage_pictures_free(&st, &prev_colors);
        }
    }
    carried_history_clear(&carry);
    free(prev_x);
    nst_image_free(prev_colors);
    /* The final stage's frame becomes the result. */
    if (s == NST_OK)
        s = nst_driver_render(run, &st, x, st.frame, err);
    if (s == NST_OK) {
        *result = st.frame;
        st.frame = NULL;
    }
    free(x);
    stage_pictures_free(&st, NULL);
    return s;
}
