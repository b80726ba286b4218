/* The driver: prepares the pictures (size, colours), owns the objective and
 * the optimiser, runs the iterations, reports progress and previews, and
 * honours cancel and steering from other threads.  The stages of the pyramid
 * are in pyramid.c, tiled stages in tiles.c, the memory plan in memory.c. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/parallel.h"
#include "color/color.h"
#include "image/image.h"
#include "loss/objective.h"
#include "nn/model.h"
#include "optim/optim.h"
#include "transfer/driver.h"
#include "transfer/params.h"

nst_transfer *nst_transfer_new(const nst_model *model, const nst_params *params, nst_error *err)
{
    if (nst_params_validate(params, model, err) != NST_OK)
        return NULL;
    nst_transfer *t = nst_alloc_zero(1, sizeof *t, "the transfer", err);
    if (!t)
        return NULL;
    t->model = model;
    t->params = *params;
    pthread_mutex_init(&t->steer.lock, NULL);
    t->steer.content_weight = params->content_weight;
    t->steer.style_weight = params->style_weight;
    t->steer.tv_weight = params->tv_weight;
    t->steer.style_scale = params->style_scale;
    return t;
}

void nst_transfer_free(nst_transfer *t)
{
    if (!t)
        return;
    nst_image_free(t->content);
    for (int i = 0; i < t->n_styles; i++)
        nst_image_free(t->styles[i]);
    pthread_mutex_destroy(&t->steer.lock);
    free(t);
}

static nst_status check_picture(const nst_image *image, const char *what, nst_error *err)
{
    if (!image || image->width < 1 || image->height < 1 || !image->rgb)
        return nst_error_set(err, NST_ERR_INVALID, "the %s picture is empty", what);
    return NST_OK;
}

nst_status nst_transfer_set_content(nst_transfer *t, const nst_image *content, nst_error *err)
{
    if (check_picture(content, "content", err) != NST_OK)
        return err ? err->code : NST_ERR_INVALID;
    nst_image *copy = nst_image_copy(content, err);
    if (!copy)
        return NST_ERR_NOMEM;
    nst_image_free(t->content);
    t->content = copy;
    return NST_OK;
}

nst_status nst_transfer_add_style(nst_transfer *t, const nst_image *style, double blend_weight, nst_error *err)
{
    if (check_picture(style, "style", err) != NST_OK)
        return err ? err->code : NST_ERR_INVALID;
    if (t->n_styles == NST_MAX_STYLES)
        return nst_error_set(err, NST_ERR_INVALID, "at most %d style pictures", NST_MAX_STYLES);
    if (!(isfinite(blend_weight) && blend_weight >= 0))
        return nst_error_set(err, NST_ERR_INVALID, "style blend weight must be a non-negative number");
    nst_image *copy = nst_image_copy(style, err);
    if (!copy)
        return NST_ERR_NOMEM;
    t->styles[t->n_styles] = copy;
    t->blend[t->n_styles++] = blend_weight;
    return NST_OK;
}

void nst_transfer_set_progress_callback(nst_transfer *t, nst_progress_fn fn, void *user_data)
{
    t->progress_fn = fn;
    t->progress_data = user_data;
}

void nst_transfer_set_preview_callback(nst_transfer *t, nst_preview_fn fn, int every, void *user_data)
{
    t->preview_fn = fn;
    t->preview_every = every > 0 ? every : 1;
    t->preview_data = user_data;
}

void nst_transfer_cancel(nst_transfer *t)
{
    atomic_store(&t->cancel, 1);
}

nst_status nst_transfer_set_weights(nst_transfer *t, double content_weight, double style_weight, double tv_weight,
                                    nst_error *err)
{
    nst_status s = nst_params_check_weights(content_weight, style_weight, tv_weight, err);
    if (s != NST_OK)
        return s;
    pthread_mutex_lock(&t->steer.lock);
    t->steer.content_weight = content_weight;
    t->steer.style_weight = style_weight;
    t->steer.tv_weight = tv_weight;
    atomic_fetch_add(&t->steer.generation, 1);
    pthread_mutex_unlock(&t->steer.lock);
    return NST_OK;
}

nst_status nst_transfer_set_style_scale(nst_transfer *t, double style_scale, nst_error *err)
{
    nst_status s = nst_params_check_style_scale(style_scale, err);
    if (s != NST_OK)
        return s;
    pthread_mutex_lock(&t->steer.lock);
    t->steer.style_scale = style_scale;
    atomic_fetch_add(&t->steer.generation, 1);
    pthread_mutex_unlock(&t->steer.lock);
    return NST_OK;
}

void nst_transfer_working_size(const nst_params *params, int content_width, int content_height, int *width,
                               int *height)
{
    int longest = content_width > content_height ? content_width : content_height;
    if (params->size <= 0 || params->size == longest) {
        *width = content_width;
        *height = content_height;
    } else {
        nst_image_fit_size(content_width, content_height, params->size, width, height);
    }
}

/* ---- one run ---- */

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + 1e-9 * (double)(now.tv_nsec - start->tv_nsec);
}

