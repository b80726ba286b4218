#include "args.h"
#include "data_folder.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "pixels.h"

const char *const plugin_args_steering[] = {"content-weight", "style-weight", "tv-weight", "style-scale", "strength",
                                            NULL};

static const PluginSlotNames slot_names[PLUGIN_DIALOG_STYLES] = {
    {"style-source", "style-preset", "style-layer", "style-file", "style1-blend", "style1-mask"},
    {"style2-source", "style2-preset", "style2-layer", "style2-file", "style2-blend", "style2-mask"},
    {"style3-source", "style3-preset", "style3-layer", "style3-file", "style3-blend", "style3-mask"},
};

const PluginSlotNames *plugin_args_slot(int slot)
{
    return &slot_names[CLAMP(slot, 0, PLUGIN_DIALOG_STYLES - 1)];
}

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
    static const char *const nicks[] = {"layer", "file", "gallery", "none"};
    return nicks[CLAMP(id, PLUGIN_STYLE_SOURCE_LAYER, PLUGIN_STYLE_SOURCE_NONE)];
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
/* The gallery first: a new user has no style picture yet. */
static const ChoiceItem source_items[] = {
    {PLUGIN_STYLE_SOURCE_GALLERY, N_("The gallery")},
    {PLUGIN_STYLE_SOURCE_LAYER, N_("A layer")},
    {PLUGIN_STYLE_SOURCE_FILE, N_("A file")},
    {-1, NULL},
};
/* The further slots start with this, then source_items. */
static const ChoiceItem no_source_item = {PLUGIN_STYLE_SOURCE_NONE, N_("None")};

static GimpChoice *choice_new_after(const ChoiceItem *first, const ChoiceItem *items, ChoiceNick nick)
{
    GimpChoice *choice = gimp_choice_new();
    if (first != NULL)
        gimp_choice_add(choice, nick(first->id), first->id, _(first->label), NULL);
    for (const ChoiceItem *item = items; item->label != NULL; item++)
        gimp_choice_add(choice, nick(item->id), item->id, _(item->label), NULL);
    return choice;
}

