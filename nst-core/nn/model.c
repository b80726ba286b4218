/* Model topologies (SqueezeNet 1.1, VGG19, VGG16) and weight loading. */
#include "nn/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "io/weights.h"

/* Building a topology: nodes are appended in order; a failure sets err once
 * and later calls become no-ops, so builders read as straight-line code. */
typedef struct builder {
    nst_model *model;
    int capacity;
    nst_weight_source *src;   /* the weights, or... */
    nst_model_fill_fn fill;   /* ...what writes them */
    void *fill_ctx;
    nst_error *err;
    nst_status status;
} builder;

static int add_node(builder *b, nst_op op, const char *name, int input)
{
    if (b->status != NST_OK)
        return -1;
    nst_model *m = b->model;
    if (m->n_nodes == b->capacity) {
        int cap = b->capacity ? 2 * b->capacity : 64;
        nst_node *nodes = realloc(m->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) {
            b->status = nst_error_set(b->err, NST_ERR_NOMEM, "out of memory building the model");
            return -1;
        }
        m->nodes = nodes;
        b->capacity = cap;
    }
    nst_node *n = &m->nodes[m->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    snprintf(n->name, sizeof n->name, "%s", name ? name : "");
    n->inputs[0] = input;
    n->inputs[1] = -1;
    return m->n_nodes++;
}

static const float *load_tensor(builder *b, const char *name, int ndim, const int64_t *shape)
{
    float *data = NULL;
    if (b->status != NST_OK)
        return NULL;
    nst_model *m = b->model;
    float **tensors = realloc(m->tensors, (size_t)(m->n_tensors + 1) * sizeof *tensors);
    if (!tensors) {
        b->status = nst_error_set(b->err, NST_ERR_NOMEM, "out of memory building the model");
        return NULL;
    }
    m->tensors = tensors;
    if (b->fill) {
        size_t count = 1;
        for (int d = 0; d < ndim; d++)
            count *= (size_t)shape[d];
        data = nst_alloc_zero(count, sizeof *data, "the model's weights", b->err);
        b->status = data ? NST_OK : NST_ERR_NOMEM;
        if (data)
            b->fill(b->fill_ctx, name, ndim, shape, data);
    } else {
        b->status = nst_weight_source_get(b->src, name, ndim, shape, &data, b->err);
    }
    if (b->status != NST_OK)
        return NULL;
    m->tensors[m->n_tensors++] = data;
    return data;
}

/* A convolution whose weights are `wname` / `bname`. */
static int add_conv(builder *b, const char *name, int input, int in_c, int out_c, int k, int stride, int pad,
                    const char *wname, const char *bname)
{
    int id = add_node(b, NST_OP_CONV, name, input);
    if (id < 0)
        return -1;
    int64_t wshape[4] = {out_c, in_c, k, k};
    int64_t bshape[1] = {out_c};
    const float *w = load_tensor(b, wname, 4, wshape);
    const float *bias = load_tensor(b, bname, 1, bshape);
    if (b->status != NST_OK)
        return -1;
    nst_node *n = &b->model->nodes[id];
    n->conv = (nst_conv_desc){in_c, out_c, k, k, stride, pad, NST_PAD_ZERO};
    n->weight = w;
    n->bias = bias;
    return id;
}

static int add_pool(builder *b, const char *name, int input, int kernel, int stride)
{
    int id = add_node(b, NST_OP_MAXPOOL, name, input);
    if (id >= 0) {
        b->model->nodes[id].kernel = kernel;
        b->model->nodes[id].stride = stride;
    }
    return id;
}

/* ---- SqueezeNet 1.1: tensors squeezenet0_conv{N}_weight / _bias ---- */

static int squeeze_conv(builder *b, int *next_tensor, const char *relu_name, int input, int in_c, int out_c,
                        int k, int stride, int pad)
{
    char wname[64], bname[64];
    snprintf(wname, sizeof wname, "squeezenet0_conv%d_weight", *next_tensor);
    snprintf(bname, sizeof bname, "squeezenet0_conv%d_bias", *next_tensor);
    (*next_tensor)++;
    int conv = add_conv(b, NULL, input, in_c, out_c, k, stride, pad, wname, bname);
    return add_node(b, NST_OP_RELU, relu_name, conv);
}

/* Fire module: squeeze 1x1, then expand 1x1 || expand 3x3 (pad 1), concatenated 1x1 first. */
static int fire(builder *b, int *next_tensor, const char *name, int input, int in_c, int squeeze, int expand)
{
    int s = squeeze_conv(b, next_tensor, NULL, input, in_c, squeeze, 1, 1, 0);
    int e1 = squeeze_conv(b, next_tensor, NULL, s, squeeze, expand, 1, 1, 0);
    int e3 = squeeze_conv(b, next_tensor, NULL, s, squeeze, expand, 3, 1, 1);
    int cat = add_node(b, NST_OP_CONCAT, name, e1);
    if (cat >= 0)
        b->model->nodes[cat].inputs[1] = e3;
    return cat;
}

static void build_squeezenet(builder *b)
{
    int t = 0;
    int x = add_node(b, NST_OP_INPUT, "input", -1);
    x = squeeze_conv(b, &t, "conv1", x, 3, 64, 3, 2, 0);
    x = add_pool(b, "pool1", x, 3, 2);
    x = fire(b, &t, "fire2", x, 64, 16, 64);
    x = fire(b, &t, "fire3", x, 128, 16, 64);
    x = add_pool(b, "pool3", x, 3, 2);
    x = fire(b, &t, "fire4", x, 128, 32, 128);
    x = fire(b, &t, "fire5", x, 256, 32, 128);
    x = add_pool(b, "pool5", x, 3, 2);
    x = fire(b, &t, "fire6", x, 256, 48, 192);
    x = fire(b, &t, "fire7", x, 384, 48, 192);
    x = fire(b, &t, "fire8", x, 384, 64, 256);
    x = fire(b, &t, "fire9", x, 512, 64, 256);
    /* The classifier conv; kept so the reference logits can be checked. */
    squeeze_conv(b, &t, "conv10", x, 512, 1000, 1, 1, 0);
}

/* ---- VGG in torchvision's layout: features.N.weight / features.N.bias ---- */

static void build_vgg(builder *b, const int *blocks /* convs per block, 5 blocks */)
{
    static const int widths[5] = {64, 128, 256, 512, 512};
    int index = 0; /* torchvision's position in `features` */
    int in_c = 3;
    int x = add_node(b, NST_OP_INPUT, "input", -1);
    for (int block = 0; block < 5; block++) {
        for (int k = 0; k < blocks[block]; k++) {
            char conv_name[NST_LAYER_NAME_MAX], relu_name[NST_LAYER_NAME_MAX], wname[64], bname[64];
            snprintf(conv_name, sizeof conv_name, "conv%d_%d", block + 1, k + 1);
            snprintf(relu_name, sizeof relu_name, "relu%d_%d", block + 1, k + 1);
            snprintf(wname, sizeof wname, "features.%d.weight", index);
            snprintf(bname, sizeof bname, "features.%d.bias", index);
            x = add_conv(b, conv_name, x, in_c, widths[block], 3, 1, 1, wname, bname);
            x = add_node(b, NST_OP_RELU, relu_name, x);
            in_c = widths[block];
            index += 2;
        }
        char pool_name[NST_LAYER_NAME_MAX];
        snprintf(pool_name, sizeof pool_name, "pool%d", block + 1);
        x = add_pool(b, pool_name, x, 2, 2);
        index += 1;
    }
}

/* The topology of `kind` with the builder's weights; `path` names them. */
static nst_model *build_model(nst_model_kind kind, builder *b, const char *path)
{
    static const int vgg19_blocks[5] = {2, 2, 4, 4, 4};
    static const int vgg16_blocks[5] = {2, 2, 3, 3, 3};
    switch (kind) {
    case NST_MODEL_SQUEEZENET11: build_squeezenet(b); break;
    case NST_MODEL_VGG19: build_vgg(b, vgg19_blocks); break;
    case NST_MODEL_VGG16: build_vgg(b, vgg16_blocks); break;
    default: b->status = nst_error_set(b->err, NST_ERR_INVALID, "unknown model kind %d", (int)kind);
    }
    if (b->status == NST_OK)
        b->model->path = nst_strdup(path, b->err);
    if (b->status != NST_OK || !b->model->path) {
        nst_model_free(b->model);
        return NULL;
    }
    return b->model;
}

nst_model *nst_model_from_source(nst_model_kind kind, const char *path, nst_error *err)
{
    nst_model *model = nst_alloc_zero(1, sizeof *model, "the model", err);
    if (!model)
        return NULL;
    model->kind = kind;
    builder b = {.model = model, .err = err, .status = NST_OK};
    b.src = nst_weight_source_open(path, err);
    if (!b.src) {
        nst_model_free(model);
        return NULL;
    }
    model = build_model(kind, &b, path);
    nst_weight_source_free(b.src);
    return model;
}

nst_model *nst_model_from_fill(nst_model_kind kind, nst_model_fill_fn fill, void *ctx, nst_error *err)
{
    nst_model *model = nst_alloc_zero(1, sizeof *model, "the model", err);
    if (!model)
        return NULL;
    model->kind = kind;
    builder b = {.model = model, .fill = fill, .fill_ctx = ctx, .err = err, .status = NST_OK};
    return build_model(kind, &b, "(weights made in memory)");
}

nst_model *nst_model_load(nst_model_kind kind, const char *model_path, nst_error *err)
{
    char *path = nst_model_find(kind, model_path, err);
    if (!path)
        return NULL;
    nst_model *model = nst_model_from_source(kind, path, err);
    free(path);
    return model;
}

void nst_model_free(nst_model *model)
{
    if (!model)
        return;
    for (int i = 0; i < model->n_tensors; i++)
        free(model->tensors[i]);
    free(model->tensors);
    free(model->nodes);
    free(model->path);
    free(model);
}

nst_model_kind nst_model_get_kind(const nst_model *model)
{
    return model->kind;
}

int nst_model_find_layer(const nst_model *model, const char *name)
{
    for (int i = 1; i < model->n_nodes; i++)
        if (model->nodes[i].name[0] && strcmp(model->nodes[i].name, name) == 0)
            return i;
    return -1;
}

nst_status nst_model_resolve_layers(const nst_model *model, int n, const char names[][NST_LAYER_NAME_MAX],
                                    const double *weights, int *nodes, double *normalised, int *deepest,
                                    nst_error *err)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += weights[i];
    if (n > 0 && !(sum > 0))
        return nst_error_set(err, NST_ERR_INVALID, "layer weights must sum to a positive number");
    for (int i = 0; i < n; i++) {
        nodes[i] = nst_model_find_layer(model, names[i]);
        if (nodes[i] < 0)
            return nst_error_set(err, NST_ERR_NOT_FOUND, "%s has no layer named '%s'",
                                 nst_model_kind_name(model->kind), names[i]);
        normalised[i] = weights[i] / sum;
        if (nodes[i] > *deepest)
            *deepest = nodes[i];
    }
    return NST_OK;
}

/* Feature layers a user may pick: every named node but the input. */
int nst_model_layer_count(const nst_model *model)
{
    int count = 0;
    for (int i = 1; i < model->n_nodes; i++)
        count += model->nodes[i].name[0] != '\0';
    return count;
}

const char *nst_model_layer_name(const nst_model *model, int index)
{
    for (int i = 1; i < model->n_nodes; i++)
        if (model->nodes[i].name[0] && index-- == 0)
            return model->nodes[i].name;
    return NULL;
}