static void fill_progress(nst_transfer *t, const nst_losses *l, nst_progress *p)
{
    p->eval = t->eval;
    p->iter = t->eval == 0 ? 0 : t->iter;
    p->iterations = t->params.iterations;
    p->content = l->content;
    p->style = l->style;
    p->tv = l->tv;
    p->total = l->total;
    p->seconds = seconds_since(&t->start);
    p->stage = t->stage;
    p->stages = t->plan.stages;
    p->stage_width = t->width;
    p->stage_height = t->height;
    p->tile = t->tile;
    p->tiles = t->tiles;
    p->memory_bytes = t->plan.bytes;
}

nst_status nst_driver_evaluate(const float *x, float *grad, double *value, void *user_data, nst_error *err)
{
    nst_transfer *t = user_data;
    nst_losses l;
    nst_status s = nst_objective_eval(t->objective, x, grad, &l, err);
    if (s != NST_OK)
        return s;
    *value = l.total;
    if (t->progress_fn) {
        nst_progress p;
        fill_progress(t, &l, &p);
        t->progress_fn(&p, t->progress_data);
    }
    t->eval++;
    return NST_OK;
}

/* The picture the user gets from the planar x at the stage size: true
 * colours restored in luminance mode. */
static nst_status render(nst_transfer *t, const float *x, nst_image *out, nst_error *err)
{
    nst_planar_to_image(x, out);
    if (t->params.preserve_colors == NST_COLORS_LUMINANCE)
        return nst_color_keep_chroma(out, t->stage_content, err);
    return NST_OK;
}

void nst_driver_preview(nst_transfer *t, const float *x, double value)
{
    if (!t->preview_fn || !t->frame || render(t, x, t->frame, NULL) != NST_OK)
        return;
    nst_losses l = {0, 0, 0, value};
    nst_progress p;
    fill_progress(t, &l, &p);
    t->preview_fn(t->frame, &p, t->preview_data);
}

int nst_driver_preview_due(const nst_transfer *t, int previous_iter, int iter)
{
    return t->preview_fn && iter / t->preview_every > previous_iter / t->preview_every &&
           iter < t->params.iterations;
}

int nst_driver_cancelled(nst_transfer *t, nst_status *status, nst_error *err)
{
    if (!atomic_load(&t->cancel))
        return 0;
    *status = nst_error_set(err, NST_ERR_CANCELLED, "cancelled");
    return 1;
}

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

nst_status nst_driver_set_style_targets(nst_transfer *t, double style_scale, int style_piece, nst_error *err)
{
    float **planar = nst_alloc_zero(MAX_STYLE_PIECES, sizeof *planar, "style pieces", err);
    int *heights = nst_alloc_zero(MAX_STYLE_PIECES, 2 * sizeof(int), "style pieces", err);
    double *weights = nst_alloc_zero(MAX_STYLE_PIECES, sizeof(double), "style pieces", err);
    int count = 0;
    nst_status s = planar && heights && weights ? NST_OK : NST_ERR_NOMEM;
    int *widths = heights ? heights + MAX_STYLE_PIECES : NULL;
    /* The style is scaled with the stage, so its strokes keep their size
     * relative to the picture at every stage. */
    int longest = t->width > t->height ? t->width : t->height;
    for (int i = 0; i < t->n_styles && s == NST_OK; i++) {
        int w, h;
        nst_driver_style_size(t->styles[i]->width, t->styles[i]->height, longest, style_scale, &w, &h);
        nst_image *style = nst_image_resize(t->styles[i], w, h, err);
        if (!style) {
            s = NST_ERR_NOMEM;
            break;
        }
        if (t->params.preserve_colors == NST_COLORS_HISTOGRAM)
            s = nst_color_match_histogram(style, t->stage_colors, err);
        else if (t->params.preserve_colors == NST_COLORS_LUMINANCE) {
            nst_color_to_luminance(style);
            nst_color_match_luminance(style, t->stage_colors);
        }
        if (s == NST_OK)
            s = cut_style(style, style_piece, t->blend[i], planar, heights, widths, weights, &count,
                          MAX_STYLE_PIECES, err);
        nst_image_free(style);
    }
    if (s == NST_OK)
        s = nst_objective_set_styles(t->objective, count, (const float *const *)planar, heights, widths, weights,
                                     err);
    for (int i = 0; i < count; i++)
        free(planar[i]);
    free(planar);
    free(heights);
    free(weights);
    return s;
}

