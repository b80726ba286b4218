/* The services one evaluation needs: the objective and its style targets,
 * the optimiser, progress reports and previews, cancel and steering from
 * other threads.  They work on the run and stage they are given and call
 * nothing else of the driver (transfer.c, pyramid.c and tiles.c call them). */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/error.h"
#include "color/color.h"
#include "image/image.h"
#include "loss/objective.h"
#include "optim/optim.h"
#include "transfer/driver.h"

#ifdef NST_HAVE_VULKAN
#include "gpu/objective.h"
#endif

void nst_run_init(nst_run *run, nst_transfer *t, const nst_plan *plan)
{
    run->transfer = t;
    run->steer = &t->steer;
    run->cancel = &t->cancel;
    run->plan = plan;
    run->eval = 0;
    run->iter = 0;
    run->seen_generation = 0;
    run->gpu = NULL;
    clock_gettime(CLOCK_MONOTONIC, &run->start);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + 1e-9 * (double)(now.tv_nsec - start->tv_nsec);
}

static void fill_progress(const nst_run *run, const nst_stage *st, const nst_losses *l, nst_progress *p)
{
    p->eval = run->eval;
    p->iter = run->eval == 0 ? 0 : run->iter;
    p->iterations = run->transfer->params.iterations;
    p->content = l->content;
    p->style = l->style;
    p->tv = l->tv;
    p->total = l->total;
    p->seconds = seconds_since(&run->start);
    p->stage = st->index;
    p->stages = run->plan->stages;
    p->stage_width = st->width;
    p->stage_height = st->height;
    p->tile = st->tile;
    p->tiles = st->tiles;
    p->memory_bytes = run->plan->bytes;
    snprintf(p->device, sizeof p->device, "%s", run->plan->device);
}

nst_status nst_driver_evaluate(nst_run *run, const nst_stage *st, const float *x, float *grad, double *value,
                               nst_error *err)
{
    const nst_transfer *t = run->transfer;
    nst_losses l;
    nst_status s;
#ifdef NST_HAVE_VULKAN
    if (st->gpu_objective) {
        nst_gpu_losses gl;
        s = nst_gpu_objective_eval(st->gpu_objective, x, grad, &gl, err);
        l = (nst_losses){.content = gl.content, .style = gl.style, .tv = gl.tv, .total = gl.total};
    } else
#endif
        s = nst_objective_eval(st->objective, x, grad, &l, err);
    if (s != NST_OK)
        return s;
    *value = l.total;
    if (t->progress_fn) {
        nst_progress p;
        fill_progress(run, st, &l, &p);
        t->progress_fn(&p, t->progress_data);
    }
    run->eval++;
    return NST_OK;
}

nst_status nst_driver_render(const nst_run *run, const nst_stage *st, const float *x, nst_image *out,
                             nst_error *err)
{
    nst_planar_to_image(x, out);
    if (run->transfer->params.preserve_colors == NST_COLORS_LUMINANCE)
        return nst_color_keep_chroma(out, st->content, err);
    return NST_OK;
}

void nst_driver_preview(const nst_run *run, const nst_stage *st, const float *x, double value)
{
    const nst_transfer *t = run->transfer;
    if (!t->preview_fn || !st->frame || nst_driver_render(run, st, x, st->frame, NULL) != NST_OK)
        return;
    nst_losses l = {0, 0, 0, value};
    nst_progress p;
    fill_progress(run, st, &l, &p);
    t->preview_fn(st->frame, &p, t->preview_data);
}

int nst_driver_preview_due(const nst_run *run, int previous_iter, int iter)
{
    const nst_transfer *t = run->transfer;
    return t->preview_fn && iter / t->preview_every > previous_iter / t->preview_every &&
           iter < t->params.iterations;
}

int nst_driver_cancelled(const nst_run *run, nst_status *status, nst_error *err)
{
    if (!atomic_load(run->cancel))
        return 0;
    *status = nst_error_set(err, NST_ERR_CANCELLED, "cancelled");
    return 1;
}

/* ---- the objective ---- */

/* Area of a picture, as a blend weight. */
static double area(int w, int h)
{
    return (double)w * h;
}

/* One style picture, prepared, cut into pieces of at most `piece` px a side
 * whose Grams add up to the whole picture's: each piece gets a blend weight
 * proportional to its area.  Appends to the arrays; returns the new count. */
