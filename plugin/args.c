#include "args.h"
#include "data_folder.h"

#include <stdlib.h>

#include "common.h"
#include "pixels.h"

const char *const plugin_args_steering[] = {"content-weight", "style-weight", "tv-weight", "style-scale", NULL};

/* A choice's ids are the engine's enum values, and its nicks (the PDB
 * spelling, the same as the command line's) come from the engine's names;
 * only the labels are the plug-in's own. */
typedef struct ChoiceItem {
    int id;
    const char *label; /* translated at registration */
} ChoiceItem;

typedef const char *(*ChoiceNick)(int id);

static const char *model_nick(int id)
{
    return nst_model_kind_name((nst_model_kind)id);
}
static const char *optimizer_nick(int id)
{
    return nst_optimizer_name((nst_optimizer)id);
}
static const char *init_nick(int id)
{
    return nst_init_name((nst_init)id);
}
static const char *colors_nick(int id)
{
    return nst_colors_name((nst_colors)id);
}
/* The plug-in's own choices. */
static const char *output_nick(int id)
{
    return id == PLUGIN_OUTPUT_REPLACE ? "replace" : "new-layer";
}
static const char *source_nick(int id)
{
    return id == PLUGIN_STYLE_SOURCE_FILE ? "file" : "layer";
}

static const ChoiceItem model_items[] = {
    {NST_MODEL_SQUEEZENET11, N_("SqueezeNet 1.1 (fast)")},
    {NST_MODEL_VGG19, N_("VGG-19 (finest, slow)")},
    {NST_MODEL_VGG16, N_("VGG-16")},
    {-1, NULL},
};
static const ChoiceItem optimizer_items[] = {
    {NST_OPTIM_LBFGS, N_("L-BFGS")},
    {NST_OPTIM_ADAM, N_("Adam")},
    {-1, NULL},
};
static const ChoiceItem init_items[] = {
    {NST_INIT_CONTENT, N_("The content")},
    {NST_INIT_STYLE, N_("The style picture")},
    {NST_INIT_NOISE, N_("Noise")},
    {-1, NULL},
};
static const ChoiceItem colors_items[] = {
    {NST_COLORS_NONE, N_("No, take the style's colours")},
    {NST_COLORS_LUMINANCE, N_("Keep the content's colours")},
    {NST_COLORS_HISTOGRAM, N_("Match the style's colours to the content")},
    {-1, NULL},
};
static const ChoiceItem output_items[] = {
    {PLUGIN_OUTPUT_NEW_LAYER, N_("A new layer above")},
    {PLUGIN_OUTPUT_REPLACE, N_("Replace the layer")},
    {-1, NULL},
};
static const ChoiceItem source_items[] = {
    {PLUGIN_STYLE_SOURCE_LAYER, N_("A layer")},
    {PLUGIN_STYLE_SOURCE_FILE, N_("A file")},
    {-1, NULL},
};

static GimpChoice *choice_new(const ChoiceItem *items, ChoiceNick nick)
{
    GimpChoice *choice = gimp_choice_new();
    for (const ChoiceItem *item = items; item->label != NULL; item++)
        gimp_choice_add(choice, nick(item->id), item->id, _(item->label), NULL);
    return choice;
}

