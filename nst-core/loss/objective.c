/* The objective: content, Gram style and total-variation terms, their
 * gradient with respect to the picture.  Targets (content activations,
 * blended style Grams) are computed once and kept. */
#include "loss/objective.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/parallel.h"
#include "image/image.h"
#include "nn/guide.h"

static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
static const float imagenet_std[3] = {0.229f, 0.224f, 0.225f};

typedef struct layer_term {
    int node;
    double weight; /* normalised layer weight */
    int c, hw;     /* activation shape as [c, h*w] */
    int h, w;
    float *target; /* content: activations [c, hw]; style: Gram [c, c], one per group with regions */
} layer_term;

struct nst_objective {
    const nst_model *model;
    nst_net_options options;
    nst_net *net;
    int height, width;
    int n_content, n_style;
    layer_term content[NST_MAX_LAYERS];
    layer_term style[NST_MAX_LAYERS];
    int have_content, have_style;
    double alpha, beta, tau;
    const atomic_int *cancel;
    int used_nodes[2 * NST_MAX_LAYERS]; /* the loss layers, so the net may fuse and share the rest */
    int border;    /* reflect padding around the picture, px */
    float *padded; /* the picture with its border, [3, H+2b, W+2b] */
    float *input;  /* the normalised padded picture fed to the net */
    float *gram;   /* scratch: the current Gram of the widest style layer, per worker */
    float *grad_input;
    /* Regions (objective.h): 0 = the styles blend into one target. */
    int n_groups;
    int target_groups;                 /* Grams each style target has room for */
    double group_weight[NST_MAX_STYLES]; /* b_s */
    int has_mask[NST_MAX_STYLES];
    double mask_area[NST_MAX_STYLES][NST_MAX_LAYERS];
    size_t mask_offset[NST_MAX_LAYERS]; /* of each style layer's plane in a group's masks */
    size_t group_mask_floats;
    int mask_groups;    /* groups mask_planes has room for */
    float *mask_planes; /* [group][style layer][h w] */
    float *mask_padded; /* scratch: a mask window with the border */
    float *masked;      /* scratch: A . M of the widest style layer */
};

/* A region smaller than this share of a layer's samples adds nothing. */
#define EMPTY_REGION 1e-6

void nst_normalize_imagenet(const float *rgb_planar, int height, int width, float *out)
{
    size_t plane = (size_t)height * width;
    for (int c = 0; c < 3; c++) {
        const float *src = rgb_planar + c * plane;
        float *dst = out + c * plane;
        float inv_std = 1.0f / imagenet_std[c];
        for (size_t i = 0; i < plane; i++)
            dst[i] = (src[i] - imagenet_mean[c]) * inv_std;
    }
}

/* Resolves layer names to nodes with normalised weights; returns the deepest node. */
static nst_status resolve_layers(const nst_model *model, int n, const char names[][NST_LAYER_NAME_MAX],
                                 const double *weights, layer_term *terms, int *deepest, nst_error *err)
{
    int nodes[NST_MAX_LAYERS];
    double normalised[NST_MAX_LAYERS];
    nst_status s = nst_model_resolve_layers(model, n, names, weights, nodes, normalised, deepest, err);
    for (int i = 0; s == NST_OK && i < n; i++)
        terms[i].node = nodes[i], terms[i].weight = normalised[i];
    return s;
}

int nst_objective_border(int border, int height, int width)
{
    /* Reflect padding must be smaller than the picture. */
    if (border > height - 1)
        border = height - 1;
    if (border > width - 1)
        border = width - 1;
    return border > 0 ? border : 0;
}

