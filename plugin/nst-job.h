/* One style-transfer run on a worker thread.
 *
 * The worker owns the engine objects and never calls libgimp.  What it makes
 * (the newest preview frame, the newest progress numbers, the final result)
 * is handed to the main thread through one coalesced idle callback, so the
 * main loop is woken at most once per batch of news however fast the engine
 * reports.  Every function here is called on the main thread. */
#ifndef NST_PLUGIN_JOB_H
#define NST_PLUGIN_JOB_H

#include <glib.h>

#include <nst/nst.h>

typedef struct NstJob NstJob;

typedef struct NstJobCallbacks {
    /* A preview frame at the output size (valid during the call only). */
    void (*frame)(const nst_image *frame, const nst_progress *progress, gpointer user_data);
    void (*progress)(const nst_progress *progress, gpointer user_data);
    /* The run ended: status NST_OK with a result, or an error/cancel. */
    void (*done)(NstJob *job, gpointer user_data);
    gpointer user_data;
} NstJobCallbacks;

/* Takes ownership of content and style.  Frames and the result are resized
 * to output_width x output_height.  frame_interval_us throttles previews
 * (0 = no previews). */
NstJob *nst_job_start(nst_model_kind kind, const nst_params *params, nst_image *content,
                      nst_image *style, int output_width, int output_height,
                      gint64 frame_interval_us, const NstJobCallbacks *callbacks);

/* Asks the worker to stop; returns at once. */
void nst_job_cancel(NstJob *job);
/* Steering, taken up at the engine's next evaluation. */
void nst_job_set_weights(NstJob *job, double content_weight, double style_weight, double tv_weight);
void nst_job_set_style_scale(NstJob *job, double style_scale);

gboolean nst_job_is_done(NstJob *job);
/* Runs the default main context until the worker has finished and its done
 * callback has run. */
void nst_job_wait(NstJob *job);

/* After done: the status, its message, and the result (ownership moves to
 * the caller; NULL unless the status is NST_OK). */
nst_status nst_job_get_status(NstJob *job, const char **message);
nst_image *nst_job_steal_result(NstJob *job);

/* Cancels, waits and frees; no callback runs afterwards. */
void nst_job_free(NstJob *job);

/* Loaded models stay cached for the life of the plug-in process. */
void nst_job_free_model_cache(void);

/* Messages for developers and tests, on when NST_PLUGIN_DEBUG is set. */
void nst_debug(const char *format, ...) G_GNUC_PRINTF(1, 2);
/* Whether NST_PLUGIN_DEBUG is set (for debug output that costs work to make). */
gboolean nst_debug_enabled(void);

#endif
