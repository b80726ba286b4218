/* nst_net: the buffers to run a model at one input size, forward and
 * backward to the input.  Everything is allocated once in nst_net_new so an
 * evaluation of the objective allocates nothing. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "nn/model.h"

typedef struct net_node {
    nst_node desc; /* the model's node with the net's options applied */
    int c, h, w;
    size_t count;   /* c * h * w */
    float *output;
    float *grad;
    int has_grad;   /* grad holds something; backward skips untouched nodes */
} net_node;

struct nst_net {
    const nst_model *model;
    int n_nodes; /* nodes 0..last_node */
    net_node *nodes;
    float *workspace;
};

static int cancelled(const atomic_int *cancel)
{
    return cancel && atomic_load_explicit(cancel, memory_order_relaxed);
}

/* Shape of a node's output from its inputs; 0 when the picture is too small
 * for this layer (the caller says so in its message). */
static int infer_shape(net_node *nodes, int i)
{
    net_node *n = &nodes[i];
    const net_node *in = n->desc.inputs[0] >= 0 ? &nodes[n->desc.inputs[0]] : NULL;
    switch (n->desc.op) {
    case NST_OP_INPUT:
        return 1;
    case NST_OP_CONV: {
        const nst_conv_desc *d = &n->desc.conv;
        n->c = d->out_channels;
        n->h = nst_conv_out_size(in->h, d->kernel_h, d->stride, d->pad);
        n->w = nst_conv_out_size(in->w, d->kernel_w, d->stride, d->pad);
        /* Reflect padding needs pad < size along each axis. */
        if (d->pad_mode == NST_PAD_REFLECT && (in->h <= d->pad || in->w <= d->pad))
            n->h = n->w = 0;
        break;
    }
    case NST_OP_RELU:
        n->c = in->c, n->h = in->h, n->w = in->w;
        break;
    case NST_OP_MAXPOOL:
    case NST_OP_AVGPOOL:
        n->c = in->c;
        n->h = nst_conv_out_size(in->h, n->desc.kernel, n->desc.stride, 0);
        n->w = nst_conv_out_size(in->w, n->desc.kernel, n->desc.stride, 0);
        break;
    case NST_OP_CONCAT: {
        const net_node *b = &nodes[n->desc.inputs[1]];
        n->c = in->c + b->c, n->h = in->h, n->w = in->w;
        break;
    }
    }
    return n->h > 0 && n->w > 0;
}

/* The first named layer at or after node i, for messages. */
static const char *first_name_from(const nst_model *model, int i)
{
    for (; i < model->n_nodes; i++)
        if (model->nodes[i].name[0])
            return model->nodes[i].name;
    return "the last";
}

nst_net *nst_net_new(const nst_model *model, int height, int width, int last_node,
                     const nst_net_options *options, nst_error *err)
{
    if (last_node < 0 || last_node >= model->n_nodes) {
        nst_error_set(err, NST_ERR_INVALID, "layer index %d out of range", last_node);
        return NULL;
    }
    if (height < 1 || width < 1) {
        nst_error_set(err, NST_ERR_INVALID, "picture size %dx%d is empty", width, height);
        return NULL;
    }
    nst_net *net = nst_alloc_zero(1, sizeof *net, "the network", err);
    if (!net)
        return NULL;
    net->model = model;
    net->n_nodes = last_node + 1;
    net->nodes = nst_alloc_zero((size_t)net->n_nodes, sizeof *net->nodes, "the network", err);
    if (!net->nodes)
        goto fail;

    size_t workspace = 0;
    for (int i = 0; i < net->n_nodes; i++) {
        net_node *n = &net->nodes[i];
        n->desc = model->nodes[i];
        if (options && n->desc.op == NST_OP_CONV && n->desc.conv.pad > 0)
            n->desc.conv.pad_mode = options->padding;
        if (options && options->pooling == NST_POOL_AVG && model->kind != NST_MODEL_SQUEEZENET11 &&
            n->desc.op == NST_OP_MAXPOOL)
            n->desc.op = NST_OP_AVGPOOL;
        if (i == 0)
            n->c = 3, n->h = height, n->w = width;
        if (!infer_shape(net->nodes, i)) {
            nst_error_set(err, NST_ERR_INVALID, "a %dx%d picture is too small for %s: it vanishes before layer %s",
                          width, height, nst_model_kind_name(model->kind), first_name_from(model, i));
            goto fail;
        }
        size_t count;
        if (!nst_size_mul((size_t)n->c, (size_t)n->h, &count) || !nst_size_mul(count, (size_t)n->w, &n->count)) {
            nst_error_set(err, NST_ERR_NOMEM, "picture %dx%d is too large", width, height);
            goto fail;
        }
        n->output = nst_alloc_zero(n->count, sizeof(float), "layer activations", err);
        n->grad = nst_alloc_zero(n->count, sizeof(float), "layer gradients", err);
        if (!n->output || !n->grad)
            goto fail;
        if (n->desc.op == NST_OP_CONV) {
            const net_node *in = &net->nodes[n->desc.inputs[0]];
            size_t ws = nst_conv2d_workspace_floats(&n->desc.conv, in->h, in->w);
            if (ws > workspace)
                workspace = ws;
        }
    }
    net->workspace = nst_alloc_zero(workspace, sizeof(float), "the convolution workspace", err);
    if (!net->workspace)
        goto fail;
    return net;
fail:
    nst_net_free(net);
    return NULL;
}