nst_objective *nst_objective_new(const nst_model *model, int height, int width, const nst_params *params,
                                 const nst_net_options *options, nst_error *err)
{
    nst_objective *obj = nst_alloc_zero(1, sizeof *obj, "the objective", err);
    if (!obj)
        return NULL;
    obj->model = model;
    obj->options = *options;
    obj->height = height;
    obj->width = width;
    obj->border = nst_objective_border(options->border, height, width);
    obj->n_content = params->n_content_layers;
    obj->n_style = params->n_style_layers;
    nst_objective_set_weights(obj, params->content_weight, params->style_weight, params->tv_weight);

    int deepest = 0;
    if (resolve_layers(model, obj->n_content, params->content_layers, params->content_layer_weights, obj->content,
                       &deepest, err) != NST_OK ||
        resolve_layers(model, obj->n_style, params->style_layers, params->style_layer_weights, obj->style,
                       &deepest, err) != NST_OK)
        goto fail;
    if (deepest == 0) {
        nst_error_set(err, NST_ERR_INVALID, "no content or style layer selected");
        goto fail;
    }
    for (int i = 0; i < obj->n_content + obj->n_style; i++)
        obj->used_nodes[i] = i < obj->n_content ? obj->content[i].node : obj->style[i - obj->n_content].node;
    obj->options.used_nodes = obj->used_nodes;
    obj->options.n_used_nodes = obj->n_content + obj->n_style;
    obj->net = nst_net_new(model, height + 2 * obj->border, width + 2 * obj->border, deepest, &obj->options, err);
    if (!obj->net)
        goto fail;

    int max_c = 0;
    for (int i = 0; i < obj->n_content + obj->n_style; i++) {
        layer_term *t = i < obj->n_content ? &obj->content[i] : &obj->style[i - obj->n_content];
        int h, w;
        nst_net_activation(obj->net, t->node, &t->c, &h, &w);
        t->hw = h * w;
        t->h = h;
        t->w = w;
        size_t count = i < obj->n_content ? (size_t)t->c * t->hw : (size_t)t->c * t->c;
        t->target = nst_alloc_zero(count, sizeof(float), "loss targets", err);
        if (!t->target)
            goto fail;
        if (i >= obj->n_content && t->c > max_c)
            max_c = t->c;
    }
    obj->target_groups = 1;
    size_t plane = (size_t)(height + 2 * obj->border) * (width + 2 * obj->border);
    obj->gram = nst_alloc_zero(nst_objective_gram_floats(max_c), sizeof(float), "Gram matrices", err);
    obj->padded = nst_alloc_zero(3 * plane, sizeof(float), "the padded picture", err);
    obj->input = nst_alloc_zero(3 * plane, sizeof(float), "the network input", err);
    obj->grad_input = nst_alloc_zero(3 * plane, sizeof(float), "the input gradient", err);
    if (!obj->gram || !obj->padded || !obj->input || !obj->grad_input)
        goto fail;
    return obj;
fail:
    nst_objective_free(obj);
    return NULL;
}

void nst_objective_free(nst_objective *obj)
{
    if (!obj)
        return;
    for (int i = 0; i < obj->n_content; i++)
        free(obj->content[i].target);
    for (int i = 0; i < obj->n_style; i++)
        free(obj->style[i].target);
    nst_net_free(obj->net);
    free(obj->gram);
    free(obj->padded);
    free(obj->input);
    free(obj->grad_input);
    free(obj->mask_planes);
    free(obj->mask_padded);
    free(obj->masked);
    free(obj);
}

void nst_objective_set_cancel(nst_objective *obj, const atomic_int *cancel)
{
    obj->cancel = cancel;
}

void nst_objective_set_weights(nst_objective *obj, double alpha, double beta, double tau)
{
    obj->alpha = alpha;
    obj->beta = beta;
    obj->tau = tau;
}

static nst_status forward_picture(nst_net *net, const float *rgb_planar, float *input, const atomic_int *cancel,
                                  nst_error *err)
{
    nst_normalize_imagenet(rgb_planar, nst_net_height(net), nst_net_width(net), input);
    return nst_net_forward(net, input, cancel, err);
}

