#include "session.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "common.h"
#include "data_folder.h"
#include "dialog.h"
#include "job.h"
#include "pixels.h"

/* At most about two canvas updates a second. */
#define FRAME_INTERVAL_US 500000
/* Settings that need a new run are applied once the user pauses. */
#define RESTART_DELAY_MS 400
/* Marks the live preview layer; its data is the plug-in's process id, so a
 * later run recognises a preview whose plug-in died (killed for memory, say). */
#define PREVIEW_PARASITE "gimp-neural-style-preview"

typedef struct Session {
    GimpImage *image;
    GimpDrawable *content;
    GimpProcedureConfig *config;
    gboolean from_dialog;
    UiDialog *dialog; /* NULL in batch runs */

    nst_image *content_pixels; /* of the current job: read again at each start (the user may repaint it) */
    /* Per style: a style file's pixels, cached while the file stays the same. */
    nst_image *style_pixels[NST_MAX_STYLES];
    char *style_key[NST_MAX_STYLES];

    PluginSettings settings; /* of the current job */
    PluginJob *job;
    gboolean job_stale;         /* settings changed since the job started */
    gboolean restart_when_done; /* the job was cancelled to start a new one */
    guint restart_source;
    nst_image *result;
    GError *job_error;
    gboolean user_cancelled;

    GimpLayer *preview;
    char device[NST_PROGRESS_DEVICE_MAX]; /* where the job's objective runs, from its progress */
} Session;

static void session_init(Session *s, GimpImage *image, GimpDrawable *content, GimpProcedureConfig *config,
                         gboolean from_dialog)
{
    memset(s, 0, sizeof *s);
    s->image = image;
    s->content = content;
    s->config = config;
    s->from_dialog = from_dialog;
    plugin_settings_read(&s->settings, config, image, from_dialog);
}

/* ---- the style pictures ------------------------------------------------- */

/* What identifies a style file's pixels: its address and its modification
 * (GIO's entity tag), so a file saved again is read again. */
static char *style_file_key(GFile *file)
{
    char *uri = g_file_get_uri(file);
    GFileInfo *info = g_file_query_info(file, G_FILE_ATTRIBUTE_ETAG_VALUE, G_FILE_QUERY_INFO_NONE, NULL, NULL);
    char *key = g_strconcat(uri, "#", info != NULL ? g_file_info_get_etag(info) : "", NULL);
    g_clear_object(&info);
    g_free(uri);
    return key;
}

/* A copy of style `index`'s picture for a job.  A style layer is read at
 * each start (the user may repaint it while the dialog is open: reading it
 * costs less than any run); a style file only when it changed. */
static nst_image *session_style_copy(Session *s, int index, GError **error)
{
    const PluginStyle *style = &s->settings.styles[index];
    if (style->layer != NULL)
        return plugin_drawable_read(style->layer, error);
    char *key = style_file_key(style->file);
    if (s->style_pixels[index] == NULL || g_strcmp0(key, s->style_key[index]) != 0) {
        nst_image *pixels = plugin_file_read(style->file, error);
        if (pixels == NULL) {
            g_free(key);
            return NULL;
        }
        nst_image_free(s->style_pixels[index]);
        g_free(s->style_key[index]);
        s->style_pixels[index] = pixels;
        s->style_key[index] = key;
    } else {
        g_free(key);
    }
    nst_error err = {0};
    nst_image *copy = nst_image_copy(s->style_pixels[index], &err);
    if (copy == NULL)
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s", err.message);
    return copy;
}

static void free_pictures(nst_image **pictures, int n)
{
    for (int i = 0; i < n; i++)
        nst_image_free(pictures[i]);
}

/* Every style's picture and region (NULL: everywhere), or none (FALSE with
 * *error).  A region is read at each start, like a style layer: the user may
 * change the saved selection while the dialog is open. */
