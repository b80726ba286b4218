/* gimp-neural-style: the GIMP 3 plug-in "Filters > Artistic > Neural Style
 * Transfer…".  Registration and the run() entry point; the work is done in
 * session.c (main thread) and job.c (worker thread). */
#include <libgimp/gimp.h>

#include "args.h"
#include "common.h"
#include "job.h"
#include "session.h"

typedef struct _NstPlugIn {
    GimpPlugIn parent_instance;
} NeuralStylePlugIn;

typedef struct _NstPlugInClass {
    GimpPlugInClass parent_class;
} NeuralStylePlugInClass;

#define NEURAL_STYLE_TYPE_PLUG_IN (neural_style_plug_in_get_type())
GType neural_style_plug_in_get_type(void) G_GNUC_CONST;

G_DEFINE_TYPE(NeuralStylePlugIn, neural_style_plug_in, GIMP_TYPE_PLUG_IN)

static GList *neural_style_plug_in_query_procedures(GimpPlugIn *plug_in)
{
    (void)plug_in;
    return g_list_append(NULL, g_strdup(PLUGIN_PROC));
}

static gboolean neural_style_plug_in_set_i18n(GimpPlugIn *plug_in, const gchar *procedure_name, gchar **gettext_domain,
                                     gchar **catalog_dir)
{
    (void)plug_in;
    (void)procedure_name;
    *gettext_domain = g_strdup(GETTEXT_PACKAGE);
    /* Relative to the plug-in's folder; meson installs the catalogs there. */
    *catalog_dir = g_strdup("locale");
    return TRUE;
}

static GimpValueArray *neural_style_plug_in_run(GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
                                       GimpDrawable **drawables, GimpProcedureConfig *config, gpointer data)
{
    (void)data;
    GError *error = NULL;
    GimpPDBStatusType status;

    gegl_init(NULL, NULL);
    if (gimp_core_object_array_get_length((GObject **)drawables) != 1) {
        g_set_error(&error, GIMP_PLUG_IN_ERROR, 0, _("Procedure “%s” works on exactly one layer."),
                    PLUGIN_PROC);
        return gimp_procedure_new_return_values(procedure, GIMP_PDB_CALLING_ERROR, error);
    }
    GimpDrawable *content = drawables[0];
    if (!GIMP_IS_LAYER(content)) {
        g_set_error(&error, GIMP_PLUG_IN_ERROR, 0, "%s",
                    _("Neural style transfer works on layers, not on channels or masks."));
        return gimp_procedure_new_return_values(procedure, GIMP_PDB_CALLING_ERROR, error);
    }

    switch (run_mode) {
    case GIMP_RUN_INTERACTIVE:
        status = plugin_session_run_interactive(procedure, image, content, config, &error);
        break;
    case GIMP_RUN_WITH_LAST_VALS:
        status = plugin_session_run_batch(image, content, config, TRUE, &error);
        break;
    default:
        status = plugin_session_run_batch(image, content, config, FALSE, &error);
        break;
    }
    if (status == GIMP_PDB_SUCCESS && run_mode != GIMP_RUN_NONINTERACTIVE)
        gimp_displays_flush();
    plugin_job_free_model_cache();
    return gimp_procedure_new_return_values(procedure, status, status == GIMP_PDB_SUCCESS ? NULL : error);
}

static GimpProcedure *neural_style_plug_in_create_procedure(GimpPlugIn *plug_in, const gchar *name)
{
    if (g_strcmp0(name, PLUGIN_PROC) != 0)
        return NULL;

    GimpProcedure *procedure =
        gimp_image_procedure_new(plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN, neural_style_plug_in_run, NULL, NULL);
    gimp_procedure_set_image_types(procedure, "RGB*, GRAY*");
    gimp_procedure_set_sensitivity_mask(procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
    gimp_procedure_set_menu_label(procedure, _("Neural Style _Transfer…"));
    gimp_procedure_add_menu_path(procedure, "<Image>/Filters/Artistic");
    /* The version goes after the translated text, so the catalogs keep it. */
    char *help = g_strdup_printf(
        "%s\n\ngimp-neural-style " NST_VERSION,
        _("Optimisation-based (Gatys) neural style transfer: the layer's content is repainted with the "
          "textures and colours of a style picture, given as a layer (style-layer) or a file "
          "(style-file), exactly one of the two.  The network (model) measures content and style; "
          "squeezenet1.1 is fast, vgg19/vgg16 are finer and need their weight files.  "
          "The result is added as a new layer above (output new-layer) or replaces the layer "
          "(output replace), inside the selection only, as one undo step.  The same settings and "
          "seed give the same picture."));
    gimp_procedure_set_documentation(procedure, _("Paints the layer in the style of another picture"), help, name);
    g_free(help);
    gimp_procedure_set_attribution(procedure, "gimp-neural-style authors", "gimp-neural-style authors",
                                   "2026 (version " NST_VERSION ")");
    plugin_args_register(procedure);
    return procedure;
}

static void neural_style_plug_in_class_init(NeuralStylePlugInClass *klass)
{
    GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS(klass);
    plug_in_class->query_procedures = neural_style_plug_in_query_procedures;
    plug_in_class->create_procedure = neural_style_plug_in_create_procedure;
    plug_in_class->set_i18n = neural_style_plug_in_set_i18n;
}

static void neural_style_plug_in_init(NeuralStylePlugIn *plug_in)
{
    (void)plug_in;
}

GIMP_MAIN(NEURAL_STYLE_TYPE_PLUG_IN)