static void set_stage_weights(nst_transfer *t, double a, double b, double tau)
{
    nst_objective_set_weights(t->objective, a * t->content_factor, b, tau);
}

nst_status nst_driver_new_objective(nst_transfer *t, int height, int width, int style_piece, nst_error *err)
{
    nst_net_options options = {.pooling = t->params.pooling, .padding = NST_PAD_REFLECT, .border = NST_DRIVER_BORDER};
    nst_objective_free(t->objective);
    t->objective = nst_objective_new(t->model, height, width, &t->params, &options, err);
    if (!t->objective)
        return err ? err->code : NST_ERR_INVALID;
    nst_objective_set_cancel(t->objective, &t->cancel);
    pthread_mutex_lock(&t->steer.lock);
    double a = t->steer.content_weight, b = t->steer.style_weight, tau = t->steer.tv_weight;
    t->style_scale = t->steer.style_scale;
    t->seen_generation = atomic_load(&t->steer.generation);
    pthread_mutex_unlock(&t->steer.lock);
    set_stage_weights(t, a, b, tau);
    return nst_driver_set_style_targets(t, t->style_scale, style_piece, err);
}

int nst_driver_apply_steering(nst_transfer *t, int style_piece, nst_status *status, nst_error *err)
{
    int generation = atomic_load(&t->steer.generation);
    if (generation == t->seen_generation)
        return 0;
    t->seen_generation = generation;
    pthread_mutex_lock(&t->steer.lock);
    double a = t->steer.content_weight, b = t->steer.style_weight, tau = t->steer.tv_weight;
    double scale = t->steer.style_scale;
    pthread_mutex_unlock(&t->steer.lock);
    set_stage_weights(t, a, b, tau);
    if (scale != t->style_scale) {
        t->style_scale = scale;
        *status = nst_driver_set_style_targets(t, scale, style_piece, err);
    }
    return 1;
}

nst_status nst_driver_optimizer_init(nst_driver_optimizer *o, const nst_params *p, size_t n, int history,
                                     nst_error *err)
{
    o->lbfgs = NULL;
    o->adam = NULL;
    if (p->optimizer == NST_OPTIM_LBFGS)
        o->lbfgs = nst_lbfgs_new(n, history, 0.0f, 1.0f, err);
    else
        o->adam = nst_adam_new(n, p->learning_rate, 0.0f, 1.0f, err);
    return o->lbfgs || o->adam ? NST_OK : NST_ERR_NOMEM;
}

nst_status nst_driver_optimizer_step(nst_driver_optimizer *o, float *x, nst_transfer *t, int *converged,
                                     nst_error *err)
{
    if (o->lbfgs)
        return nst_lbfgs_step(o->lbfgs, x, nst_driver_evaluate, t, converged, err);
    return nst_adam_step(o->adam, x, nst_driver_evaluate, t, err);
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

/* Frees what one run allocated. */
static void end_run(nst_transfer *t)
{
    nst_objective_free(t->objective);
    if (t->stage_colors != t->stage_content)
        nst_image_free(t->stage_colors);
    nst_image_free(t->stage_content);
    nst_image_free(t->frame);
    t->objective = NULL;
    t->stage_content = NULL;
    t->stage_colors = NULL;
    t->frame = NULL;
}

nst_status nst_transfer_plan(const nst_transfer *t, nst_plan *plan, nst_error *err)
{
    return nst_memory_plan(t, plan, err);
}

size_t nst_transfer_estimate_bytes(const nst_transfer *t)
{
    nst_plan plan;
    if (!t->content)
        return 0;
    nst_memory_plan(t, &plan, NULL);
    return plan.bytes;
}

nst_status nst_transfer_run(nst_transfer *t, nst_image **result, nst_error *err)
{
    *result = NULL;
    if (!t->content)
        return nst_error_set(err, NST_ERR_INVALID, "no content picture was given");
    if (t->params.n_style_layers > 0 && t->n_styles == 0)
        return nst_error_set(err, NST_ERR_INVALID, "no style picture was given");
    nst_status s = nst_memory_plan(t, &t->plan, err);
    if (s != NST_OK)
        return s;
    nst_parallel_set_workers(t->params.threads);
    clock_gettime(CLOCK_MONOTONIC, &t->start);
    t->eval = 0;
    t->iter = 0;
    if (!t->preview_every)
        t->preview_every = 1;

    float *x = NULL;
    s = nst_pyramid_run(t, &x, err);
    if (s == NST_OK) {
        s = render(t, x, t->frame, err);
        if (s == NST_OK) {
            *result = t->frame;
            t->frame = NULL;
        }
    }
    free(x);
    end_run(t);
    return s;
}
