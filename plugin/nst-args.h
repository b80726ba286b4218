/* The procedure's arguments: their registration, and the settings a run
 * reads from a GimpProcedureConfig. */
#ifndef NST_PLUGIN_ARGS_H
#define NST_PLUGIN_ARGS_H

#include <libgimp/gimp.h>

#include <nst/nst.h>

typedef enum { NST_OUTPUT_NEW_LAYER = 0, NST_OUTPUT_REPLACE = 1 } NstOutput;
typedef enum { NST_STYLE_SOURCE_LAYER = 0, NST_STYLE_SOURCE_FILE = 1 } NstStyleSource;

typedef struct NstSettings {
    nst_model_kind kind;
    nst_params params;
    GimpDrawable *style_layer; /* a reference, or NULL */
    GFile *style_file;         /* a reference, or NULL */
    NstOutput output;
    gboolean live_preview;
} NstSettings;

/* Adds every argument (and the aux ones the dialog uses) to `procedure`. */
void nst_args_register(GimpProcedure *procedure);

/* Names of the config properties the running engine can take up at once. */
extern const char *const nst_args_steering[];

/* Reads the config.  With `from_dialog` the aux "style-source" choice picks
 * which of style-layer / style-file counts; otherwise both are read and
 * nst_settings_check() insists on exactly one. */
void nst_settings_read(NstSettings *settings, GimpProcedureConfig *config, gboolean from_dialog);
void nst_settings_clear(NstSettings *settings);

/* TRUE when both settings make the same picture (output and preview aside):
 * widgets often set a property to the value it already has. */
gboolean nst_settings_same_picture(const NstSettings *a, const NstSettings *b);

/* When exactly one of style-layer / style-file is set (a script's call, or
 * the last values), points the dialog's style-source choice at it. */
void nst_settings_pick_style_source(GimpProcedureConfig *config);

/* Checks what can be checked before running: one style source, a style layer
 * that is not the content, a model file that exists, a content layer large
 * enough.  Messages are for script authors and users alike. */
gboolean nst_settings_check(const NstSettings *settings, GimpDrawable *content, GError **error);

/* Checks that the result can be written where `output` says: replacing
 * needs a layer (not a group) whose pixels are not locked.  Asked before a
 * run starts and again before the result is written (the user may lock or
 * remove the layer while the dialog is open). */
gboolean nst_settings_check_output(const NstSettings *settings, GimpDrawable *content, GError **error);

/* Steering values from the config. */
void nst_settings_read_steering(GimpProcedureConfig *config, double *content_weight,
                                double *style_weight, double *tv_weight, double *style_scale);

#endif
