/* nst_net: the buffers to run a model at one input size, forward and
 * backward to the input.  Everything is allocated once in nst_net_new so an
 * evaluation of the objective allocates nothing. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "nn/net.h"
#include "nn/winograd.h"

typedef struct net_node {
    nst_node desc; /* the model's node with the net's options applied */
    int c, h, w;
    size_t count;   /* c * h * w */
    int used;       /* the caller reads its activation / sets its gradient */
    int consumers;  /* nodes that read its output */
    int parent;     /* node whose buffers this one is a view of, -1 when it owns them */
    int root;       /* owner of the buffers this node views (itself when parent < 0) */
    size_t offset;  /* floats into the root's buffers */
    int fused_relu; /* conv: applies its ReLU itself, in the ReLU's buffers */
    int in_place;   /* relu on its conv's buffers, or a concat its inputs wrote into */
    int winograd;   /* conv: runs as Winograd F(4x4,3x3) */
    int grad_slot;  /* roots: the shared gradient buffer holding its gradient */
    float *output;
    float *grad;
    float *winograd_weight; /* owned; transformed once here */
    uint32_t *argmax;       /* max pools: where each maximum came from, for backward */
    int has_grad;   /* grad holds something; backward skips untouched nodes */
} net_node;

struct nst_net {
    const nst_model *model;
    int n_nodes; /* nodes 0..last_node */
    net_node *nodes;
    float *workspace;
    int n_slots;
    float **slots;     /* gradient buffers shared by nodes whose gradients never live at once */
    float **outputs;   /* one per root node (NULL for views) */
};

/* What nst_net_new allocates, decided before allocating anything. */
typedef struct net_plan {
    size_t workspace;    /* floats */
    int n_slots;
    size_t *slot_floats; /* [n_nodes] */
} net_plan;

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

/* Bytes nst_alloc_zero requests for count elements of size. */
static size_t alloc_bytes(size_t count, size_t size)
{
    return (count ? count : 1) * size;
}

void nst_net_node(const nst_model *model, int index, const nst_net_options *options, nst_node *node, int *used)
{
    *node = model->nodes[index];
    if (options && node->op == NST_OP_CONV && node->conv.pad > 0)
        node->conv.pad_mode = options->padding;
    if (options && options->pooling == NST_POOL_AVG && model->kind != NST_MODEL_SQUEEZENET11 &&
        node->op == NST_OP_MAXPOOL)
        node->op = NST_OP_AVGPOOL;
    *used = 0;
    if (!options || !options->used_nodes)
        *used = index == 0 || node->name[0] != '\0';
    for (int k = 0; options && options->used_nodes && k < options->n_used_nodes; k++)
        *used |= options->used_nodes[k] == index;
}

/* Max pools record their maxima's offsets when a plane's offsets fit 32 bits. */
static int records_argmax(const net_node *nodes, const net_node *n)
{
    const net_node *in = &nodes[n->desc.inputs[0]];
    return n->desc.op == NST_OP_MAXPOOL && (size_t)in->h * (size_t)in->w <= UINT32_MAX;
}

static int sole_private_reader(const net_node *nodes, int input)
{
    return input > 0 && nodes[input].consumers == 1 && !nodes[input].used;
}

/* Buffer views: a ReLU runs in place on a conv nobody else reads; a concat's
 * inputs write straight into it when nobody else reads them. */
static void plan_views(net_node *nodes, int n_nodes)
{
    for (int i = 0; i < n_nodes; i++) {
        net_node *n = &nodes[i];
        n->parent = -1;
        if (n->desc.op == NST_OP_RELU && nodes[n->desc.inputs[0]].desc.op == NST_OP_CONV &&
            sole_private_reader(nodes, n->desc.inputs[0])) {
            net_node *conv = &nodes[n->desc.inputs[0]];
            conv->parent = i, conv->offset = 0, conv->fused_relu = 1;
            n->in_place = 1;
        } else if (n->desc.op == NST_OP_CONCAT && n->desc.inputs[0] != n->desc.inputs[1] &&
                   sole_private_reader(nodes, n->desc.inputs[0]) && sole_private_reader(nodes, n->desc.inputs[1])) {
            net_node *a = &nodes[n->desc.inputs[0]], *b = &nodes[n->desc.inputs[1]];
            a->parent = i, a->offset = 0;
            b->parent = i, b->offset = a->count;
            n->in_place = 1;
        }
    }
    /* Parents come later in topological order. */
    for (int i = n_nodes - 1; i >= 0; i--) {
        net_node *n = &nodes[i];
        n->root = n->parent < 0 ? i : nodes[n->parent].root;
        if (n->parent >= 0)
            n->offset += nodes[n->parent].offset;
    }
}

