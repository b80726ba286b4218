/* The driver: prepares the pictures (size, colours), owns the objective and
 * the optimiser, runs the iterations, reports progress and previews, and
 * honours cancel and steering from other threads. */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "color/color.h"
#include "loss/objective.h"
#include "nn/model.h"
#include "optim/optim.h"

/* Values other threads may change while the driver runs. */
typedef struct steering {
    pthread_mutex_t lock;
    double content_weight, style_weight, tv_weight, style_scale;
    atomic_int generation; /* bumped on every change */
} steering;

struct nst_transfer {
    const nst_model *model;
    nst_params params;
    nst_image *content;
    nst_image *styles[NST_MAX_STYLES];
    double blend[NST_MAX_STYLES];
    int n_styles;

    nst_progress_fn progress_fn;
    void *progress_data;
    nst_preview_fn preview_fn;
    void *preview_data;
    int preview_every;

    atomic_int cancel;
    steering steer;

    /* State of one run. */
    nst_objective *objective;
    nst_image *work_content; /* the content at the working size, true colours */
    nst_image *frame;        /* scratch for previews and the result */
    int width, height;
    int eval, iter;
    struct timespec start;
};

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

static int valid_weight(double v)
{
    return isfinite(v) && v >= 0;
}

void nst_transfer_set_weights(nst_transfer *t, double content_weight, double style_weight, double tv_weight)
{
    if (!valid_weight(content_weight) || !valid_weight(style_weight) || !valid_weight(tv_weight))
        return;
    pthread_mutex_lock(&t->steer.lock);
    t->steer.content_weight = content_weight;
    t->steer.style_weight = style_weight;
    t->steer.tv_weight = tv_weight;
    atomic_fetch_add(&t->steer.generation, 1);
    pthread_mutex_unlock(&t->steer.lock);
}

void nst_transfer_set_style_scale(nst_transfer *t, double style_scale)
{
    if (!(isfinite(style_scale) && style_scale >= 0.05 && style_scale <= 8))
        return;
    pthread_mutex_lock(&t->steer.lock);
    t->steer.style_scale = style_scale;
    atomic_fetch_add(&t->steer.generation, 1);
    pthread_mutex_unlock(&t->steer.lock);
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
}

/* The function the optimisers minimise: one evaluation, reported. */
static nst_status evaluate(const float *x, float *grad, double *value, void *user_data, nst_error *err)
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

/* The picture the user gets from the planar x: true colours restored in
 * luminance mode. */
static nst_status render(nst_transfer *t, const float *x, nst_image *out, nst_error *err)
{
    nst_planar_to_image(x, out);
    if (t->params.preserve_colors == NST_COLORS_LUMINANCE)
        return nst_color_keep_chroma(out, t->work_content, err);
    return NST_OK;
}

static void emit_preview(nst_transfer *t, const float *x, double value)
{
    if (!t->preview_fn || render(t, x, t->frame, NULL) != NST_OK)
        return;
    nst_losses l = {0, 0, 0, value};
    nst_progress p;
    fill_progress(t, &l, &p);
    t->preview_fn(t->frame, &p, t->preview_data);
}

/* Style pictures at working size x style scale, colour-prepared, planar. */
static nst_status set_style_targets(nst_transfer *t, const nst_image *content_for_colors, double style_scale,
                                    nst_error *err)
{
    float *planar[NST_MAX_STYLES] = {0};
    int heights[NST_MAX_STYLES], widths[NST_MAX_STYLES];
    nst_status s = NST_OK;
    int longest = t->width > t->height ? t->width : t->height;
    int target = (int)lround(longest * style_scale);
    if (target < 1)
        target = 1;
    for (int i = 0; i < t->n_styles && s == NST_OK; i++) {
        int w, h;
        nst_image_fit_size(t->styles[i]->width, t->styles[i]->height, target, &w, &h);
        nst_image *style = nst_image_resize(t->styles[i], w, h, err);
        if (!style) {
            s = NST_ERR_NOMEM;
            break;
        }
        if (t->params.preserve_colors == NST_COLORS_HISTOGRAM)
            s = nst_color_match_histogram(style, content_for_colors, err);
        else if (t->params.preserve_colors == NST_COLORS_LUMINANCE) {
            nst_color_to_luminance(style);
            nst_color_match_luminance(style, content_for_colors);
        }
        planar[i] = s == NST_OK ? nst_alloc((size_t)3 * w * h * sizeof(float), "a style picture", err) : NULL;
        if (planar[i])
            nst_image_to_planar(style, planar[i]);
        else if (s == NST_OK)
            s = NST_ERR_NOMEM;
        heights[i] = h;
        widths[i] = w;
        nst_image_free(style);
    }
    if (s == NST_OK)
        s = nst_objective_set_styles(t->objective, t->n_styles, (const float *const *)planar, heights, widths,
                                     t->blend, err);
    for (int i = 0; i < t->n_styles; i++)
        free(planar[i]);
    return s;
}