static nst_status cut_style(const nst_image *style, int piece, double blend, float **planar, int *heights,
                            int *widths, double *weights, int *count, int max_count, nst_error *err)
{
    int nx = (style->width + piece - 1) / piece, ny = (style->height + piece - 1) / piece;
    if (*count + nx * ny > max_count)
        return nst_error_set(err, NST_ERR_NOMEM, "the style picture (%dx%d) needs too many pieces", style->width,
                             style->height);
    for (int j = 0; j < ny; j++) {
        int y0 = j * style->height / ny, y1 = (j + 1) * style->height / ny;
        for (int i = 0; i < nx; i++) {
            int x0 = i * style->width / nx, x1 = (i + 1) * style->width / nx;
            int w = x1 - x0, h = y1 - y0, k = *count;
            float *p = nst_alloc((size_t)3 * w * h * sizeof(float), "a style picture", err);
            if (!p)
                return NST_ERR_NOMEM;
            size_t plane = (size_t)w * h;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int c = 0; c < 3; c++)
                        p[c * plane + (size_t)y * w + x] = style->rgb[3 * ((size_t)(y0 + y) * style->width + x0 + x) + c];
            planar[k] = p;
            heights[k] = h;
            widths[k] = w;
            weights[k] = blend * area(w, h) / area(style->width, style->height);
            *count = k + 1;
        }
    }
    return NST_OK;
}

#define MAX_STYLE_PIECES 4096
#define STYLE_MIN_SIDE 32

void nst_driver_style_size(int width, int height, int longest, double style_scale, int *out_width,
                           int *out_height)
{
    int target = (int)lround(longest * style_scale);
    nst_image_fit_size(width, height, target < 1 ? 1 : target, out_width, out_height);
    int shorter = *out_width < *out_height ? *out_width : *out_height;
    if (shorter < STYLE_MIN_SIDE) {
        double grow = (double)STYLE_MIN_SIDE / shorter;
        *out_width = (int)ceil(*out_width * grow);
        *out_height = (int)ceil(*out_height * grow);
    }
}

/* The stage's style targets from the style pictures scaled by style_scale,
 * in pieces of at most style_piece px; with masks, each style's pieces are
 * a group of their own (one region). */
static nst_status set_style_targets(const nst_run *run, nst_stage *st, double style_scale, int style_piece,
                                    nst_error *err)
{
    const nst_transfer *t = run->transfer;
    float **planar = nst_alloc_zero(MAX_STYLE_PIECES, sizeof *planar, "style pieces", err);
    int *heights = nst_alloc_zero(MAX_STYLE_PIECES, 2 * sizeof(int), "style pieces", err);
    double *weights = nst_alloc_zero(MAX_STYLE_PIECES, sizeof(double), "style pieces", err);
    int *groups = t->n_masks ? nst_alloc_zero(MAX_STYLE_PIECES, sizeof(int), "style pieces", err) : NULL;
    int count = 0;
    nst_status s = planar && heights && weights && (groups || !t->n_masks) ? NST_OK : NST_ERR_NOMEM;
    int *widths = heights ? heights + MAX_STYLE_PIECES : NULL;
    /* The style is scaled with the stage, so its strokes keep their size
     * relative to the picture at every stage. */
    int longest = st->width > st->height ? st->width : st->height;
    st->style_scale = style_scale;
    for (int i = 0; i < t->n_styles && s == NST_OK; i++) {
        int w, h;
        nst_driver_style_size(t->styles[i]->width, t->styles[i]->height, longest, style_scale, &w, &h);
        nst_image *style = nst_image_resize(t->styles[i], w, h, err);
        if (!style) {
            s = NST_ERR_NOMEM;
            break;
        }
        if (t->params.preserve_colors == NST_COLORS_HISTOGRAM)
            s = nst_color_match_histogram(style, st->colors, err);
        else if (t->params.preserve_colors == NST_COLORS_LUMINANCE) {
            nst_color_to_luminance(style);
            nst_color_match_luminance(style, st->colors);
        }
        int first = count;
        if (s == NST_OK)
            s = cut_style(style, style_piece, t->blend[i], planar, heights, widths, weights, &count,
                          MAX_STYLE_PIECES, err);
        for (int k = first; groups && k < count; k++)
            groups[k] = i;
        nst_image_free(style);
    }
#ifdef NST_HAVE_VULKAN
    if (s == NST_OK && st->gpu_objective)
        s = nst_gpu_objective_set_styles_grouped(st->gpu_objective, count, (const float *const *)planar, heights,
                                                 widths, weights, groups, err);
    else
#endif
    if (s == NST_OK)
        s = nst_objective_set_styles_grouped(st->objective, count, (const float *const *)planar, heights, widths,
                                             weights, groups, err);
    for (int i = 0; i < count; i++)
        free(planar[i]);
    free(planar);
    free(heights);
    free(weights);
    free(groups);
    return s;
}

