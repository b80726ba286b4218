/* The memory plan: what a run needs, decided before anything big is
 * allocated, so a 24-megapixel picture is tiled or refused with a clear
 * message instead of dying half-way through.
 *
 * Estimates are computed in double (no overflow for absurd sizes): the net's
 * bytes and layer shapes from nst_net_plan_shapes; the objective adds the padded
 * picture, the network input and the input gradient, the content targets and
 * the style Grams; L-BFGS keeps (2 history + 4) vectors plus one byte per
 * element, Adam 3 vectors.  Styles with regions (masks) add a Gram target per
 * style, the masks at every style layer, the masked activation of the widest
 * style layer and a padded mask window in each objective, one plane per mask
 * at each stage's size, and the transfer's own copies of the masks. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "nn/net.h"
#include "transfer/driver.h"
#include "transfer/memory.h"
#include "transfer/pyramid.h"
#include "transfer/tiles.h"
#include "transfer/transfer.h"

#define FLOAT_BYTES 4.0
/* Kept free by the default budget: the system, the caller's own pictures. */
#define DEFAULT_MARGIN_BYTES (512.0 * 1024 * 1024)
/* Used when /proc/meminfo cannot be read. */
#define FALLBACK_BUDGET_BYTES (4.0 * 1024 * 1024 * 1024)
/* Tile windows tried, largest first; the margin is a window / MARGIN_DIVISOR. */
static const int tile_windows[] = {1536, 1024, 768, 512, 384, 256, 192, 128};
#define MARGIN_DIVISOR 8

static size_t to_size(double bytes)
{
    return bytes >= (double)SIZE_MAX ? SIZE_MAX : (size_t)bytes;
}

/* "2.1 GiB", or "300 MiB" below a GiB, where one decimal of GiB says nothing. */
static void format_bytes(size_t bytes, char *out, size_t size)
{
    double mib = (double)bytes / (1024.0 * 1024.0);
    if (mib >= 1024.0)
        snprintf(out, size, "%.1f GiB", mib / 1024.0);
    else
        snprintf(out, size, "%.0f MiB", mib < 1.0 && bytes > 0 ? 1.0 : mib);
}

/* ---- networks ---- */

/* Deepest node the objective runs; 0 without layers. */
static int deepest_node(const nst_model *model, const nst_params *p)
{
    int deepest = 0;
    for (int i = 0; i < p->n_content_layers + p->n_style_layers; i++) {
        const char *name = i < p->n_content_layers ? p->content_layers[i] : p->style_layers[i - p->n_content_layers];
        int node = nst_model_find_layer(model, name);
        if (node > deepest)
            deepest = node;
    }
    return deepest;
}

/* Bytes of an nst_net at h x w up to `last`, with each node's output shape
 * in shapes[] ({c, h, w}) when not NULL.  A picture too small for the net costs nothing
 * here (the run reports it); one too large cannot be planned: infinite. */
static double net_bytes(const nst_model *model, const nst_params *p, int h, int w, int last, int (*shapes)[3])
{
    nst_net_options options = {.pooling = p->pooling, .padding = NST_PAD_REFLECT, .border = NST_DRIVER_BORDER};
    size_t bytes = 0;
    nst_status s = nst_net_plan_shapes(model, h, w, last, &options, &bytes, shapes, NULL);
    if (s == NST_ERR_NOMEM)
        return INFINITY;
    return s == NST_OK ? (double)bytes : 0.0;
}

static double weight_bytes(const nst_model *model)
{
    double floats = 0;
    for (int i = 0; i < model->n_nodes; i++) {
        const nst_conv_desc *d = &model->nodes[i].conv;
        if (model->nodes[i].op == NST_OP_CONV)
            floats += (double)d->out_channels * d->in_channels * d->kernel_h * d->kernel_w + d->out_channels;
    }
    return floats * FLOAT_BYTES;
}

/* An objective at h x w: its net on the bordered picture, three planar
 * copies of that picture, the targets and the Gram scratch; with `n_regions`
 * styles compared in their own regions (0 = blended), their targets and masks. */
