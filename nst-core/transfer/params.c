/* Parameters: per-model defaults, parsing of layer lists, validation. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/names.h"
#include "nn/model.h"
#include "transfer/params.h"
#include "nst/nst.h"

/* ---- names of the choices ---- */

static const char *const optimizer_names[NST_OPTIMIZER_COUNT] = {"lbfgs", "adam"};
static const char *const init_names[NST_INIT_COUNT] = {"content", "style", "noise"};
static const char *const colors_names[NST_COLORS_COUNT] = {"none", "luminance", "histogram"};
static const char *const pooling_names[NST_POOLING_COUNT] = {"max", "avg"};

NST_DEFINE_NAMES(nst_optimizer, nst_optimizer, "optimizer", optimizer_names, NST_OPTIMIZER_COUNT)
NST_DEFINE_NAMES(nst_init, nst_init, "initial picture", init_names, NST_INIT_COUNT)
NST_DEFINE_NAMES(nst_colors, nst_colors, "colour mode", colors_names, NST_COLORS_COUNT)
NST_DEFINE_NAMES(nst_pooling, nst_pooling, "pooling", pooling_names, NST_POOLING_COUNT)

/* ---- defaults ---- */

static void set_layers(char names[][NST_LAYER_NAME_MAX], double *weights, int *count, const char *const *list,
                       int n)
{
    for (int i = 0; i < n; i++) {
        snprintf(names[i], NST_LAYER_NAME_MAX, "%s", list[i]);
        weights[i] = 1.0 / n;
    }
    *count = n;
}

void nst_params_init(nst_params *p, nst_model_kind kind)
{
    /* SqueezeNet: the starting point measured on the shipped weights (the
     * README's "The command line" lists these defaults per model). */
    static const char *const squeeze_style[] = {"conv1", "fire2", "fire3", "fire4", "fire5"};
    static const char *const squeeze_content[] = {"fire3"};
    /* Early layers weigh far more (4x per layer, as crowsonkb's 256:64:16:4:1):
     * with equal weights fire5's term dominates, and paintings whose look is
     * their palette and brushwork (Udnie, the Matisse) barely showed
     * (bench/gallery_quality.py; README, "Every painting reads as itself"). */
    static const double squeeze_style_weights[] = {256, 64, 16, 4, 1};
    /* VGG: Gatys et al.'s layers.  alpha/beta follows their ratio 1e-3 with
     * their unnormalised content term converted to our 1/(4 nH nW nC)
     * normalisation at ~512 px; untuned on real weights (none are here). */
    static const char *const vgg_style[] = {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"};
    static const char *const vgg_content[] = {"relu4_2"};

    memset(p, 0, sizeof *p);
    p->size = 512;
    p->iterations = 300;
    p->optimizer = NST_OPTIM_LBFGS;
    p->learning_rate = 0.02;
    p->lbfgs_history = 20;
    p->init = NST_INIT_CONTENT;
    p->seed = 0;
    p->preserve_colors = NST_COLORS_NONE;
    p->style_scale = 1.0;
    p->pooling = NST_POOL_MAX;
    p->threads = 0;
    p->content_weight = 1.0;
    if (kind == NST_MODEL_SQUEEZENET11) {
        p->style_weight = 1e5;
        p->tv_weight = 0.1;
        set_layers(p->content_layers, p->content_layer_weights, &p->n_content_layers, squeeze_content, 1);
        set_layers(p->style_layers, p->style_layer_weights, &p->n_style_layers, squeeze_style, 5);
        for (int i = 0; i < 5; i++)
            p->style_layer_weights[i] = squeeze_style_weights[i] / 341.0; /* normalised: they sum to 341 */
    } else {
        p->style_weight = 1e-2;
        p->tv_weight = 1.0;
        set_layers(p->content_layers, p->content_layer_weights, &p->n_content_layers, vgg_content, 1);
        set_layers(p->style_layers, p->style_layer_weights, &p->n_style_layers, vgg_style, 5);
    }
}

/* Splits "a, b,c" into trimmed fields; calls fn for each. */
typedef nst_status (*field_fn)(const char *field, int index, void *user, nst_error *err);

static nst_status split_csv(const char *csv, const char *what, field_fn fn, void *user, int *count, nst_error *err)
{
    int n = 0;
    const char *p = csv;
    while (1) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && isspace((unsigned char)*p))
            p++, len--;
        while (len && isspace((unsigned char)p[len - 1]))
            len--;
        if (len == 0)
            return nst_error_set(err, NST_ERR_INVALID, "%s: empty entry in '%s'", what, csv);
        if (n == NST_MAX_LAYERS)
            return nst_error_set(err, NST_ERR_INVALID, "%s: at most %d entries", what, NST_MAX_LAYERS);
        char field[64];
        if (len >= sizeof field)
            return nst_error_set(err, NST_ERR_INVALID, "%s: entry too long in '%s'", what, csv);
        memcpy(field, p, len);
        field[len] = '\0';
        nst_status s = fn(field, n, user, err);
        if (s != NST_OK)
            return s;
        n++;
        if (!end)
            break;
        p = end + 1;
    }
    *count = n;
    return NST_OK;
}