/* padded [3, h+2b, w+2b] from x [3, h, w]; with add_back, the adjoint:
 * x += fold of padded (a gradient on the padded picture). */
static void reflect_border(float *x, int h, int w, int b, float *padded, int add_back)
{
    int ph = h + 2 * b, pw = w + 2 * b;
    for (int c = 0; c < 3; c++) {
        float *xc = x + (size_t)c * h * w;
        float *pc = padded + (size_t)c * ph * pw;
        for (int y = 0; y < ph; y++) {
            const size_t row = (size_t)nst_padded_source(y - b, h, NST_PAD_REFLECT) * w;
            float *prow = pc + (size_t)y * pw;
            for (int i = 0; i < pw; i++) {
                size_t k = row + (size_t)nst_padded_source(i - b, w, NST_PAD_REFLECT);
                if (add_back)
                    xc[k] += prow[i];
                else
                    prow[i] = xc[k];
            }
        }
    }
}

/* Runs the objective's net on x, adding the border first. */
static nst_status forward_bordered(nst_objective *obj, const float *x, nst_error *err)
{
    const float *picture = x;
    if (obj->border > 0) {
        reflect_border((float *)x, obj->height, obj->width, obj->border, obj->padded, 0);
        picture = obj->padded;
    }
    return forward_picture(obj->net, picture, obj->input, obj->cancel, err);
}

nst_status nst_objective_set_content(nst_objective *obj, const float *rgb_planar, nst_error *err)
{
    nst_status s = forward_bordered(obj, rgb_planar, err);
    if (s != NST_OK)
        return s;
    for (int i = 0; i < obj->n_content; i++) {
        layer_term *t = &obj->content[i];
        const float *a = nst_net_activation(obj->net, t->node, NULL, NULL, NULL);
        memcpy(t->target, a, (size_t)t->c * t->hw * sizeof(float));
    }
    obj->have_content = 1;
    return NST_OK;
}

/* Grams are summed over parts of the hw columns, as many parts as the
 * machine has cores (not as workers are asked for, so --threads does not
 * change a bit of the result), each into its own [c, c] slice of the
 * scratch (nst_objective_gram_floats). */
typedef struct gram_job {
    const float *a;
    int c, hw, parts;
    float *gram;  /* the scratch: part p's sum at p c^2 */
    float scale;  /* gradient: grad += scale D A, D in gram */
    float *grad;
} gram_job;

static void gram_part(void *ctx, int part, int worker)
{
    (void)worker;
    const gram_job *job = ctx;
    int k0, k1;
    nst_parallel_range(job->hw, job->parts, part, &k0, &k1);
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, job->c, k1 - k0, 1.0f, job->a + k0, job->hw, 0.0f,
                job->gram + (size_t)part * job->c * job->c, job->c);
}

/* Parts of at least this many columns: below, threads cost more than they save. */
enum { GRAM_MIN_COLUMNS = 256 };

static int gram_parts(int hw)
{
    int parts = nst_parallel_max_workers(), most = hw / GRAM_MIN_COLUMNS;
    return parts < most ? parts : (most > 0 ? most : 1);
}

size_t nst_objective_gram_floats(int max_c)
{
    return (size_t)max_c * max_c * (size_t)nst_parallel_max_workers();
}

/* gram = A A^T for A [c, hw] (both triangles filled); gram holds
 * nst_objective_gram_floats(c). */
static void gram_matrix(const float *a, int c, int hw, float *gram)
{
    gram_job job = {a, c, hw, gram_parts(hw), gram, 0.0f, NULL};
    nst_parallel_for(job.parts, gram_part, &job);
    size_t cc = (size_t)c * c;
    for (int p = 1; p < job.parts; p++)
        for (int i = 0; i < c; i++)
            for (int j = i; j < c; j++)
                gram[(size_t)i * c + j] += gram[p * cc + (size_t)i * c + j];
    for (int i = 0; i < c; i++)
        for (int j = 0; j < i; j++)
            gram[(size_t)i * c + j] = gram[(size_t)j * c + i];
}

