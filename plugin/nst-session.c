#include "nst-session.h"

#include <string.h>

#include "nst-args.h"
#include "nst-common.h"
#include "nst-dialog.h"
#include "nst-job.h"
#include "nst-pixels.h"

/* At most about two canvas updates a second. */
#define FRAME_INTERVAL_US 500000
/* Settings that need a new run are applied once the user pauses. */
#define RESTART_DELAY_MS 400

typedef struct Session {
    GimpImage *image;
    GimpDrawable *content;
    GimpProcedureConfig *config;
    gboolean from_dialog;
    NstDialog *dialog; /* NULL in batch runs */

    nst_image *content_pixels; /* read once: the content does not change during a session */
    nst_image *style_pixels;   /* cached for restarts with the same source */
    char *style_key;
    char *style_name;

    NstSettings settings; /* of the current job */
    NstJob *job;
    gboolean job_stale;         /* settings changed since the job started */
    gboolean restart_when_done; /* the job was cancelled to start a new one */
    guint restart_source;
    nst_image *result;
    GError *job_error;
    gboolean user_cancelled;

    GimpLayer *preview;
    gboolean was_dirty;
    GimpLayer **saved_selection;
} Session;

static void session_init(Session *s, GimpImage *image, GimpDrawable *content, GimpProcedureConfig *config,
                         gboolean from_dialog)
{
    memset(s, 0, sizeof *s);
    s->image = image;
    s->content = content;
    s->config = config;
    s->from_dialog = from_dialog;
}

/* ---- the style picture --------------------------------------------------- */

static char *style_name_from_file(GFile *file)
{
    char *base = g_file_get_basename(file);
    char *dot = strrchr(base, '.');
    if (dot != NULL && dot != base)
        *dot = '\0';
    return base;
}

/* A copy of the style picture for a job, loading it only when the source changed. */
static nst_image *session_style_copy(Session *s, GError **error)
{
    const NstSettings *settings = &s->settings;
    char *key = settings->style_layer != NULL
                    ? g_strdup_printf("layer:%d", gimp_item_get_id(GIMP_ITEM(settings->style_layer)))
                    : g_file_get_uri(settings->style_file);
    if (s->style_pixels == NULL || g_strcmp0(key, s->style_key) != 0) {
        nst_image *pixels = settings->style_layer != NULL ? nst_drawable_read(settings->style_layer, error)
                                                          : nst_file_read(settings->style_file, error);
        if (pixels == NULL) {
            g_free(key);
            return NULL;
        }
        nst_image_free(s->style_pixels);
        g_free(s->style_key);
        g_free(s->style_name);
        s->style_pixels = pixels;
        s->style_key = key;
        s->style_name = settings->style_layer != NULL
                            ? g_strdup(gimp_item_get_name(GIMP_ITEM(settings->style_layer)))
                            : style_name_from_file(settings->style_file);
    } else {
        g_free(key);
    }
    nst_error err = {0};
    nst_image *copy = nst_image_copy(s->style_pixels, &err);
    if (copy == NULL)
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s", err.message);
    return copy;
}

/* ---- the preview layer --------------------------------------------------- */

static gboolean session_add_preview(Session *s)
{
    s->was_dirty = gimp_image_is_dirty(s->image);
    s->saved_selection = gimp_image_get_selected_layers(s->image);
    /* Frozen, not disabled: disabling would wipe the undo history. */
    gimp_image_undo_freeze(s->image);
    s->preview = nst_layer_new_above(s->image, s->content, _("Neural style preview"));
    if (s->preview == NULL) {
        gimp_image_undo_thaw(s->image);
        g_clear_pointer(&s->saved_selection, g_free);
        return FALSE;
    }
    nst_debug("preview layer added");
    return TRUE;
}

static void session_remove_preview(Session *s)
{
    if (s->preview == NULL)
        return;
    gimp_image_remove_layer(s->image, s->preview);
    s->preview = NULL;
    if (s->saved_selection != NULL)
        gimp_image_set_selected_layers(s->image, (const GimpLayer **)s->saved_selection);
    g_clear_pointer(&s->saved_selection, g_free);
    gimp_image_undo_thaw(s->image);
    /* Freezing the undo marks the image dirty even though nothing changed. */
    if (!s->was_dirty)
        gimp_image_clean_all(s->image);
    gimp_displays_flush();
    nst_debug("preview layer removed");
}