typedef struct layer_list {
    char (*names)[NST_LAYER_NAME_MAX];
    double *weights;
} layer_list;

static nst_status layer_field(const char *field, int index, void *user, nst_error *err)
{
    layer_list *list = user;
    if (strlen(field) >= NST_LAYER_NAME_MAX)
        return nst_error_set(err, NST_ERR_INVALID, "layer name '%s' is too long", field);
    snprintf(list->names[index], NST_LAYER_NAME_MAX, "%s", field);
    return NST_OK;
}

static nst_status set_layer_list(char names[][NST_LAYER_NAME_MAX], double *weights, int *count, const char *csv,
                                 const char *what, nst_error *err)
{
    layer_list list = {names, weights};
    int n = 0;
    nst_status s = split_csv(csv, what, layer_field, &list, &n, err);
    if (s != NST_OK)
        return s;
    for (int i = 0; i < n; i++)
        weights[i] = 1.0 / n;
    *count = n;
    return NST_OK;
}

nst_status nst_params_set_content_layers(nst_params *p, const char *csv, nst_error *err)
{
    return set_layer_list(p->content_layers, p->content_layer_weights, &p->n_content_layers, csv, "content layers",
                          err);
}

nst_status nst_params_set_style_layers(nst_params *p, const char *csv, nst_error *err)
{
    return set_layer_list(p->style_layers, p->style_layer_weights, &p->n_style_layers, csv, "style layers", err);
}

static nst_status weight_field(const char *field, int index, void *user, nst_error *err)
{
    double *weights = user;
    char *end;
    double v = strtod(field, &end);
    if (*end || !isfinite(v) || v < 0)
        return nst_error_set(err, NST_ERR_INVALID, "style layer weight '%s' is not a non-negative number", field);
    weights[index] = v;
    return NST_OK;
}

nst_status nst_params_set_style_layer_weights(nst_params *p, const char *csv, nst_error *err)
{
    double weights[NST_MAX_LAYERS];
    int n = 0;
    nst_status s = split_csv(csv, "style layer weights", weight_field, weights, &n, err);
    if (s != NST_OK)
        return s;
    if (n != p->n_style_layers)
        return nst_error_set(err, NST_ERR_INVALID, "%d style layer weights given for %d style layers", n,
                             p->n_style_layers);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += weights[i];
    if (!(sum > 0))
        return nst_error_set(err, NST_ERR_INVALID, "style layer weights must not all be zero");
    for (int i = 0; i < n; i++)
        p->style_layer_weights[i] = weights[i] / sum;
    return NST_OK;
}