/* Gradient buffers: backward runs nodes n-1 .. 0 (step = n-1-i).  A root's
 * gradient lives from its first write (before backward for used nodes, else
 * the backward of its latest reader) to the backward of its group's first
 * node; buffers whose lifetimes do not overlap share a slot. */
static void plan_gradient_slots(net_node *nodes, int n_nodes, net_plan *plan, int *start, int *end, int *slot_end)
{
    int last = n_nodes - 1;
    for (int i = 0; i < n_nodes; i++)
        start[i] = nodes[i].used ? -1 : INT_MAX, end[i] = -1;
    for (int i = 0; i < n_nodes; i++) {
        int r = nodes[i].root;
        if (last - i > end[r])
            end[r] = last - i;
        for (int k = 0; k < 2 && i > 0; k++) {
            int in = nodes[i].desc.inputs[k];
            if (in < 0 || nodes[in].root == r)
                continue;
            if (last - i < start[nodes[in].root])
                start[nodes[in].root] = last - i;
        }
    }
    plan->n_slots = 0;
    /* Roots by first write; the node order breaks ties so the plan is deterministic. */
    for (int t = -1; t <= last; t++) {
        for (int i = last; i >= 0; i--) {
            net_node *n = &nodes[i];
            if (n->root != i)
                continue;
            int s0 = start[i] == INT_MAX ? end[i] : start[i];
            if (s0 != t)
                continue;
            int best = -1;
            for (int s = 0; s < plan->n_slots; s++) {
                if (slot_end[s] >= s0)
                    continue;
                int fits = plan->slot_floats[s] >= n->count, best_fits = best >= 0 && plan->slot_floats[best] >= n->count;
                /* The smallest slot that fits, else the largest (to grow). */
                if (best < 0 || (fits && (!best_fits || plan->slot_floats[s] < plan->slot_floats[best])) ||
                    (!fits && !best_fits && plan->slot_floats[s] > plan->slot_floats[best]))
                    best = s;
            }
            if (best < 0) {
                best = plan->n_slots++;
                plan->slot_floats[best] = 0;
            }
            if (plan->slot_floats[best] < n->count)
                plan->slot_floats[best] = n->count;
            slot_end[best] = end[i];
            n->grad_slot = best;
        }
    }
}

/* Shapes, views, Winograd choice, workspace and gradient slots; fills nodes
 * [last_node + 1] and plan (slot_floats [last_node + 1], caller-owned). */