/* ---- worker callbacks (main thread) -------------------------------------- */

static double progress_fraction(const nst_progress *p)
{
    return p->iterations > 0 ? (double)p->iter / p->iterations : 1.0;
}

/* "Iteration 40 of 300 · stage 2 of 3 (1024×683 px), tile 3 of 6 · about 1.2 GB
 * of memory": where a long run is, and what the engine's memory plan chose. */
static char *progress_text(const nst_progress *p)
{
    GString *text = g_string_new(NULL);
    g_string_printf(text, _("Iteration %d of %d"), p->iter, p->iterations);
    if (p->stages > 1) {
        g_string_append(text, " · ");
        g_string_append_printf(text, _("stage %d of %d (%d×%d px)"), p->stage + 1, p->stages, p->stage_width,
                               p->stage_height);
    }
    if (p->tiles > 0) {
        g_string_append(text, ", ");
        g_string_append_printf(text, _("tile %d of %d"), p->tile + 1, p->tiles);
    }
    if (p->memory_bytes > 0) {
        char *size = g_format_size(p->memory_bytes);
        g_string_append(text, " · ");
        g_string_append_printf(text, _("about %s of memory"), size);
        g_free(size);
    }
    return g_string_free(text, FALSE);
}

static void on_job_progress(const nst_progress *p, gpointer data)
{
    Session *s = data;
    nst_debug("progress eval=%d iter=%d/%d content=%g style=%g tv=%g total=%g t=%.2f", p->eval, p->iter,
              p->iterations, p->content, p->style, p->tv, p->total, p->seconds);
    gimp_progress_update(progress_fraction(p));
    if (s->dialog != NULL) {
        char *text = progress_text(p);
        nst_dialog_set_progress(s->dialog, progress_fraction(p), text);
        g_free(text);
    }
}

static void on_job_frame(const nst_image *frame, const nst_progress *p, gpointer data)
{
    Session *s = data;
    if (s->preview == NULL && !session_add_preview(s))
        return;
    gint64 start = g_get_monotonic_time();
    nst_layer_show_frame(s->preview, frame);
    nst_debug("preview frame drawn eval=%d iter=%d in %.1f ms", p->eval, p->iter,
              (g_get_monotonic_time() - start) / 1000.0);
}

static void session_restart_now(Session *s);

static void on_job_done(NstJob *job, gpointer data)
{
    Session *s = data;
    const char *message = NULL;
    nst_status status = nst_job_get_status(job, &message);
    gboolean failed = status != NST_OK && message != NULL && *message != '\0';
    nst_debug("worker done: %s%s%s", nst_status_name(status), failed ? ": " : "", failed ? message : "");

    if (s->restart_when_done) {
        session_restart_now(s);
        return;
    }
    if (status == NST_OK) {
        nst_image_free(s->result);
        s->result = nst_job_steal_result(job);
        if (s->dialog != NULL)
            nst_dialog_set_progress(s->dialog, 1.0, _("Finished"));
    } else if (status != NST_ERR_CANCELLED) {
        g_clear_error(&s->job_error);
        s->job_error = g_error_new(GIMP_PLUG_IN_ERROR, 0, _("Style transfer failed: %s"), message);
        if (s->dialog != NULL)
            nst_dialog_set_message(s->dialog, s->job_error->message, TRUE);
    }
}

/* ---- jobs ---------------------------------------------------------------- */

/* Reads the settings and starts a worker.  FALSE with *error for settings
 * that cannot work (the message is for the user or script author). */
static gboolean session_start_job(Session *s, GError **error)
{
    nst_settings_clear(&s->settings);
    nst_settings_read(&s->settings, s->config, s->from_dialog);
    if (!nst_settings_check(&s->settings, s->content, error))
        return FALSE;

    nst_error err = {0};
    if (s->content_pixels == NULL && (s->content_pixels = nst_drawable_read(s->content, error)) == NULL)
        return FALSE;
    nst_image *style = session_style_copy(s, error);
    if (style == NULL)
        return FALSE;
    /* Loading a style file leaves its own message in the status bar. */
    gimp_progress_init(_("Neural style transfer"));
    nst_image *content = nst_image_copy(s->content_pixels, &err);
    if (content == NULL) {
        nst_image_free(style);
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s", err.message);
        return FALSE;
    }
    NstJobCallbacks callbacks = {on_job_frame, on_job_progress, on_job_done, s};
    gboolean previews = s->dialog != NULL && s->settings.live_preview;
    nst_image_free(s->result);
    s->result = NULL;
    g_clear_error(&s->job_error);
    s->job_stale = FALSE;
    s->job = nst_job_start(s->settings.kind, &s->settings.params, content, style,
                           s->content_pixels->width, s->content_pixels->height,
                           previews ? FRAME_INTERVAL_US : 0, &callbacks);
    return TRUE;
}