static double objective_bytes(const nst_model *model, const nst_params *p, int h, int w, int n_regions)
{
    int border = nst_objective_border(NST_DRIVER_BORDER, h, w);
    int ph = h + 2 * border, pw = w + 2 * border, last = deepest_node(model, p);
    int(*shapes)[3] = calloc((size_t)model->n_nodes, sizeof *shapes);
    if (!shapes)
        return INFINITY;
    double bytes = net_bytes(model, p, ph, pw, last, shapes) + 3.0 * 3.0 * ph * pw * FLOAT_BYTES;
    int max_c = 0, style_shapes[NST_MAX_LAYERS][3], n_style = 0;
    for (int i = 0; i < p->n_content_layers + p->n_style_layers; i++) {
        int content = i < p->n_content_layers;
        int node = nst_model_find_layer(model, content ? p->content_layers[i]
                                                       : p->style_layers[i - p->n_content_layers]);
        if (node < 0)
            continue;
        double c = shapes[node][0], hw = (double)shapes[node][1] * shapes[node][2];
        bytes += (content ? c * hw : c * c * (n_regions > 1 ? n_regions : 1)) * FLOAT_BYTES;
        if (!content && c > max_c)
            max_c = (int)c;
        if (!content)
            memcpy(style_shapes[n_style++], shapes[node], sizeof style_shapes[0]);
    }
    free(shapes);
    if (n_regions)
        bytes += (double)nst_objective_mask_floats(n_regions, n_style, (const int(*)[3])style_shapes, ph, pw) *
                 FLOAT_BYTES;
    return bytes + (double)nst_objective_gram_floats(max_c) * FLOAT_BYTES;
}

static double optimizer_bytes(const nst_params *p, double n, int history)
{
    if (p->optimizer == NST_OPTIM_LBFGS)
        return (2.0 * history + 4.0) * n * FLOAT_BYTES + n;
    return 3.0 * n * FLOAT_BYTES;
}

static double picture_bytes(int w, int h)
{
    return 3.0 * w * (double)h * FLOAT_BYTES;
}

/* Making the style targets of a stage: the resized style pictures cut into
 * pieces of at most `piece` px (all kept until the Grams are made), one
 * resized picture at a time and the net of one piece. */
static double style_target_bytes(const nst_transfer *t, int stage_w, int stage_h, int piece)
{
    int longest = stage_w > stage_h ? stage_w : stage_h;
    double pieces = 0, largest = 0;
    int max_w = 0, max_h = 0;
    for (int i = 0; i < t->n_styles || (i == 0 && t->n_styles == 0); i++) {
        int w, h;
        /* Before any style is given, assume a square one. */
        nst_driver_style_size(t->n_styles ? t->styles[i]->width : 1, t->n_styles ? t->styles[i]->height : 1,
                              longest, t->params.style_scale, &w, &h);
        pieces += picture_bytes(w, h);
        if (picture_bytes(w, h) > largest)
            largest = picture_bytes(w, h);
        if (w > max_w)
            max_w = w > piece ? piece : w;
        if (h > max_h)
            max_h = h > piece ? piece : h;
    }
    double net = net_bytes(t->model, &t->params, max_h, max_w, deepest_node(t->model, &t->params), NULL);
    return pieces + 2.0 * largest + net + picture_bytes(max_w, max_h);
}

/* Styles compared in regions of their own: all of them once one has a mask. */
static int regions(const nst_transfer *t)
{
    return t->n_masks ? t->n_styles : 0;
}

/* What lives through the whole run: weights, the transfer's own copies. */
static double persistent_bytes(const nst_transfer *t)
{
    double bytes = weight_bytes(t->model) + picture_bytes(t->content->width, t->content->height);
    for (int i = 0; i < t->n_styles; i++)
        bytes += picture_bytes(t->styles[i]->width, t->styles[i]->height) +
                 (double)t->mask_width[i] * t->mask_height[i] * FLOAT_BYTES;
    return bytes;
}