static nst_status check_layers(const nst_model *model, int n, const char names[][NST_LAYER_NAME_MAX],
                               const char *what, nst_error *err)
{
    for (int i = 0; i < n; i++) {
        if (nst_model_find_layer(model, names[i]) < 0) {
            char known[512] = "";
            for (int k = 0; k < nst_model_layer_count(model); k++) {
                size_t used = strlen(known);
                snprintf(known + used, sizeof known - used, "%s%s", k ? ", " : "", nst_model_layer_name(model, k));
            }
            return nst_error_set(err, NST_ERR_NOT_FOUND, "%s: %s has no layer '%s' (it has: %s)", what,
                                 nst_model_kind_name(model->kind), names[i], known);
        }
    }
    return NST_OK;
}

static int in_range(double v, double min, double max)
{
    return isfinite(v) && v >= min && v <= max;
}

nst_status nst_params_check_weights(double content_weight, double style_weight, double tv_weight, nst_error *err)
{
    if (!in_range(content_weight, 0, NST_WEIGHT_MAX) || !in_range(style_weight, 0, NST_WEIGHT_MAX) ||
        !in_range(tv_weight, 0, NST_WEIGHT_MAX))
        return nst_error_set(err, NST_ERR_INVALID,
                             "content, style and TV weights must be numbers from 0 to %g (got %g, %g, %g)",
                             NST_WEIGHT_MAX, content_weight, style_weight, tv_weight);
    return NST_OK;
}

nst_status nst_params_check_style_scale(double style_scale, nst_error *err)
{
    if (!in_range(style_scale, NST_STYLE_SCALE_MIN, NST_STYLE_SCALE_MAX))
        return nst_error_set(err, NST_ERR_INVALID, "style scale %g out of range (%g to %g)", style_scale,
                             NST_STYLE_SCALE_MIN, NST_STYLE_SCALE_MAX);
    return NST_OK;
}

nst_status nst_params_check(const nst_params *p, nst_error *err)
{
    if (p->size < 0 || p->size > NST_SIZE_MAX)
        return nst_error_set(err, NST_ERR_INVALID, "size %d out of range (0 = the picture's own, up to %d)", p->size,
                             NST_SIZE_MAX);
    if (p->iterations < 0 || p->iterations > NST_ITERATIONS_MAX)
        return nst_error_set(err, NST_ERR_INVALID, "iterations %d out of range (0 to %d)", p->iterations,
                             NST_ITERATIONS_MAX);
    if ((unsigned)p->optimizer >= NST_OPTIMIZER_COUNT || (unsigned)p->init >= NST_INIT_COUNT ||
        (unsigned)p->preserve_colors >= NST_COLORS_COUNT || (unsigned)p->pooling >= NST_POOLING_COUNT)
        return nst_error_set(err, NST_ERR_INVALID, "unknown optimizer, init, colour or pooling mode");
    if (!(in_range(p->learning_rate, 0, NST_LEARNING_RATE_MAX) && p->learning_rate > 0))
        return nst_error_set(err, NST_ERR_INVALID, "learning rate %g out of range (above 0, up to %g)",
                             p->learning_rate, NST_LEARNING_RATE_MAX);
    if (p->lbfgs_history < 1 || p->lbfgs_history > NST_LBFGS_HISTORY_MAX)
        return nst_error_set(err, NST_ERR_INVALID, "L-BFGS history %d out of range (1 to %d)", p->lbfgs_history,
                             NST_LBFGS_HISTORY_MAX);
    nst_status s = nst_params_check_weights(p->content_weight, p->style_weight, p->tv_weight, err);
    if (s == NST_OK)
        s = nst_params_check_style_scale(p->style_scale, err);
    if (s != NST_OK)
        return s;
    if (p->threads < 0 || p->threads > NST_THREADS_MAX)
        return nst_error_set(err, NST_ERR_INVALID, "threads %d out of range (0 = all cores, up to %d)", p->threads,
                             NST_THREADS_MAX);
    if (p->scales < 0 || p->scales > NST_MAX_STAGES)
        return nst_error_set(err, NST_ERR_INVALID, "scales %d out of range (0 = automatic, 1 to %d)", p->scales,
                             NST_MAX_STAGES);
    if (p->min_scale_size != 0 && (p->min_scale_size < NST_MIN_SCALE_SIZE_MIN || p->min_scale_size > NST_SIZE_MAX))
        return nst_error_set(err, NST_ERR_INVALID, "first stage size %d out of range (0 = automatic, %d to %d)",
                             p->min_scale_size, NST_MIN_SCALE_SIZE_MIN, NST_SIZE_MAX);
    if (p->tile_size != 0 && (p->tile_size < NST_TILE_SIZE_MIN || p->tile_size > NST_SIZE_MAX))
        return nst_error_set(err, NST_ERR_INVALID, "tile size %d out of range (0 = automatic, %d to %d)",
                             p->tile_size, NST_TILE_SIZE_MIN, NST_SIZE_MAX);
    if (p->n_content_layers < 0 || p->n_content_layers > NST_MAX_LAYERS || p->n_style_layers < 0 ||
        p->n_style_layers > NST_MAX_LAYERS || p->n_content_layers + p->n_style_layers == 0)
        return nst_error_set(err, NST_ERR_INVALID, "choose at least one content or style layer");
    if (memchr(p->device, '\0', sizeof p->device) == NULL)
        return nst_error_set(err, NST_ERR_INVALID, "the device setting is not a string");
    return nst_device_setting_check(p->device, err);
}

