/* The objective on the device (gpu/objective.h).  An evaluation runs four
 * recorded sequences: prepare (border + normalisation), the net's forward,
 * the loss terms (their sums and the gradients at the used layers), the
 * net's backward, then finish (the adjoint of prepare and TV). */
#include "gpu/objective.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "nn/guide.h"

static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
static const float imagenet_std[3] = {0.229f, 0.224f, 0.225f};

typedef struct gpu_term {
    int node;
    double weight; /* normalised layer weight */
    int c, h, w, hw;
    nst_gpu_buffer *target; /* content: activations [c, hw]; style: Gram [c, c] (group 0's with regions) */
    nst_gpu_buffer *group_target[NST_MAX_STYLES]; /* style, regions: group g's (group_target[0] = target) */
    float *host_target[NST_MAX_STYLES]; /* style, regions: T_g as blended, scaled on the device by area / hw */
    size_t partial_offset, n_partials;
} gpu_term;

/* A region below this share of a layer's samples adds nothing (loss/'s EMPTY_REGION). */
#define EMPTY_REGION 1e-6

struct nst_gpu_objective {
    nst_gpu *gpu;
    const nst_model *model;
    nst_net_options options;
    nst_gpu_net *net;
    int height, width, border, deepest;
    size_t widest_gram; /* floats of the largest style Gram */
    int n_content, n_style;
    gpu_term content[NST_MAX_LAYERS], style[NST_MAX_LAYERS];
    int have_content, have_style;
    double alpha, beta, tau;
    int used_nodes[2 * NST_MAX_LAYERS];
    float inv_std[3];
    nst_gpu_buffer *picture, *grad, *gram, *gram_scratch, *partials, *sums;
    size_t tv_offset, tv_partials;
    nst_gpu_seq *prepare, *loss, *finish;
    /* The loss sequence bakes in alpha/beta/tau (re-recorded when they change)
     * and the regions (cleared when the targets or masks are set). */
    int loss_recorded;
    double rec_alpha, rec_beta, rec_tau;
    /* Regions (loss/objective.h's guided Grams): n_groups targets per style
     * layer, blend weights b_g, and each group's mask at every style layer. */
    int n_groups; /* 0 = no regions: one unguided target per layer */
    double group_weight[NST_MAX_STYLES];
    int has_mask[NST_MAX_STYLES];
    double mask_area[NST_MAX_STYLES][NST_MAX_LAYERS];
    size_t mask_offset[NST_MAX_LAYERS], group_mask_floats;
    nst_gpu_buffer *mask_planes; /* [group][style layer's h w] */
    nst_gpu_buffer *masked;      /* A . M of the widest style layer */
    float *mask_padded, *mask_host;
    float *scaled_target; /* a style target scaled to its region's area (widest_gram floats) */
};

/* loss/'s nst_objective_border: reflect padding smaller than the picture. */
static int clamp_border(int border, int height, int width)
{
    border = border < height - 1 ? border : height - 1;
    border = border < width - 1 ? border : width - 1;
    return border > 0 ? border : 0;
}

static nst_gpu_buffer *floats(nst_gpu *gpu, size_t n, nst_error *err)
{
    return nst_gpu_buffer_new(gpu, (n ? n : 1) * sizeof(float), err);
}

static nst_status failed(const nst_error *err)
{
    return err ? err->code : NST_ERR_DEVICE;
}