/* grad[:, part] += scale * D A[:, part] for the symmetric D in job->gram. */
static void gram_gradient_part(void *ctx, int part, int worker)
{
    (void)worker;
    const gram_job *job = ctx;
    int k0, k1;
    nst_parallel_range(job->hw, job->parts, part, &k0, &k1);
    cblas_ssymm(CblasRowMajor, CblasLeft, CblasUpper, job->c, k1 - k0, job->scale, job->gram, job->c, job->a + k0,
                job->hw, 1.0f, job->grad + k0, job->hw);
}

/* *buffer replaced by `floats` zeros (the old one kept on failure). */
static nst_status regrow(float **buffer, size_t floats, const char *what, nst_error *err)
{
    float *grown = nst_alloc_zero(floats, sizeof(float), what, err);
    if (!grown)
        return NST_ERR_NOMEM;
    free(*buffer);
    *buffer = grown;
    return NST_OK;
}

/* Room for n_groups Grams in every style target. */
static nst_status reserve_targets(nst_objective *obj, int n_groups, nst_error *err)
{
    if (n_groups <= obj->target_groups)
        return NST_OK;
    for (int i = 0; i < obj->n_style; i++) {
        layer_term *t = &obj->style[i];
        if (regrow(&t->target, (size_t)n_groups * t->c * t->c, "the regions' style targets", err) != NST_OK)
            return NST_ERR_NOMEM;
    }
    obj->target_groups = n_groups;
    return NST_OK;
}

nst_status nst_objective_set_styles(nst_objective *obj, int n, const float *const *rgb_planar,
                                    const int *heights, const int *widths, const double *blend,
                                    nst_error *err)
{
    return nst_objective_set_styles_grouped(obj, n, rgb_planar, heights, widths, blend, NULL, err);
}

nst_status nst_objective_set_styles_grouped(nst_objective *obj, int n, const float *const *rgb_planar,
                                            const int *heights, const int *widths, const double *blend,
                                            const int *groups, nst_error *err)
{
    /* group_sum[g]: the weights of group g's pictures (all in group 0 without groups). */
    double sum, group_sum[NST_MAX_STYLES];
    int n_groups;
    if (nst_guide_group_sums(n, blend, groups, group_sum, &sum, &n_groups, err) != NST_OK)
        return NST_ERR_INVALID;
    if (reserve_targets(obj, n_groups, err) != NST_OK)
        return NST_ERR_NOMEM;
    obj->n_groups = groups ? n_groups : 0;
    for (int g = 0; g < n_groups; g++)
        obj->group_weight[g] = group_sum[g] * n_groups / sum;
    for (int i = 0; i < obj->n_style; i++)
        memset(obj->style[i].target, 0, (size_t)n_groups * obj->style[i].c * obj->style[i].c * sizeof(float));

    int deepest = 0;
    for (int i = 0; i < obj->n_style; i++)
        if (obj->style[i].node > deepest)
            deepest = obj->style[i].node;
    for (int k = 0; k < n; k++) {
        /* A style picture the net's size (without border) runs through the
         * objective's own net; any other size gets its own temporary net, so
         * peak memory holds two nets only then. */
        int own = obj->border == 0 && heights[k] == obj->height && widths[k] == obj->width;
        nst_net *net = own ? obj->net : nst_net_new(obj->model, heights[k], widths[k], deepest, &obj->options, err);
        if (!net)
            return nst_error_prefix(err, "style picture %d: ", k + 1);
        float *input = own ? obj->input : nst_alloc((size_t)3 * heights[k] * widths[k] * sizeof(float), "the style input", err);
        nst_status s = input ? forward_picture(net, rgb_planar[k], input, obj->cancel, err) : NST_ERR_NOMEM;
        if (!own)
            free(input);
        if (s != NST_OK) {
            if (!own)
                nst_net_free(net);
            return s;
        }
        int g = groups ? groups[k] : 0;
        float w = (float)((blend ? blend[k] : 1.0) / group_sum[g]);
        for (int i = 0; i < obj->n_style; i++) {
            layer_term *t = &obj->style[i];
            int h, wd;
            const float *a = nst_net_activation(net, t->node, NULL, &h, &wd);
            gram_matrix(a, t->c, h * wd, obj->gram);
            /* The style picture may differ in size: Grams are compared as if it
             * had the generated picture's hw, so scale by hw_G / hw_S. */
            float scale = w * (float)t->hw / (float)(h * wd);
            if (group_sum[g] > 0)
                cblas_saxpy(t->c * t->c, scale, obj->gram, 1, t->target + (size_t)g * t->c * t->c, 1);
        }
        if (!own)
            nst_net_free(net);
    }
    obj->have_style = 1;
    return NST_OK;
}