static gboolean session_style_copies(Session *s, nst_image **styles, nst_image **masks, double *blends,
                                     GError **error)
{
    for (int i = 0; i < s->settings.n_styles; i++) {
        const PluginStyle *style = &s->settings.styles[i];
        blends[i] = style->blend;
        masks[i] = NULL;
        styles[i] = session_style_copy(s, i, error);
        if (styles[i] != NULL && style->mask != NULL &&
            (masks[i] = plugin_mask_read(style->mask, s->content, error)) == NULL)
            g_clear_pointer(&styles[i], nst_image_free);
        if (styles[i] == NULL) {
            free_pictures(styles, i);
            free_pictures(masks, i);
            return FALSE;
        }
    }
    return TRUE;
}

/* "starry_night", or "starry_night + my layer" for several. */
static char *styles_name(const PluginSettings *settings)
{
    GString *name = g_string_new(NULL);
    for (int i = 0; i < settings->n_styles; i++)
        g_string_append_printf(name, "%s%s", i ? " + " : "", settings->styles[i].name);
    return g_string_free(name, FALSE);
}

/* ---- the preview layer --------------------------------------------------- */

/* The preview layer comes and goes outside the undo history, so the user's
 * own edits while the dialog is open stay in it and stay undoable; undo is
 * frozen only for the moment of each such change.  GIMP still marks the
 * image dirty for a change made frozen: an image that was clean just before
 * is marked clean again, one the user had dirtied stays dirty. */
typedef gboolean (*HiddenEdit)(Session *s, gpointer data);

static gboolean hidden_edit(Session *s, HiddenEdit edit, gpointer data)
{
    if (!gimp_image_is_valid(s->image))
        return FALSE;
    gboolean was_dirty = gimp_image_is_dirty(s->image);
    gimp_image_undo_freeze(s->image);
    gboolean ok = edit(s, data);
    gimp_image_undo_thaw(s->image);
    if (!was_dirty)
        gimp_image_clean_all(s->image);
    gimp_displays_flush();
    return ok;
}

static gboolean add_preview_edit(Session *s, gpointer data)
{
    GError **error = data;
    GimpLayer **selected = gimp_image_get_selected_layers(s->image);
    GimpChannel **channels = gimp_image_get_selected_channels(s->image);
    s->preview = plugin_layer_new_above(s->image, s->content, _("Neural style preview"), error);
    if (s->preview != NULL) {
        char *pid = g_strdup_printf("%d", (int)getpid());
        GimpParasite *parasite = gimp_parasite_new(PREVIEW_PARASITE, GIMP_PARASITE_PERSISTENT, strlen(pid) + 1, pid);
        if (!gimp_item_attach_parasite(GIMP_ITEM(s->preview), parasite)) {
            g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Cannot mark the preview layer: %s"),
                        gimp_pdb_get_last_error(gimp_get_pdb()));
            gimp_image_remove_layer(s->image, s->preview);
            s->preview = NULL;
        }
        gimp_parasite_free(parasite);
        g_free(pid);
    }
    /* The user's edits meanwhile go to their own layers (or the channel just
     * saved), not to the preview; layers last, should one choice clear the
     * other.  GIMP 3.0.4 refuses an empty array. */
    if (channels != NULL && channels[0] != NULL)
        gimp_image_set_selected_channels(s->image, (const GimpChannel **)channels);
    if (selected != NULL && selected[0] != NULL)
        gimp_image_set_selected_layers(s->image, (const GimpLayer **)selected);
    g_free(selected);
    g_free(channels);
    return s->preview != NULL;
}

static void set_image_closed(GError **error)
{
    if (error != NULL && *error == NULL)
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s", _("The image was closed while the style transfer ran."));
}

static gboolean session_add_preview(Session *s, GError **error)
{
    if (!hidden_edit(s, add_preview_edit, error)) {
        set_image_closed(error); /* unless the edit said why */
        return FALSE;
    }
    plugin_debug("preview layer added");
    return TRUE;
}