static nst_status plan_net(const nst_model *model, int height, int width, int last_node,
                           const nst_net_options *options, net_node *nodes, net_plan *plan, nst_error *err)
{
    int n_nodes = last_node + 1;
    plan->workspace = 0;
    for (int i = 0; i < n_nodes; i++) {
        net_node *n = &nodes[i];
        memset(n, 0, sizeof *n);
        nst_net_node(model, i, options, &n->desc, &n->used);
        if (i == 0)
            n->c = 3, n->h = height, n->w = width;
        if (!infer_shape(nodes, i))
            return nst_error_set(err, NST_ERR_INVALID, "a %dx%d picture is too small for %s: it vanishes before layer %s",
                                 width, height, nst_model_kind_name(model->kind), first_name_from(model, i));
        size_t count;
        if (!nst_size_mul((size_t)n->c, (size_t)n->h, &count) || !nst_size_mul(count, (size_t)n->w, &n->count))
            return nst_error_set(err, NST_ERR_NOMEM, "picture %dx%d is too large", width, height);
        for (int k = 0; k < 2 && i > 0; k++)
            if (n->desc.inputs[k] >= 0)
                nodes[n->desc.inputs[k]].consumers++;
        if (n->desc.op == NST_OP_CONV) {
            const net_node *in = &nodes[n->desc.inputs[0]];
            n->winograd = nst_winograd_applies(&n->desc.conv, in->h, in->w);
            size_t ws = n->winograd ? nst_winograd_workspace_floats(&n->desc.conv, in->h, in->w)
                                    : nst_conv2d_workspace_floats(&n->desc.conv, in->h, in->w);
            if (ws == SIZE_MAX || nst_winograd_weight_floats(&n->desc.conv) == SIZE_MAX)
                return nst_error_set(err, NST_ERR_NOMEM, "picture %dx%d is too large", width, height);
            if (ws > plan->workspace)
                plan->workspace = ws;
        }
    }
    plan_views(nodes, n_nodes);
    int *scratch = nst_alloc_zero((size_t)n_nodes * 3, sizeof(int), "the memory plan", err);
    if (!scratch)
        return NST_ERR_NOMEM;
    plan_gradient_slots(nodes, n_nodes, plan, scratch, scratch + n_nodes, scratch + 2 * n_nodes);
    free(scratch);
    return NST_OK;
}

/* Sums what nst_net_new allocates for a plan, the planning's own scratch
 * (freed before it returns) included; 0 on overflow. */
static size_t plan_bytes(const net_node *nodes, int n_nodes, const net_plan *plan)
{
    size_t total = sizeof(nst_net) + alloc_bytes((size_t)n_nodes, sizeof(net_node)) +
                   alloc_bytes((size_t)n_nodes, sizeof(float *)) + alloc_bytes((size_t)plan->n_slots, sizeof(float *)) +
                   alloc_bytes((size_t)n_nodes, sizeof(size_t)) + alloc_bytes((size_t)n_nodes * 3, sizeof(int));
    size_t parts[4];
    for (int i = 0; i < n_nodes; i++) {
        parts[0] = nodes[i].root == i ? alloc_bytes(nodes[i].count, sizeof(float)) : 0;
        parts[1] = nodes[i].winograd ? alloc_bytes(nst_winograd_weight_floats(&nodes[i].desc.conv), sizeof(float)) : 0;
        parts[2] = i < plan->n_slots ? alloc_bytes(plan->slot_floats[i], sizeof(float)) : 0;
        parts[3] = i > 0 && records_argmax(nodes, &nodes[i]) ? alloc_bytes(nodes[i].count, sizeof(uint32_t)) : 0;
        for (int k = 0; k < 4; k++) {
            if (total + parts[k] < total)
                return 0;
            total += parts[k];
        }
    }
    size_t ws = alloc_bytes(plan->workspace, sizeof(float));
    return total + ws < total ? 0 : total + ws;
}

static int check_net_args(int height, int width, int last_node, const nst_model *model, nst_error *err)
{
    if (last_node < 0 || last_node >= model->n_nodes) {
        nst_error_set(err, NST_ERR_INVALID, "layer index %d out of range", last_node);
        return 0;
    }
    if (height < 1 || width < 1) {
        nst_error_set(err, NST_ERR_INVALID, "picture size %dx%d is empty", width, height);
        return 0;
    }
    return 1;
}

nst_status nst_net_plan_shapes(const nst_model *model, int height, int width, int last_node,
                               const nst_net_options *options, size_t *bytes, int (*shapes)[3], nst_error *err)
{
    if (!check_net_args(height, width, last_node, model, err))
        return err ? err->code : NST_ERR_INVALID;
    size_t n_nodes = (size_t)last_node + 1;
    net_node *nodes = calloc(n_nodes, sizeof *nodes);
    net_plan plan = {0, 0, calloc(n_nodes, sizeof(size_t))};
    nst_status s = nodes && plan.slot_floats
                       ? plan_net(model, height, width, last_node, options, nodes, &plan, err)
                       : nst_error_set(err, NST_ERR_NOMEM, "out of memory planning the network");
    if (s == NST_OK) {
        if (bytes)
            *bytes = plan_bytes(nodes, (int)n_nodes, &plan);
        for (size_t i = 0; shapes && i < n_nodes; i++) {
            shapes[i][0] = nodes[i].c;
            shapes[i][1] = nodes[i].h;
            shapes[i][2] = nodes[i].w;
        }
    }
    free(nodes);
    free(plan.slot_floats);
    return s;
}