static GimpChoice *choice_new(const ChoiceItem *items, ChoiceNick nick)
{
    return choice_new_after(NULL, items, nick);
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
        procedure, "tv-weight", _("Smoot_hing"),
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

    /* Appended, so calls that give the arguments by position keep working. */
    gimp_procedure_add_string_argument(
        procedure, "style-preset", _("_Painting"),
        _("A painting of the built-in gallery by name (starry_night, great_wave, the_scream, udnie, "
          "woman_with_a_hat, shipwreck_of_the_minotaur; pictures in ~/.local/share/gimp-neural-style/styles "
          "join by file name); its recommended style scale multiplies style-scale.  Set one of style-preset, "
          "style-layer and style-file"),
        "", G_PARAM_READWRITE);
    gimp_procedure_add_double_argument(
        procedure, "strength", _("Stren_gth"),
        _("How strongly the style shows, 0 to 100; 50 gives the model's default weights.  A content-weight, "
          "style-weight or tv-weight set to other than its default wins over strength for that weight"),
        NST_STRENGTH_MIN, NST_STRENGTH_MAX, NST_STRENGTH_DEFAULT, G_PARAM_READWRITE);
    gimp_procedure_add_string_array_argument(
        procedure, "style-presets", _("More paintings"),
        _("More gallery paintings blended with the style, by name"), G_PARAM_READWRITE);
    gimp_procedure_add_string_array_argument(
        procedure, "style-files", _("More style files"),
        _("More style pictures blended with the style, as file names or URIs"), G_PARAM_READWRITE);
    /* No "style-layers": GIMP 3.0.4 refuses a call whose drawable-array
     * argument was left unset ("out of range"), which every existing script
     * would do.  A layer goes in style-layer, and more styles as files. */
    gimp_procedure_add_double_array_argument(
        procedure, "style-blend", _("Style blend"),
        _("Blend weight of each style, in the order style-preset/style-layer/style-file, style-presets, "
          "style-files (empty = equal)"),
        G_PARAM_READWRITE);
    /* Item IDs, not a drawable array: an unset drawable array is refused
     * (see above), and an ID is what Script-Fu passes for a channel anyway. */
    gimp_procedure_add_int32_array_argument(
        procedure, "style-masks", _("Style regions"),
        _("Where each style goes, in the order of style-blend: the ID of a channel (a saved selection) or a layer "
          "mask of the image, white where that style paints, or 0 for the whole picture (empty = every style "
          "everywhere).  Pixels that no region covers keep the content's look"),
        G_PARAM_READWRITE);
    /* A string, not a choice: the dialog lists the devices found at run time. */
    gimp_procedure_add_string_argument(
        procedure, "device", _("Device"),
        _("Where the picture is computed: auto (a GPU when there is one, else the CPU), cpu, gpu (the GPU auto "
          "would take) or gpu:N (Vulkan device N, software drivers included)"),
        "auto", G_PARAM_READWRITE);

    for (int slot = 0; slot < PLUGIN_DIALOG_STYLES; slot++) {
        const PluginSlotNames *names = plugin_args_slot(slot);
        if (slot == 0) {
            gimp_procedure_add_choice_aux_argument(
                procedure, names->source, _("Style _from"),
                _("Take the style from the gallery, a layer or a file"), choice_new(source_items, source_nick),
                source_nick(PLUGIN_STYLE_SOURCE_GALLERY), G_PARAM_READWRITE);
        } else {
            char *label = g_strdup_printf(_("Style _%d from"), slot + 1);
            gimp_procedure_add_choice_aux_argument(
                procedure, names->source, label, _("Blend in another style: from the gallery, a layer or a file"),
                choice_new_after(&no_source_item, source_items, source_nick), source_nick(PLUGIN_STYLE_SOURCE_NONE),
                G_PARAM_READWRITE);
            g_free(label);
            gimp_procedure_add_string_aux_argument(procedure, names->preset, _("Painting"),
                                                   _("A painting of the gallery"), "", G_PARAM_READWRITE);
            gimp_procedure_add_drawable_aux_argument(procedure, names->layer, _("Layer"),
                                                     _("Layer whose picture gives the style"), TRUE,
                                                     G_PARAM_READWRITE);
            gimp_procedure_add_file_aux_argument(procedure, names->file, _("File"),
                                                 _("Picture file that gives the style"),
                                                 GIMP_FILE_CHOOSER_ACTION_OPEN, TRUE, NULL, G_PARAM_READWRITE);
        }
        gimp_procedure_add_double_aux_argument(procedure, names->blend, _("Blend"),
                                               _("How much of this style, against the others"), 0.0, 100.0,
                                               1.0, G_PARAM_READWRITE);
        gimp_procedure_add_int_aux_argument(procedure, names->mask, _("Region"),
                                            _("Where this style paints: the whole picture, or a saved selection "
                                              "(Select ▸ Save to Channel) or a layer mask"),
                                            0, G_MAXINT, 0, G_PARAM_READWRITE);
    }
    gimp_procedure_add_boolean_aux_argument(
        procedure, "live-preview", _("Li_ve preview"),
        _("Start at once and show the picture on the canvas while it is being made"), TRUE,
        G_PARAM_READWRITE);
}

/* ---- the styles ---- */

/* Collects the styles of one read; the gallery is opened when a name needs it. */
typedef struct StyleReader {
    PluginSettings *settings;
    GimpImage *image; /* the regions must be of it (NULL: not checked) */
    nst_gallery *gallery;
    const nst_style_entry *first_entry; /* the first gallery style: its scale counts */
} StyleReader;

static void settings_problem(PluginSettings *settings, char *message)
{
    if (settings->problem == NULL)
        settings->problem = message;
    else
        g_free(message);
}

static PluginStyle *add_style(StyleReader *reader, double blend)
{
    PluginSettings *settings = reader->settings;
    if (settings->n_styles == NST_MAX_STYLES) {
        settings_problem(settings, g_strdup_printf(_("At most %d style pictures."), NST_MAX_STYLES));
        return NULL;
    }
    PluginStyle *style = &settings->styles[settings->n_styles++];
    memset(style, 0, sizeof *style);
    style->blend = blend;
    return style;
}

static void add_style_layer(StyleReader *reader, GimpDrawable *layer, double blend)
{
    PluginStyle *style = add_style(reader, blend);
    if (style != NULL) {
        style->layer = g_object_ref(layer);
        style->name = g_strdup(gimp_item_get_name(GIMP_ITEM(layer)));
    }
}

static char *file_stem(GFile *file)
{
    char *base = g_file_get_basename(file);
    char *dot = strrchr(base, '.');
    if (dot != NULL && dot != base)
        *dot = '\0';
    return base;
}