void nst_net_free(nst_net *net)
{
    if (!net)
        return;
    for (int i = 0; net->nodes && i < net->n_nodes; i++) {
        free(net->nodes[i].output);
        free(net->nodes[i].grad);
    }
    free(net->nodes);
    free(net->workspace);
    free(net);
}

int nst_net_height(const nst_net *net)
{
    return net->nodes[0].h;
}

int nst_net_width(const nst_net *net)
{
    return net->nodes[0].w;
}

static void forward_node(nst_net *net, net_node *n)
{
    const net_node *in = n->desc.inputs[0] >= 0 ? &net->nodes[n->desc.inputs[0]] : NULL;
    switch (n->desc.op) {
    case NST_OP_INPUT:
        break;
    case NST_OP_CONV:
        nst_conv2d_forward(&n->desc.conv, 1, in->h, in->w, in->output, n->desc.weight, n->desc.bias, n->output,
                           net->workspace);
        break;
    case NST_OP_RELU:
        nst_relu_forward(n->count, in->output, n->output);
        break;
    case NST_OP_MAXPOOL:
        nst_maxpool_forward(1, in->c, in->h, in->w, n->desc.kernel, n->desc.stride, in->output, n->output);
        break;
    case NST_OP_AVGPOOL:
        nst_avgpool_forward(1, in->c, in->h, in->w, n->desc.kernel, n->desc.stride, in->output, n->output);
        break;
    case NST_OP_CONCAT: {
        const net_node *b = &net->nodes[n->desc.inputs[1]];
        nst_concat_forward(1, in->c, b->c, n->h, n->w, in->output, b->output, n->output);
        break;
    }
    }
}

nst_status nst_net_forward(nst_net *net, const float *input, const atomic_int *cancel, nst_error *err)
{
    memcpy(net->nodes[0].output, input, net->nodes[0].count * sizeof(float));
    for (int i = 1; i < net->n_nodes; i++) {
        if (cancelled(cancel))
            return nst_error_set(err, NST_ERR_CANCELLED, "cancelled");
        forward_node(net, &net->nodes[i]);
    }
    return NST_OK;
}

const float *nst_net_activation(const nst_net *net, int node, int *c, int *h, int *w)
{
    const net_node *n = &net->nodes[node];
    if (c)
        *c = n->c;
    if (h)
        *h = n->h;
    if (w)
        *w = n->w;
    return n->output;
}

float *nst_net_gradient(nst_net *net, int node)
{
    net->nodes[node].has_grad = 1;
    return net->nodes[node].grad;
}

void nst_net_zero_gradients(nst_net *net)
{
    for (int i = 0; i < net->n_nodes; i++) {
        if (net->nodes[i].has_grad)
            memset(net->nodes[i].grad, 0, net->nodes[i].count * sizeof(float));
        net->nodes[i].has_grad = 0;
    }
}

/* Adds node n's gradient into its inputs' gradients. */
static void backward_node(nst_net *net, net_node *n)
{
    if (n->desc.op == NST_OP_INPUT)
        return;
    net_node *in = &net->nodes[n->desc.inputs[0]];
    in->has_grad = 1;
    switch (n->desc.op) {
    case NST_OP_INPUT:
        break;
    case NST_OP_CONV:
        nst_conv2d_backward_input(&n->desc.conv, 1, in->h, in->w, n->grad, n->desc.weight, in->grad,
                                  net->workspace);
        break;
    case NST_OP_RELU:
        nst_relu_backward(n->count, n->output, n->grad, in->grad);
        break;
    case NST_OP_MAXPOOL:
        nst_maxpool_backward(1, in->c, in->h, in->w, n->desc.kernel, n->desc.stride, in->output, n->grad, in->grad);
        break;
    case NST_OP_AVGPOOL:
        nst_avgpool_backward(1, in->c, in->h, in->w, n->desc.kernel, n->desc.stride, n->grad, in->grad);
        break;
    case NST_OP_CONCAT: {
        net_node *b = &net->nodes[n->desc.inputs[1]];
        b->has_grad = 1;
        nst_concat_backward(1, in->c, b->c, n->h, n->w, n->grad, in->grad, b->grad);
        break;
    }
    }
}

nst_status nst_net_backward(nst_net *net, float *grad_input, const atomic_int *cancel, nst_error *err)
{
    for (int i = net->n_nodes - 1; i >= 1; i--) {
        if (cancelled(cancel))
            return nst_error_set(err, NST_ERR_CANCELLED, "cancelled");
        if (net->nodes[i].has_grad)
            backward_node(net, &net->nodes[i]);
    }
    memcpy(grad_input, net->nodes[0].grad, net->nodes[0].count * sizeof(float));
    return NST_OK;
}