/* ---- regions ---- */

size_t nst_objective_mask_floats(int n_groups, int n_layers, const int (*shapes)[3], int padded_height,
                                 int padded_width)
{
    size_t planes = 0, widest = 0;
    for (int i = 0; i < n_layers; i++) {
        size_t hw = (size_t)shapes[i][1] * shapes[i][2];
        planes += hw;
        if ((size_t)shapes[i][0] * hw > widest)
            widest = (size_t)shapes[i][0] * hw;
    }
    return (size_t)n_groups * planes + widest + (size_t)padded_height * padded_width;
}

/* The scratch and the planes of n groups' masks, allocated at the first call
 * that needs them. */
static nst_status reserve_masks(nst_objective *obj, int n, nst_error *err)
{
    int ph = obj->height + 2 * obj->border, pw = obj->width + 2 * obj->border;
    size_t widest = 0;
    obj->group_mask_floats = 0;
    for (int i = 0; i < obj->n_style; i++) {
        const layer_term *t = &obj->style[i];
        obj->mask_offset[i] = obj->group_mask_floats;
        obj->group_mask_floats += (size_t)t->hw;
        if ((size_t)t->c * t->hw > widest)
            widest = (size_t)t->c * t->hw;
    }
    if (!obj->masked) {
        obj->masked = nst_alloc(widest * sizeof(float), "the masked activations", err);
        obj->mask_padded = nst_alloc((size_t)ph * pw * sizeof(float), "a mask", err);
        if (!obj->masked || !obj->mask_padded)
            return NST_ERR_NOMEM;
    }
    if (n > obj->mask_groups) {
        if (regrow(&obj->mask_planes, (size_t)n * obj->group_mask_floats, "the regions' masks", err) != NST_OK)
            return NST_ERR_NOMEM;
        obj->mask_groups = n;
    }
    return NST_OK;
}

nst_status nst_objective_set_masks(nst_objective *obj, int n, const float *const *masks, int plane_width, int x0,
                                   int y0, nst_error *err)
{
    int any;
    if (nst_guide_which_masks(n, masks, obj->has_mask, &any, err) != NST_OK)
        return NST_ERR_INVALID;
    if (!any)
        return NST_OK;
    nst_status s = reserve_masks(obj, n, err);
    int ph = obj->height + 2 * obj->border, pw = obj->width + 2 * obj->border;
    for (int g = 0; g < n && s == NST_OK; g++) {
        if (!masks[g])
            continue;
        nst_guide_window(masks[g], plane_width, x0, y0, obj->height, obj->width, obj->border, obj->mask_padded);
        for (int i = 0; i < obj->n_style && s == NST_OK; i++) {
            const layer_term *t = &obj->style[i];
            float *m = obj->mask_planes + g * obj->group_mask_floats + obj->mask_offset[i];
            s = nst_guide_layer(obj->mask_padded, pw, ph, m, t->w, t->h, &obj->mask_area[g][i], err);
        }
    }
    if (s != NST_OK)
        memset(obj->has_mask, 0, sizeof obj->has_mask);
    return s;
}

