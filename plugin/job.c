#include "job.h"

#include "data_folder.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct PluginJob {
    GMutex lock;
    GThread *thread;

    /* Fixed at start; the worker reads them. */
    nst_model_kind kind;
    int output_width;
    int output_height;
    gint64 frame_interval_us;
    PluginJobCallbacks callbacks;

    /* Made at start, before the model: steering and cancel go straight to
     * it (its setters are thread-safe), so there is one copy of them. */
    nst_transfer *transfer;

    /* Shared, under lock. */
    gint64 last_frame_us;
    nst_image *frame;
    nst_progress frame_progress;
    nst_progress progress;
    gboolean progress_pending;
    gboolean finished;
    nst_status status;
    nst_error error;
    nst_image *result;
    guint idle_id;

    /* Main thread only. */
    gboolean done_delivered;
    gboolean detached;
};

gboolean plugin_debug_enabled(void)
{
    static int enabled = -1;
    if (enabled < 0) {
        const char *env = g_getenv("NST_PLUGIN_DEBUG");
        enabled = env != NULL && env[0] != '\0' && g_strcmp0(env, "0") != 0;
    }
    return enabled;
}

void plugin_debug(const char *format, ...)
{
    if (!plugin_debug_enabled())
        return;
    va_list args;
    va_start(args, format);
    char *text = g_strdup_vprintf(format, args);
    va_end(args);
    /* One write per line so the lines of two processes do not interleave. */
    g_printerr("nst-plugin: %s\n", text);
    g_free(text);
}

/* ---- model cache --------------------------------------------------------- */

static GMutex model_cache_lock;
static nst_model *model_cache[3];

static nst_model *model_cache_get(nst_model_kind kind, nst_error *err)
{
    if ((int)kind < 0 || (size_t)kind >= G_N_ELEMENTS(model_cache)) {
        err->code = NST_ERR_INVALID;
        g_snprintf(err->message, sizeof err->message, "unknown model kind %d", (int)kind);
        return NULL;
    }
    g_mutex_lock(&model_cache_lock);
    if (model_cache[kind] == NULL) {
        gint64 start = g_get_monotonic_time();
        /* A bundle's own weights first, else the engine's search. */
        char *path = plugin_model_find(kind, err);
        model_cache[kind] = path ? nst_model_load(kind, path, err) : NULL;
        plugin_debug("model %s loaded from %s in %.2f s: %s", nst_model_kind_name(kind), path ? path : "nowhere",
                  (g_get_monotonic_time() - start) / 1e6, model_cache[kind] ? "ok" : err->message);
        free(path);
    }
    nst_model *model = model_cache[kind];
    g_mutex_unlock(&model_cache_lock);
    return model;
}

void plugin_job_free_model_cache(void)
{
    g_mutex_lock(&model_cache_lock);
    for (size_t i = 0; i < G_N_ELEMENTS(model_cache); i++) {
        nst_model_free(model_cache[i]);
        model_cache[i] = NULL;
    }
    g_mutex_unlock(&model_cache_lock);
}

/* ---- worker -------------------------------------------------------------- */

static gboolean job_idle(gpointer data);

static void schedule_idle_locked(PluginJob *job)
{
    if (job->idle_id == 0)
        job->idle_id = g_idle_add(job_idle, job);
}

static void on_progress(const nst_progress *progress, void *user_data)
{
    PluginJob *job = user_data;
    g_mutex_lock(&job->lock);
    job->progress = *progress;
    job->progress_pending = TRUE;
    schedule_idle_locked(job);
    g_mutex_unlock(&job->lock);
}

static void on_preview(const nst_image *image, const nst_progress *progress, void *user_data)
{
    PluginJob *job = user_data;
    gint64 now = g_get_monotonic_time();

    g_mutex_lock(&job->lock);
    gboolean too_soon = job->last_frame_us != 0 && now - job->last_frame_us < job->frame_interval_us;
    g_mutex_unlock(&job->lock);
    if (too_soon)
        return;

    /* Resized here so the main thread only copies pixels. */
    nst_error err = {0};
    nst_image *frame = nst_image_resize(image, job->output_width, job->output_height, &err);
    if (frame == NULL) {
        plugin_debug("preview resize failed: %s", err.message);
        return;
    }
    g_mutex_lock(&job->lock);
    nst_image *old = job->frame;
    job->frame = frame;
    job->frame_progress = *progress;
    job->last_frame_us = now;
    schedule_idle_locked(job);
    g_mutex_unlock(&job->lock);
    nst_image_free(old);
}

