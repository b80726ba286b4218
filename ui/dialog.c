#include "dialog.h"

#include <stdarg.h>
#include <stdlib.h>

#include "common.h"
#include "nst/nst.h" /* the engine's names of its choices */

#define UI_MAX_SLOTS 8
#define THUMBNAIL_WIDTH 64
#define THUMBNAIL_HEIGHT 44

/* The widgets of one style slot that come and go with its source. */
typedef struct SlotWidgets {
    UiStyleSlot names;
    GtkWidget *preset, *layer, *file, *blend, *region;
} SlotWidgets;

struct UiDialog {
    GtkWidget *window;
    GtkWidget *settings;
    GtkWidget *size_box; /* the frame's box that holds the working size */
    GtkWidget *progress;
    GtkWidget *message;
    GimpProcedureConfig *config;
    SlotWidgets slots[UI_MAX_SLOTS];
    int n_slots;
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

typedef GtkWidget *(*FillTitled)(GimpProcedureDialog *dialog, const char *container_id, const char *title_id,
                                  gboolean invert_title, const char *contents_id);

/* A titled frame or expander (`fill`) around a vertical box of properties; returns the box. */
static GtkWidget *titled_box(GimpProcedureDialog *dialog, FillTitled fill, const char *id, const char *title,
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
    fill(dialog, id, title_id, FALSE, box_id);
    g_free(title_id);
    g_free(box_id);
    g_list_free(properties);
    return box;
}

#define FRAME gimp_procedure_dialog_fill_frame
#define EXPANDER gimp_procedure_dialog_fill_expander

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
    gtk_progress_bar_set_ellipsize(GTK_PROGRESS_BAR(nd->progress), PANGO_ELLIPSIZE_END);
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

/* ---- the gallery combo ---- */

enum { GALLERY_THUMBNAIL, GALLERY_MARKUP, GALLERY_NAME, GALLERY_COLUMNS };

static GtkListStore *gallery_store(const UiGalleryItem *items, int n_items)
{
    GtkListStore *store = gtk_list_store_new(GALLERY_COLUMNS, GDK_TYPE_PIXBUF, G_TYPE_STRING, G_TYPE_STRING);
    for (int i = 0; i < n_items; i++) {
        GdkPixbuf *thumbnail =
            gdk_pixbuf_new_from_file_at_scale(items[i].picture, THUMBNAIL_WIDTH, THUMBNAIL_HEIGHT, TRUE, NULL);
        char *markup = items[i].byline[0]
                           ? g_markup_printf_escaped("<b>%s</b>\n<small>%s</small>", items[i].title, items[i].byline)
                           : g_markup_printf_escaped("<b>%s</b>", items[i].title);
        GtkTreeIter iter;
        gtk_list_store_append(store, &iter);
        gtk_list_store_set(store, &iter, GALLERY_THUMBNAIL, thumbnail, GALLERY_MARKUP, markup, GALLERY_NAME,
                           items[i].name, -1);
        g_free(markup);
        g_clear_object(&thumbnail);
    }
    return store;
}

/* A row: `label_text` and `combo`. */
static GtkWidget *labelled_row(const char *label_text, GtkWidget *combo)
{
    GtkWidget *row = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    GtkWidget *label = gtk_label_new(label_text);
    gtk_label_set_mnemonic_widget(GTK_LABEL(label), combo);
    gtk_label_set_xalign(GTK_LABEL(label), 0.0);
    gtk_box_pack_start(GTK_BOX(row), label, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(row), combo, TRUE, TRUE, 0);
    gtk_widget_show_all(row);
    return row;
}

/* A label and a combo of the paintings, its choice bound to `property`. */
static GtkWidget *gallery_combo(GtkListStore *store, GimpProcedureConfig *config, const char *property,
                                const char *label_text)
{
    GtkWidget *combo = gtk_combo_box_new_with_model(GTK_TREE_MODEL(store));
    gtk_combo_box_set_id_column(GTK_COMBO_BOX(combo), GALLERY_NAME);
    GtkCellRenderer *picture = gtk_cell_renderer_pixbuf_new();
    gtk_cell_renderer_set_fixed_size(picture, THUMBNAIL_WIDTH + 4, THUMBNAIL_HEIGHT + 2);
    gtk_cell_layout_pack_start(GTK_CELL_LAYOUT(combo), picture, FALSE);
    gtk_cell_layout_add_attribute(GTK_CELL_LAYOUT(combo), picture, "pixbuf", GALLERY_THUMBNAIL);
    GtkCellRenderer *text = gtk_cell_renderer_text_new();
    gtk_cell_layout_pack_start(GTK_CELL_LAYOUT(combo), text, TRUE);
    gtk_cell_layout_add_attribute(GTK_CELL_LAYOUT(combo), text, "markup", GALLERY_MARKUP);
    g_object_bind_property(config, property, combo, "active-id", G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
    return labelled_row(label_text, combo);
}

/* ---- the region combo ---- */

enum { REGION_LABEL, REGION_ID, REGION_COLUMNS };

static GtkListStore *region_store(const UiRegionItem *items, int n_items)
{
    GtkListStore *store = gtk_list_store_new(REGION_COLUMNS, G_TYPE_STRING, G_TYPE_STRING);
    gtk_list_store_insert_with_values(store, NULL, -1, REGION_LABEL, _("Whole picture"), REGION_ID, "0", -1);
    for (int i = 0; i < n_items; i++) {
        char *id = g_strdup_printf("%d", items[i].id);
        gtk_list_store_insert_with_values(store, NULL, -1, REGION_LABEL, items[i].label, REGION_ID, id, -1);
        g_free(id);
    }
    return store;
}

/* The combo's ids are the item IDs as text. */
static gboolean region_id_to_text(GBinding *binding, const GValue *from, GValue *to, gpointer data)
{
    (void)binding;
    (void)data;
    g_value_take_string(to, g_strdup_printf("%d", g_value_get_int(from)));
    return TRUE;
}

static gboolean region_text_to_id(GBinding *binding, const GValue *from, GValue *to, gpointer data)
{
    (void)binding;
    (void)data;
    const char *text = g_value_get_string(from);
    if (text == NULL)
        return FALSE;
    g_value_set_int(to, atoi(text));
    return TRUE;
}

/* A label and a combo of the regions, its choice bound to the int `property`. */
static GtkWidget *region_combo(GtkListStore *store, GimpProcedureConfig *config, const char *property)
{
    GtkWidget *combo = gtk_combo_box_new_with_model(GTK_TREE_MODEL(store));
    gtk_combo_box_set_id_column(GTK_COMBO_BOX(combo), REGION_ID);
    GtkCellRenderer *text = gtk_cell_renderer_text_new();
    gtk_cell_layout_pack_start(GTK_CELL_LAYOUT(combo), text, TRUE);
    gtk_cell_layout_add_attribute(GTK_CELL_LAYOUT(combo), text, "text", REGION_LABEL);
    gtk_widget_set_tooltip_text(combo, _("Where this style paints.  Select the area on the canvas and save it "
                                         "with Select ▸ Save to Channel, or give a layer a mask: it appears "
                                         "here.  Where no style's region reaches, the picture keeps its look."));
    /* The last values may name a region of another image. */
    int id = 0;
    g_object_get(config, property, &id, NULL);
    char *text_id = g_strdup_printf("%d", id);
    if (!gtk_combo_box_set_active_id(GTK_COMBO_BOX(combo), text_id))
        g_object_set(config, property, 0, NULL);
    g_free(text_id);
    g_object_bind_property_full(config, property, combo, "active-id", G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE,
                                region_id_to_text, region_text_to_id, NULL, NULL);
    return labelled_row(_("Region"), combo);
}

/* ---- what each slot shows ---- */

static gboolean slot_is(UiDialog *nd, int slot, const char *nick)
{
    char *value = NULL;
    g_object_get(nd->config, nd->slots[slot].names.source, &value, NULL);
    gboolean is = g_strcmp0(value, nick) == 0;
    g_free(value);
    return is;
}

static void set_shown(GtkWidget *widget, gboolean shown)
{
    if (widget != NULL)
        gtk_widget_set_visible(widget, shown);
}

/* Hides, not only desensitises, what the chosen sources do not need: a
 * slot that is off shows only its source; the first style's blend weight
 * only when another style is on. */
static void update_slots(UiDialog *nd)
{
    gboolean others = FALSE;
    for (int i = 1; i < nd->n_slots; i++)
        others |= !slot_is(nd, i, "none");
    for (int i = 0; i < nd->n_slots; i++) {
        SlotWidgets *w = &nd->slots[i];
        set_shown(w->preset, slot_is(nd, i, "gallery"));
        set_shown(w->layer, slot_is(nd, i, "layer"));
        set_shown(w->file, slot_is(nd, i, "file"));
        set_shown(w->blend, i == 0 ? others : !slot_is(nd, i, "none"));
        set_shown(w->region, i == 0 || !slot_is(nd, i, "none"));
    }
}

static void on_source_changed(GObject *config, GParamSpec *pspec, gpointer data)
{
    (void)config;
    (void)pspec;
    update_slots(data);
}

static GtkWidget *property_widget(GimpProcedureDialog *dialog, const char *property)
{
    GtkWidget *widget = gimp_procedure_dialog_get_widget(dialog, property, G_TYPE_NONE);
    if (widget != NULL)
        gtk_widget_set_no_show_all(widget, TRUE); /* update_slots decides */
    return widget;
}

/* Puts `widget` (shown by update_slots) into `box` at `child`'s place plus `after`. */
static void insert_at(GtkWidget *box, GtkWidget *widget, GtkWidget *child, int after)
{
    gtk_widget_set_no_show_all(widget, TRUE);
    gtk_box_pack_start(GTK_BOX(box), widget, FALSE, FALSE, 0);
    GList *children = gtk_container_get_children(GTK_CONTAINER(box));
    int position = g_list_index(children, child);
    g_list_free(children);
    gtk_box_reorder_child(GTK_BOX(box), widget, position + after);
}

/* One slot's box: source, painting (the gallery combo), layer, file, region, blend. */
static void fill_slot(UiDialog *nd, GimpProcedureDialog *dialog, GtkListStore *store, GtkListStore *regions,
                      GtkWidget *box, int slot, const char *painting_label)
{
    SlotWidgets *w = &nd->slots[slot];
    w->preset = gallery_combo(store, nd->config, w->names.preset, painting_label);
    /* Right under its source. */
    insert_at(box, w->preset, gimp_procedure_dialog_get_widget(dialog, w->names.source, G_TYPE_NONE), 1);
    w->layer = property_widget(dialog, w->names.layer);
    w->file = property_widget(dialog, w->names.file);
    w->blend = property_widget(dialog, w->names.blend);
    w->region = region_combo(regions, nd->config, w->names.mask);
    insert_at(box, w->region, w->blend, 0);
    char *signal = g_strconcat("notify::", w->names.source, NULL);
    g_signal_connect(nd->config, signal, G_CALLBACK(on_source_changed), nd);
    g_free(signal);
}

static void blend_entry(GimpProcedureDialog *dialog, const char *property)
{
    GtkWidget *entry = gimp_procedure_dialog_get_scale_entry(dialog, property, 1.0);
    gimp_scale_entry_set_bounds(GIMP_SCALE_ENTRY(entry), 0.0, 10.0, FALSE);
}

UiDialog *ui_dialog_new(GimpProcedure *procedure, GimpProcedureConfig *config, const UiGalleryItem *gallery,
                        int n_gallery, const UiRegionItem *regions, int n_regions, const UiStyleSlot *slots,
                        int n_slots)
{
    gimp_ui_init(PLUGIN_BINARY);

    UiDialog *nd = g_new0(UiDialog, 1);
    nd->config = config;
    nd->n_slots = CLAMP(n_slots, 1, UI_MAX_SLOTS);
    for (int i = 0; i < nd->n_slots; i++)
        nd->slots[i].names = slots[i];
    nd->window = gimp_procedure_dialog_new(procedure, config, _("Neural Style Transfer"));
    GimpProcedureDialog *dialog = GIMP_PROCEDURE_DIALOG(nd->window);
    GtkListStore *store = gallery_store(gallery, n_gallery);
    GtkListStore *region_list = region_store(regions, n_regions);

    /* The style first: where it comes from, and only what that needs. */
    for (int i = 0; i < nd->n_slots; i++)
        blend_entry(dialog, slots[i].blend);
    GtkWidget *first = titled_box(dialog, FRAME, "style-frame", _("Style"), slots[0].source, slots[0].layer,
                                  slots[0].file, slots[0].blend, NULL);
    fill_slot(nd, dialog, store, region_list, first, 0, _("Painting"));
    GList *more = NULL;
    for (int i = 1; i < nd->n_slots; i++) {
        more = g_list_append(more, (gpointer)slots[i].source);
        more = g_list_append(more, (gpointer)slots[i].layer);
        more = g_list_append(more, (gpointer)slots[i].file);
        more = g_list_append(more, (gpointer)slots[i].blend);
    }
    GtkWidget *more_box = gimp_procedure_dialog_fill_box_list(dialog, "more-styles-box", more);
    g_list_free(more);
    gtk_box_set_spacing(GTK_BOX(more_box), 4);
    for (int i = 1; i < nd->n_slots; i++)
        fill_slot(nd, dialog, store, region_list, more_box, i, _("Painting"));
    gimp_procedure_dialog_get_label(dialog, "more-styles-title", _("Blend with more styles"), FALSE, FALSE);
    gimp_procedure_dialog_fill_frame(dialog, "more-styles", "more-styles-title", FALSE, "more-styles-box");
    g_object_unref(store);
    g_object_unref(region_list);

    /* One slider for how much style, and the size: what a painter sets. */
    gtk_widget_set_size_request(gimp_scale_entry_get_range(GIMP_SCALE_ENTRY(
                                    gimp_procedure_dialog_get_scale_entry(dialog, "strength", 1.0))),
                                160, -1);
    scale_entry(dialog, "style-scale", 0.25, 4.0, FALSE);
    nd->size_box = titled_box(dialog, FRAME, "painting-frame", _("Strength and size (change them while it runs)"),
                              "strength", "style-scale", "size", NULL);
    titled_box(dialog, FRAME, "result-frame", _("Result"), "preserve-colors", "output", "live-preview", NULL);

    /* The engine's own terms, for those who know them. */
    scale_entry(dialog, "content-weight", 0.0, 10.0, FALSE);
    scale_entry(dialog, "style-weight", 1e-2, 1e8, TRUE);
    scale_entry(dialog, "tv-weight", 0.0, 10.0, FALSE);
    sensitive_if_choice(dialog, config, "learning-rate", "optimizer", nst_optimizer_name(NST_OPTIM_ADAM));
    titled_box(dialog, EXPANDER, "advanced", _("Advanced"), "model", "iterations", "content-weight", "style-weight",
                 "tv-weight", "optimizer", "learning-rate", "init", "seed", "max-memory", NULL);

    GtkWidget *left = gimp_procedure_dialog_fill_box(dialog, "left-column", "style-frame", "more-styles", NULL);
    GtkWidget *right = gimp_procedure_dialog_fill_box(dialog, "right-column", "painting-frame", "result-frame",
                                                      "advanced", NULL);
    gtk_box_set_spacing(GTK_BOX(left), 12);
    gtk_box_set_spacing(GTK_BOX(right), 12);
    GtkWidget *columns = gimp_procedure_dialog_fill_box(dialog, "columns", "left-column",
                                                        "right-column", NULL);
    gtk_orientable_set_orientation(GTK_ORIENTABLE(columns), GTK_ORIENTATION_HORIZONTAL);
    gtk_box_set_spacing(GTK_BOX(columns), 18);
    nd->settings = columns;
    gimp_procedure_dialog_fill(dialog, "columns", NULL);
    update_slots(nd);

    GtkWidget *content_area = gtk_dialog_get_content_area(GTK_DIALOG(nd->window));
    gtk_box_pack_start(GTK_BOX(content_area), progress_area(nd), FALSE, FALSE, 0);
    return nd;
}

void ui_dialog_add_devices(UiDialog *nd, const UiDeviceItem *devices, int n_devices, const char *note)
{
    GtkWidget *combo = gtk_combo_box_text_new();
    gtk_combo_box_text_append(GTK_COMBO_BOX_TEXT(combo), "auto", _("Automatic"));
    gtk_combo_box_text_append(GTK_COMBO_BOX_TEXT(combo), "cpu", _("CPU"));
    for (int i = 0; i < n_devices; i++)
        gtk_combo_box_text_append(GTK_COMBO_BOX_TEXT(combo), devices[i].setting, devices[i].label);
    const char *about = _("Where the picture is computed.  Automatic takes a GPU when there is one, else the CPU.");
    char *tooltip = note != NULL ? g_strconcat(about, "\n", note, NULL) : g_strdup(about);
    gtk_widget_set_tooltip_text(combo, tooltip);
    g_free(tooltip);
    /* "" means auto too; a device gone since the last run goes back to it. */
    char *device = NULL;
    g_object_get(nd->config, "device", &device, NULL);
    if (!gtk_combo_box_set_active_id(GTK_COMBO_BOX(combo), device != NULL && *device ? device : "auto"))
        g_object_set(nd->config, "device", "auto", NULL);
    g_free(device);
    g_object_bind_property(nd->config, "device", combo, "active-id", G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
    GtkWidget *row = labelled_row(_("Device"), combo);
    gtk_box_pack_start(GTK_BOX(nd->size_box), row, FALSE, FALSE, 0);
}

void ui_dialog_set_progress(UiDialog *nd, double fraction, const char *text)
{
    gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(nd->progress), CLAMP(fraction, 0.0, 1.0));
    gtk_progress_bar_set_text(GTK_PROGRESS_BAR(nd->progress), text);
    /* The device's reason for the CPU can be long: cut in the bar, whole in its tooltip. */
    gtk_widget_set_tooltip_text(nd->progress, text);
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
    g_signal_handlers_disconnect_by_data(nd->config, nd);
    gtk_widget_destroy(nd->window);
    g_free(nd);
}