static void session_restart_now(Session *s)
{
    nst_job_free(s->job);
    s->job = NULL;
    s->restart_when_done = FALSE;
    GError *error = NULL;
    if (!session_start_job(s, &error)) {
        nst_dialog_set_message(s->dialog, error->message, TRUE);
        nst_dialog_set_progress(s->dialog, 0.0, _("Not started"));
        g_clear_error(&s->job_error);
        s->job_error = error;
    } else {
        nst_dialog_set_message(s->dialog, NULL, FALSE);
    }
}

static gboolean job_running(Session *s)
{
    return s->job != NULL && !nst_job_is_done(s->job);
}

static gboolean restart_timeout(gpointer data)
{
    Session *s = data;
    s->restart_source = 0;
    if (job_running(s)) {
        /* Joining here would freeze the dialog until the engine notices. */
        s->restart_when_done = TRUE;
        nst_job_cancel(s->job);
    } else {
        session_restart_now(s);
    }
    return G_SOURCE_REMOVE;
}

static gboolean settings_changed(Session *s)
{
    NstSettings now;
    nst_settings_read(&now, s->config, s->from_dialog);
    gboolean changed = !nst_settings_same_picture(&now, &s->settings);
    nst_settings_clear(&now);
    return changed;
}

static void on_config_notify(GObject *config, GParamSpec *pspec, gpointer data)
{
    Session *s = data;
    const char *name = g_param_spec_get_name(pspec);
    if (strcmp(name, "output") == 0)
        return; /* does not change the picture */

    gboolean steering = g_strv_contains((const char *const *)nst_args_steering, name);
    if (steering && job_running(s) && !s->restart_when_done && !s->job_stale) {
        double content_weight, style_weight, tv_weight, style_scale;
        nst_settings_read_steering(GIMP_PROCEDURE_CONFIG(config), &content_weight, &style_weight, &tv_weight,
                                   &style_scale);
        nst_job_set_weights(s->job, content_weight, style_weight, tv_weight);
        nst_job_set_style_scale(s->job, style_scale);
        /* The running job now makes the picture of these settings. */
        s->settings.params.content_weight = content_weight;
        s->settings.params.style_weight = style_weight;
        s->settings.params.tv_weight = tv_weight;
        s->settings.params.style_scale = style_scale;
        return;
    }
    if (strcmp(name, "live-preview") != 0 && s->job != NULL && !s->job_stale && !settings_changed(s))
        return;
    nst_debug("setting %s changed: the picture will be made again", name);
    s->job_stale = TRUE;
    if (s->restart_source != 0)
        g_source_remove(s->restart_source);
    s->restart_source = 0;

    gboolean live;
    g_object_get(config, "live-preview", &live, NULL);
    if (!live) {
        if (job_running(s))
            nst_job_cancel(s->job);
        s->restart_when_done = FALSE;
        nst_dialog_set_progress(s->dialog, 0.0, _("Live preview is off: press OK to start"));
        return;
    }
    s->restart_source = g_timeout_add(RESTART_DELAY_MS, restart_timeout, s);
}

static void session_clear(Session *s)
{
    if (s->restart_source != 0)
        g_source_remove(s->restart_source);
    s->restart_source = 0;
    s->restart_when_done = FALSE;
    nst_job_free(s->job); /* cancels and joins */
    s->job = NULL;
    session_remove_preview(s);
    nst_settings_clear(&s->settings);
    nst_image_free(s->content_pixels);
    nst_image_free(s->style_pixels);
    nst_image_free(s->result);
    g_free(s->style_key);
    g_free(s->style_name);
    g_clear_error(&s->job_error);
}

/* ---- the result ---------------------------------------------------------- */

