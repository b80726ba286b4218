#include "dialog.h"

#include <stdarg.h>

#include "common.h"
#include "nst/nst.h" /* the engine's names of its choices */

struct UiDialog {
    GtkWidget *window;
    GtkWidget *settings;
    GtkWidget *progress;
    GtkWidget *message;
};

/* Makes `property` sensitive only while the choice `choice_property` is `nick`. */
static void sensitive_if_choice(GimpProcedureDialog *dialog, GimpProcedureConfig *config, const char *property,
                                const char *choice_property, const char *nick)
{
    GimpValueArray *values = gimp_value_array_new(1);
    GValue value = G_VALUE_INIT;
    g_value_init(&value, G_TYPE_STRING);
    g_value_set_string(&value, nick);
    gimp_value_array_append(values, &value);
    g_value_unset(&value);
    gimp_procedure_dialog_set_sensitive_if_in(dialog, property, G_OBJECT(config), choice_property, values, TRUE);
}

/* A titled frame around a vertical box of properties. */
static void framed_box(GimpProcedureDialog *dialog, const char *id, const char *title,
                       const char *first_property, ...)
{
    GList *properties = NULL;
    va_list args;
    va_start(args, first_property);
    for (const char *p = first_property; p != NULL; p = va_arg(args, const char *))
        properties = g_list_append(properties, (gpointer)p);
    va_end(args);

    char *box_id = g_strconcat(id, "-box", NULL);
    char *title_id = g_strconcat(id, "-title", NULL);
    GtkWidget *box = gimp_procedure_dialog_fill_box_list(dialog, box_id, properties);
    gtk_box_set_spacing(GTK_BOX(box), 4);
    gimp_procedure_dialog_get_label(dialog, title_id, title, FALSE, FALSE);
    gimp_procedure_dialog_fill_frame(dialog, id, title_id, FALSE, box_id);
    g_free(title_id);
    g_free(box_id);
    g_list_free(properties);
}

/* The slider covers the useful range; the entry still takes any valid value. */
static void scale_entry(GimpProcedureDialog *dialog, const char *property, double lower, double upper,
                        gboolean logarithmic)
{
    GtkWidget *entry = gimp_procedure_dialog_get_scale_entry(dialog, property, 1.0);
    gimp_scale_entry_set_bounds(GIMP_SCALE_ENTRY(entry), lower, upper, FALSE);
    gtk_widget_set_size_request(gimp_scale_entry_get_range(GIMP_SCALE_ENTRY(entry)), 140, -1);
    if (logarithmic)
        gimp_scale_entry_set_logarithmic(GIMP_SCALE_ENTRY(entry), TRUE);
}

static GtkWidget *progress_area(UiDialog *nd)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 4);
    gtk_container_set_border_width(GTK_CONTAINER(box), 6);

    nd->progress = gtk_progress_bar_new();
    gtk_progress_bar_set_show_text(GTK_PROGRESS_BAR(nd->progress), TRUE);
    gtk_progress_bar_set_text(GTK_PROGRESS_BAR(nd->progress), _("Not started"));
    gtk_box_pack_start(GTK_BOX(box), nd->progress, FALSE, FALSE, 0);

    nd->message = gtk_label_new(NULL);
    gtk_label_set_xalign(GTK_LABEL(nd->message), 0.0);
    gtk_label_set_line_wrap(GTK_LABEL(nd->message), TRUE);
    gtk_label_set_max_width_chars(GTK_LABEL(nd->message), 70);
    gtk_label_set_selectable(GTK_LABEL(nd->message), TRUE);
    gtk_box_pack_start(GTK_BOX(box), nd->message, FALSE, FALSE, 0);

    gtk_widget_show_all(box);
    return box;
}