/* The guided style term of style layer i (objective.h); adds its gradient,
 * times coeff, to grad. */
static double guided_style_term(nst_objective *obj, int i, const float *a, float *grad, double coeff)
{
    const layer_term *t = &obj->style[i];
    size_t cc = (size_t)t->c * t->c;
    double hw = t->hw, sum_groups = 0;
    for (int g = 0; g < obj->n_groups; g++) {
        const float *m = obj->has_mask[g] ? obj->mask_planes + g * obj->group_mask_floats + obj->mask_offset[i] : NULL;
        double area = m ? obj->mask_area[g][i] : hw, b = obj->group_weight[g];
        if (!(b > 0) || area < EMPTY_REGION * hw)
            continue;
        const float *am = a;
        if (m) {
            for (int c = 0; c < t->c; c++)
                for (int p = 0; p < t->hw; p++)
                    obj->masked[(size_t)c * t->hw + p] = a[(size_t)c * t->hw + p] * m[p];
            am = obj->masked;
        }
        gram_matrix(am, t->c, t->hw, obj->gram);
        const float *target = t->target + (size_t)g * cc;
        float inv_area = (float)(1.0 / area), inv_hw = (float)(1.0 / hw);
        double sum = 0;
        for (size_t k = 0; k < cc; k++) {
            obj->gram[k] = obj->gram[k] * inv_area - target[k] * inv_hw;
            sum += (double)obj->gram[k] * obj->gram[k];
        }
        sum_groups += b * (area / hw) * sum / (4.0 * t->c * t->c);
        if (grad) {
            /* d/dA = b D (A . M^2) / (c^2 hw), D in the scratch. */
            if (m)
                for (int c = 0; c < t->c; c++)
                    for (int p = 0; p < t->hw; p++)
                        obj->masked[(size_t)c * t->hw + p] *= m[p];
            gram_job job = {am, t->c, t->hw, gram_parts(t->hw), obj->gram,
                            (float)(coeff * t->weight * b / ((double)t->c * t->c * hw)), grad};
            nst_parallel_for(job.parts, gram_gradient_part, &job);
        }
    }
    return sum_groups;
}

/* Content term of one layer; adds alpha * weight * d/da to grad. */
static double content_term(const layer_term *t, const float *a, float *grad, double coeff)
{
    size_t count = (size_t)t->c * t->hw;
    double norm = 4.0 * (double)count;
    double sum = 0;
    for (size_t i = 0; i < count; i++) {
        double d = (double)a[i] - t->target[i];
        sum += d * d;
    }
    if (grad) {
        float g = (float)(coeff * t->weight * 2.0 / norm);
        for (size_t i = 0; i < count; i++)
            grad[i] += g * (a[i] - t->target[i]);
    }
    return sum / norm;
}

/* Style term of one layer: sum (G - S)^2 / (4 c^2 hw^2).  d/dA = (G - S) A / (c^2 hw^2). */
static double style_term(const layer_term *t, const float *a, float *gram, float *grad, double coeff)
{
    size_t cc = (size_t)t->c * t->c;
    double norm = 4.0 * (double)t->c * t->c * (double)t->hw * t->hw;
    gram_matrix(a, t->c, t->hw, gram);
    double sum = 0;
    for (size_t i = 0; i < cc; i++) {
        gram[i] -= t->target[i];
        sum += (double)gram[i] * gram[i];
    }
    if (grad) {
        float g = (float)(coeff * t->weight * 4.0 / norm);
        gram_job job = {a, t->c, t->hw, gram_parts(t->hw), gram, g, grad};
        nst_parallel_for(job.parts, gram_gradient_part, &job);
    }
    return sum / norm;
}