/* Lays out the partial sums (each term's, then TV's two) and allocates. */
static nst_status allocate(nst_gpu_objective *obj, nst_error *err)
{
    nst_gpu *gpu = obj->gpu;
    size_t offset = 0, widest_gram = 0, scratch = 0;
    for (int i = 0; i < obj->n_content + obj->n_style; i++) {
        int content = i < obj->n_content;
        gpu_term *t = content ? &obj->content[i] : &obj->style[i - obj->n_content];
        int h, w;
        nst_gpu_net_shape(obj->net, t->node, &t->c, &h, &w);
        t->h = h, t->w = w, t->hw = h * w;
        size_t count = content ? (size_t)t->c * t->hw : (size_t)t->c * t->c;
        t->partial_offset = offset;
        t->n_partials = nst_gpu_partials(count);
        offset += t->n_partials;
        if (!(t->target = floats(gpu, count, err)))
            return failed(err);
        if (!content) {
            widest_gram = count > widest_gram ? count : widest_gram;
            size_t sc = nst_gpu_gram_scratch_floats(t->c, t->hw);
            scratch = sc > scratch ? sc : scratch;
        }
    }
    size_t picture = (size_t)3 * obj->height * obj->width;
    obj->tv_offset = offset;
    obj->tv_partials = nst_gpu_partials(picture);
    offset += 2 * obj->tv_partials;
    if (!(obj->picture = floats(gpu, picture, err)) || !(obj->grad = floats(gpu, picture, err)) ||
        !(obj->gram = floats(gpu, obj->widest_gram = widest_gram, err)) || !(obj->gram_scratch = floats(gpu, scratch, err)) ||
        !(obj->partials = floats(gpu, offset, err)) ||
        !(obj->sums = nst_gpu_buffer_new_readback(
              gpu, ((size_t)obj->n_content + 2 + (size_t)obj->n_style * NST_MAX_STYLES) * sizeof(float), err)))
        return failed(err);
    return NST_OK;
}

/* The slot of style layer i's (group g's) sum: after the content terms and TV's two. */
static int style_slot(const nst_gpu_objective *obj, int i, int g)
{
    return obj->n_content + 2 + i * NST_MAX_STYLES + g;
}

/* Style layer i without regions: G - S in the Gram buffer, grad += scale (G - S) A. */
static nst_status record_style(nst_gpu_objective *obj, int i, nst_error *err)
{
    nst_gpu_seq *seq = obj->loss;
    gpu_term *t = &obj->style[i];
    nst_gpu_buffer *a = nst_gpu_net_activation_buffer(obj->net, t->node);
    double norm = 4.0 * (double)t->c * t->c * (double)t->hw * t->hw;
    nst_status s = nst_gpu_gram(seq, t->c, t->hw, a, obj->gram, obj->gram_scratch, err);
    if (s == NST_OK)
        s = nst_gpu_diff_sumsq(seq, (size_t)t->c * t->c, obj->gram, t->target, 1.0f, 0, obj->gram, obj->partials,
                               t->partial_offset, err);
    if (s == NST_OK && obj->beta != 0)
        s = nst_gpu_gram_gradient(seq, t->c, t->hw, obj->gram, a, (float)(obj->beta * t->weight * 4.0 / norm),
                                  nst_gpu_net_gradient_buffer(obj->net, t->node), err);
    if (s == NST_OK)
        s = nst_gpu_sum_partials(seq, obj->partials, t->partial_offset, t->n_partials, obj->sums,
                                 style_slot(obj, i, 0), err);
    return s;
}

/* A group's region at style layer i in layer samples; 0 when it adds
 * nothing (no weight, or an empty region). */
static double group_area(const nst_gpu_objective *obj, int i, int g)
{
    double hw = obj->style[i].hw, area = obj->has_mask[g] ? obj->mask_area[g][i] : hw;
    return obj->group_weight[g] > 0 && area >= EMPTY_REGION * hw ? area : 0.0;
}

/* Style layer i with regions, per group g (objective.h's guided Grams):
 * G_g = (A . M)(A . M)^T, D' = G_g - T_g area / hw (the target was scaled
 * when the masks were set, so D' = area D), its sum of squares, and
 * grad += b coeff w D' (A . M^2) / (c^2 hw area). */