static nst_status run_transfer(PluginJob *job, const nst_model *model, nst_image **result, nst_error *err)
{
    nst_transfer *transfer = job->transfer;
    nst_status status = nst_transfer_set_model(transfer, model, err);
    if (status != NST_OK)
        return status;
    /* The run plans again itself; this copy is only for the test log. */
    nst_plan plan;
    nst_error plan_err = {0};
    if (plugin_debug_enabled() && nst_transfer_plan(transfer, &plan, &plan_err) == NST_OK) {
        int last = plan.stages - 1;
        plugin_debug("plan: stages=%d final=%dx%d tiled=%d window=%d overlap=%d final_iterations=%d bytes=%zu "
                  "budget=%zu device=%s",
                  plan.stages, plan.stage_width[last], plan.stage_height[last], plan.stage_tiled[last],
                  plan.tile_width, plan.tile_margin, plan.stage_iterations[last], plan.bytes, plan.budget,
                  plan.device);
    }
    return nst_transfer_run(transfer, result, err);
}

static gpointer job_worker(gpointer data)
{
    PluginJob *job = data;
    nst_error err = job->error; /* plugin_job_start's, when it could not make the transfer */
    nst_image *result = NULL;
    nst_status status;

    const nst_model *model = job->transfer ? model_cache_get(job->kind, &err) : NULL;
    if (job->transfer == NULL)
        status = err.code != NST_OK ? err.code : NST_ERR_INVALID;
    else if (model == NULL)
        status = err.code != NST_OK ? err.code : NST_ERR_NOT_FOUND;
    else
        status = run_transfer(job, model, &result, &err);

    if (status == NST_OK && (result->width != job->output_width || result->height != job->output_height)) {
        nst_image *resized = nst_image_resize(result, job->output_width, job->output_height, &err);
        nst_image_free(result);
        result = resized;
        if (resized == NULL)
            status = err.code != NST_OK ? err.code : NST_ERR_NOMEM;
    }
    if (status == NST_ERR_CANCELLED && err.message[0] == '\0')
        g_strlcpy(err.message, "cancelled", sizeof err.message);

    g_mutex_lock(&job->lock);
    job->status = status;
    job->error = err;
    job->error.code = status;
    job->result = result;
    job->finished = TRUE;
    schedule_idle_locked(job);
    g_mutex_unlock(&job->lock);
    return NULL;
}

/* ---- main thread --------------------------------------------------------- */

static gboolean job_idle(gpointer data)
{
    PluginJob *job = data;

    g_mutex_lock(&job->lock);
    job->idle_id = 0;
    nst_image *frame = job->frame;
    job->frame = NULL;
    nst_progress frame_progress = job->frame_progress;
    gboolean progress_pending = job->progress_pending;
    nst_progress progress = job->progress;
    job->progress_pending = FALSE;
    gboolean finished = job->finished;
    g_mutex_unlock(&job->lock);

    if (!job->detached) {
        if (progress_pending && job->callbacks.progress != NULL)
            job->callbacks.progress(&progress, job->callbacks.user_data);
        if (frame != NULL && job->callbacks.frame != NULL)
            job->callbacks.frame(frame, &frame_progress, job->callbacks.user_data);
    }
    nst_image_free(frame);

    if (finished && !job->done_delivered) {
        g_thread_join(job->thread);
        job->thread = NULL;
        job->done_delivered = TRUE;
        /* The callback may free the job: touch nothing after it. */
        if (!job->detached && job->callbacks.done != NULL)
            job->callbacks.done(job, job->callbacks.user_data);
    }
    return G_SOURCE_REMOVE;
}

/* The transfer with the job's pictures and callbacks; the model comes on
 * the worker. */