size_t nst_net_bytes(const nst_model *model, int height, int width, int last_node, const nst_net_options *options)
{
    size_t bytes = 0;
    nst_error err = {0};
    return nst_net_plan_shapes(model, height, width, last_node, options, &bytes, NULL, &err) == NST_OK ? bytes : 0;
}

nst_net *nst_net_new(const nst_model *model, int height, int width, int last_node,
                     const nst_net_options *options, nst_error *err)
{
    if (!check_net_args(height, width, last_node, model, err))
        return NULL;
    nst_net *net = nst_alloc_zero(1, sizeof *net, "the network", err);
    if (!net)
        return NULL;
    net->model = model;
    net->n_nodes = last_node + 1;
    net_plan plan = {0, 0, NULL};
    net->nodes = nst_alloc_zero((size_t)net->n_nodes, sizeof *net->nodes, "the network", err);
    net->outputs = nst_alloc_zero((size_t)net->n_nodes, sizeof(float *), "the network", err);
    plan.slot_floats = nst_alloc((size_t)net->n_nodes * sizeof(size_t), "the memory plan", err);
    if (!net->nodes || !net->outputs || !plan.slot_floats ||
        plan_net(model, height, width, last_node, options, net->nodes, &plan, err) != NST_OK)
        goto fail;
    net->slots = nst_alloc_zero((size_t)plan.n_slots, sizeof(float *), "the network", err);
    if (!net->slots)
        goto fail;
    net->n_slots = plan.n_slots;
    for (int i = 0; i < net->n_nodes; i++) {
        net_node *n = &net->nodes[i];
        if (n->root == i && !(net->outputs[i] = nst_alloc_zero(n->count, sizeof(float), "layer activations", err)))
            goto fail;
        if (n->winograd) {
            n->winograd_weight = nst_alloc_zero(nst_winograd_weight_floats(&n->desc.conv), sizeof(float),
                                                "transformed weights", err);
            if (!n->winograd_weight)
                goto fail;
            nst_winograd_transform_weights(&n->desc.conv, n->desc.weight, n->winograd_weight);
        }
        if (i < plan.n_slots &&
            !(net->slots[i] = nst_alloc_zero(plan.slot_floats[i], sizeof(float), "layer gradients", err)))
            goto fail;
        if (i > 0 && records_argmax(net->nodes, n) &&
            !(n->argmax = nst_alloc_zero(n->count, sizeof(uint32_t), "max-pooling positions", err)))
            goto fail;
    }
    net->workspace = nst_alloc_zero(plan.workspace, sizeof(float), "the convolution workspace", err);
    if (!net->workspace)
        goto fail;
    for (int i = 0; i < net->n_nodes; i++) {
        net_node *n = &net->nodes[i];
        n->output = net->outputs[n->root] + n->offset;
        n->grad = net->slots[net->nodes[n->root].grad_slot] + n->offset;
    }
    free(plan.slot_floats);
    return net;
fail:
    free(plan.slot_floats);
    nst_net_free(net);
    return NULL;
}