static nst_status record_guided_style(nst_gpu_objective *obj, int i, nst_error *err)
{
    nst_gpu_seq *seq = obj->loss;
    gpu_term *t = &obj->style[i];
    nst_gpu_buffer *a = nst_gpu_net_activation_buffer(obj->net, t->node);
    nst_status s = NST_OK;
    for (int g = 0; s == NST_OK && g < obj->n_groups; g++) {
        double area = group_area(obj, i, g);
        if (area == 0)
            continue;
        size_t plane = (size_t)g * obj->group_mask_floats + obj->mask_offset[i];
        nst_gpu_buffer *seen = obj->has_mask[g] ? obj->masked : a;
        if (obj->has_mask[g])
            s = nst_gpu_mask_columns(seq, t->c, t->hw, a, obj->mask_planes, plane, obj->masked, err);
        if (s == NST_OK)
            s = nst_gpu_gram(seq, t->c, t->hw, seen, obj->gram, obj->gram_scratch, err);
        if (s == NST_OK)
            s = nst_gpu_diff_sumsq(seq, (size_t)t->c * t->c, obj->gram, t->group_target[g], 1.0f, 0, obj->gram,
                                   obj->partials, t->partial_offset, err);
        if (s == NST_OK && obj->beta != 0 && obj->has_mask[g])
            s = nst_gpu_mask_columns(seq, t->c, t->hw, obj->masked, obj->mask_planes, plane, obj->masked, err);
        double scale = obj->beta * t->weight * obj->group_weight[g] / ((double)t->c * t->c * t->hw * area);
        if (s == NST_OK && obj->beta != 0)
            s = nst_gpu_gram_gradient(seq, t->c, t->hw, obj->gram, seen, (float)scale,
                                      nst_gpu_net_gradient_buffer(obj->net, t->node), err);
        if (s == NST_OK)
            s = nst_gpu_sum_partials(seq, obj->partials, t->partial_offset, t->n_partials, obj->sums,
                                     style_slot(obj, i, g), err);
    }
    return s;
}

/* The loss sequence: each used layer's gradient cleared, then the content
 * terms (out += scale (a - target)), the style terms (G - S in the Gram
 * buffer, then grad += scale (G - S) A), and every term's sum. */
static nst_status record_loss(nst_gpu_objective *obj, nst_error *err)
{
    nst_gpu_seq *seq = obj->loss;
    nst_status s = nst_gpu_seq_clear(seq, err);
    for (int i = 0; s == NST_OK && i < obj->n_content + obj->n_style; i++) {
        int node = obj->used_nodes[i], c, h, w;
        int first = 1; /* a layer both content and style is cleared once */
        for (int k = 0; k < i; k++)
            first &= obj->used_nodes[k] != node;
        nst_gpu_net_shape(obj->net, node, &c, &h, &w);
        if (first)
            s = nst_gpu_fill_zero(seq, (size_t)c * h * w, nst_gpu_net_gradient_buffer(obj->net, node), err);
    }
    for (int i = 0; s == NST_OK && i < obj->n_content; i++) {
        gpu_term *t = &obj->content[i];
        size_t count = (size_t)t->c * t->hw;
        float g = (float)(obj->alpha * t->weight * 2.0 / (4.0 * (double)count));
        s = nst_gpu_diff_sumsq(seq, count, nst_gpu_net_activation_buffer(obj->net, t->node), t->target, g, 1,
                               nst_gpu_net_gradient_buffer(obj->net, t->node), obj->partials, t->partial_offset, err);
        if (s == NST_OK)
            s = nst_gpu_sum_partials(seq, obj->partials, t->partial_offset, t->n_partials, obj->sums, i, err);
    }
    for (int i = 0; s == NST_OK && i < obj->n_style; i++)
        s = obj->n_groups ? record_guided_style(obj, i, err) : record_style(obj, i, err);
    obj->loss_recorded = s == NST_OK;
    obj->rec_alpha = obj->alpha, obj->rec_beta = obj->beta, obj->rec_tau = obj->tau;
    return s;
}

/* The finish sequence: the picture's gradient from the input's, plus TV. */
static nst_status record_finish(nst_gpu_objective *obj, nst_error *err)
{
    nst_gpu_seq *seq = obj->finish;
    int h = obj->height, w = obj->width;
    double nh = 3.0 * h * (w - 1), nv = 3.0 * (h - 1) * w;
    nst_status s = nst_gpu_seq_clear(seq, err);
    if (s == NST_OK)
        s = nst_gpu_prepare_adjoint(seq, h, w, obj->border, obj->inv_std, nst_gpu_net_gradient_buffer(obj->net, 0),
                                    obj->grad, err);
    if (s == NST_OK)
        s = nst_gpu_tv(seq, h, w, nh > 0 ? (float)(2.0 * obj->tau / nh) : 0.0f,
                       nv > 0 ? (float)(2.0 * obj->tau / nv) : 0.0f, obj->picture, obj->grad, obj->partials,
                       obj->tv_offset, err);
    int slot = obj->n_content;
    for (int k = 0; s == NST_OK && k < 2; k++)
        s = nst_gpu_sum_partials(seq, obj->partials, obj->tv_offset + k * obj->tv_partials, obj->tv_partials,
                                 obj->sums, slot + k, err);
    return s;
}