/* Pictures of a stage (content, grey content in luminance mode, preview
 * frame, x, one plane per mask), and the start from the previous stage (its x and colours, its
 * stylisation, one resampled picture), which is over before the objective
 * exists. */
static double stage_picture_bytes(const nst_transfer *t, const nst_plan *plan, int s, double *start_bytes)
{
    int w = plan->stage_width[s], h = plan->stage_height[s];
    double copies = (t->params.preserve_colors == NST_COLORS_LUMINANCE ? 4.0 : 3.0) + t->n_masks / 3.0;
    *start_bytes = s > 0 ? 4.0 * picture_bytes(plan->stage_width[s - 1], plan->stage_height[s - 1]) +
                               picture_bytes(w, h)
                         : picture_bytes(w, h);
    return copies * picture_bytes(w, h);
}

/* A whole stage after a whole L-BFGS stage inherits its optimiser, which
 * lives until this stage's own has taken its pairs (one resampled in flight). */
static double carried_bytes(const nst_transfer *t, const nst_plan *plan, int s)
{
    if (s == 0 || plan->stage_tiled[s - 1] || t->params.optimizer != NST_OPTIM_LBFGS)
        return 0.0;
    int w = plan->stage_width[s - 1], h = plan->stage_height[s - 1];
    return optimizer_bytes(&t->params, 3.0 * w * h, t->params.lbfgs_history) + picture_bytes(w, h) +
           picture_bytes(plan->stage_width[s], plan->stage_height[s]);
}

static double whole_stage_bytes(const nst_transfer *t, const nst_plan *plan, int s)
{
    int w = plan->stage_width[s], h = plan->stage_height[s];
    double start, pictures = stage_picture_bytes(t, plan, s, &start);
    double run = objective_bytes(t->model, &t->params, h, w, regions(t)) +
                 optimizer_bytes(&t->params, 3.0 * w * h, t->params.lbfgs_history) +
                 style_target_bytes(t, w, h, w > h ? w : h);
    return pictures + (run > start ? run : start) + carried_bytes(t, plan, s);
}

static double tiled_stage_bytes(const nst_transfer *t, const nst_plan *plan, int s, int window)
{
    int w = plan->stage_width[s], h = plan->stage_height[s];
    int ww = window < w ? window : w, wh = window < h ? window : h;
    int history = nst_tiles_lbfgs_history(&t->params);
    double start, pictures = stage_picture_bytes(t, plan, s, &start);
    double run = objective_bytes(t->model, &t->params, wh, ww, regions(t)) + optimizer_bytes(&t->params, 3.0 * ww * wh, history) +
                 2.0 * picture_bytes(ww, wh) + style_target_bytes(t, w, h, window);
    return pictures + (run > start ? run : start);
}

/* ---- the budget ---- */

size_t nst_default_memory_budget(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    double available = -1;
    if (f) {
        char line[256];
        unsigned long long kib;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
                available = (double)kib * 1024.0;
                break;
            }
        fclose(f);
    }
    if (available < 0)
        return to_size(FALLBACK_BUDGET_BYTES);
    /* A tenth or 512 MiB, whichever is more, stays free. */
    double margin = available / 10 > DEFAULT_MARGIN_BYTES ? available / 10 : DEFAULT_MARGIN_BYTES;
    return available > 2 * margin ? to_size(available - margin) : to_size(available / 2);
}

nst_status nst_parse_bytes(const char *text, size_t *bytes, nst_error *err)
{
    const char *expected = "expected a size such as 4G, 512M or 1.5GiB, or 0 for the available memory";
    char *end = NULL;
    double v = text && text[0] && !isspace((unsigned char)text[0]) ? strtod(text, &end) : NAN;
    if (!end || end == text || !isfinite(v) || v < 0)
        return nst_error_set(err, NST_ERR_INVALID, "'%s': %s", text ? text : "", expected);
    while (isspace((unsigned char)*end))
        end++;
    double unit = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K': unit = 1024.0; end++; break;
    case 'M': unit = 1024.0 * 1024; end++; break;
    case 'G': unit = 1024.0 * 1024 * 1024; end++; break;
    case 'T': unit = 1024.0 * 1024 * 1024 * 1024; end++; break;
    default: break;
    }
    if (unit > 1 && (*end == 'i' || *end == 'I'))
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    double amount = v * unit;
    /* "0.1" bytes is a typo, not a budget; 0 means "the default". */
    if (*end || (amount > 0 && amount < 1) || amount >= (double)SIZE_MAX)
        return nst_error_set(err, NST_ERR_INVALID, "'%s': %s", text, expected);
    *bytes = to_size(amount);
    return NST_OK;
}