nst_status nst_params_validate(const nst_params *p, const nst_model *model, nst_error *err)
{
    nst_status s = nst_params_check(p, err);
    if (s == NST_OK)
        s = check_layers(model, p->n_content_layers, p->content_layers, "content layers", err);
    if (s == NST_OK)
        s = check_layers(model, p->n_style_layers, p->style_layers, "style layers", err);
    return s;
}

/* ---- strength ---- */

/* The style weight's offset from the model's default, in decades, at these
 * strengths; straight lines in between.  Measured with SqueezeNet (chelsea x
 * starry_night, 128 px, 40 L-BFGS iterations): L-BFGS hardly feels a common
 * factor on the objective, so while beta x style dwarfs alpha x content
 * (every beta from about 10 to 1e7 here) the picture stays the same, and it
 * moves towards the content only within a few decades of the balance
 * (beta about 0.01 to 10).  So most of the lower half of the slider lies
 * there, and the upper half adds two decades for longer runs. */
static const double strength_at[] = {0.0, 25.0, 50.0, 100.0};
static const double decades_at[] = {-7.0, -5.0, 0.0, 2.0};

double nst_strength_decades(double strength)
{
    int n = (int)(sizeof strength_at / sizeof strength_at[0]);
    for (int i = 0; i + 1 < n; i++)
        if (strength <= strength_at[i + 1] || i + 2 == n) {
            double t = (strength - strength_at[i]) / (strength_at[i + 1] - strength_at[i]);
            return decades_at[i] + t * (decades_at[i + 1] - decades_at[i]);
        }
    return 0.0;
}

nst_status nst_strength_weights(nst_model_kind kind, double strength, double *content_weight, double *style_weight,
                                double *tv_weight, nst_error *err)
{
    if (!in_range(strength, NST_STRENGTH_MIN, NST_STRENGTH_MAX))
        return nst_error_set(err, NST_ERR_INVALID, "strength %g out of range (%g to %g)", strength,
                             NST_STRENGTH_MIN, NST_STRENGTH_MAX);
    nst_params defaults;
    nst_params_init(&defaults, kind);
    /* At 50 the offset is exactly 0 and 10^0 exactly 1: the default bytes. */
    double factor = pow(10.0, nst_strength_decades(strength));
    if (content_weight)
        *content_weight = defaults.content_weight;
    if (style_weight)
        *style_weight = defaults.style_weight * factor;
    if (tv_weight)
        *tv_weight = defaults.tv_weight;
    return NST_OK;
}

double nst_style_entry_style_weight(const nst_style_entry *entry, double style_weight)
{
    if (!entry || entry->strength == NST_STRENGTH_DEFAULT)
        return style_weight; /* exactly: the default bytes */
    return style_weight * pow(10.0, nst_strength_decades(entry->strength));
}