/* The steering as it is now, read under the lock; returns the generation
 * read with it. */
static int read_steering(const nst_run *run, double *a, double *b, double *tau, double *scale)
{
    pthread_mutex_lock(&run->steer->lock);
    *a = run->steer->content_weight;
    *b = run->steer->style_weight;
    *tau = run->steer->tv_weight;
    *scale = run->steer->style_scale;
    int generation = atomic_load(&run->steer->generation);
    pthread_mutex_unlock(&run->steer->lock);
    return generation;
}

static void set_stage_weights(nst_stage *st, double a, double b, double tau)
{
#ifdef NST_HAVE_VULKAN
    if (st->gpu_objective) {
        nst_gpu_objective_set_weights(st->gpu_objective, a * st->content_factor, b, tau);
        return;
    }
#endif
    nst_objective_set_weights(st->objective, a * st->content_factor, b, tau);
}

/* The stage's objective at h x w on the run's device or the CPU. */
static nst_status open_objective(nst_run *run, nst_stage *st, int height, int width, nst_error *err)
{
    const nst_transfer *t = run->transfer;
    nst_net_options options = {.pooling = t->params.pooling, .padding = NST_PAD_REFLECT, .border = NST_DRIVER_BORDER};
    nst_driver_free_objective(st);
#ifdef NST_HAVE_VULKAN
    if (run->gpu) {
        st->gpu_objective = nst_gpu_objective_new(run->gpu, t->model, height, width, &t->params, &options, err);
        return st->gpu_objective ? NST_OK : (err ? err->code : NST_ERR_DEVICE);
    }
#endif
    st->objective = nst_objective_new(t->model, height, width, &t->params, &options, err);
    if (!st->objective)
        return err ? err->code : NST_ERR_INVALID;
    nst_objective_set_cancel(st->objective, run->cancel);
    return NST_OK;
}

nst_status nst_driver_set_content(nst_stage *st, const float *content, nst_error *err)
{
#ifdef NST_HAVE_VULKAN
    if (st->gpu_objective)
        return nst_gpu_objective_set_content(st->gpu_objective, content, err);
#endif
    return nst_objective_set_content(st->objective, content, err);
}

nst_status nst_driver_new_objective(nst_run *run, nst_stage *st, int height, int width, int style_piece,
                                    nst_error *err)
{
    nst_status s = open_objective(run, st, height, width, err);
    if (s != NST_OK)
        return s;
    double a, b, tau, scale;
    run->seen_generation = read_steering(run, &a, &b, &tau, &scale);
    set_stage_weights(st, a, b, tau);
    s = set_style_targets(run, st, scale, style_piece, err);
    return s == NST_OK ? nst_driver_set_masks(run, st, 0, 0, err) : s;
}

nst_status nst_driver_new_masks(const nst_run *run, nst_stage *st, nst_error *err)
{
    const nst_transfer *t = run->transfer;
    for (int i = 0; i < t->n_styles; i++) {
        if (!t->masks[i])
            continue;
        st->masks[i] = nst_alloc((size_t)st->width * st->height * sizeof(float), "a style mask", err);
        if (!st->masks[i])
            return NST_ERR_NOMEM;
        nst_status s = nst_plane_resize(t->masks[i], t->mask_width[i], t->mask_height[i], st->masks[i], st->width,
                                        st->height, 0, err);
        if (s != NST_OK)
            return s;
    }
    return NST_OK;
}

void nst_driver_free_masks(nst_stage *st)
{
    for (int i = 0; i < NST_MAX_STYLES; i++) {
        free(st->masks[i]);
        st->masks[i] = NULL;
    }
}

nst_status nst_driver_set_masks(const nst_run *run, nst_stage *st, int x0, int y0, nst_error *err)
{
    const nst_transfer *t = run->transfer;
    if (!t->n_masks)
        return NST_OK;
#ifdef NST_HAVE_VULKAN
    if (st->gpu_objective)
        return nst_gpu_objective_set_masks(st->gpu_objective, t->n_styles, (const float *const *)st->masks,
                                           st->width, x0, y0, err);
#endif
    return nst_objective_set_masks(st->objective, t->n_styles, (const float *const *)st->masks, st->width, x0, y0,
                                   err);
}

void nst_driver_free_objective(nst_stage *st)
{
    nst_objective_free(st->objective);
    st->objective = NULL;
#ifdef NST_HAVE_VULKAN
    nst_gpu_objective_free(st->gpu_objective);
#endif
    st->gpu_objective = NULL;
}