static gboolean remove_layer_edit(Session *s, gpointer data)
{
    GimpLayer *layer = data;
    return !gimp_item_is_valid(GIMP_ITEM(layer)) || gimp_image_remove_layer(s->image, layer);
}

static void session_remove_preview(Session *s)
{
    if (s->preview == NULL)
        return;
    hidden_edit(s, remove_layer_edit, s->preview);
    s->preview = NULL;
    plugin_debug("preview layer removed");
}

/* Whether the layer is a preview whose plug-in process is gone. */
static gboolean is_stale_preview(GimpItem *item)
{
    GimpParasite *parasite = gimp_item_get_parasite(item, PREVIEW_PARASITE);
    if (parasite == NULL)
        return FALSE;
    guint32 size = 0;
    const char *data = gimp_parasite_get_data(parasite, &size);
    char *text = g_strndup(data, size);
    int pid = atoi(text);
    g_free(text);
    gimp_parasite_free(parasite);
    /* Another live run of the plug-in keeps its own preview. */
    return pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
}

static void collect_stale_previews(GimpItem **items, GList **stale)
{
    for (int i = 0; items != NULL && items[i] != NULL; i++) {
        if (gimp_item_is_group(items[i])) {
            GimpItem **children = gimp_item_get_children(items[i]);
            collect_stale_previews(children, stale);
            g_free(children);
        } else if (is_stale_preview(items[i])) {
            *stale = g_list_prepend(*stale, items[i]);
        }
    }
}

/* A preview left behind by a run whose plug-in died is removed at the next run. */
static void session_remove_stale_previews(Session *s)
{
    GimpLayer **layers = gimp_image_get_layers(s->image);
    GList *stale = NULL;
    collect_stale_previews((GimpItem **)layers, &stale);
    for (GList *l = stale; l != NULL; l = l->next) {
        gboolean chosen = l->data == (gpointer)s->content;
        for (int i = 0; i < s->settings.n_styles; i++)
            chosen |= l->data == (gpointer)s->settings.styles[i].layer;
        if (chosen)
            continue; /* the user chose to work on it */
        hidden_edit(s, remove_layer_edit, l->data);
        plugin_debug("stale preview layer removed");
    }
    g_list_free(stale);
    g_free(layers);
}

/* ---- worker callbacks (main thread) -------------------------------------- */

static double progress_fraction(const nst_progress *p)
{
    return p->iterations > 0 ? (double)p->iter / p->iterations : 1.0;
}

/* " — on NVIDIA H200", or " — on CPU (no usable GPU: ...)": a user who has a
 * GPU sees whether the run uses it, and why not. */
static void append_device(GString *text, const char *device)
{
    if (device[0] == '\0')
        return;
    g_string_append(text, " — ");
    g_string_append_printf(text, _("on %s"), device);
}

/* "Iteration 40 of 300 · stage 2 of 3 (1024×683 px), tile 3 of 6 · about 1.2 GB
 * of memory — on CPU": where a long run is, and what the engine's memory plan chose. */
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
    append_device(text, p->device);
    return g_string_free(text, FALSE);
}

static void on_job_progress(const nst_progress *p, gpointer data)
{
    Session *s = data;
    plugin_debug("progress eval=%d iter=%d/%d content=%g style=%g tv=%g total=%g t=%.2f", p->eval, p->iter,
              p->iterations, p->content, p->style, p->tv, p->total, p->seconds);
    g_strlcpy(s->device, p->device, sizeof s->device);
    char *text = progress_text(p);
    gimp_progress_set_text(text);
    gimp_progress_update(progress_fraction(p));
    if (s->dialog != NULL)
        ui_dialog_set_progress(s->dialog, progress_fraction(p), text);
    g_free(text);
}