/* Starting picture, planar. */
static nst_status init_picture(nst_transfer *t, const nst_image *content, float *x, nst_error *err)
{
    size_t n = (size_t)3 * t->width * t->height;
    if (t->params.init == NST_INIT_NOISE) {
        uint64_t state = t->params.seed;
        for (size_t i = 0; i < n; i++) {
            /* splitmix64: reproducible from the seed, independent of threads */
            uint64_t z = (state += 0x9E3779B97F4A7C15ull);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            z ^= z >> 31;
            x[i] = (float)((z >> 40) / (double)(1ull << 24));
        }
        return NST_OK;
    }
    if (t->params.init == NST_INIT_STYLE) {
        nst_image *style = nst_image_resize(t->styles[0], t->width, t->height, err);
        if (!style)
            return NST_ERR_NOMEM;
        if (t->params.preserve_colors == NST_COLORS_LUMINANCE) {
            nst_color_to_luminance(style);
            nst_color_match_luminance(style, content);
        }
        nst_image_to_planar(style, x);
        nst_image_free(style);
        return NST_OK;
    }
    nst_image_to_planar(content, x);
    return NST_OK;
}

/* Applies steering made since the last look; returns 1 when the objective changed. */
static int apply_steering(nst_transfer *t, int *seen_generation, double *style_scale, const nst_image *colors,
                          nst_status *status, nst_error *err)
{
    int generation = atomic_load(&t->steer.generation);
    if (generation == *seen_generation)
        return 0;
    *seen_generation = generation;
    pthread_mutex_lock(&t->steer.lock);
    double a = t->steer.content_weight, b = t->steer.style_weight, tau = t->steer.tv_weight;
    double scale = t->steer.style_scale;
    pthread_mutex_unlock(&t->steer.lock);
    nst_objective_set_weights(t->objective, a, b, tau);
    if (scale != *style_scale) {
        *style_scale = scale;
        *status = set_style_targets(t, colors, scale, err);
    }
    return 1;
}

typedef struct optimizer {
    nst_lbfgs *lbfgs;
    nst_adam *adam;
} optimizer;

static nst_status optimizer_step(optimizer *o, float *x, nst_transfer *t, int *converged, nst_error *err)
{
    if (o->lbfgs)
        return nst_lbfgs_step(o->lbfgs, x, evaluate, t, converged, err);
    return nst_adam_step(o->adam, x, evaluate, t, err);
}

static void optimizer_reset(optimizer *o)
{
    if (o->lbfgs)
        nst_lbfgs_reset(o->lbfgs);
    if (o->adam)
        nst_adam_reset(o->adam);
}

static double optimizer_value(const optimizer *o)
{
    return o->lbfgs ? nst_lbfgs_value(o->lbfgs) : nst_adam_value(o->adam);
}