static nst_transfer *transfer_new(const nst_params *params, const nst_image *content, nst_image *const *styles,
                                  nst_image *const *masks, const double *blends, int n_styles, PluginJob *job,
                                  nst_error *err)
{
    nst_transfer *transfer = nst_transfer_new(NULL, params, err);
    if (transfer == NULL)
        return NULL;
    nst_status status = nst_transfer_set_content(transfer, content, err);
    for (int i = 0; i < n_styles && status == NST_OK; i++)
        status = nst_transfer_add_style_masked(transfer, styles[i], blends[i], masks ? masks[i] : NULL, err);
    if (status != NST_OK) {
        nst_transfer_free(transfer);
        return NULL;
    }
    nst_transfer_set_progress_callback(transfer, on_progress, job);
    if (job->frame_interval_us > 0)
        nst_transfer_set_preview_callback(transfer, on_preview, 1, job);
    return transfer;
}

PluginJob *plugin_job_start(nst_model_kind kind, const nst_params *params, nst_image *content,
                            nst_image *const *styles, nst_image *const *masks, const double *blends, int n_styles,
                            int output_width,
                            int output_height, gint64 frame_interval_us, const PluginJobCallbacks *callbacks)
{
    PluginJob *job = g_new0(PluginJob, 1);
    g_mutex_init(&job->lock);
    job->kind = kind;
    job->output_width = output_width;
    job->output_height = output_height;
    job->frame_interval_us = frame_interval_us;
    job->callbacks = *callbacks;
    job->status = NST_OK;
    /* The transfer keeps its own copies of the pictures. */
    n_styles = MIN(n_styles, NST_MAX_STYLES);
    job->transfer = transfer_new(params, content, styles, masks, blends, n_styles, job, &job->error);
    nst_image_free(content);
    int n_masks = 0;
    for (int i = 0; i < n_styles; i++) {
        nst_image_free(styles[i]);
        n_masks += masks != NULL && masks[i] != NULL;
        nst_image_free(masks != NULL ? masks[i] : NULL);
    }
    plugin_debug("worker start: model %s, %d iterations, size %d, seed %llu, weights %g/%g/%g, %d styles, "
              "style scale %g, %d regions",
              nst_model_kind_name(kind), params->iterations, params->size,
              (unsigned long long)params->seed, params->content_weight, params->style_weight,
              params->tv_weight, n_styles, params->style_scale, n_masks);
    job->thread = g_thread_new("nst-worker", job_worker, job);
    return job;
}

void plugin_job_cancel(PluginJob *job)
{
    plugin_debug("worker cancel requested");
    if (job->transfer != NULL)
        nst_transfer_cancel(job->transfer);
}

gboolean plugin_job_set_weights(PluginJob *job, double content_weight, double style_weight, double tv_weight,
                                GError **error)
{
    nst_error err = {0};
    plugin_debug("steer: weights content=%g style=%g tv=%g", content_weight, style_weight, tv_weight);
    if (job->transfer == NULL ||
        nst_transfer_set_weights(job->transfer, content_weight, style_weight, tv_weight, &err) == NST_OK)
        return TRUE;
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s", err.message);
    return FALSE;
}

gboolean plugin_job_set_style_scale(PluginJob *job, double style_scale, GError **error)
{
    nst_error err = {0};
    plugin_debug("steer: style-scale=%g", style_scale);
    if (job->transfer == NULL || nst_transfer_set_style_scale(job->transfer, style_scale, &err) == NST_OK)
        return TRUE;
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s", err.message);
    return FALSE;
}

gboolean plugin_job_is_done(PluginJob *job)
{
    return job->done_delivered;
}

void plugin_job_wait(PluginJob *job)
{
    while (!job->done_delivered)
        g_main_context_iteration(NULL, TRUE);
}

nst_status plugin_job_get_status(PluginJob *job, const char **message)
{
    if (message != NULL)
        *message = job->error.message;
    return job->status;
}

nst_image *plugin_job_steal_result(PluginJob *job)
{
    nst_image *result = job->result;
    job->result = NULL;
    return result;
}

void plugin_job_free(PluginJob *job)
{
    if (job == NULL)
        return;
    job->detached = TRUE;
    if (!job->done_delivered)
        plugin_job_cancel(job);
    plugin_job_wait(job);
    g_mutex_lock(&job->lock);
    if (job->idle_id != 0) {
        g_source_remove(job->idle_id);
        job->idle_id = 0;
    }
    g_mutex_unlock(&job->lock);
    nst_image_free(job->frame);
    nst_image_free(job->result);
    nst_transfer_free(job->transfer);
    g_mutex_clear(&job->lock);
    g_free(job);
}