static void on_job_frame(const nst_image *frame, const nst_progress *p, gpointer data)
{
    Session *s = data;
    GError *error = NULL;
    /* A preview the user deleted is made again at the next frame. */
    if (s->preview != NULL && !gimp_item_is_valid(GIMP_ITEM(s->preview)))
        s->preview = NULL;
    if (s->preview == NULL && !session_add_preview(s, &error)) {
        plugin_debug("no preview: %s", error->message);
        ui_dialog_set_message(s->dialog, error->message, TRUE);
        g_error_free(error);
        return;
    }
    gint64 start = g_get_monotonic_time();
    /* Writing to the preview's buffer records no undo step and leaves the
     * dirty state alone: no need to freeze the undo for it. */
    if (!plugin_layer_show_frame(s->preview, frame, &error)) {
        plugin_debug("preview frame not drawn: %s", error->message);
        g_error_free(error);
        return;
    }
    plugin_debug("preview frame drawn eval=%d iter=%d in %.1f ms", p->eval, p->iter,
              (g_get_monotonic_time() - start) / 1000.0);
}

static void session_restart_now(Session *s);

/* The engine states the facts in its own words; what to change is said here,
 * in the dialog's terms. */
static const char *engine_advice(nst_status status)
{
    if (status == NST_ERR_NOMEM)
        return _(" (the settings \"Working size\" and \"Maximum memory (MiB)\")");
    if (status == NST_ERR_DEVICE)
        return _(" (the setting \"Device\": Automatic and CPU need no GPU)");
    if (status == NST_ERR_NOT_FOUND)
        return _(" The plug-in's tools/fetch-models.sh downloads the model and checks it; NST_MODEL_PATH, set "
                 "before GIMP starts, names another folder.");
    return "";
}

static void on_job_done(PluginJob *job, gpointer data)
{
    Session *s = data;
    const char *message = NULL;
    nst_status status = plugin_job_get_status(job, &message);
    gboolean failed = status != NST_OK && message != NULL && *message != '\0';
    plugin_debug("worker done: %s%s%s", nst_status_name(status), failed ? ": " : "", failed ? message : "");

    if (s->restart_when_done) {
        session_restart_now(s);
        return;
    }
    if (status == NST_OK) {
        nst_image_free(s->result);
        s->result = plugin_job_steal_result(job);
        if (s->dialog != NULL) {
            GString *text = g_string_new(_("Finished"));
            append_device(text, s->device);
            ui_dialog_set_progress(s->dialog, 1.0, text->str);
            g_string_free(text, TRUE);
        }
    } else if (status != NST_ERR_CANCELLED) {
        g_clear_error(&s->job_error);
        s->job_error = g_error_new(GIMP_PLUG_IN_ERROR, 0, _("Style transfer failed: %s%s"), message,
                                   engine_advice(status));
        if (s->dialog != NULL)
            ui_dialog_set_message(s->dialog, s->job_error->message, TRUE);
    }
}

/* ---- jobs ---------------------------------------------------------------- */

/* For the test log: tells whether a job saw new pixels. */
static char *pixels_checksum(const nst_image *image)
{
    return g_compute_checksum_for_data(G_CHECKSUM_SHA1, (const guchar *)image->rgb,
                                       (gsize)image->width * (gsize)image->height * 3 * sizeof(float));
}

/* Reads the settings and starts a worker.  FALSE with *error for settings
 * that cannot work (the message is for the user or script author). */