static gboolean session_apply(Session *s, GError **error)
{
    gboolean ok = TRUE;
    gimp_image_undo_group_start(s->image);
    if (s->settings.output == NST_OUTPUT_REPLACE) {
        ok = nst_drawable_write_result(s->content, s->content, s->result, error);
    } else {
        char *name = g_strdup_printf(_("Style: %s"), s->style_name);
        GimpLayer *layer = nst_layer_new_above(s->image, s->content, name);
        g_free(name);
        if (layer == NULL) {
            g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s", _("Cannot add the result layer."));
            ok = FALSE;
        } else {
            ok = nst_drawable_write_result(GIMP_DRAWABLE(layer), s->content, s->result, error);
        }
    }
    gimp_image_undo_group_end(s->image);
    return ok;
}

/* Waits for the current job; TRUE when it left a result. */
static gboolean session_finish_job(Session *s, GError **error)
{
    nst_job_wait(s->job);
    if (s->result != NULL)
        return TRUE;
    if (s->job_error != NULL)
        g_propagate_error(error, g_steal_pointer(&s->job_error));
    else
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s", _("Style transfer was cancelled."));
    return FALSE;
}

GimpPDBStatusType nst_session_run_batch(GimpImage *image, GimpDrawable *content, GimpProcedureConfig *config,
                                        gboolean from_dialog, GError **error)
{
    Session s;
    session_init(&s, image, content, config, from_dialog);
    GimpPDBStatusType status = GIMP_PDB_SUCCESS;

    if (!session_start_job(&s, error))
        status = GIMP_PDB_CALLING_ERROR;
    else if (!session_finish_job(&s, error) || !session_apply(&s, error))
        status = GIMP_PDB_EXECUTION_ERROR;
    gimp_progress_end();
    session_clear(&s);
    return status;
}

static void on_cancel_while_finishing(gpointer data)
{
    Session *s = data;
    if (s->job != NULL) {
        s->user_cancelled = TRUE;
        nst_job_cancel(s->job);
    }
}

GimpPDBStatusType nst_session_run_interactive(GimpProcedure *procedure, GimpImage *image,
                                              GimpDrawable *content, GimpProcedureConfig *config,
                                              GError **error)
{
    Session s;
    session_init(&s, image, content, config, TRUE);
    nst_settings_pick_style_source(config);
    s.dialog = nst_dialog_new(procedure, config);

    gboolean live;
    g_object_get(config, "live-preview", &live, NULL);
    if (live) {
        GError *start_error = NULL;
        if (!session_start_job(&s, &start_error)) {
            nst_dialog_set_message(s.dialog, start_error->message, TRUE);
            g_error_free(start_error);
            s.job_stale = TRUE;
        }
    } else {
        nst_dialog_set_progress(s.dialog, 0.0, _("Live preview is off: press OK to start"));
    }
    gulong handler = g_signal_connect(config, "notify", G_CALLBACK(on_config_notify), &s);

    gboolean ok = nst_dialog_run(s.dialog);
    g_signal_handler_disconnect(config, handler);

    GimpPDBStatusType status = GIMP_PDB_CANCEL;
    if (ok) {
        /* A finished or running job for the current settings is kept; else start again. */
        if (s.job == NULL || s.job_stale || s.restart_when_done || s.restart_source != 0) {
            if (s.restart_source != 0)
                g_source_remove(s.restart_source);
            s.restart_source = 0;
            s.restart_when_done = FALSE;
            nst_job_free(s.job);
            s.job = NULL;
            if (!session_start_job(&s, error)) {
                status = GIMP_PDB_CALLING_ERROR;
                ok = FALSE;
            }
        }
    }
    if (ok) {
        /* The dialog stays up with its progress bar; Cancel still works. */
        nst_dialog_set_finishing(s.dialog, on_cancel_while_finishing, &s);
        status = GIMP_PDB_EXECUTION_ERROR;
        if (session_finish_job(&s, error)) {
            session_remove_preview(&s);
            if (session_apply(&s, error))
                status = GIMP_PDB_SUCCESS;
        } else if (s.user_cancelled) {
            g_clear_error(error);
            status = GIMP_PDB_CANCEL;
        }
    }
    gimp_progress_end();
    session_clear(&s);
    nst_dialog_free(s.dialog);
    gimp_displays_flush();
    return status;
}
