/* The buffers to run a model at one input size (nst_net, net.c): forward
 * to the deepest layer in use, backward to the input, and the memory that
 * takes (for the plan). */
#ifndef NST_NN_NET_H
#define NST_NN_NET_H

#include <stdatomic.h>

#include "nn/model.h"

typedef struct nst_net_options {
    nst_pooling pooling;  /* VGG: max or average; SqueezeNet ignores it */
    nst_padding padding;  /* mode of every padded conv (zero = PyTorch's) */
    int border;           /* objective only: pixels of reflect padding around the
                           * picture before the network, so edge pixels are seen
                           * like inner ones (0 = the exact PyTorch objective) */
    /* The nodes whose activations the caller reads and whose gradients it
     * sets (the loss layers); NULL = every named node.  Other nodes' buffers
     * may be fused (a ReLU in place on its conv, a concat's inputs written
     * into it) or shared, so their activations and gradients are not kept. */
    const int *used_nodes;
    int n_used_nodes;
} nst_net_options;

typedef struct nst_net nst_net;

/* Node `index` of the model as a net with these options runs it (the
 * padding of padded convs, VGG's pools as average pools), and whether it is
 * used (options->used_nodes, else every named node and the input). */
void nst_net_node(const nst_model *model, int index, const nst_net_options *options, nst_node *node, int *used);

/* Buffers for a [1, 3, height, width] input, running nodes 0..last_node only
 * (the network is cut after the deepest layer in use). */
nst_net *nst_net_new(const nst_model *model, int height, int width, int last_node,
                     const nst_net_options *options, nst_error *err);
void nst_net_free(nst_net *net);
/* The bytes nst_net_new allocates for this configuration (0 when it would
 * fail: bad arguments, a picture too small or too large), for memory estimates. */
size_t nst_net_bytes(const nst_model *model, int height, int width, int last_node,
                     const nst_net_options *options);
/* Both at once, without allocating a net: *bytes as nst_net_bytes, and
 * shapes[i] = {c, h, w} of nodes 0..last_node.  NST_ERR_INVALID for a
 * picture too small for the net, NST_ERR_NOMEM for one too large. */
nst_status nst_net_plan_shapes(const nst_model *model, int height, int width, int last_node,
                               const nst_net_options *options, size_t *bytes, int (*shapes)[3], nst_error *err);
int nst_net_height(const nst_net *net);
int nst_net_width(const nst_net *net);

/* Forward pass from an input [3, H, W] (normalised).  `cancel` (may be NULL)
 * is checked between nodes: NST_ERR_CANCELLED when it is non-zero. */
nst_status nst_net_forward(nst_net *net, const float *input, const atomic_int *cancel, nst_error *err);

/* The output of `node` after the last forward: [c, h, w]. */
const float *nst_net_activation(const nst_net *net, int node, int *c, int *h, int *w);

/* dL/d(output of node) of a used node; zeroed on the first call after
 * nst_net_zero_gradients; the objective adds its terms here before nst_net_backward. */
float *nst_net_gradient(nst_net *net, int node);
void nst_net_zero_gradients(nst_net *net);

/* Back-propagates to the input: grad_input [3, H, W] is overwritten with dL/d(input). */
nst_status nst_net_backward(nst_net *net, float *grad_input, const atomic_int *cancel, nst_error *err);

#endif
