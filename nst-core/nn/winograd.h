/* Winograd F(4x4, 3x3) for 3x3 stride-1 convolutions (Lavin & Gray 2015):
 * 36 multiplies per 4x4 output tile and channel pair instead of 144, as 36
 * GEMMs over a chunk of tile rows.  Zero, reflect and replicate padding are
 * folded into the row loads (and their adjoint into the gradient's stores).
 *
 * Rounding: ~1e-5 of a layer's largest output (im2col: ~1e-7); losses move
 * by ~1e-6 relative.  F(2x2, 3x3) rounds ~5e-7 but cuts only 2.25x.
 *
 * The input gradient is the exact adjoint of the forward algorithm (tiles
 * transformed with A, a GEMM with U transposed, B back, overlapping 6x6
 * patches added), so one transformed weight serves both passes.  Tiles are
 * processed in chunks of tile rows, so the workspace does not grow with the
 * picture; transforms run along whole rows. */
#ifndef NST_NN_WINOGRAD_H
#define NST_NN_WINOGRAD_H

#include <stddef.h>

#include "nn/layers.h"

/* Whether d is a conv this path computes (3x3, stride 1, pad <= 2). */
int nst_winograd_computes(const nst_conv_desc *d);
/* ... and whether a net should use it for an in_h x in_w input (enough
 * channels for the GEMMs, a large enough plane). */
int nst_winograd_applies(const nst_conv_desc *d, int in_h, int in_w);

/* Floats of the transformed weight U [36][out_c][in_c]. */
size_t nst_winograd_weight_floats(const nst_conv_desc *d);
/* U = G g G^T for every (out, in) pair; weight is [out_c, in_c, 3, 3]. */
void nst_winograd_transform_weights(const nst_conv_desc *d, const float *weight, float *u);

/* Floats of workspace for a forward or backward pass: one slab per worker
 * (nst_parallel_max_workers), independent of the picture size above a few tiles. */
size_t nst_winograd_workspace_floats(const nst_conv_desc *d, int in_h, int in_w);

/* y = conv(x) + bias (bias may be NULL), then max(y, 0) when relu is set. */
void nst_winograd_forward(const nst_conv_desc *d, int in_h, int in_w, const float *x, const float *u,
                          const float *bias, int relu, float *y, float *workspace);

/* dx += conv_transpose(dy). */
void nst_winograd_backward_input(const nst_conv_desc *d, int in_h, int in_w, const float *dy, const float *u,
                                 float *dx, float *workspace);

#endif