nst_gpu_objective *nst_gpu_objective_new(nst_gpu *gpu, const nst_model *model, int height, int width,
                                         const nst_params *params, const nst_net_options *options, nst_error *err)
{
    nst_gpu_objective *obj = nst_alloc_zero(1, sizeof *obj, "the GPU objective", err);
    if (!obj)
        return NULL;
    obj->gpu = gpu;
    obj->model = model;
    obj->options = *options;
    obj->height = height;
    obj->width = width;
    obj->border = clamp_border(options->border, height, width);
    obj->n_content = params->n_content_layers;
    obj->n_style = params->n_style_layers;
    for (int c = 0; c < 3; c++)
        obj->inv_std[c] = 1.0f / imagenet_std[c]; /* the CPU's factor, to the bit */
    nst_gpu_objective_set_weights(obj, params->content_weight, params->style_weight, params->tv_weight);
    double weights[2 * NST_MAX_LAYERS];
    int *nodes = obj->used_nodes, n_terms = obj->n_content + obj->n_style; /* content's, then style's */
    if (nst_model_resolve_layers(model, obj->n_content, params->content_layers, params->content_layer_weights, nodes,
                                 weights, &obj->deepest, err) != NST_OK ||
        nst_model_resolve_layers(model, obj->n_style, params->style_layers, params->style_layer_weights,
                                 nodes + obj->n_content, weights + obj->n_content, &obj->deepest, err) != NST_OK)
        goto fail;
    if (obj->deepest == 0) {
        nst_error_set(err, NST_ERR_INVALID, "no content or style layer selected");
        goto fail;
    }
    for (int i = 0; i < n_terms; i++) {
        gpu_term *t = i < obj->n_content ? &obj->content[i] : &obj->style[i - obj->n_content];
        t->node = nodes[i];
        t->weight = weights[i];
    }
    obj->options.used_nodes = obj->used_nodes;
    obj->options.n_used_nodes = n_terms;
    int launches = 8 * obj->n_content + 8 * NST_MAX_STYLES * obj->n_style + 8;
    if (!(obj->net = nst_gpu_net_new(gpu, model, height + 2 * obj->border, width + 2 * obj->border, obj->deepest,
                                     &obj->options, err)) ||
        allocate(obj, err) != NST_OK || !(obj->prepare = nst_gpu_seq_new(gpu, 1, err)) ||
        !(obj->loss = nst_gpu_seq_new(gpu, launches, err)) || !(obj->finish = nst_gpu_seq_new(gpu, 4, err)) ||
        nst_gpu_prepare_input(obj->prepare, height, width, obj->border, imagenet_mean, obj->inv_std, obj->picture,
                              nst_gpu_net_activation_buffer(obj->net, 0), err) != NST_OK)
        goto fail;
    return obj;
fail:
    nst_gpu_objective_free(obj);
    return NULL;
}

void nst_gpu_objective_free(nst_gpu_objective *obj)
{
    if (!obj)
        return;
    nst_gpu *gpu = obj->gpu;
    nst_gpu_seq_free(obj->prepare);
    nst_gpu_seq_free(obj->loss);
    nst_gpu_seq_free(obj->finish);
    for (int i = 0; i < obj->n_content; i++)
        nst_gpu_buffer_free(gpu, obj->content[i].target);
    for (int i = 0; i < obj->n_style; i++) {
        gpu_term *t = &obj->style[i];
        for (int g = 0; g < NST_MAX_STYLES; g++) {
            if (g > 0)
                nst_gpu_buffer_free(gpu, t->group_target[g]);
            free(t->host_target[g]);
        }
        nst_gpu_buffer_free(gpu, t->target);
    }
    nst_gpu_buffer_free(gpu, obj->mask_planes);
    nst_gpu_buffer_free(gpu, obj->masked);
    free(obj->mask_padded);
    free(obj->mask_host);
    free(obj->scaled_target);
    nst_gpu_buffer_free(gpu, obj->picture);
    nst_gpu_buffer_free(gpu, obj->grad);
    nst_gpu_buffer_free(gpu, obj->gram);
    nst_gpu_buffer_free(gpu, obj->gram_scratch);
    nst_gpu_buffer_free(gpu, obj->partials);
    nst_gpu_buffer_free(gpu, obj->sums);
    nst_gpu_net_free(obj->net);
    free(obj);
}

