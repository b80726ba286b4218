/* One style-transfer run on a worker thread.
 *
 * The worker owns the engine objects and never calls libgimp.  What it makes
 * (the newest preview frame, the newest progress numbers, the final result)
 * is handed to the main thread through one coalesced idle callback, so the
 * main loop is woken at most once per batch of news however fast the engine
 * reports.  Every function here is called on the main thread. */
#ifndef PLUGIN_JOB_H
#define PLUGIN_JOB_H

#include <libgimp/gimp.h>

#include <nst/nst.h>

typedef struct PluginJob PluginJob;

typedef struct PluginJobCallbacks {
    /* A preview frame at the output size (valid during the call only). */
    void (*frame)(const nst_image *frame, const nst_progress *progress, gpointer user_data);
    void (*progress)(const nst_progress *progress, gpointer user_data);
    /* The run ended: status NST_OK with a result, or an error/cancel. */
    void (*done)(PluginJob *job, gpointer user_data);
    gpointer user_data;
} PluginJobCallbacks;

/* Takes ownership of content, the n_styles style pictures (blended with
 * these weights; n_styles <= NST_MAX_STYLES) and their masks (NULL, or an
 * entry NULL: that style everywhere).  Frames and the result are resized
 * to output_width x output_height.  frame_interval_us throttles previews
 * (0 = no previews). */
PluginJob *plugin_job_start(nst_model_kind kind, const nst_params *params, nst_image *content,
                      nst_image *const *styles, nst_image *const *masks, const double *blends, int n_styles,
                      int output_width, int output_height,
                      gint64 frame_interval_us, const PluginJobCallbacks *callbacks);

/* Asks the worker to stop; returns at once. */
void plugin_job_cancel(PluginJob *job);
/* Steering, straight to the engine (taken up at its next evaluation); a
 * value outside the engine's limits is refused with a message. */
gboolean plugin_job_set_weights(PluginJob *job, double content_weight, double style_weight, double tv_weight,
                                GError **error);
gboolean plugin_job_set_style_scale(PluginJob *job, double style_scale, GError **error);

gboolean plugin_job_is_done(PluginJob *job);
/* Runs the default main context until the worker has finished and its done
 * callback has run. */
void plugin_job_wait(PluginJob *job);

/* After done: the status, its message, and the result (ownership moves to
 * the caller; NULL unless the status is NST_OK). */
nst_status plugin_job_get_status(PluginJob *job, const char **message);
nst_image *plugin_job_steal_result(PluginJob *job);

/* Cancels, waits and frees; no callback runs afterwards. */
void plugin_job_free(PluginJob *job);

/* Loaded models stay cached for the life of the plug-in process. */
void plugin_job_free_model_cache(void);

/* Messages for developers and tests, on when NST_PLUGIN_DEBUG is set. */
void plugin_debug(const char *format, ...) G_GNUC_PRINTF(1, 2);
/* Whether NST_PLUGIN_DEBUG is set (for debug output that costs work to make). */
gboolean plugin_debug_enabled(void);

#endif