static void add_style_file(StyleReader *reader, GFile *file, double blend)
{
    PluginStyle *style = add_style(reader, blend);
    if (style != NULL) {
        style->file = g_object_ref(file);
        style->name = file_stem(file);
    }
}

static void add_style_preset(StyleReader *reader, const char *name, double blend)
{
    nst_error err = {0};
    if (reader->gallery == NULL && (reader->gallery = plugin_gallery_open(&err)) == NULL) {
        settings_problem(reader->settings, g_strdup_printf(_("The style gallery cannot be read: %s"), err.message));
        return;
    }
    const nst_style_entry *entry = nst_gallery_find(reader->gallery, name, &err);
    if (entry == NULL) {
        settings_problem(reader->settings, g_strdup_printf(_("Unknown style-preset: %s"), err.message));
        return;
    }
    GFile *file = g_file_new_for_path(entry->path);
    add_style_file(reader, file, blend);
    g_object_unref(file);
    if (reader->first_entry == NULL)
        reader->first_entry = entry;
}

/* Style `index`'s region: item `id` (0 = the whole picture), which must be
 * a channel (a saved selection) or a layer mask of the image. */
static void set_style_mask(StyleReader *reader, int index, int id)
{
    PluginSettings *settings = reader->settings;
    if (id == 0 || index >= settings->n_styles)
        return;
    GimpItem *item = gimp_item_get_by_id(id); /* NULL when no item has the ID */
    GimpImage *image = item != NULL ? gimp_item_get_image(item) : NULL;
    if (item == NULL || !GIMP_IS_CHANNEL(item) ||
        (reader->image != NULL && (image == NULL || gimp_image_get_id(image) != gimp_image_get_id(reader->image)))) {
        settings_problem(settings, g_strdup_printf(_("The region of style %d (item %d) is not a channel (a saved "
                                                     "selection) or a layer mask of this image."),
                                                   index + 1, id));
        return;
    }
    settings->styles[index].mask = g_object_ref(GIMP_DRAWABLE(item));
}

/* The dialog's slots that are on, each with its blend weight and region. */
static void read_dialog_styles(StyleReader *reader, GimpProcedureConfig *config)
{
    for (int slot = 0; slot < PLUGIN_DIALOG_STYLES; slot++) {
        const PluginSlotNames *names = plugin_args_slot(slot);
        PluginStyleSource source = gimp_procedure_config_get_choice_id(config, names->source);
        GimpDrawable *layer = NULL;
        GFile *file = NULL;
        char *preset = NULL;
        double blend = 1.0;
        int mask = 0, before = reader->settings->n_styles;
        g_object_get(config, names->layer, &layer, names->file, &file, names->preset, &preset, names->blend, &blend,
                     names->mask, &mask, NULL);
        if (source == PLUGIN_STYLE_SOURCE_GALLERY && preset != NULL && *preset != '\0')
            add_style_preset(reader, preset, blend);
        else if (source == PLUGIN_STYLE_SOURCE_LAYER && layer != NULL)
            add_style_layer(reader, layer, blend);
        else if (source == PLUGIN_STYLE_SOURCE_FILE && file != NULL)
            add_style_file(reader, file, blend);
        if (reader->settings->n_styles > before)
            set_style_mask(reader, before, mask);
        g_clear_object(&layer);
        g_clear_object(&file);
        g_free(preset);
    }
}