static gboolean session_start_job(Session *s, GError **error)
{
    plugin_settings_clear(&s->settings);
    plugin_settings_read(&s->settings, s->config, s->image, s->from_dialog);
    if (!plugin_settings_check(&s->settings, s->content, error))
        return FALSE;

    nst_error err = {0};
    /* Read at each start: the user may repaint the layer while the dialog is open. */
    nst_image_free(s->content_pixels);
    if ((s->content_pixels = plugin_drawable_read(s->content, error)) == NULL)
        return FALSE;
    nst_image *styles[NST_MAX_STYLES], *masks[NST_MAX_STYLES];
    double blends[NST_MAX_STYLES];
    if (!session_style_copies(s, styles, masks, blends, error))
        return FALSE;
    int n_styles = s->settings.n_styles;
    if (plugin_debug_enabled()) {
        char *content_sum = pixels_checksum(s->content_pixels), *style_sum = pixels_checksum(styles[0]);
        plugin_debug("job pictures: content %s style %s (%d styles)", content_sum, style_sum, n_styles);
        g_free(content_sum);
        g_free(style_sum);
    }
    /* Loading a style file leaves its own message in the status bar. */
    gimp_progress_init(_("Neural style transfer"));
    nst_image *content = nst_image_copy(s->content_pixels, &err);
    if (content == NULL) {
        free_pictures(styles, n_styles);
        free_pictures(masks, n_styles);
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s", err.message);
        return FALSE;
    }
    PluginJobCallbacks callbacks = {on_job_frame, on_job_progress, on_job_done, s};
    gboolean previews = s->dialog != NULL && s->settings.live_preview;
    nst_image_free(s->result);
    s->result = NULL;
    g_clear_error(&s->job_error);
    s->job_stale = FALSE;
    s->device[0] = '\0';
    s->job = plugin_job_start(s->settings.kind, &s->settings.params, content, styles, masks, blends, n_styles,
                           s->content_pixels->width, s->content_pixels->height,
                           previews ? FRAME_INTERVAL_US : 0, &callbacks);
    return TRUE;
}

static void session_restart_now(Session *s)
{
    plugin_job_free(s->job);
    s->job = NULL;
    s->restart_when_done = FALSE;
    GError *error = NULL;
    if (!session_start_job(s, &error)) {
        ui_dialog_set_message(s->dialog, error->message, TRUE);
        ui_dialog_set_progress(s->dialog, 0.0, _("Not started"));
        g_clear_error(&s->job_error);
        s->job_error = error;
    } else {
        ui_dialog_set_message(s->dialog, NULL, FALSE);
    }
}

static gboolean job_running(Session *s)
{
    return s->job != NULL && !plugin_job_is_done(s->job);
}

static gboolean restart_timeout(gpointer data)
{
    Session *s = data;
    s->restart_source = 0;
    if (job_running(s)) {
        /* Joining here would freeze the dialog until the engine notices. */
        s->restart_when_done = TRUE;
        plugin_job_cancel(s->job);
    } else {
        session_restart_now(s);
    }
    return G_SOURCE_REMOVE;
}

static gboolean settings_changed(Session *s)
{
    PluginSettings now;
    plugin_settings_read(&now, s->config, s->image, s->from_dialog);
    gboolean changed = !plugin_settings_same_picture(&now, &s->settings);
    plugin_settings_clear(&now);
    return changed;
}

/* Says at once in the dialog when the result could not be written (a group,
 * locked pixels); OK would then give the same message. */
static void session_show_output_problem(Session *s)
{
    GError *error = NULL;
    if (!plugin_settings_check_output(&s->settings, s->content, &error)) {
        ui_dialog_set_message(s->dialog, error->message, TRUE);
        g_error_free(error);
    } else if (s->job_error == NULL) {
        ui_dialog_set_message(s->dialog, NULL, FALSE);
    }
}