void plugin_args_register(GimpProcedure *procedure)
{
    nst_params d;
    nst_params_init(&d, NST_MODEL_SQUEEZENET11);
    int seed = d.seed > (uint64_t)G_MAXINT ? G_MAXINT : (int)d.seed;

    gimp_procedure_add_drawable_argument(
        procedure, "style-layer", _("St_yle layer"),
        _("Layer whose picture gives the style; set either this or style-file"), TRUE,
        G_PARAM_READWRITE);
    gimp_procedure_add_file_argument(
        procedure, "style-file", _("Style f_ile"),
        _("Picture file that gives the style, in any format GIMP opens; set either this or style-layer"),
        GIMP_FILE_CHOOSER_ACTION_OPEN, TRUE, NULL, G_PARAM_READWRITE);
    gimp_procedure_add_choice_argument(
        procedure, "model", _("_Network"),
        _("Network that measures content and style: squeezenet1.1 (fast, installed with the plug-in), "
          "vgg19 or vgg16 (finer, need their weight files)"),
        choice_new(model_items, model_nick), model_nick(NST_MODEL_SQUEEZENET11), G_PARAM_READWRITE);
    gimp_procedure_add_double_argument(
        procedure, "content-weight", _("Con_tent weight"),
        _("How strongly the result keeps the shapes of the layer (alpha)"), 0.0, NST_WEIGHT_MAX, d.content_weight,
        G_PARAM_READWRITE);
    gimp_procedure_add_double_argument(
        procedure, "style-weight", _("Style _weight"),
        _("How strongly the result takes the textures and colours of the style (beta)"), 0.0, NST_WEIGHT_MAX,
        d.style_weight, G_PARAM_READWRITE);
    gimp_procedure_add_double_argument(
        procedure, "tv-weight", _("Smoothin_g"),
        _("Total-variation weight: higher values give smoother, less noisy results (tau)"), 0.0, NST_WEIGHT_MAX,
        d.tv_weight, G_PARAM_READWRITE);
    gimp_procedure_add_int_argument(
        procedure, "iterations", _("It_erations"),
        _("Optimiser iterations; more give a more finished picture and take longer"), 0, NST_ITERATIONS_MAX,
        d.iterations, G_PARAM_READWRITE);
    gimp_procedure_add_choice_argument(
        procedure, "optimizer", _("O_ptimizer"),
        _("lbfgs converges in fewer iterations; adam uses less memory per step"),
        choice_new(optimizer_items, optimizer_nick), optimizer_nick(d.optimizer), G_PARAM_READWRITE);
    gimp_procedure_add_double_argument(
        procedure, "learning-rate", _("Ada_m step size"), _("Learning rate: the step size of the Adam optimiser"), 1e-5, NST_LEARNING_RATE_MAX,
        d.learning_rate, G_PARAM_READWRITE);
    gimp_procedure_add_int_argument(
        procedure, "size", _("Working si_ze"),
        _("Longest side in pixels the picture is made at (0 = the layer's own size); the result is "
          "scaled to the layer's size"),
        0, NST_SIZE_MAX, d.size, G_PARAM_READWRITE);
    gimp_procedure_add_int_argument(
        procedure, "max-memory", _("Ma_ximum memory (MiB)"),
        _("Most memory the run may use (0 = what the machine has free, less a margin); above it the "
          "picture is made in tiles, or the run stops and says how much it needs"),
        0, 1 << 24, 0, G_PARAM_READWRITE);
    gimp_procedure_add_choice_argument(
        procedure, "init", _("_Begin with"), _("The picture the optimisation starts from"),
        choice_new(init_items, init_nick), init_nick(d.init), G_PARAM_READWRITE);
    gimp_procedure_add_int_argument(
        procedure, "seed", _("Ran_dom seed"),
        _("Seed of the random numbers; the same settings and seed give the same picture"), 0, G_MAXINT,
        seed, G_PARAM_READWRITE);
    gimp_procedure_add_choice_argument(
        procedure, "preserve-colors", _("_Keep colours"),
        _("none: take the style's colours; luminance: stylise brightness only; histogram: match the "
          "style's colours to the content first"),
        choice_new(colors_items, colors_nick), colors_nick(d.preserve_colors), G_PARAM_READWRITE);
    gimp_procedure_add_double_argument(
        procedure, "style-scale", _("Style sc_ale"),
        _("Size of the style's brush strokes: the style picture is scaled to the working size times this"),
        NST_STYLE_SCALE_MIN, NST_STYLE_SCALE_MAX, d.style_scale, G_PARAM_READWRITE);
    gimp_procedure_add_choice_argument(
        procedure, "output", _("Res_ult"),
        _("new-layer: add the result as a layer above; replace: change the layer itself"),
        choice_new(output_items, output_nick), output_nick(PLUGIN_OUTPUT_NEW_LAYER), G_PARAM_READWRITE);

    gimp_procedure_add_choice_aux_argument(
        procedure, "style-source", _("Style _from"), _("Take the style from a layer or from a file"),
        choice_new(source_items, source_nick), source_nick(PLUGIN_STYLE_SOURCE_LAYER), G_PARAM_READWRITE);
    gimp_procedure_add_boolean_aux_argument(
        procedure, "live-preview", _("Li_ve preview"),
        _("Start at once and show the picture on the canvas while it is being made"), TRUE,
        G_PARAM_READWRITE);
}

void plugin_settings_read(PluginSettings *settings, GimpProcedureConfig *config, gboolean from_dialog)
{
    GimpDrawable *style_layer = NULL;
    GFile *style_file = NULL;
    int iterations, size, seed, max_memory_mib;
    double content_weight, style_weight, tv_weight, learning_rate, style_scale;
    gboolean live_preview;

    g_object_get(config, "style-layer", &style_layer, "style-file", &style_file, "iterations", &iterations,
                 "size", &size, "max-memory", &max_memory_mib, "seed", &seed, "content-weight", &content_weight, "style-weight",
                 &style_weight, "tv-weight", &tv_weight, "learning-rate", &learning_rate, "style-scale",
                 &style_scale, "live-preview", &live_preview, NULL);

    settings->kind = gimp_procedure_config_get_choice_id(config, "model");
    nst_params_init(&settings->params, settings->kind);
    nst_params *p = &settings->params;
    p->iterations = iterations;
    p->size = size;
    p->max_memory = (size_t)max_memory_mib << 20;
    p->seed = (uint64_t)seed;
    p->content_weight = content_weight;
    p->style_weight = style_weight;
    p->tv_weight = tv_weight;
    p->learning_rate = learning_rate;
    p->style_scale = style_scale;
    p->optimizer = gimp_procedure_config_get_choice_id(config, "optimizer");
    p->init = gimp_procedure_config_get_choice_id(config, "init");
    p->preserve_colors = gimp_procedure_config_get_choice_id(config, "preserve-colors");
    settings->output = gimp_procedure_config_get_choice_id(config, "output");
    settings->live_preview = live_preview;

    if (from_dialog) {
        if (gimp_procedure_config_get_choice_id(config, "style-source") == PLUGIN_STYLE_SOURCE_LAYER)
            g_clear_object(&style_file);
        else
            g_clear_object(&style_layer);
    }
    settings->style_layer = style_layer;
    settings->style_file = style_file;
}

