/* A model's feature network on the device (gpu/net.h). */
#include "gpu/net.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

typedef struct gpu_node {
    nst_node desc; /* the model's node with the options applied */
    int c, h, w;
    size_t count;   /* c * h * w */
    int used;       /* the caller reads its activation and writes its gradient */
    int consumers;  /* nodes that read its output */
    int live;       /* a gradient reaches it in backward */
    int root;       /* node owning the buffers its output lies in */
    size_t offset;  /* floats into the root's buffers */
    int fused_relu; /* conv: applies its ReLU itself, in the ReLU's buffers */
    int in_place;   /* a ReLU fused into its conv, or a concatenation its inputs write into */
    nst_gpu_buffer *weight, *bias, *argmax; /* owned */
} gpu_node;

struct nst_gpu_net {
    nst_gpu *gpu;
    int n_nodes;
    gpu_node *nodes;
    nst_gpu_buffer **act, **grad; /* [n_nodes]: a root's activation and gradient, else NULL */
    nst_gpu_seq *forward, *backward;
};

/* Read by nothing but the node after it, and not by the caller: its
 * output may live in that node's buffers. */
static int private_output(const gpu_node *nodes, int i)
{
    return i > 0 && nodes[i].consumers == 1 && !nodes[i].used;
}

/* Views (as nn/net.c plans them) and which gradients are live; refuses
 * what the device cannot run yet.  A ReLU that cannot run inside its conv
 * runs apart, in buffers of its own. */
static nst_status plan_nodes(nst_gpu_net *net, nst_error *err)
{
    gpu_node *nodes = net->nodes;
    for (int i = 0; i < net->n_nodes; i++) {
        gpu_node *n = &nodes[i];
        n->root = i;
        int a = n->desc.inputs[0], b = n->desc.inputs[1];
        int ok = 1;
        if (n->desc.op == NST_OP_RELU) {
            n->in_place = nodes[a].desc.op == NST_OP_CONV && private_output(nodes, a);
            nodes[a].fused_relu = n->in_place;
        } else if (n->desc.op == NST_OP_CONCAT) {
            ok = n->in_place = a != b && private_output(nodes, a) && private_output(nodes, b);
            nodes[b].offset = nodes[a].count;
        }
        if (!ok)
            return nst_error_set(err, NST_ERR_INVALID, "the GPU network cannot run node %d (%s, a concatenation "
                                 "whose inputs others read) yet", i, n->desc.name[0] ? n->desc.name : "unnamed");
    }
    /* A view's parent comes later; roots and offsets add up from the end. */
    for (int i = net->n_nodes - 1; i > 0; i--) {
        gpu_node *n = &nodes[i];
        if (n->in_place)
            for (int k = 0; k < (n->desc.op == NST_OP_CONCAT ? 2 : 1); k++) {
                gpu_node *in = &nodes[n->desc.inputs[k]];
                in->root = n->root;
                in->offset += n->offset;
            }
    }
    for (int i = net->n_nodes - 1; i > 0; i--) {
        gpu_node *n = &nodes[i];
        n->live |= n->used;
        for (int k = 0; k < 2 && n->live; k++)
            if (n->desc.inputs[k] >= 0)
                nodes[n->desc.inputs[k]].live = 1;
    }
    nodes[0].live = 1; /* the input gradient is there to read, zero when nothing reaches it */
    return NST_OK;
}

/* The nodes as nn/net.c runs them: descriptions, use and shapes
 * (nst_net_plan_shapes refuses a picture too small exactly as the CPU does). */
static nst_status describe_nodes(nst_gpu_net *net, const nst_model *model, int height, int width,
                                 const nst_net_options *options, nst_error *err)
{
    int(*shapes)[3] = nst_alloc_zero((size_t)net->n_nodes, sizeof *shapes, "the GPU network", err);
    if (!shapes)
        return NST_ERR_NOMEM;
    nst_status s = nst_net_plan_shapes(model, height, width, net->n_nodes - 1, options, NULL, shapes, err);
    for (int i = 0; s == NST_OK && i < net->n_nodes; i++) {
        gpu_node *n = &net->nodes[i];
        nst_net_node(model, i, options, &n->desc, &n->used);
        n->c = shapes[i][0], n->h = shapes[i][1], n->w = shapes[i][2];
        n->count = (size_t)n->c * n->h * n->w;
        for (int k = 0; k < 2 && i > 0; k++)
            if (n->desc.inputs[k] >= 0)
                net->nodes[n->desc.inputs[k]].consumers++;
    }
    free(shapes);
    return s;
}

/* A device buffer holding `floats` floats, filled from `data` when given. */
static nst_gpu_buffer *device_floats(nst_gpu *gpu, size_t floats, const float *data, nst_error *err)
{
    nst_gpu_buffer *b = nst_gpu_buffer_new(gpu, floats * sizeof(float), err);
    if (b && data && nst_gpu_buffer_write(gpu, b, 0, data, floats * sizeof(float), err) != NST_OK) {
        nst_gpu_buffer_free(gpu, b);
        return NULL;
    }
    return b;
}