/* TV on planar [3, h, w]: mean squared horizontal + vertical differences. */
static double tv_term(const float *x, int h, int w, float *grad, double coeff)
{
    double nh = 3.0 * h * (w - 1), nv = 3.0 * (h - 1) * w;
    double sh = 0, sv = 0;
    float gh = nh > 0 ? (float)(2.0 * coeff / nh) : 0.0f;
    float gv = nv > 0 ? (float)(2.0 * coeff / nv) : 0.0f;
    for (int c = 0; c < 3; c++) {
        const float *p = x + (size_t)c * h * w;
        float *g = grad ? grad + (size_t)c * h * w : NULL;
        for (int y = 0; y < h; y++) {
            for (int i = 0; i < w; i++) {
                size_t k = (size_t)y * w + i;
                if (i + 1 < w) {
                    float d = p[k + 1] - p[k];
                    sh += (double)d * d;
                    if (g) {
                        g[k + 1] += gh * d;
                        g[k] -= gh * d;
                    }
                }
                if (y + 1 < h) {
                    float d = p[k + w] - p[k];
                    sv += (double)d * d;
                    if (g) {
                        g[k + w] += gv * d;
                        g[k] -= gv * d;
                    }
                }
            }
        }
    }
    return (nh > 0 ? sh / nh : 0) + (nv > 0 ? sv / nv : 0);
}

nst_status nst_objective_eval(nst_objective *obj, const float *x, float *grad, nst_losses *out, nst_error *err)
{
    if (obj->n_content > 0 && !obj->have_content)
        return nst_error_set(err, NST_ERR_INVALID, "the content picture was not set");
    if (obj->n_style > 0 && !obj->have_style)
        return nst_error_set(err, NST_ERR_INVALID, "no style picture was set");
    nst_status s = forward_bordered(obj, x, err);
    if (s != NST_OK)
        return s;
    if (grad)
        nst_net_zero_gradients(obj->net);

    nst_losses l = {0, 0, 0, 0};
    for (int i = 0; i < obj->n_content; i++) {
        const layer_term *t = &obj->content[i];
        const float *a = nst_net_activation(obj->net, t->node, NULL, NULL, NULL);
        float *g = grad && obj->alpha != 0 ? nst_net_gradient(obj->net, t->node) : NULL;
        l.content += t->weight * content_term(t, a, g, obj->alpha);
    }
    for (int i = 0; i < obj->n_style; i++) {
        const layer_term *t = &obj->style[i];
        const float *a = nst_net_activation(obj->net, t->node, NULL, NULL, NULL);
        float *g = grad && obj->beta != 0 ? nst_net_gradient(obj->net, t->node) : NULL;
        l.style += t->weight * (obj->n_groups ? guided_style_term(obj, i, a, g, obj->beta)
                                              : style_term(t, a, obj->gram, g, obj->beta));
    }

    if (grad) {
        s = nst_net_backward(obj->net, obj->grad_input, obj->cancel, err);
        if (s != NST_OK)
            return s;
        /* Chain through the normalisation (d input / dx = 1/std per channel),
         * then fold the border's gradient back onto the picture. */
        int ph = obj->height + 2 * obj->border, pw = obj->width + 2 * obj->border;
        size_t pplane = (size_t)ph * pw;
        for (int c = 0; c < 3; c++)
            cblas_sscal((int)pplane, 1.0f / imagenet_std[c], obj->grad_input + c * pplane, 1);
        if (obj->border > 0) {
            memset(grad, 0, 3 * (size_t)obj->height * obj->width * sizeof(float));
            reflect_border(grad, obj->height, obj->width, obj->border, obj->grad_input, 1);
        } else {
            memcpy(grad, obj->grad_input, 3 * pplane * sizeof(float));
        }
    }
    l.tv = tv_term(x, obj->height, obj->width, grad, obj->tau);
    l.total = obj->alpha * l.content + obj->beta * l.style + obj->tau * l.tv;
    if (out)
        *out = l;
    return NST_OK;
}