void nst_gpu_objective_set_weights(nst_gpu_objective *obj, double alpha, double beta, double tau)
{
    obj->alpha = alpha;
    obj->beta = beta;
    obj->tau = tau;
}

nst_gpu_buffer *nst_gpu_objective_picture(nst_gpu_objective *obj)
{
    return obj->picture;
}

nst_gpu_buffer *nst_gpu_objective_gradient(nst_gpu_objective *obj)
{
    return obj->grad;
}

/* Runs the objective's net on the picture (NULL: the one on the device). */
static nst_status forward(nst_gpu_objective *obj, const float *x, nst_error *err)
{
    nst_status s = NST_OK;
    if (x)
        s = nst_gpu_buffer_write(obj->gpu, obj->picture, 0, x, (size_t)3 * obj->height * obj->width * sizeof(float),
                                 err);
    if (s == NST_OK)
        s = nst_gpu_seq_queue(obj->prepare, err);
    return s == NST_OK ? nst_gpu_net_forward(obj->net, NULL, err) : s;
}

nst_status nst_gpu_objective_set_content(nst_gpu_objective *obj, const float *rgb_planar, nst_error *err)
{
    nst_status s = forward(obj, rgb_planar, err);
    for (int i = 0; s == NST_OK && i < obj->n_content; i++) {
        gpu_term *t = &obj->content[i];
        size_t bytes = (size_t)t->c * t->hw * sizeof(float);
        float *a = nst_alloc(bytes, "the content target", err);
        s = a ? nst_gpu_net_read_activation(obj->net, t->node, a, err) : NST_ERR_NOMEM;
        if (s == NST_OK)
            s = nst_gpu_buffer_write(obj->gpu, t->target, 0, a, bytes, err);
        free(a);
    }
    obj->have_content = s == NST_OK;
    return s;
}

/* One style picture through its own net (its size, no border, as the CPU
 * does): each style layer's Gram, scaled to the generated picture's pixel
 * count and by `weight`, added into the host's sums[i] ([c, c] each), in
 * the CPU's float operations and order. */