/* ---- the plan ---- */

/* What a run on the device may use of its memory: the budget the driver
 * reports (VK_EXT_memory_budget), else the device-local heaps less a tenth
 * for the driver and the display. */
static size_t device_budget(const nst_device_info *device)
{
    return device->budget_bytes ? (size_t)device->budget_bytes : (size_t)(device->local_bytes / 10 * 9);
}

nst_status nst_memory_plan(const nst_transfer *t, int width, int height, const nst_device_info *device,
                           nst_plan *plan, nst_error *err)
{
    memset(plan, 0, sizeof *plan);
    nst_pyramid_stages(&t->params, width, height, plan);
    plan->budget = t->params.max_memory ? t->params.max_memory : nst_default_memory_budget();
    /* The estimate counts the objective and the optimiser's vectors
     * together; on a device both live there, so its memory must hold it
     * (the held mask takes 4 bytes a float there, 1 counted: under 2% of
     * the optimiser's share), and the host's too (a conservative plan). */
    int device_bound = device && device_budget(device) < plan->budget;
    if (device_bound)
        plan->budget = device_budget(device);
    double persistent = persistent_bytes(t);
    double whole_peak = 0, peak = 0, budget = (double)plan->budget;
    int window = 0;
    for (int s = 0; s < plan->stages; s++) {
        int longest = plan->stage_width[s] > plan->stage_height[s] ? plan->stage_width[s] : plan->stage_height[s];
        double whole = persistent + whole_stage_bytes(t, plan, s);
        if (whole > whole_peak)
            whole_peak = whole;
        int forced = t->params.tile_size > 0 && longest > t->params.tile_size;
        if (!forced && whole <= budget) {
            if (whole > peak)
                peak = whole;
            continue;
        }
        /* The largest window that fits (or the one asked for); every tiled
         * stage uses the same, the largest stage decides. */
        double tiled = INFINITY;
        int first = 0, count = (int)(sizeof tile_windows / sizeof tile_windows[0]);
        if (t->params.tile_size > 0) {
            window = t->params.tile_size;
            tiled = persistent + tiled_stage_bytes(t, plan, s, window);
        } else {
            for (first = 0; first < count; first++) {
                if (window && tile_windows[first] > window)
                    continue;
                tiled = persistent + tiled_stage_bytes(t, plan, s, tile_windows[first]);
                window = tile_windows[first];
                if (tiled <= budget)
                    break;
            }
        }
        plan->stage_tiled[s] = 1;
        if (tiled > peak)
            peak = tiled;
    }
    if (window) {
        plan->tile_width = plan->tile_height = window;
        plan->tile_margin = window / MARGIN_DIVISOR;
    }
    plan->whole_bytes = to_size(whole_peak);
    plan->bytes = to_size(peak);
    plan->mode = window ? NST_RUN_TILED : NST_RUN_WHOLE;
    if (peak > budget) {
        plan->mode = NST_RUN_REFUSED;
        char needed[32], available[32];
        format_bytes(plan->bytes, needed, sizeof needed);
        format_bytes(plan->budget, available, sizeof available);
        return nst_error_set(err, NST_ERR_NOMEM,
                             "a %dx%d picture needs %s even in %dx%d tiles, %s available%s; "
                             "lower the working size or raise the memory limit",
                             width, height, needed, window, window, available,
                             device_bound ? " on the GPU" : "");
    }
    return NST_OK;
}