/* A script's call: one of style-preset / style-layer / style-file, then the arrays. */
static void read_script_styles(StyleReader *reader, GimpProcedureConfig *config)
{
    GimpDrawable *layer = NULL;
    GFile *file = NULL;
    char *preset = NULL;
    char **presets = NULL, **files = NULL;
    GimpArray *blend = NULL, *masks = NULL;
    g_object_get(config, "style-layer", &layer, "style-file", &file, "style-preset", &preset, "style-presets",
                 &presets, "style-files", &files, "style-blend", &blend, "style-masks", &masks, NULL);
    gboolean has_preset = preset != NULL && *preset != '\0';
    if (has_preset + (layer != NULL) + (file != NULL) > 1)
        settings_problem(reader->settings,
                         g_strdup(_("Two style pictures: set only one of “style-preset”, “style-layer” and "
                                    "“style-file” (more go in “style-presets” and “style-files”).")));
    else if (has_preset)
        add_style_preset(reader, preset, 1.0);
    else if (layer != NULL)
        add_style_layer(reader, layer, 1.0);
    else if (file != NULL)
        add_style_file(reader, file, 1.0);
    for (int i = 0; presets != NULL && presets[i] != NULL; i++)
        add_style_preset(reader, presets[i], 1.0);
    for (int i = 0; files != NULL && files[i] != NULL; i++) {
        GFile *more = g_file_new_for_commandline_arg(files[i]);
        add_style_file(reader, more, 1.0);
        g_object_unref(more);
    }

    gsize n_blend = 0;
    const double *weights = blend != NULL ? gimp_double_array_get_values(blend, &n_blend) : NULL;
    PluginSettings *settings = reader->settings;
    if (n_blend > 0 && n_blend != (gsize)settings->n_styles)
        settings_problem(settings, g_strdup_printf(_("“style-blend” has %d weights for %d styles."), (int)n_blend,
                                                   settings->n_styles));
    for (gsize i = 0; i < n_blend && i < (gsize)settings->n_styles; i++)
        settings->styles[i].blend = weights[i];

    gsize n_masks = 0;
    const gint32 *ids = masks != NULL ? gimp_int32_array_get_values(masks, &n_masks) : NULL;
    if (n_masks > (gsize)settings->n_styles)
        settings_problem(settings, g_strdup_printf(_("“style-masks” has %d regions for %d styles."), (int)n_masks,
                                                   settings->n_styles));
    for (gsize i = 0; i < n_masks && i < (gsize)settings->n_styles; i++)
        set_style_mask(reader, (int)i, ids[i]);
    g_clear_object(&layer);
    g_clear_object(&file);
    g_free(preset);
    g_strfreev(presets);
    g_strfreev(files);
    if (blend != NULL)
        gimp_array_free(blend);
    if (masks != NULL)
        gimp_array_free(masks);
}

static void check_blend(PluginSettings *settings)
{
    double sum = 0;
    for (int i = 0; i < settings->n_styles; i++) {
        if (!(settings->styles[i].blend >= 0))
            settings_problem(settings, g_strdup(_("Style blend weights must not be negative.")));
        sum += settings->styles[i].blend;
    }
    if (settings->n_styles > 0 && !(sum > 0))
        settings_problem(settings, g_strdup(_("The style blend weights must not all be 0.")));
}

/* The device setting, checked for its spelling only: which devices there
 * are is the engine's to find out when it runs. */
static void read_device(PluginSettings *settings, GimpProcedureConfig *config)
{
    char *device = NULL;
    g_object_get(config, "device", &device, NULL);
    nst_error err = {0};
    if (nst_device_setting_check(device, &err) != NST_OK)
        settings_problem(settings, g_strdup_printf(_("Unknown “device”: %s"), err.message));
    else if (g_strlcpy(settings->params.device, device != NULL ? device : "", sizeof settings->params.device) >=
             sizeof settings->params.device)
        settings_problem(settings, g_strdup_printf(_("Unknown “device”: %s"), device));
    g_free(device);
}

/* Strength gives the weights; a raw weight set to other than its default
 * (the PDB's) wins for that weight.  TRUE when the style weight is raw. */
static gboolean read_weights(GimpProcedureConfig *config, nst_model_kind kind, nst_params *p)
{
    double strength, content_weight, style_weight, tv_weight;
    g_object_get(config, "strength", &strength, "content-weight", &content_weight, "style-weight", &style_weight,
                 "tv-weight", &tv_weight, NULL);
    nst_params pdb;
    nst_params_init(&pdb, NST_MODEL_SQUEEZENET11);
    if (nst_strength_weights(kind, strength, &p->content_weight, &p->style_weight, &p->tv_weight, NULL) != NST_OK)
        return FALSE; /* GIMP keeps the argument within its range */
    if (content_weight != pdb.content_weight)
        p->content_weight = content_weight;
    if (style_weight != pdb.style_weight)
        p->style_weight = style_weight;
    if (tv_weight != pdb.tv_weight)
        p->tv_weight = tv_weight;
    return style_weight != pdb.style_weight;
}