static nst_status add_style_picture(nst_gpu_objective *obj, const float *rgb_planar, int height, int width,
                                    float weight, float **sums, nst_error *err)
{
    nst_gpu *gpu = obj->gpu;
    nst_net_options options = obj->options;
    options.border = 0;
    options.used_nodes = obj->used_nodes + obj->n_content;
    options.n_used_nodes = obj->n_style;
    nst_gpu_net *net = nst_gpu_net_new(gpu, obj->model, height, width, obj->deepest, &options, err);
    nst_gpu_buffer *picture = net ? floats(gpu, (size_t)3 * height * width, err) : NULL;
    size_t scratch = 0;
    for (int i = 0; net && i < obj->n_style; i++) {
        int c, h, w;
        nst_gpu_net_shape(net, obj->style[i].node, &c, &h, &w);
        size_t sc = nst_gpu_gram_scratch_floats(c, h * w);
        scratch = sc > scratch ? sc : scratch;
    }
    nst_gpu_buffer *gram_scratch = picture ? floats(gpu, scratch, err) : NULL;
    nst_gpu_seq *seq = gram_scratch ? nst_gpu_seq_new(gpu, 2 * obj->n_style + 1, err) : NULL;
    float *gram = seq ? nst_alloc(obj->widest_gram * sizeof(float), "a style Gram", err) : NULL;
    nst_status s = gram ? NST_OK : failed(err);
    if (s == NST_OK)
        s = nst_gpu_buffer_write(gpu, picture, 0, rgb_planar, (size_t)3 * height * width * sizeof(float), err);
    if (s == NST_OK)
        s = nst_gpu_prepare_input(seq, height, width, 0, imagenet_mean, obj->inv_std, picture,
                                  nst_gpu_net_activation_buffer(net, 0), err);
    if (s == NST_OK)
        s = nst_gpu_seq_run(seq, err);
    if (s == NST_OK)
        s = nst_gpu_net_forward(net, NULL, err);
    if (s == NST_OK)
        s = nst_gpu_seq_clear(seq, err);
    for (int i = 0; s == NST_OK && i < obj->n_style; i++) {
        gpu_term *t = &obj->style[i];
        int c, h, w;
        nst_gpu_net_shape(net, t->node, &c, &h, &w);
        s = nst_gpu_gram(seq, c, h * w, nst_gpu_net_activation_buffer(net, t->node), t->target, gram_scratch, err);
    }
    if (s == NST_OK)
        s = nst_gpu_seq_run(seq, err);
    /* A Gram grows with the pixel count: compared as if the style had the generated picture's. */
    for (int i = 0; s == NST_OK && i < obj->n_style; i++) {
        gpu_term *t = &obj->style[i];
        int c, h, w;
        nst_gpu_net_shape(net, t->node, &c, &h, &w);
        float scale = weight * (float)t->hw / (float)(h * w);
        size_t n = (size_t)c * c;
        s = nst_gpu_buffer_read(gpu, t->target, 0, gram, n * sizeof(float), err);
        for (size_t k = 0; s == NST_OK && k < n; k++)
            sums[i][k] += scale * gram[k];
    }
    free(gram);
    nst_gpu_seq_free(seq);
    nst_gpu_buffer_free(gpu, gram_scratch);
    nst_gpu_buffer_free(gpu, picture);
    nst_gpu_net_free(net);
    return s;
}

/* Room for n_groups targets per style layer, on the host and the device. */
static nst_status reserve_groups(nst_gpu_objective *obj, int n_groups, nst_error *err)
{
    for (int i = 0; i < obj->n_style; i++) {
        gpu_term *t = &obj->style[i];
        size_t cc = (size_t)t->c * t->c;
        t->group_target[0] = t->target;
        for (int g = 0; g < n_groups; g++) {
            if (!t->host_target[g] && !(t->host_target[g] = nst_alloc(cc * sizeof(float), "a style target", err)))
                return NST_ERR_NOMEM;
            memset(t->host_target[g], 0, cc * sizeof(float));
            if (!t->group_target[g] && !(t->group_target[g] = floats(obj->gpu, cc, err)))
                return failed(err);
        }
    }
    return NST_OK;
}

/* The device's targets from the host's: group g's scaled by its region's
 * area / hw at each layer (1 without a mask), so the loss compares G_g with
 * T_g area / hw. */
static nst_status upload_targets(nst_gpu_objective *obj, nst_error *err)
{
    int groups = obj->n_groups ? obj->n_groups : 1;
    nst_status s = NST_OK;
    for (int i = 0; s == NST_OK && i < obj->n_style; i++) {
        gpu_term *t = &obj->style[i];
        size_t cc = (size_t)t->c * t->c;
        for (int g = 0; s == NST_OK && g < groups; g++) {
            float scale = obj->n_groups && obj->has_mask[g] ? (float)(obj->mask_area[g][i] / t->hw) : 1.0f;
            if (scale == 1.0f) {
                s = nst_gpu_buffer_write(obj->gpu, t->group_target[g], 0, t->host_target[g], cc * sizeof(float), err);
                continue;
            }
            if (!obj->scaled_target &&
                !(obj->scaled_target = nst_alloc(obj->widest_gram * sizeof(float), "a style target", err)))
                return NST_ERR_NOMEM;
            for (size_t k = 0; k < cc; k++)
                obj->scaled_target[k] = t->host_target[g][k] * scale;
            s = nst_gpu_buffer_write(obj->gpu, t->group_target[g], 0, obj->scaled_target, cc * sizeof(float), err);
        }
    }
    obj->loss_recorded = 0; /* the loss launches depend on the groups and their regions */
    return s;
}