UiDialog *ui_dialog_new(GimpProcedure *procedure, GimpProcedureConfig *config)
{
    gimp_ui_init(PLUGIN_BINARY);

    UiDialog *nd = g_new0(UiDialog, 1);
    nd->window = gimp_procedure_dialog_new(procedure, config, _("Neural Style Transfer"));
    GimpProcedureDialog *dialog = GIMP_PROCEDURE_DIALOG(nd->window);

    sensitive_if_choice(dialog, config, "style-layer", "style-source", "layer");
    sensitive_if_choice(dialog, config, "style-file", "style-source", "file");
    framed_box(dialog, "style-frame", _("Style picture"), "style-source", "style-layer", "style-file",
               NULL);

    scale_entry(dialog, "content-weight", 0.0, 10.0, FALSE);
    scale_entry(dialog, "style-weight", 1e2, 1e8, TRUE);
    scale_entry(dialog, "tv-weight", 0.0, 10.0, FALSE);
    scale_entry(dialog, "style-scale", 0.25, 4.0, FALSE);
    framed_box(dialog, "balance-frame", _("Balance (can be changed while it runs)"),
               "content-weight", "style-weight", "tv-weight", "style-scale", NULL);

    sensitive_if_choice(dialog, config, "learning-rate", "optimizer", nst_optimizer_name(NST_OPTIM_ADAM));
    framed_box(dialog, "quality-frame", _("Quality and speed"), "model", "size", "iterations",
               "optimizer", "learning-rate", "init", "seed", "max-memory", NULL);

    framed_box(dialog, "result-frame", _("Result"), "preserve-colors", "output", "live-preview", NULL);

    GtkWidget *left = gimp_procedure_dialog_fill_box(dialog, "left-column", "style-frame",
                                                     "balance-frame", NULL);
    GtkWidget *right = gimp_procedure_dialog_fill_box(dialog, "right-column", "quality-frame",
                                                      "result-frame", NULL);
    gtk_box_set_spacing(GTK_BOX(left), 12);
    gtk_box_set_spacing(GTK_BOX(right), 12);
    GtkWidget *columns = gimp_procedure_dialog_fill_box(dialog, "columns", "left-column",
                                                        "right-column", NULL);
    gtk_orientable_set_orientation(GTK_ORIENTABLE(columns), GTK_ORIENTATION_HORIZONTAL);
    gtk_box_set_spacing(GTK_BOX(columns), 18);
    nd->settings = columns;
    gimp_procedure_dialog_fill(dialog, "columns", NULL);

    GtkWidget *content_area = gtk_dialog_get_content_area(GTK_DIALOG(nd->window));
    gtk_box_pack_start(GTK_BOX(content_area), progress_area(nd), FALSE, FALSE, 0);
    return nd;
}

void ui_dialog_set_progress(UiDialog *nd, double fraction, const char *text)
{
    gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(nd->progress), CLAMP(fraction, 0.0, 1.0));
    gtk_progress_bar_set_text(GTK_PROGRESS_BAR(nd->progress), text);
}

void ui_dialog_set_message(UiDialog *nd, const char *message, gboolean is_error)
{
    if (message == NULL) {
        gtk_label_set_text(GTK_LABEL(nd->message), "");
        return;
    }
    char *markup = g_markup_printf_escaped(is_error ? "<b>%s</b>" : "%s", message);
    gtk_label_set_markup(GTK_LABEL(nd->message), markup);
    g_free(markup);
}

typedef struct FinishingHandler {
    void (*cancelled)(gpointer user_data);
    gpointer user_data;
} FinishingHandler;

static void on_response_while_finishing(GtkDialog *window, gint response, gpointer data)
{
    (void)window;
    FinishingHandler *handler = data;
    if (response != GTK_RESPONSE_OK)
        handler->cancelled(handler->user_data);
}

void ui_dialog_set_finishing(UiDialog *nd, void (*cancelled)(gpointer user_data), gpointer user_data)
{
    FinishingHandler *handler = g_new(FinishingHandler, 1);
    handler->cancelled = cancelled;
    handler->user_data = user_data;
    gtk_widget_set_sensitive(nd->settings, FALSE);
    gtk_dialog_set_response_sensitive(GTK_DIALOG(nd->window), GTK_RESPONSE_OK, FALSE);
    g_signal_connect_data(nd->window, "response", G_CALLBACK(on_response_while_finishing), handler,
                          (GClosureNotify)(void (*)(void))g_free, 0);
    /* GtkDialog destroys itself on close after its response; it must stay until the run ends. */
    g_signal_connect(nd->window, "delete-event", G_CALLBACK(gtk_true), NULL);
}

gboolean ui_dialog_run(UiDialog *nd)
{
    gtk_widget_show(nd->window);
    return gimp_procedure_dialog_run(GIMP_PROCEDURE_DIALOG(nd->window));
}

void ui_dialog_free(UiDialog *nd)
{
    if (nd == NULL)
        return;
    gtk_widget_destroy(nd->window);
    g_free(nd);
}
