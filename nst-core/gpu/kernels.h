/* The backend's layer kernels on the device, recorded as a sequence.
 *
 * A sequence (nst_gpu_seq) is a list of kernel launches on given buffers,
 * with their descriptor sets allocated when appended; its command buffer is
 * recorded on the first run and replayed by later runs, so a network can
 * build one per stage and run it every evaluation without allocating.
 * Launches run in order, each seeing the writes of those before it.
 *
 * The kernels follow nn/layers.h on one image ([c, h, w] float32): the same
 * shapes, padding, floor-mode pooling, and backward functions ACCUMULATE
 * into their gradient (dx += ...).  Each output element is summed by one
 * invocation in a fixed order, so a run gives the same bytes every time on
 * the same device.  Appending checks shapes and buffer sizes
 * (NST_ERR_INVALID); nothing runs until nst_gpu_seq_run or _queue. */
#ifndef NST_GPU_KERNELS_H
#define NST_GPU_KERNELS_H

#include "gpu/vk.h"
#include "nn/layers.h"

/* The compute pipelines, made once per device from the embedded SPIR-V. */
nst_gpu_pipelines *nst_gpu_pipelines_new(nst_gpu *gpu, nst_error *err);
void nst_gpu_pipelines_free(nst_gpu *gpu, nst_gpu_pipelines *pipelines);

typedef struct nst_gpu_seq nst_gpu_seq;

/* Room for `max_launches` launches. */
nst_gpu_seq *nst_gpu_seq_new(nst_gpu *gpu, int max_launches, nst_error *err);
void nst_gpu_seq_free(nst_gpu_seq *seq);
/* Forgets every launch (to append others). */
nst_status nst_gpu_seq_clear(nst_gpu_seq *seq, nst_error *err);
/* Runs the launches, after the device's queued work, and waits for them. */
nst_status nst_gpu_seq_run(nst_gpu_seq *seq, nst_error *err);
/* Queues the launches (nst_gpu_queue): they run, in order, with the next
 * run, flush, read or write on the device; a sequence queued again, or
 * changed, first runs what is queued. */
nst_status nst_gpu_seq_queue(nst_gpu_seq *seq, nst_error *err);

/* New push constants (of the same size) for launch `index`: the next run
 * records the command buffer again, with the same descriptor sets. */
nst_status nst_gpu_seq_set_push(nst_gpu_seq *seq, int index, const void *push, size_t push_bytes, nst_error *err);

/* y = conv(x) + bias (bias may be NULL), then max(y, 0) when relu: the CPU's
 * nst_conv2d_forward followed by nst_relu_forward.  y is written from float
 * y_offset on (a part of a concatenation). */
nst_status nst_gpu_conv_forward(nst_gpu_seq *seq, const nst_conv_desc *d, int in_h, int in_w, nst_gpu_buffer *x,
                                nst_gpu_buffer *weight, nst_gpu_buffer *bias, int relu, nst_gpu_buffer *y,
                                size_t y_offset, nst_error *err);
/* dx += the input gradient of the convolution (nst_conv2d_backward_input),
 * dy read from float dy_offset on.  With relu_y (the forward's output after
 * its fused ReLU, at the same offset; NULL for none) dy counts only where
 * relu_y > 0: nst_relu_mask_gradient, then the backward. */
nst_status nst_gpu_conv_backward_input(nst_gpu_seq *seq, const nst_conv_desc *d, int in_h, int in_w,
                                       nst_gpu_buffer *dy, size_t dy_offset, nst_gpu_buffer *relu_y,
                                       nst_gpu_buffer *weight, nst_gpu_buffer *dx, nst_error *err);
/* x[0, count) = 0. */
nst_status nst_gpu_fill_zero(nst_gpu_seq *seq, size_t count, nst_gpu_buffer *x, nst_error *err);
/* y = max(x, 0) in a buffer of its own (nst_relu_forward): a ReLU whose
 * conv's output is read by others too. */
nst_status nst_gpu_relu_forward(nst_gpu_seq *seq, size_t count, nst_gpu_buffer *x, nst_gpu_buffer *y,
                                nst_error *err);
/* dx += dy where y > 0 (nst_relu_backward). */
nst_status nst_gpu_relu_backward(nst_gpu_seq *seq, size_t count, nst_gpu_buffer *y, nst_gpu_buffer *dy,
                                 nst_gpu_buffer *dx, nst_error *err);
/* dy = 0 where y <= 0 (nst_relu_mask_gradient). */
nst_status nst_gpu_relu_mask_gradient(nst_gpu_seq *seq, size_t count, nst_gpu_buffer *y, nst_gpu_buffer *dy,
                                      nst_error *err);
/* Max pooling with the argmax of each window (nst_maxpool_forward_argmax),
 * and the backward through it (nst_maxpool_backward_argmax). */
nst_status nst_gpu_maxpool_forward(nst_gpu_seq *seq, int channels, int in_h, int in_w, int kernel, int stride,
                                   nst_gpu_buffer *x, nst_gpu_buffer *y, nst_gpu_buffer *argmax, nst_error *err);
