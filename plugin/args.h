/* The procedure's arguments: their registration, and the settings a run
 * reads from a GimpProcedureConfig. */
#ifndef PLUGIN_ARGS_H
#define PLUGIN_ARGS_H

#include <libgimp/gimp.h>

#include <nst/nst.h>

typedef enum { PLUGIN_OUTPUT_NEW_LAYER = 0, PLUGIN_OUTPUT_REPLACE = 1 } PluginOutput;
typedef enum { PLUGIN_STYLE_SOURCE_LAYER = 0, PLUGIN_STYLE_SOURCE_FILE = 1 } PluginStyleSource;

typedef struct PluginSettings {
    nst_model_kind kind;
    nst_params params;
    GimpDrawable *style_layer; /* a reference, or NULL */
    GFile *style_file;         /* a reference, or NULL */
    PluginOutput output;
    gboolean live_preview;
} PluginSettings;

/* Adds every argument (and the aux ones the dialog uses) to `procedure`. */
void plugin_args_register(GimpProcedure *procedure);

/* Names of the config properties the running engine can take up at once. */
extern const char *const plugin_args_steering[];

/* Reads the config.  With `from_dialog` the aux "style-source" choice picks
 * which of style-layer / style-file counts; otherwise both are read and
 * plugin_settings_check() insists on exactly one. */
void plugin_settings_read(PluginSettings *settings, GimpProcedureConfig *config, gboolean from_dialog);
void plugin_settings_clear(PluginSettings *settings);

/* TRUE when both settings make the same picture (output and preview aside):
 * widgets often set a property to the value it already has. */
gboolean plugin_settings_same_picture(const PluginSettings *a, const PluginSettings *b);

/* When exactly one of style-layer / style-file is set (a script's call, or
 * the last values), points the dialog's style-source choice at it. */
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

/* Steering values from the config. */
void plugin_settings_read_steering(GimpProcedureConfig *config, double *content_weight,
                                double *style_weight, double *tv_weight, double *style_scale);

#endif