void nst_net_free(nst_net *net)
{
    if (!net)
        return;
    for (int i = 0; net->nodes && i < net->n_nodes; i++) {
        free(net->nodes[i].winograd_weight);
        free(net->nodes[i].argmax);
        if (net->outputs)
            free(net->outputs[i]);
    }
    for (int s = 0; net->slots && s < net->n_slots; s++)
        free(net->slots[s]);
    free(net->slots);
    free(net->outputs);
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
        if (n->winograd) {
            nst_winograd_forward(&n->desc.conv, in->h, in->w, in->output, n->winograd_weight, n->desc.bias,
                                 n->fused_relu, n->output, net->workspace);
        } else {
            nst_conv2d_forward(&n->desc.conv, 1, in->h, in->w, in->output, n->desc.weight, n->desc.bias, n->output,
                               net->workspace);
            if (n->fused_relu)
                nst_relu_forward(n->count, n->output, n->output);
        }
        break;
    case NST_OP_RELU:
        if (!n->in_place)
            nst_relu_forward(n->count, in->output, n->output);
        break;
    case NST_OP_MAXPOOL:
        nst_maxpool_forward_argmax(1, in->c, in->h, in->w, n->desc.kernel, n->desc.stride, in->output, n->output,
                                   n->argmax);
        break;
    case NST_OP_AVGPOOL:
        nst_avgpool_forward(1, in->c, in->h, in->w, n->desc.kernel, n->desc.stride, in->output, n->output);
        break;
    case NST_OP_CONCAT: {
        const net_node *b = &net->nodes[n->desc.inputs[1]];
        if (!n->in_place)
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

/* A root's gradient about to receive its first term: its slot held another
 * node's gradient until now. */
static float *gradient_to_add_into(net_node *n)
{
    if (!n->has_grad)
        memset(n->grad, 0, n->count * sizeof(float));
    n->has_grad = 1;
    return n->grad;
}

float *nst_net_gradient(nst_net *net, int node)
{
    return gradient_to_add_into(&net->nodes[node]);
}

void nst_net_zero_gradients(nst_net *net)
{
    for (int i = 0; i < net->n_nodes; i++)
        net->nodes[i].has_grad = 0;
}

/* Adds node n's gradient into its inputs' gradients. */
static void backward_node(nst_net *net, net_node *n)
{
    if (n->desc.op == NST_OP_INPUT)
        return;
    net_node *in = &net->nodes[n->desc.inputs[0]];
    switch (n->desc.op) {
    case NST_OP_INPUT:
        break;
    case NST_OP_CONV:
        if (n->winograd)
            nst_winograd_backward_input(&n->desc.conv, in->h, in->w, n->grad, n->winograd_weight,
                                        gradient_to_add_into(in), net->workspace);
        else
            nst_conv2d_backward_input(&n->desc.conv, 1, in->h, in->w, n->grad, n->desc.weight,
                                      gradient_to_add_into(in), net->workspace);
        break;
    case NST_OP_RELU:
        if (n->in_place) {
            /* The conv's gradient is this one, masked where the ReLU was off. */
            nst_relu_mask_gradient(n->count, n->output, n->grad);
            in->has_grad = 1;
        } else {
            nst_relu_backward(n->count, n->output, n->grad, gradient_to_add_into(in));
        }
        break;
    case NST_OP_MAXPOOL:
        if (n->argmax)
            nst_maxpool_backward_argmax(1, in->c, in->h, in->w, n->h, n->w, n->argmax, n->grad,
                                        gradient_to_add_into(in));
        else
            nst_maxpool_backward(1, in->c, in->h, in->w, n->desc.kernel, n->desc.stride, in->output, n->grad,
                                 gradient_to_add_into(in));
        break;
    case NST_OP_AVGPOOL:
        nst_avgpool_backward(1, in->c, in->h, in->w, n->desc.kernel, n->desc.stride, n->grad,
                             gradient_to_add_into(in));
        break;
    case NST_OP_CONCAT: {
        net_node *b = &net->nodes[n->desc.inputs[1]];
        if (n->in_place)
            in->has_grad = b->has_grad = 1; /* their gradients are views of this one */
        else
            nst_concat_backward(1, in->c, b->c, n->h, n->w, n->grad, gradient_to_add_into(in),
                                gradient_to_add_into(b));
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
    memcpy(grad_input, gradient_to_add_into(&net->nodes[0]), net->nodes[0].count * sizeof(float));
    return NST_OK;
}
