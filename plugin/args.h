/* The procedure's arguments: their registration, and the settings a run
 * reads from a GimpProcedureConfig. */
#ifndef PLUGIN_ARGS_H
#define PLUGIN_ARGS_H

#include <libgimp/gimp.h>

#include <nst/nst.h>

typedef enum { PLUGIN_OUTPUT_NEW_LAYER = 0, PLUGIN_OUTPUT_REPLACE = 1 } PluginOutput;
typedef enum {
    PLUGIN_STYLE_SOURCE_LAYER = 0,
    PLUGIN_STYLE_SOURCE_FILE = 1,
    PLUGIN_STYLE_SOURCE_GALLERY = 2,
    PLUGIN_STYLE_SOURCE_NONE = 3, /* a dialog's 2nd and 3rd style slots */
} PluginStyleSource;

/* Style slots in the dialog: the first, and more blended with it. */
#define PLUGIN_DIALOG_STYLES 3

/* One style picture: a layer, or a file (a gallery entry is its picture's file). */
typedef struct PluginStyle {
    GimpDrawable *layer; /* a reference, or NULL */
    GFile *file;         /* a reference, or NULL */
    char *name;          /* for the result layer's name */
    double blend;
    GimpDrawable *mask; /* a reference to its region (a channel or a layer mask), or NULL: everywhere */
} PluginStyle;

typedef struct PluginSettings {
    nst_model_kind kind;
    nst_params params; /* weights from strength and the raw weights, style scale with a gallery entry's */
    PluginStyle styles[NST_MAX_STYLES];
    int n_styles;
    char *problem; /* why the styles cannot work (an unknown preset, two sources...), or NULL */
    PluginOutput output;
    gboolean live_preview;
} PluginSettings;

/* Adds every argument (and the aux ones the dialog uses) to `procedure`. */
void plugin_args_register(GimpProcedure *procedure);

/* Names of the config properties the running engine can take up at once. */
extern const char *const plugin_args_steering[];

/* Reads the config.  With `from_dialog` the dialog's style slots count: the
 * aux "style-source" choice picks which of style-preset / style-layer /
 * style-file counts, and "style2-source"... add the slots that are on, each
 * with its blend weight.  Otherwise at most one of style-preset /
 * style-layer / style-file, then every style-presets and style-files
 * entry, blended by style-blend; plugin_settings_check() insists
 * on at least one.  Weights: strength gives them, and a raw content-weight,
 * style-weight or tv-weight set to other than its default wins.  Regions:
 * the slots' masks, or a script's style-masks (item IDs in the order of
 * style-blend, 0 = the whole picture); an ID that is not a channel or layer
 * mask of `image` (NULL: any image's), or more of them than styles, is a problem.  With a
 * gallery entry among the styles, the first one's recommended style scale
 * multiplies style-scale.  A "device" the engine cannot read is a problem. */
void plugin_settings_read(PluginSettings *settings, GimpProcedureConfig *config, GimpImage *image,
                          gboolean from_dialog);
void plugin_settings_clear(PluginSettings *settings);

/* TRUE when both settings make the same picture (output and preview aside):
 * widgets often set a property to the value it already has.  Another device
 * counts as another picture: the run moves there. */
gboolean plugin_settings_same_picture(const PluginSettings *a, const PluginSettings *b);

/* When exactly one of style-preset / style-layer / style-file is set (a
 * script's call, or the last values), points the dialog's style-source
 * choice at it; a script's style-presets and style-files fill the further
 * slots (with style-blend's weights when it has one per slot used, and
 * style-masks' regions when it has no more than the slots used); a slot's
 * painting left empty gets the gallery's first. */
void plugin_settings_pick_style_source(GimpProcedureConfig *config);

/* Checks what can be checked before running: one style source, a style layer
 * that is not the content, a model file that exists, a content layer large
 * enough.  Messages are for script authors and users alike. */
gboolean plugin_settings_check(const PluginSettings *settings, GimpDrawable *content, GError **error);

/* Checks that the result can be written where `output` says: replacing
 * needs a layer (not a group) whose pixels are not locked.  Asked before a
 * run starts and again before the result is written (the user may lock or
 * remove the layer while the dialog is open). */
gboolean plugin_settings_check_output(const PluginSettings *settings, GimpDrawable *content, GError **error);

/* Steering values from the config (as plugin_settings_read makes them). */
void plugin_settings_read_steering(GimpProcedureConfig *config, gboolean from_dialog, double *content_weight,
                                double *style_weight, double *tv_weight, double *style_scale);

/* The config properties of the dialog's style slot `slot` (0-based):
 * "style-source" / "style2-source"..., "style-preset", "style-layer",
 * "style-file", "style1-blend" / "style2-blend"..., "style1-mask" /
 * "style2-mask"... (the region's item ID, 0 = the whole picture; static strings). */
typedef struct PluginSlotNames {
    const char *source, *preset, *layer, *file, *blend, *mask;
} PluginSlotNames;
const PluginSlotNames *plugin_args_slot(int slot);

#endif