static void on_config_notify(GObject *config, GParamSpec *pspec, gpointer data)
{
    Session *s = data;
    const char *name = g_param_spec_get_name(pspec);
    if (strcmp(name, "output") == 0) {
        /* It does not change the picture, but where it goes must be writable. */
        s->settings.output = gimp_procedure_config_get_choice_id(GIMP_PROCEDURE_CONFIG(config), "output");
        session_show_output_problem(s);
        return;
    }

    gboolean steering = g_strv_contains((const char *const *)plugin_args_steering, name);
    if (steering && job_running(s) && !s->restart_when_done && !s->job_stale) {
        double content_weight, style_weight, tv_weight, style_scale;
        plugin_settings_read_steering(GIMP_PROCEDURE_CONFIG(config), s->from_dialog, &content_weight, &style_weight,
                                      &tv_weight, &style_scale);
        GError *error = NULL;
        if (!plugin_job_set_weights(s->job, content_weight, style_weight, tv_weight, &error) ||
            !plugin_job_set_style_scale(s->job, style_scale, &error)) {
            if (s->dialog != NULL)
                ui_dialog_set_message(s->dialog, error->message, TRUE);
            g_error_free(error);
            return;
        }
        /* The running job now makes the picture of these settings. */
        s->settings.params.content_weight = content_weight;
        s->settings.params.style_weight = style_weight;
        s->settings.params.tv_weight = tv_weight;
        s->settings.params.style_scale = style_scale;
        return;
    }
    if (strcmp(name, "live-preview") != 0 && s->job != NULL && !s->job_stale && !settings_changed(s))
        return;
    plugin_debug("setting %s changed: the picture will be made again", name);
    s->job_stale = TRUE;
    if (s->restart_source != 0)
        g_source_remove(s->restart_source);
    s->restart_source = 0;

    gboolean live;
    g_object_get(config, "live-preview", &live, NULL);
    if (!live) {
        if (job_running(s))
            plugin_job_cancel(s->job);
        s->restart_when_done = FALSE;
        ui_dialog_set_progress(s->dialog, 0.0, _("Live preview is off: press OK to start"));
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
    plugin_job_free(s->job); /* cancels and joins */
    s->job = NULL;
    session_remove_preview(s);
    plugin_settings_clear(&s->settings);
    nst_image_free(s->content_pixels);
    for (int i = 0; i < NST_MAX_STYLES; i++) {
        nst_image_free(s->style_pixels[i]);
        g_free(s->style_key[i]);
    }
    nst_image_free(s->result);
    g_clear_error(&s->job_error);
}

/* ---- the result ---------------------------------------------------------- */

static gboolean session_apply(Session *s, GError **error)
{
    /* Checked again: the user may have locked or removed the layer meanwhile. */
    if (!gimp_image_is_valid(s->image) || !plugin_settings_check_output(&s->settings, s->content, error)) {
        set_image_closed(error); /* unless the check said why */
        return FALSE;
    }
    gboolean ok;
    gimp_image_undo_group_start(s->image);
    if (s->settings.output == PLUGIN_OUTPUT_REPLACE) {
        ok = plugin_drawable_write_result(s->content, s->content, s->result, error);
    } else {
        char *styles = styles_name(&s->settings);
        char *name = g_strdup_printf(_("Style: %s"), styles);
        g_free(styles);
        GimpLayer *layer = plugin_layer_new_above(s->image, s->content, name, error);
        g_free(name);
        ok = layer != NULL && plugin_drawable_write_result(GIMP_DRAWABLE(layer), s->content, s->result, error);
        /* No empty layer is left behind by a write that failed. */
        if (!ok && layer != NULL && gimp_item_is_valid(GIMP_ITEM(layer)))
            gimp_image_remove_layer(s->image, layer);
    }
    gimp_image_undo_group_end(s->image);
    return ok;
}

/* Waits for the current job; TRUE when it left a result. */
static gboolean session_finish_job(Session *s, GError **error)
{
    plugin_job_wait(s->job);
    if (s->result != NULL)
        return TRUE;
    if (s->job_error != NULL)
        g_propagate_error(error, g_steal_pointer(&s->job_error));
    else
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s", _("Style transfer was cancelled."));
    return FALSE;
}

GimpPDBStatusType plugin_session_run_batch(GimpImage *image, GimpDrawable *content, GimpProcedureConfig *config,
                                        gboolean from_dialog, GError **error)
{
    Session s;
    session_init(&s, image, content, config, from_dialog);
    GimpPDBStatusType status = GIMP_PDB_SUCCESS;
    session_remove_stale_previews(&s);

    /* What cannot be written is said at once, not after the whole run. */
    if (!plugin_settings_check_output(&s.settings, content, error) || !session_start_job(&s, error))
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
        plugin_job_cancel(s->job);
    }
}