void plugin_settings_read(PluginSettings *settings, GimpProcedureConfig *config, GimpImage *image,
                          gboolean from_dialog)
{
    int iterations, size, seed, max_memory_mib;
    double learning_rate, style_scale;
    gboolean live_preview;

    g_object_get(config, "iterations", &iterations, "size", &size, "max-memory", &max_memory_mib, "seed", &seed,
                 "learning-rate", &learning_rate, "style-scale", &style_scale, "live-preview", &live_preview, NULL);

    memset(settings, 0, sizeof *settings);
    settings->kind = gimp_procedure_config_get_choice_id(config, "model");
    nst_params_init(&settings->params, settings->kind);
    nst_params *p = &settings->params;
    p->iterations = iterations;
    p->size = size;
    p->max_memory = (size_t)max_memory_mib << 20;
    p->seed = (uint64_t)seed;
    gboolean raw_style_weight = read_weights(config, settings->kind, p);
    p->learning_rate = learning_rate;
    p->optimizer = gimp_procedure_config_get_choice_id(config, "optimizer");
    p->init = gimp_procedure_config_get_choice_id(config, "init");
    p->preserve_colors = gimp_procedure_config_get_choice_id(config, "preserve-colors");
    settings->output = gimp_procedure_config_get_choice_id(config, "output");
    settings->live_preview = live_preview;
    read_device(settings, config);

    StyleReader reader = {settings, image, NULL, NULL};
    if (from_dialog)
        read_dialog_styles(&reader, config);
    else
        read_script_styles(&reader, config);
    check_blend(settings);
    p->style_scale = reader.first_entry != NULL ? nst_style_entry_scale(reader.first_entry, style_scale) : style_scale;
    if (!raw_style_weight)
        p->style_weight = nst_style_entry_style_weight(reader.first_entry, p->style_weight);
    nst_gallery_free(reader.gallery);
}

void plugin_settings_pick_style_source(GimpProcedureConfig *config)
{
    GimpDrawable *layer = NULL;
    GFile *file = NULL;
    char *preset = NULL;
    g_object_get(config, "style-layer", &layer, "style-file", &file, "style-preset", &preset, NULL);
    gboolean has_preset = preset != NULL && *preset != '\0';
    if (has_preset + (layer != NULL) + (file != NULL) == 1)
        g_object_set(config, "style-source",
                     source_nick(has_preset          ? PLUGIN_STYLE_SOURCE_GALLERY
                                 : layer != NULL     ? PLUGIN_STYLE_SOURCE_LAYER
                                                     : PLUGIN_STYLE_SOURCE_FILE),
                     NULL);
    /* A script's further styles go to the dialog's further slots. */
    char **presets = NULL, **files = NULL;
    GimpArray *blend = NULL, *masks = NULL;
    g_object_get(config, "style-presets", &presets, "style-files", &files, "style-blend", &blend, "style-masks",
                 &masks, NULL);
    gsize n_blend = 0, used = 0, n_masks = 0;
    const double *weights = blend != NULL ? gimp_double_array_get_values(blend, &n_blend) : NULL;
    int n_presets = presets != NULL ? (int)g_strv_length(presets) : 0;
    int n_files = files != NULL ? (int)g_strv_length(files) : 0;
    for (int slot = 1; slot < PLUGIN_DIALOG_STYLES && slot <= n_presets + n_files; slot++) {
        const PluginSlotNames *names = plugin_args_slot(slot);
        if (slot <= n_presets) {
            g_object_set(config, names->source, source_nick(PLUGIN_STYLE_SOURCE_GALLERY), names->preset,
                         presets[slot - 1], NULL);
        } else {
            GFile *more = g_file_new_for_commandline_arg(files[slot - 1 - n_presets]);
            g_object_set(config, names->source, source_nick(PLUGIN_STYLE_SOURCE_FILE), names->file, more, NULL);
            g_object_unref(more);
        }
        used = (gsize)slot + 1;
    }
    for (gsize i = 0; n_blend == used && i < used; i++)
        g_object_set(config, plugin_args_slot((int)i)->blend, weights[i], NULL);
    /* A script's regions, one per slot used (the first slot counts even alone). */
    const gint32 *ids = masks != NULL ? gimp_int32_array_get_values(masks, &n_masks) : NULL;
    for (gsize i = 0; n_masks > 0 && n_masks <= MAX(used, 1) && i < MAX(used, 1); i++)
        g_object_set(config, plugin_args_slot((int)i)->mask, i < n_masks ? ids[i] : 0, NULL);
    g_strfreev(presets);
    g_strfreev(files);
    if (blend != NULL)
        gimp_array_free(blend);
    if (masks != NULL)
        gimp_array_free(masks);

    /* The gallery's first painting, so a new user sees a style at once. */
    nst_gallery *gallery = has_preset ? NULL : plugin_gallery_open(NULL);
    for (int slot = 0; gallery != NULL && nst_gallery_count(gallery) > 0 && slot < PLUGIN_DIALOG_STYLES; slot++) {
        char *name = NULL;
        g_object_get(config, plugin_args_slot(slot)->preset, &name, NULL);
        if (name == NULL || *name == '\0')
            g_object_set(config, plugin_args_slot(slot)->preset, nst_gallery_entry(gallery, 0)->name, NULL);
        g_free(name);
    }
    nst_gallery_free(gallery);
    g_clear_object(&layer);
    g_clear_object(&file);
    g_free(preset);
}