static nst_status optimize(nst_transfer *t, float *x, const nst_image *colors, nst_error *err)
{
    size_t n = (size_t)3 * t->width * t->height;
    optimizer o = {0};
    if (t->params.optimizer == NST_OPTIM_LBFGS)
        o.lbfgs = nst_lbfgs_new(n, t->params.lbfgs_history, 0.0f, 1.0f, err);
    else
        o.adam = nst_adam_new(n, t->params.learning_rate, 0.0f, 1.0f, err);
    if (!o.lbfgs && !o.adam)
        return NST_ERR_NOMEM;

    nst_status s = NST_OK;
    int seen_generation = 0; /* weights given before the run are in params already */
    double style_scale = t->params.style_scale;
    for (t->iter = 1; t->iter <= t->params.iterations; t->iter++) {
        if (atomic_load(&t->cancel)) {
            s = nst_error_set(err, NST_ERR_CANCELLED, "cancelled");
            break;
        }
        if (apply_steering(t, &seen_generation, &style_scale, colors, &s, err))
            optimizer_reset(&o);
        if (s != NST_OK)
            break;
        int converged = 0;
        s = optimizer_step(&o, x, t, &converged, err);
        if (s != NST_OK || converged)
            break;
        if (t->iter % t->preview_every == 0 && t->iter < t->params.iterations)
            emit_preview(t, x, optimizer_value(&o));
    }
    if (s == NST_OK)
        emit_preview(t, x, optimizer_value(&o));
    nst_lbfgs_free(o.lbfgs);
    nst_adam_free(o.adam);
    return s;
}

static void set_threads(int threads)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    openblas_set_num_threads(threads > 0 ? threads : (cores > 0 ? (int)cores : 1));
}

/* Frees what one run allocated. */
static void end_run(nst_transfer *t)
{
    nst_objective_free(t->objective);
    nst_image_free(t->work_content);
    nst_image_free(t->frame);
    t->objective = NULL;
    t->work_content = NULL;
    t->frame = NULL;
}

nst_status nst_transfer_run(nst_transfer *t, nst_image **result, nst_error *err)
{
    *result = NULL;
    if (!t->content)
        return nst_error_set(err, NST_ERR_INVALID, "no content picture was given");
    if (t->params.n_style_layers > 0 && t->n_styles == 0)
        return nst_error_set(err, NST_ERR_INVALID, "no style picture was given");
    set_threads(t->params.threads);
    clock_gettime(CLOCK_MONOTONIC, &t->start);
    t->eval = 0;
    t->iter = 0;
    if (!t->preview_every)
        t->preview_every = 1;
    nst_transfer_working_size(&t->params, t->content->width, t->content->height, &t->width, &t->height);

    nst_status s = NST_ERR_NOMEM;
    nst_image *colors = NULL; /* the content the network sees: grey in luminance mode */
    float *x = NULL;
    /* Reflect padding inside and a reflected border around the picture keep
     * the edges as stylised as the middle (zero padding leaves a frame). */
    nst_net_options options = {t->params.pooling, NST_PAD_REFLECT, 16};
    t->work_content = nst_image_resize(t->content, t->width, t->height, err);
    t->frame = t->work_content ? nst_image_new(t->width, t->height, err) : NULL;
    colors = t->frame ? nst_image_copy(t->work_content, err) : NULL;
    x = colors ? nst_alloc((size_t)3 * t->width * t->height * sizeof(float), "the picture", err) : NULL;
    if (!x)
        goto done;
    if (t->params.preserve_colors == NST_COLORS_LUMINANCE)
        nst_color_to_luminance(colors);

    t->objective = nst_objective_new(t->model, t->height, t->width, &t->params, &options, err);
    if (!t->objective) {
        s = err ? err->code : NST_ERR_INVALID;
        goto done;
    }
    nst_objective_set_cancel(t->objective, &t->cancel);
    nst_image_to_planar(colors, x);
    s = nst_objective_set_content(t->objective, x, err);
    if (s == NST_OK)
        s = set_style_targets(t, colors, t->params.style_scale, err);
    if (s == NST_OK)
        s = init_picture(t, colors, x, err);
    if (s == NST_OK && t->params.iterations == 0) {
        double value;
        s = evaluate(x, NULL, &value, t, err);
    } else if (s == NST_OK) {
        s = optimize(t, x, colors, err);
    }
    if (s == NST_OK) {
        s = render(t, x, t->frame, err);
        if (s == NST_OK) {
            *result = t->frame;
            t->frame = NULL;
        }
    }
done:
    free(x);
    nst_image_free(colors);
    end_run(t);
    return s;
}