static nst_status failed(const nst_error *err)
{
    return err ? err->code : NST_ERR_DEVICE;
}

static nst_status allocate(nst_gpu_net *net, nst_error *err)
{
    nst_gpu *gpu = net->gpu;
    for (int i = 0; i < net->n_nodes; i++) {
        gpu_node *n = &net->nodes[i];
        if (n->root == i && !(net->act[i] = device_floats(gpu, n->count, NULL, err)))
            return failed(err);
        if (n->root == i && n->live && !(net->grad[i] = device_floats(gpu, n->count, NULL, err)))
            return failed(err);
        if (n->desc.op == NST_OP_CONV) {
            const nst_conv_desc *d = &n->desc.conv;
            size_t weights = (size_t)d->out_channels * d->in_channels * d->kernel_h * d->kernel_w;
            if (!(n->weight = device_floats(gpu, weights, n->desc.weight, err)) ||
                (n->desc.bias && !(n->bias = device_floats(gpu, (size_t)d->out_channels, n->desc.bias, err))))
                return failed(err);
        }
        if (n->desc.op == NST_OP_MAXPOOL && !(n->argmax = device_floats(gpu, n->count, NULL, err)))
            return failed(err);
    }
    return NST_OK;
}

/* The forward launches: convolutions (ReLU fused, parts of a concatenation
 * written in place), pools and the ReLUs that run apart; fused ReLUs and
 * concatenations cost nothing. */
static nst_status record_forward(nst_gpu_net *net, nst_error *err)
{
    nst_status s = NST_OK;
    for (int i = 1; s == NST_OK && i < net->n_nodes; i++) {
        gpu_node *n = &net->nodes[i];
        const gpu_node *in = &net->nodes[n->desc.inputs[0]]; /* a root: views are read by their parent only */
        if (n->desc.op == NST_OP_CONV)
            s = nst_gpu_conv_forward(net->forward, &n->desc.conv, in->h, in->w, net->act[n->desc.inputs[0]],
                                     n->weight, n->bias, n->fused_relu, net->act[n->root], n->offset, err);
        else if (n->desc.op == NST_OP_MAXPOOL)
            s = nst_gpu_maxpool_forward(net->forward, in->c, in->h, in->w, n->desc.kernel, n->desc.stride,
                                        net->act[n->desc.inputs[0]], net->act[i], n->argmax, err);
        else if (n->desc.op == NST_OP_AVGPOOL)
            s = nst_gpu_avgpool_forward(net->forward, in->c, in->h, in->w, n->desc.kernel, n->desc.stride,
                                        net->act[n->desc.inputs[0]], net->act[i], err);
        else if (n->desc.op == NST_OP_RELU && !n->in_place)
            s = nst_gpu_relu_forward(net->forward, n->count, net->act[n->desc.inputs[0]], net->act[i], err);
    }
    return s;
}

/* The backward launches: the gradients nobody writes before backward are
 * cleared (every kernel adds into its input's gradient), then the live
 * nodes from the last, each after all its readers. */
static nst_status record_backward(nst_gpu_net *net, nst_error *err)
{
    nst_status s = NST_OK;
    for (int i = 0; s == NST_OK && i < net->n_nodes; i++)
        if (net->grad[i] && !net->nodes[i].used)
            s = nst_gpu_fill_zero(net->backward, net->nodes[i].count, net->grad[i], err);
    for (int i = net->n_nodes - 1; s == NST_OK && i > 0; i--) {
        gpu_node *n = &net->nodes[i];
        int input = n->desc.inputs[0];
        const gpu_node *in = &net->nodes[input];
        if (!n->live)
            continue;
        if (n->desc.op == NST_OP_CONV)
            s = nst_gpu_conv_backward_input(net->backward, &n->desc.conv, in->h, in->w, net->grad[n->root], n->offset,
                                            n->fused_relu ? net->act[n->root] : NULL, n->weight, net->grad[input],
                                            err);
        else if (n->desc.op == NST_OP_MAXPOOL)
            s = nst_gpu_maxpool_backward(net->backward, in->c, in->h, in->w, n->desc.kernel, n->desc.stride,
                                         n->argmax, net->grad[i], net->grad[input], err);
        else if (n->desc.op == NST_OP_AVGPOOL)
            s = nst_gpu_avgpool_backward(net->backward, in->c, in->h, in->w, n->desc.kernel, n->desc.stride,
                                         net->grad[i], net->grad[input], err);
        else if (n->desc.op == NST_OP_RELU && !n->in_place)
            s = nst_gpu_relu_backward(net->backward, n->count, net->act[i], net->grad[i], net->grad[input], err);
    }
    return s;
}