/* The layer masks among `items` and inside their groups, as regions. */
static void collect_layer_masks(GimpItem **items, GArray *regions)
{
    for (int i = 0; items != NULL && items[i] != NULL; i++) {
        GimpLayerMask *mask = GIMP_IS_LAYER(items[i]) ? gimp_layer_get_mask(GIMP_LAYER(items[i])) : NULL;
        if (mask != NULL) {
            UiRegionItem region = {gimp_item_get_id(GIMP_ITEM(mask)),
                                   g_strdup_printf(_("Layer mask of “%s”"), gimp_item_get_name(items[i]))};
            g_array_append_val(regions, region);
        }
        if (gimp_item_is_group(items[i])) {
            GimpItem **children = gimp_item_get_children(items[i]);
            collect_layer_masks(children, regions);
            g_free(children);
        }
    }
}

/* What the dialog's Region choices offer: the saved selections, then the layer masks. */
static GArray *image_regions(GimpImage *image)
{
    GArray *regions = g_array_new(FALSE, FALSE, sizeof(UiRegionItem));
    GimpChannel **channels = gimp_image_get_channels(image);
    for (int i = 0; channels != NULL && channels[i] != NULL; i++) {
        UiRegionItem region = {gimp_item_get_id(GIMP_ITEM(channels[i])),
                               g_strdup(gimp_item_get_name(GIMP_ITEM(channels[i])))};
        g_array_append_val(regions, region);
    }
    g_free(channels);
    GimpLayer **layers = gimp_image_get_layers(image);
    collect_layer_masks((GimpItem **)layers, regions);
    g_free(layers);
    return regions;
}

/* A device's kind as the Device choice shows it; a software driver runs on the CPU. */
static const char *device_kind_label(nst_device_kind kind)
{
    switch (kind) {
    case NST_DEVICE_DISCRETE:
        return _("discrete");
    case NST_DEVICE_INTEGRATED:
        return _("integrated");
    case NST_DEVICE_VIRTUAL:
        return _("virtual");
    case NST_DEVICE_CPU:
        return _("software");
    default:
        return _("other");
    }
}

/* The Vulkan devices in the dialog's Device choice: "GPU 0: NVIDIA H200
 * (discrete)" for each one the backend can use; when none can be listed,
 * why, in the combo's tooltip. */
static void session_dialog_add_devices(UiDialog *dialog)
{
    nst_device_info devices[NST_MAX_DEVICES];
    int count = 0;
    nst_error err = {0};
    UiDeviceItem items[NST_MAX_DEVICES];
    char *settings[NST_MAX_DEVICES], *labels[NST_MAX_DEVICES];
    int n = 0;
    char *note = NULL;
    if (nst_device_list(devices, NST_MAX_DEVICES, &count, &err) != NST_OK)
        note = g_strdup_printf(_("No GPU can be listed: %s"), err.message);
    else if (count == 0)
        note = g_strdup(_("No GPU was found (no Vulkan driver is installed)."));
    for (int i = 0; i < count; i++) {
        if (!devices[i].usable) {
            plugin_debug("device gpu:%d (%s) cannot run the backend: not listed", devices[i].index, devices[i].name);
            continue;
        }
        settings[n] = g_strdup_printf("gpu:%d", devices[i].index);
        labels[n] = g_strdup_printf(_("GPU %d: %s (%s)"), devices[i].index, devices[i].name,
                                    device_kind_label(devices[i].kind));
        items[n] = (UiDeviceItem){settings[n], labels[n]};
        n++;
    }
    ui_dialog_add_devices(dialog, items, n, note);
    for (int i = 0; i < n; i++) {
        g_free(settings[i]);
        g_free(labels[i]);
    }
    g_free(note);
}

