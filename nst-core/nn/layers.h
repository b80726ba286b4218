/* The layer kernels: float32 NCHW, forward and backward with respect to the
 * input only (weights are frozen in style transfer).
 *
 * Conventions:
 * - `n` is the batch size (style transfer uses 1; kernels loop over it).
 * - Backward functions ACCUMULATE into dx (dx += dL/dx), because a tensor can
 *   feed several layers (SqueezeNet's squeeze output feeds both expands).
 * - Workspaces are caller-owned so a network can allocate them once; query the
 *   size with the *_workspace_floats() functions.
 * - Kernels spread their loops over the worker pool (base/parallel.h), so they
 *   must not be called from inside a pool task.
 * - Kernels do not allocate and cannot fail: shapes are validated when the
 *   network is built. */
#ifndef NST_NN_LAYERS_H
#define NST_NN_LAYERS_H

#include <stddef.h>
#include <stdint.h>

typedef enum nst_padding {
    NST_PAD_ZERO = 0,
    NST_PAD_REFLECT = 1,   /* like torch's 'reflect': mirror without repeating the edge */
    NST_PAD_REPLICATE = 2, /* repeat the edge pixel */
} nst_padding;

typedef struct nst_conv_desc {
    int in_channels;
    int out_channels;
    int kernel_h, kernel_w;
    int stride;
    int pad; /* same on all four sides */
    nst_padding pad_mode;
} nst_conv_desc;

/* Where padded coordinate i (may be outside [0, len)) reads from, or -1 for a zero. */
int nst_padded_source(int i, int len, nst_padding mode);

/* Output size of a conv or pool along one axis (floor mode). */
int nst_conv_out_size(int in, int kernel, int stride, int pad);

/* Floats of workspace conv forward/backward need for one image of in_h x in_w:
 * an im2col slab of whole output rows per worker (nst_parallel_max_workers). */
size_t nst_conv2d_workspace_floats(const nst_conv_desc *d, int in_h, int in_w);

/* y[n, out_c, oh, ow] = conv(x) + bias (bias may be NULL).  weight is
 * [out_c, in_c, kh, kw] as in PyTorch. */
void nst_conv2d_forward(const nst_conv_desc *d, int n, int in_h, int in_w, const float *x,
                        const float *weight, const float *bias, float *y, float *workspace);

/* dx += conv_transpose(dy) (the gradient of the forward with respect to x). */
void nst_conv2d_backward_input(const nst_conv_desc *d, int n, int in_h, int in_w, const float *dy,
                               const float *weight, float *dx, float *workspace);

/* y = max(x, 0), count elements; y may alias x. */
void nst_relu_forward(size_t count, const float *x, float *y);
/* dx += dy where y > 0. */
void nst_relu_backward(size_t count, const float *y, const float *dy, float *dx);
/* dy = 0 where y <= 0: the backward of a ReLU run in place on its input. */
void nst_relu_mask_gradient(size_t count, const float *y, float *dy);

/* Pooling without padding, floor mode: out = (in - k) / stride + 1. */
void nst_maxpool_forward(int n, int channels, int in_h, int in_w, int kernel, int stride, const float *x,
                         float *y);
/* dx += dy routed to the first maximum of each window (PyTorch's rule), found again from x. */
void nst_maxpool_backward(int n, int channels, int in_h, int in_w, int kernel, int stride, const float *x,
                          const float *dy, float *dx);
/* Max pooling that also records each maximum's offset within its input
 * plane (argmax may be NULL), and the backward that routes through them. */
void nst_maxpool_forward_argmax(int n, int channels, int in_h, int in_w, int kernel, int stride, const float *x,
                                float *y, uint32_t *argmax);
void nst_maxpool_backward_argmax(int n, int channels, int in_h, int in_w, int out_h, int out_w,
                                 const uint32_t *argmax, const float *dy, float *dx);
void nst_avgpool_forward(int n, int channels, int in_h, int in_w, int kernel, int stride, const float *x,
                         float *y);
void nst_avgpool_backward(int n, int channels, int in_h, int in_w, int kernel, int stride, const float *dy,
                          float *dx);

/* Channel concat of a [n, ca, h, w] and b [n, cb, h, w] into y [n, ca+cb, h, w]. */
void nst_concat_forward(int n, int ca, int cb, int h, int w, const float *a, const float *b, float *y);
/* da += dy[:, :ca], db += dy[:, ca:]. */
void nst_concat_backward(int n, int ca, int cb, int h, int w, const float *dy, float *da, float *db);

#endif