void plugin_settings_pick_style_source(GimpProcedureConfig *config)
{
    GimpDrawable *layer = NULL;
    GFile *file = NULL;
    g_object_get(config, "style-layer", &layer, "style-file", &file, NULL);
    if ((layer == NULL) != (file == NULL))
        g_object_set(config, "style-source",
                     source_nick(layer != NULL ? PLUGIN_STYLE_SOURCE_LAYER : PLUGIN_STYLE_SOURCE_FILE),
                     NULL);
    g_clear_object(&layer);
    g_clear_object(&file);
}

static gboolean same_style_source(const PluginSettings *a, const PluginSettings *b)
{
    if ((a->style_layer == NULL) != (b->style_layer == NULL) || (a->style_file == NULL) != (b->style_file == NULL))
        return FALSE;
    if (a->style_layer != NULL &&
        gimp_item_get_id(GIMP_ITEM(a->style_layer)) != gimp_item_get_id(GIMP_ITEM(b->style_layer)))
        return FALSE;
    return a->style_file == NULL || g_file_equal(a->style_file, b->style_file);
}

gboolean plugin_settings_same_picture(const PluginSettings *a, const PluginSettings *b)
{
    const nst_params *p = &a->params, *q = &b->params;
    return a->kind == b->kind && same_style_source(a, b) && p->iterations == q->iterations &&
           p->size == q->size && p->seed == q->seed && p->content_weight == q->content_weight &&
           p->style_weight == q->style_weight && p->tv_weight == q->tv_weight &&
           p->learning_rate == q->learning_rate && p->style_scale == q->style_scale &&
           p->optimizer == q->optimizer && p->init == q->init && p->preserve_colors == q->preserve_colors &&
           p->max_memory == q->max_memory;
}

void plugin_settings_clear(PluginSettings *settings)
{
    g_clear_object(&settings->style_layer);
    g_clear_object(&settings->style_file);
}

void plugin_settings_read_steering(GimpProcedureConfig *config, double *content_weight, double *style_weight,
                                double *tv_weight, double *style_scale)
{
    g_object_get(config, "content-weight", content_weight, "style-weight", style_weight, "tv-weight",
                 tv_weight, "style-scale", style_scale, NULL);
}

gboolean plugin_settings_check(const PluginSettings *settings, GimpDrawable *content, GError **error)
{
    if (settings->style_layer == NULL && settings->style_file == NULL) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s",
                    _("No style picture: set either “style-layer” (a layer) or “style-file” "
                      "(a picture file)."));
        return FALSE;
    }
    if (settings->style_layer != NULL && settings->style_file != NULL) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s",
                    _("Two style pictures: set only one of “style-layer” and “style-file”."));
        return FALSE;
    }
    if (!plugin_drawable_check_exists(content, error) ||
        (settings->style_layer != NULL && !plugin_drawable_check_exists(settings->style_layer, error)))
        return FALSE;
    int width = gimp_drawable_get_width(content);
    int height = gimp_drawable_get_height(content);
    if (width < PLUGIN_MIN_LAYER_SIDE || height < PLUGIN_MIN_LAYER_SIDE) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0,
                    _("The layer “%s” is %d × %d pixels; style transfer needs at least %d pixels on "
                      "each side."),
                    gimp_item_get_name(GIMP_ITEM(content)), width, height, PLUGIN_MIN_LAYER_SIDE);
        return FALSE;
    }
    if (settings->style_layer != NULL &&
        (gimp_drawable_get_width(settings->style_layer) < PLUGIN_MIN_LAYER_SIDE ||
         gimp_drawable_get_height(settings->style_layer) < PLUGIN_MIN_LAYER_SIDE)) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0,
                    _("The style layer “%s” is smaller than %d pixels on a side."),
                    gimp_item_get_name(GIMP_ITEM(settings->style_layer)), PLUGIN_MIN_LAYER_SIDE);
        return FALSE;
    }
    nst_error err = {0};
    char *path = plugin_model_find(settings->kind, &err);
    if (path == NULL) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("The “%s” network is not installed: %s"),
                    nst_model_kind_name(settings->kind), err.message);
        return FALSE;
    }
    free(path);
    return TRUE;
}

gboolean plugin_settings_check_output(const PluginSettings *settings, GimpDrawable *content, GError **error)
{
    if (settings->output == PLUGIN_OUTPUT_REPLACE)
        return plugin_drawable_check_writable(content, error);
    return plugin_drawable_check_exists(content, error);
}