nst_status nst_gpu_objective_set_styles_grouped(nst_gpu_objective *obj, int n, const float *const *rgb_planar,
                                                const int *heights, const int *widths, const double *blend,
                                                const int *groups, nst_error *err)
{
    obj->have_style = 0;
    double sum, group_sum[NST_MAX_STYLES];
    int n_groups;
    if (nst_guide_group_sums(n, blend, groups, group_sum, &sum, &n_groups, err) != NST_OK)
        return NST_ERR_INVALID;
    nst_status s = reserve_groups(obj, n_groups, err);
    for (int k = 0; s == NST_OK && k < n; k++) {
        int g = groups ? groups[k] : 0;
        float *sums[NST_MAX_LAYERS];
        for (int i = 0; i < obj->n_style; i++)
            sums[i] = obj->style[i].host_target[g];
        s = add_style_picture(obj, rgb_planar[k], heights[k], widths[k],
                              (float)((blend ? blend[k] : 1.0) / group_sum[g]), sums, err);
        if (s != NST_OK)
            nst_error_prefix(err, "style picture %d: ", k + 1);
    }
    obj->n_groups = groups ? n_groups : 0;
    for (int g = 0; g < n_groups; g++)
        obj->group_weight[g] = group_sum[g] * n_groups / sum;
    if (s == NST_OK)
        s = upload_targets(obj, err);
    obj->have_style = s == NST_OK;
    return s;
}

nst_status nst_gpu_objective_set_styles(nst_gpu_objective *obj, int n, const float *const *rgb_planar,
                                        const int *heights, const int *widths, const double *blend, nst_error *err)
{
    return nst_gpu_objective_set_styles_grouped(obj, n, rgb_planar, heights, widths, blend, NULL, err);
}

/* The masks' planes for n groups, on the host and the device, and the
 * scratch of the masked activations: made at the first call that needs them. */
static nst_status reserve_masks(nst_gpu_objective *obj, int n, nst_error *err)
{
    size_t widest = 0, planes = 0;
    for (int i = 0; i < obj->n_style; i++) {
        const gpu_term *t = &obj->style[i];
        obj->mask_offset[i] = planes;
        planes += (size_t)t->hw;
        widest = (size_t)t->c * t->hw > widest ? (size_t)t->c * t->hw : widest;
    }
    obj->group_mask_floats = planes;
    size_t padded = (size_t)(obj->height + 2 * obj->border) * (obj->width + 2 * obj->border);
    if (!obj->masked && !(obj->masked = floats(obj->gpu, widest, err)))
        return failed(err);
    if (!obj->mask_padded && !(obj->mask_padded = nst_alloc(padded * sizeof(float), "a mask", err)))
        return NST_ERR_NOMEM;
    if (!obj->mask_host && !(obj->mask_host = nst_alloc(planes * sizeof(float), "a mask", err)))
        return NST_ERR_NOMEM;
    size_t need = (size_t)n * planes * sizeof(float);
    if (!obj->mask_planes || obj->mask_planes->bytes < need) {
        nst_gpu_buffer_free(obj->gpu, obj->mask_planes);
        if (!(obj->mask_planes = floats(obj->gpu, (size_t)n * planes, err)))
            return failed(err);
    }
    return NST_OK;
}