nst_status nst_gpu_maxpool_backward(nst_gpu_seq *seq, int channels, int in_h, int in_w, int kernel, int stride,
                                    nst_gpu_buffer *argmax, nst_gpu_buffer *dy, nst_gpu_buffer *dx, nst_error *err);
/* Average pooling (nst_avgpool_forward: floor mode, no padding, the window's
 * sum times 1 / kernel^2) and its backward (nst_avgpool_backward). */
nst_status nst_gpu_avgpool_forward(nst_gpu_seq *seq, int channels, int in_h, int in_w, int kernel, int stride,
                                   nst_gpu_buffer *x, nst_gpu_buffer *y, nst_error *err);
nst_status nst_gpu_avgpool_backward(nst_gpu_seq *seq, int channels, int in_h, int in_w, int kernel, int stride,
                                    nst_gpu_buffer *dy, nst_gpu_buffer *dx, nst_error *err);

/* Floats of the scratch nst_gpu_gram needs for these sizes (0: none). */
size_t nst_gpu_gram_scratch_floats(int channels, int pixels);
/* gram [c, c] = A A^T for A [c, pixels]; scratch as above (NULL when 0). */
nst_status nst_gpu_gram(nst_gpu_seq *seq, int channels, int pixels, nst_gpu_buffer *a, nst_gpu_buffer *gram,
                        nst_gpu_buffer *scratch, nst_error *err);
/* grad [c, pixels] += scale D A for D [c, c]: the Gram term's gradient. */
nst_status nst_gpu_gram_gradient(nst_gpu_seq *seq, int channels, int pixels, nst_gpu_buffer *d, nst_gpu_buffer *a,
                                 float scale, nst_gpu_buffer *grad, nst_error *err);

/* out [c, pixels] = A with each column p times mask[mask_offset + p] (out
 * may be a): the activations seen through a region (guided Grams). */
nst_status nst_gpu_mask_columns(nst_gpu_seq *seq, int channels, int pixels, nst_gpu_buffer *a, nst_gpu_buffer *mask,
                                size_t mask_offset, nst_gpu_buffer *out, nst_error *err);

/* Sums without float atomics: a kernel leaves one partial sum per workgroup
 * of LINEAR_GROUP elements (nst_gpu_partials(count) of them) and
 * nst_gpu_sum_partials adds them in a fixed order: the same bytes each run. */
size_t nst_gpu_partials(size_t count);
/* d = a - b: out = scale d (out += scale d when accumulate; out may be a),
 * and the partial sums of d^2 at partials[partial_offset...]. */
nst_status nst_gpu_diff_sumsq(nst_gpu_seq *seq, size_t count, nst_gpu_buffer *a, nst_gpu_buffer *b, float scale,
                              int accumulate, nst_gpu_buffer *out, nst_gpu_buffer *partials, size_t partial_offset,
                              nst_error *err);
/* sums[slot] = sum of partials[offset, offset + count). */
nst_status nst_gpu_sum_partials(nst_gpu_seq *seq, nst_gpu_buffer *partials, size_t offset, size_t count,
                                nst_gpu_buffer *sums, int slot, nst_error *err);
/* The objective's network input [3, h+2b, w+2b] from a picture [3, h, w]:
 * reflected border (b < h, w), then (x - mean) * inv_std per channel; and
 * its adjoint, grad_picture = (written, not added) the fold of grad_input
 * times inv_std. */
nst_status nst_gpu_prepare_input(nst_gpu_seq *seq, int h, int w, int border, const float mean[3],
                                 const float inv_std[3], nst_gpu_buffer *picture, nst_gpu_buffer *input,
                                 nst_error *err);
nst_status nst_gpu_prepare_adjoint(nst_gpu_seq *seq, int h, int w, int border, const float inv_std[3],
                                   nst_gpu_buffer *grad_input, nst_gpu_buffer *grad_picture, nst_error *err);
/* Total variation of x [3, h, w]: grad += gh (d sum_h / dx) / 2 + gv (d sum_v / dx) / 2,
 * the partial sums of squared horizontal differences at
 * partials[partial_offset...] and of vertical ones nst_gpu_partials(3 h w) after. */
nst_status nst_gpu_tv(nst_gpu_seq *seq, int h, int w, float gh, float gv, nst_gpu_buffer *x, nst_gpu_buffer *grad,
                      nst_gpu_buffer *partials, size_t partial_offset, nst_error *err);

/* One pass of shaders/optim_vectors.comp over count elements (gpu/vectors.c
 * owns its op codes and buffers: out, a, b, c, d, held, partials, results;
 * every one bound, unused ones to any buffer). */
nst_status nst_gpu_optim_vectors(nst_gpu_seq *seq, size_t count, nst_gpu_buffer *const buffers[8], const void *push,
                                 size_t push_bytes, nst_error *err);

#endif