nst_gpu_net *nst_gpu_net_new(nst_gpu *gpu, const nst_model *model, int height, int width, int last_node,
                             const nst_net_options *options, nst_error *err)
{
    if (last_node < 1 || last_node >= model->n_nodes) {
        nst_error_set(err, NST_ERR_INVALID, "the GPU network: layer index %d out of range", last_node);
        return NULL;
    }
    nst_gpu_net *net = nst_alloc_zero(1, sizeof *net, "the GPU network", err);
    if (!net)
        return NULL;
    net->gpu = gpu;
    net->n_nodes = last_node + 1;
    net->nodes = nst_alloc_zero((size_t)net->n_nodes, sizeof *net->nodes, "the GPU network", err);
    net->act = nst_alloc_zero((size_t)net->n_nodes, sizeof *net->act, "the GPU network", err);
    net->grad = nst_alloc_zero((size_t)net->n_nodes, sizeof *net->grad, "the GPU network", err);
    if (!net->nodes || !net->act || !net->grad || describe_nodes(net, model, height, width, options, err) != NST_OK ||
        plan_nodes(net, err) != NST_OK || allocate(net, err) != NST_OK ||
        !(net->forward = nst_gpu_seq_new(gpu, net->n_nodes, err)) ||
        !(net->backward = nst_gpu_seq_new(gpu, 2 * net->n_nodes, err)) || record_forward(net, err) != NST_OK ||
        record_backward(net, err) != NST_OK) {
        nst_gpu_net_free(net);
        return NULL;
    }
    return net;
}

void nst_gpu_net_free(nst_gpu_net *net)
{
    if (!net)
        return;
    nst_gpu_seq_free(net->forward);
    nst_gpu_seq_free(net->backward);
    for (int i = 0; net->nodes && i < net->n_nodes; i++) {
        gpu_node *n = &net->nodes[i];
        nst_gpu_buffer_free(net->gpu, n->weight);
        nst_gpu_buffer_free(net->gpu, n->bias);
        nst_gpu_buffer_free(net->gpu, n->argmax);
        if (net->act)
            nst_gpu_buffer_free(net->gpu, net->act[i]);
        if (net->grad)
            nst_gpu_buffer_free(net->gpu, net->grad[i]);
    }
    free(net->nodes);
    free(net->act);
    free(net->grad);
    free(net);
}

void nst_gpu_net_shape(const nst_gpu_net *net, int node, int *c, int *h, int *w)
{
    const gpu_node *n = &net->nodes[node];
    *c = n->c, *h = n->h, *w = n->w;
}

nst_status nst_gpu_net_forward(nst_gpu_net *net, const float *input, nst_error *err)
{
    nst_status s = input ? nst_gpu_buffer_write(net->gpu, net->act[0], 0, input, net->nodes[0].count * sizeof(float), err)
                         : NST_OK;
    return s == NST_OK ? nst_gpu_seq_queue(net->forward, err) : s;
}

/* A used node: its tensors are its own buffers (views are never used). */
static nst_status check_used(const nst_gpu_net *net, int node, const char *what, nst_error *err)
{
    if (node < 0 || node >= net->n_nodes || !net->nodes[node].used)
        return nst_error_set(err, NST_ERR_INVALID, "the GPU network keeps no %s for node %d (not a used layer)",
                             what, node);
    return NST_OK;
}

nst_status nst_gpu_net_read_activation(nst_gpu_net *net, int node, float *out, nst_error *err)
{
    nst_status s = check_used(net, node, "activation", err);
    return s == NST_OK ? nst_gpu_buffer_read(net->gpu, net->act[node], 0, out,
                                             net->nodes[node].count * sizeof(float), err)
                       : s;
}

nst_status nst_gpu_net_write_gradient(nst_gpu_net *net, int node, const float *grad, nst_error *err)
{
    nst_status s = check_used(net, node, "gradient", err);
    return s == NST_OK ? nst_gpu_buffer_write(net->gpu, net->grad[node], 0, grad,
                                              net->nodes[node].count * sizeof(float), err)
                       : s;
}

nst_status nst_gpu_net_backward(nst_gpu_net *net, float *grad_input, nst_error *err)
{
    nst_status s = nst_gpu_seq_queue(net->backward, err);
    if (s == NST_OK && grad_input)
        s = nst_gpu_buffer_read(net->gpu, net->grad[0], 0, grad_input, net->nodes[0].count * sizeof(float), err);
    return s;
}

nst_gpu_buffer *nst_gpu_net_activation_buffer(nst_gpu_net *net, int node)
{
    return node == 0 || (node > 0 && node < net->n_nodes && net->nodes[node].used) ? net->act[node] : NULL;
}

nst_gpu_buffer *nst_gpu_net_gradient_buffer(nst_gpu_net *net, int node)
{
    return node == 0 || (node > 0 && node < net->n_nodes && net->nodes[node].used) ? net->grad[node] : NULL;
}