nst_status nst_gpu_objective_set_masks(nst_gpu_objective *obj, int n, const float *const *masks, int plane_width,
                                       int x0, int y0, nst_error *err)
{
    int any;
    if (nst_guide_which_masks(n, masks, obj->has_mask, &any, err) != NST_OK)
        return NST_ERR_INVALID;
    nst_status s = any ? reserve_masks(obj, n, err) : NST_OK;
    int ph = obj->height + 2 * obj->border, pw = obj->width + 2 * obj->border;
    for (int g = 0; any && g < n && s == NST_OK; g++) {
        if (!masks[g])
            continue;
        nst_guide_window(masks[g], plane_width, x0, y0, obj->height, obj->width, obj->border, obj->mask_padded);
        for (int i = 0; i < obj->n_style && s == NST_OK; i++) {
            const gpu_term *t = &obj->style[i];
            s = nst_guide_layer(obj->mask_padded, pw, ph, obj->mask_host + obj->mask_offset[i], t->w, t->h,
                                &obj->mask_area[g][i], err);
        }
        if (s == NST_OK)
            s = nst_gpu_buffer_write(obj->gpu, obj->mask_planes, (size_t)g * obj->group_mask_floats * sizeof(float),
                                     obj->mask_host, obj->group_mask_floats * sizeof(float), err);
    }
    if (s != NST_OK)
        memset(obj->has_mask, 0, sizeof obj->has_mask);
    nst_status u = obj->have_style ? upload_targets(obj, err) : NST_OK;
    return s != NST_OK ? s : u;
}

nst_status nst_gpu_objective_set_style(nst_gpu_objective *obj, const float *rgb_planar, int height, int width,
                                       nst_error *err)
{
    return nst_gpu_objective_set_styles(obj, 1, &rgb_planar, &height, &width, NULL, err);
}

nst_status nst_gpu_objective_eval(nst_gpu_objective *obj, const float *x, float *grad, nst_gpu_losses *out,
                                  nst_error *err)
{
    if (obj->n_content > 0 && !obj->have_content)
        return nst_error_set(err, NST_ERR_INVALID, "the content picture was not set");
    if (obj->n_style > 0 && !obj->have_style)
        return nst_error_set(err, NST_ERR_INVALID, "no style picture was set");
    nst_status s = NST_OK;
    if (!obj->loss_recorded || obj->rec_alpha != obj->alpha || obj->rec_beta != obj->beta ||
        obj->rec_tau != obj->tau) {
        s = record_loss(obj, err);
        if (s == NST_OK)
            s = record_finish(obj, err);
        if (s != NST_OK)
            return s;
    }
    /* One submission: everything is queued up to the finish. */
    s = forward(obj, x, err);
    if (s == NST_OK)
        s = nst_gpu_seq_queue(obj->loss, err);
    if (s == NST_OK)
        s = nst_gpu_net_backward(obj->net, NULL, err);
    if (s == NST_OK)
        s = nst_gpu_seq_run(obj->finish, err);
    float sums[NST_MAX_LAYERS * (1 + NST_MAX_STYLES) + 2];
    int n_sums = style_slot(obj, obj->n_style, 0);
    if (s == NST_OK)
        s = nst_gpu_buffer_read(obj->gpu, obj->sums, 0, sums, (size_t)n_sums * sizeof(float), err);
    if (s == NST_OK && grad)
        s = nst_gpu_buffer_read(obj->gpu, obj->grad, 0, grad, (size_t)3 * obj->height * obj->width * sizeof(float),
                                err);
    if (s != NST_OK)
        return s;
    nst_gpu_losses l = {0, 0, 0, 0};
    for (int i = 0; i < obj->n_content; i++)
        l.content += obj->content[i].weight * sums[i] / (4.0 * (double)obj->content[i].c * obj->content[i].hw);
    for (int i = 0; i < obj->n_style; i++) {
        const gpu_term *t = &obj->style[i];
        double cc4 = 4.0 * (double)t->c * t->c;
        if (!obj->n_groups)
            l.style += t->weight * sums[style_slot(obj, i, 0)] / (cc4 * (double)t->hw * t->hw);
        for (int g = 0; g < obj->n_groups; g++) {
            double area = group_area(obj, i, g); /* sum D'^2 = area^2 sum D^2 */
            if (area > 0)
                l.style += t->weight * obj->group_weight[g] * sums[style_slot(obj, i, g)] / (cc4 * t->hw * area);
        }
    }
    int h = obj->height, w = obj->width;
    double nh = 3.0 * h * (w - 1), nv = 3.0 * (h - 1) * w;
    l.tv = (nh > 0 ? sums[obj->n_content] / nh : 0) + (nv > 0 ? sums[obj->n_content + 1] / nv : 0);
    l.total = obj->alpha * l.content + obj->beta * l.style + obj->tau * l.tv;
    if (out)
        *out = l;
    return NST_OK;
}