static gboolean same_style(const PluginStyle *a, const PluginStyle *b)
{
    if ((a->layer == NULL) != (b->layer == NULL) || (a->file == NULL) != (b->file == NULL) || a->blend != b->blend)
        return FALSE;
    if (a->layer != NULL && gimp_item_get_id(GIMP_ITEM(a->layer)) != gimp_item_get_id(GIMP_ITEM(b->layer)))
        return FALSE;
    if ((a->mask != NULL ? gimp_item_get_id(GIMP_ITEM(a->mask)) : 0) !=
        (b->mask != NULL ? gimp_item_get_id(GIMP_ITEM(b->mask)) : 0))
        return FALSE;
    return a->file == NULL || g_file_equal(a->file, b->file);
}

gboolean plugin_settings_same_picture(const PluginSettings *a, const PluginSettings *b)
{
    const nst_params *p = &a->params, *q = &b->params;
    if (a->n_styles != b->n_styles || g_strcmp0(a->problem, b->problem) != 0)
        return FALSE;
    for (int i = 0; i < a->n_styles; i++)
        if (!same_style(&a->styles[i], &b->styles[i]))
            return FALSE;
    return a->kind == b->kind && p->iterations == q->iterations &&
           p->size == q->size && p->seed == q->seed && p->content_weight == q->content_weight &&
           p->style_weight == q->style_weight && p->tv_weight == q->tv_weight &&
           p->learning_rate == q->learning_rate && p->style_scale == q->style_scale &&
           p->optimizer == q->optimizer && p->init == q->init && p->preserve_colors == q->preserve_colors &&
           p->max_memory == q->max_memory && strcmp(p->device, q->device) == 0;
}

void plugin_settings_clear(PluginSettings *settings)
{
    for (int i = 0; i < settings->n_styles; i++) {
        g_clear_object(&settings->styles[i].layer);
        g_clear_object(&settings->styles[i].file);
        g_clear_object(&settings->styles[i].mask);
        g_clear_pointer(&settings->styles[i].name, g_free);
    }
    settings->n_styles = 0;
    g_clear_pointer(&settings->problem, g_free);
}

void plugin_settings_read_steering(GimpProcedureConfig *config, gboolean from_dialog, double *content_weight,
                                double *style_weight, double *tv_weight, double *style_scale)
{
    PluginSettings now;
    plugin_settings_read(&now, config, NULL, from_dialog);
    *content_weight = now.params.content_weight;
    *style_weight = now.params.style_weight;
    *tv_weight = now.params.tv_weight;
    *style_scale = now.params.style_scale;
    plugin_settings_clear(&now);
}

gboolean plugin_settings_check(const PluginSettings *settings, GimpDrawable *content, GError **error)
{
    if (settings->problem != NULL) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s", settings->problem);
        return FALSE;
    }
    if (settings->n_styles == 0) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s",
                    _("No style picture: set one of “style-preset” (a painting of the gallery), “style-layer” "
                      "(a layer) or “style-file” (a picture file)."));
        return FALSE;
    }
    if (!plugin_drawable_check_exists(content, error))
        return FALSE;
    for (int i = 0; i < settings->n_styles; i++)
        if ((settings->styles[i].layer != NULL && !plugin_drawable_check_exists(settings->styles[i].layer, error)) ||
            (settings->styles[i].mask != NULL && !plugin_drawable_check_exists(settings->styles[i].mask, error)))
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
    for (int i = 0; i < settings->n_styles; i++) {
        GimpDrawable *layer = settings->styles[i].layer;
        if (layer != NULL && (gimp_drawable_get_width(layer) < PLUGIN_MIN_LAYER_SIDE ||
                              gimp_drawable_get_height(layer) < PLUGIN_MIN_LAYER_SIDE)) {
            g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("The style layer “%s” is smaller than %d pixels on a side."),
                        gimp_item_get_name(GIMP_ITEM(layer)), PLUGIN_MIN_LAYER_SIDE);
            return FALSE;
        }
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
