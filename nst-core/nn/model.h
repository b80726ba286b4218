/* Model topology and weights (nst_model); nn/net.h runs one at a size.
 *
 * A model is a small DAG of nodes in topological order; node 0 is the input
 * [1, 3, H, W] (ImageNet-normalised RGB).  Named nodes are the feature layers
 * a user can pick: SqueezeNet's conv1, fire2..fire9 (after ReLU; a fire
 * module's concatenated expands), VGG's conv1_1..conv5_4 (before ReLU) and
 * relu1_1..relu5_4 (after). */
#ifndef NST_NN_MODEL_H
#define NST_NN_MODEL_H

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
/* The objective's layers: names[i] to nodes[i] with weights[i] normalised
 * to sum 1 in normalised[i]; *deepest is raised to the deepest node.
 * NST_ERR_INVALID when the weights do not sum to a positive number,
 * NST_ERR_NOT_FOUND for a name the model lacks. */
nst_status nst_model_resolve_layers(const nst_model *model, int n, const char names[][NST_LAYER_NAME_MAX],
                                    const double *weights, int *nodes, double *normalised, int *deepest,
                                    nst_error *err);

/* Builds a model's topology with weights from `src`; used by nst_model_load
 * and by tests that load random weights from a fixture file. */
nst_model *nst_model_from_source(nst_model_kind kind, const char *path, nst_error *err);

/* Writes tensor `name` ([shape[0], ..., shape[ndim - 1]] floats) into data. */
typedef void (*nst_model_fill_fn)(void *ctx, const char *name, int ndim, const int64_t *shape, float *data);
/* The topology of `kind` with weights written by `fill`: tests build
 * models with random weights in memory. */
nst_model *nst_model_from_fill(nst_model_kind kind, nst_model_fill_fn fill, void *ctx, nst_error *err);

#endif
