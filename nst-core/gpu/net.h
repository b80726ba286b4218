/* A model's feature network on the device at one picture size: nn/net.h's
 * nst_net with its buffers in device memory, forward and backward to the
 * input recorded once as launch sequences and replayed.
 *
 * It follows nst_net's plan: a conv read only by its ReLU applies the ReLU
 * itself (and its backward masks the gradient), a ReLU whose conv others
 * read too (a VGG conv used as a layer, like conv4_2) runs apart in its own
 * buffers, a fire module's expands write straight into their parts of the
 * concatenation, and only the used nodes' activations and gradients are
 * kept (options->used_nodes; NULL = every named node and the input).  Max
 * and average pools (options->pooling, VGG) run as nn/ runs them.
 * SqueezeNet 1.1, VGG19 and VGG16 run whatever layers are used; the one
 * node refused (NST_ERR_INVALID) is a concatenation whose inputs others
 * read, which none of them has.  options->border is the objective's
 * business and is ignored here.
 *
 * Every buffer is allocated by nst_gpu_net_new (one gradient buffer per kept
 * tensor, none shared), so an evaluation allocates nothing. */
#ifndef NST_GPU_NET_H
#define NST_GPU_NET_H

#include "gpu/kernels.h"
#include "nn/net.h"

typedef struct nst_gpu_net nst_gpu_net;

/* Nodes 0..last_node of `model` for a [3, height, width] input; the
 * model's weights are copied to the device (the model may be freed after). */
nst_gpu_net *nst_gpu_net_new(nst_gpu *gpu, const nst_model *model, int height, int width, int last_node,
                             const nst_net_options *options, nst_error *err);
void nst_gpu_net_free(nst_gpu_net *net);

/* The output shape of `node` (0..last_node). */
void nst_gpu_net_shape(const nst_gpu_net *net, int node, int *c, int *h, int *w);

/* Copies the input [3, H, W] (normalised) to the device and queues the
 * forward (input NULL: it is already in nst_gpu_net_activation_buffer(net,
 * 0)); it runs before any later read, write or wait on the device. */
nst_status nst_gpu_net_forward(nst_gpu_net *net, const float *input, nst_error *err);
/* The activation of a used node after the last forward, [c, h, w]. */
nst_status nst_gpu_net_read_activation(nst_gpu_net *net, int node, float *out, nst_error *err);

/* dL/d(output) of a used node.  A backward adds the later layers' terms
 * into these buffers, so every used node's gradient is written anew before
 * each nst_gpu_net_backward (zeros where the loss has no term). */
nst_status nst_gpu_net_write_gradient(nst_gpu_net *net, int node, const float *grad, nst_error *err);
/* Back-propagates to the input; grad_input [3, H, W] receives dL/d(input)
 * (NULL: it stays on the device, and the backward is only queued). */
nst_status nst_gpu_net_backward(nst_gpu_net *net, float *grad_input, nst_error *err);


/* The device buffers of node 0 (the input) or a used node, for kernels that
 * read activations and write gradients without the host; NULL for others. */
nst_gpu_buffer *nst_gpu_net_activation_buffer(nst_gpu_net *net, int node);
nst_gpu_buffer *nst_gpu_net_gradient_buffer(nst_gpu_net *net, int node);

#endif