int nst_driver_apply_steering(nst_run *run, nst_stage *st, int style_piece, nst_status *status, nst_error *err)
{
    int generation = atomic_load(&run->steer->generation);
    if (generation == run->seen_generation)
        return 0;
    /* A change made while reading is applied again at the next look. */
    run->seen_generation = generation;
    double a, b, tau, scale;
    read_steering(run, &a, &b, &tau, &scale);
    set_stage_weights(st, a, b, tau);
    if (scale != st->style_scale)
        *status = set_style_targets(run, st, scale, style_piece, err);
    return 1;
}

/* ---- the optimiser ---- */

/* What the optimisers minimise: one evaluation of the stage's objective. */
static nst_status evaluate(const float *x, float *grad, double *value, void *user_data, nst_error *err)
{
    nst_driver_optimizer *o = user_data;
    return nst_driver_evaluate(o->run, o->stage, x, grad, value, err);
}

/* The optimiser on the device objective's own buffers: it evaluates the
 * picture already there, and x stays on the device between steps. */
static nst_status device_optimizer_init(nst_driver_optimizer *o, const nst_stage *st, size_t n, int history,
                                        nst_error *err)
{
#ifdef NST_HAVE_VULKAN
    const nst_params *p = &o->run->transfer->params;
    nst_gpu_buffer *picture = nst_gpu_objective_picture(st->gpu_objective);
    nst_gpu_buffer *gradient = nst_gpu_objective_gradient(st->gpu_objective);
    o->on_device = 1;
    if (p->optimizer == NST_OPTIM_LBFGS)
        o->lbfgs = nst_lbfgs_new_on_device(o->run->gpu, picture, gradient, n, history, 0.0f, 1.0f, err);
    else
        o->adam = nst_adam_new_on_device(o->run->gpu, picture, gradient, n, p->learning_rate, 0.0f, 1.0f, err);
    return o->lbfgs || o->adam ? NST_OK : (err && err->code != NST_OK ? err->code : NST_ERR_DEVICE);
#else
    (void)o, (void)st, (void)n, (void)history;
    return nst_error_set(err, NST_ERR_DEVICE, "this build has no GPU backend");
#endif
}

nst_status nst_driver_optimizer_init(nst_driver_optimizer *o, nst_run *run, const nst_stage *st, size_t n,
                                     int history, nst_error *err)
{
    const nst_params *p = &run->transfer->params;
    o->lbfgs = NULL;
    o->adam = NULL;
    o->run = run;
    o->stage = st;
    o->on_device = 0;
    if (st->gpu_objective)
        return device_optimizer_init(o, st, n, history, err);
    if (p->optimizer == NST_OPTIM_LBFGS)
        o->lbfgs = nst_lbfgs_new(n, history, 0.0f, 1.0f, err);
    else
        o->adam = nst_adam_new(n, p->learning_rate, 0.0f, 1.0f, err);
    return o->lbfgs || o->adam ? NST_OK : NST_ERR_NOMEM;
}

nst_status nst_driver_optimizer_step(nst_driver_optimizer *o, float *x, int iter, int *converged, nst_error *err)
{
    o->run->iter = iter;
    float *host_x = o->on_device ? NULL : x;
    if (o->lbfgs)
        return nst_lbfgs_step(o->lbfgs, host_x, evaluate, o, converged, err);
    return nst_adam_step(o->adam, host_x, evaluate, o, err);
}

nst_status nst_driver_optimizer_load(nst_driver_optimizer *o, const float *x, nst_error *err)
{
    if (!o->on_device)
        return NST_OK;
    return o->lbfgs ? nst_lbfgs_write_x(o->lbfgs, x, err) : nst_adam_write_x(o->adam, x, err);
}

nst_status nst_driver_optimizer_fetch(nst_driver_optimizer *o, float *x, nst_error *err)
{
    if (!o->on_device)
        return NST_OK;
    return o->lbfgs ? nst_lbfgs_read_x(o->lbfgs, x, err) : nst_adam_read_x(o->adam, x, err);
}

void nst_driver_optimizer_reset(nst_driver_optimizer *o)
{
    if (o->lbfgs)
        nst_lbfgs_reset(o->lbfgs);
    if (o->adam)
        nst_adam_reset(o->adam);
}

double nst_driver_optimizer_value(const nst_driver_optimizer *o)
{
    return o->lbfgs ? nst_lbfgs_value(o->lbfgs) : nst_adam_value(o->adam);
}

void nst_driver_optimizer_free(nst_driver_optimizer *o)
{
    nst_lbfgs_free(o->lbfgs);
    nst_adam_free(o->adam);
    o->lbfgs = NULL;
    o->adam = NULL;
}