/* The dialog, with the gallery's paintings, the image's regions and the style slots' properties. */
static UiDialog *session_dialog_new(GimpProcedure *procedure, GimpImage *image, GimpProcedureConfig *config)
{
    nst_error err = {0};
    nst_gallery *gallery = plugin_gallery_open(&err);
    if (gallery == NULL)
        plugin_debug("no style gallery: %s", err.message);
    int n = nst_gallery_count(gallery);
    UiGalleryItem *items = g_new0(UiGalleryItem, MAX(n, 1));
    char **bylines = g_new0(char *, MAX(n, 1) + 1);
    for (int i = 0; i < n; i++) {
        const nst_style_entry *e = nst_gallery_entry(gallery, i);
        bylines[i] = e->painter[0] && e->year[0] ? g_strdup_printf("%s, %s", e->painter, e->year)
                                                 : g_strdup(e->painter);
        items[i] = (UiGalleryItem){e->name, e->title, bylines[i], e->path};
    }
    UiStyleSlot slots[PLUGIN_DIALOG_STYLES];
    for (int i = 0; i < PLUGIN_DIALOG_STYLES; i++) {
        const PluginSlotNames *names = plugin_args_slot(i);
        slots[i] = (UiStyleSlot){names->source, names->preset, names->layer, names->file, names->blend, names->mask};
    }
    GArray *regions = image_regions(image);
    UiDialog *dialog = ui_dialog_new(procedure, config, items, n, (UiRegionItem *)(void *)regions->data,
                                     (int)regions->len, slots, PLUGIN_DIALOG_STYLES);
    for (guint i = 0; i < regions->len; i++)
        g_free((char *)g_array_index(regions, UiRegionItem, i).label);
    g_array_free(regions, TRUE);
    g_strfreev(bylines);
    g_free(items);
    nst_gallery_free(gallery);
    session_dialog_add_devices(dialog);
    return dialog;
}

GimpPDBStatusType plugin_session_run_interactive(GimpProcedure *procedure, GimpImage *image,
                                              GimpDrawable *content, GimpProcedureConfig *config,
                                              GError **error)
{
    Session s;
    session_init(&s, image, content, config, TRUE);
    session_remove_stale_previews(&s);
    plugin_settings_pick_style_source(config);
    s.dialog = session_dialog_new(procedure, image, config);

    gboolean live;
    g_object_get(config, "live-preview", &live, NULL);
    GError *start_error = NULL;
    if (live && !session_start_job(&s, &start_error)) {
        ui_dialog_set_message(s.dialog, start_error->message, TRUE);
        g_error_free(start_error);
        s.job_stale = TRUE;
    } else {
        if (!live)
            ui_dialog_set_progress(s.dialog, 0.0, _("Live preview is off: press OK to start"));
        session_show_output_problem(&s);
    }
    gulong handler = g_signal_connect(config, "notify", G_CALLBACK(on_config_notify), &s);

    gboolean ok = ui_dialog_run(s.dialog);
    g_signal_handler_disconnect(config, handler);

    GimpPDBStatusType status = GIMP_PDB_CANCEL;
    if (ok) {
        /* A finished or running job for the current settings is kept; else start again. */
        if (s.job == NULL || s.job_stale || s.restart_when_done || s.restart_source != 0) {
            if (s.restart_source != 0)
                g_source_remove(s.restart_source);
            s.restart_source = 0;
            s.restart_when_done = FALSE;
            plugin_job_free(s.job);
            s.job = NULL;
            if (!session_start_job(&s, error)) {
                status = GIMP_PDB_CALLING_ERROR;
                ok = FALSE;
            }
        }
    }
    if (ok) {
        /* The dialog stays up with its progress bar; Cancel still works. */
        ui_dialog_set_finishing(s.dialog, on_cancel_while_finishing, &s);
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
    ui_dialog_free(s.dialog);
    gimp_displays_flush();
    return status;
}
