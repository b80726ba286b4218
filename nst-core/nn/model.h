/* Model topology and weights (nst_model), and the buffers to run it at one
 * input size (nst_net).
 *
 * A model is a small DAG of nodes in topological order; node 0 is the input
 * [1, 3, H, W] (ImageNet-normalised RGB).  Named nodes are the feature layers
 * a user can pick: SqueezeNet's conv1, fire2..fire9 (after ReLU; a fire
 * module's concatenated expands), VGG's conv1_1..conv5_4 (before ReLU) and
 * relu1_1..relu5_4 (after). */
#ifndef NST_NN_MODEL_H
#define NST_NN_MODEL_H

#include <stdatomic.h>

#include "nn/layers.h"
#include "nst/nst.h"

typedef enum nst_op {
    NST_OP_INPUT,
    NST_OP_CONV,
    NST_OP_RELU,
    NST_OP_MAXPOOL,
    NST_OP_AVGPOOL,
    NST_OP_CONCAT,
} nst_op;

typedef struct nst_node {
    nst_op op;
    char name[NST_LAYER_NAME_MAX]; /* "" for internal nodes */
    int inputs[2];                 /* node indices; inputs[1] only for concat */
    nst_conv_desc conv;            /* NST_OP_CONV */
    const float *weight, *bias;    /* NST_OP_CONV, owned by the model */
    int kernel, stride;            /* pools */
} nst_node;

struct nst_model {
    nst_model_kind kind;
    int n_nodes;
    nst_node *nodes;
    float **tensors; /* every weight/bias array loaded, freed with the model */
    int n_tensors;
    char *path;      /* where the weights came from */
};

/* Node index of a named feature layer, or -1. */
int nst_model_find_layer(const nst_model *model, const char *name);

/* Builds a model's topology with weights from `src`; used by nst_model_load
 * and by tests that load random weights from a fixture file. */
nst_model *nst_model_from_source(nst_model_kind kind, const char *path, nst_error *err);

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
