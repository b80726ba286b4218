#include "nn/layers.h"

#include "base/error.h"
#include "base/parallel.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

int nst_conv_out_size(int in, int kernel, int stride, int pad)
{
    long long span = (long long)in + 2LL * pad - kernel;
    if (stride <= 0 || span < 0)
        return 0;
    long long out = span / stride + 1;
    return out > INT_MAX ? 0 : (int)out;
}

/* A 1x1 stride-1 unpadded conv reads x as the GEMM operand directly. */
static int conv_is_pointwise(const nst_conv_desc *d)
{
    return d->kernel_h == 1 && d->kernel_w == 1 && d->stride == 1 && d->pad == 0;
}

/* Where padded coordinate i (may be outside [0, len)) reads from, or -1 for a
 * zero.  Reflect folds repeatedly so any pad stays in range; torch itself
 * only allows pad < len, where this agrees with it. */
int nst_padded_source(int i, int len, nst_padding mode)
{
    if (i >= 0 && i < len)
        return i;
    switch (mode) {
    case NST_PAD_REPLICATE:
        return i < 0 ? 0 : len - 1;
    case NST_PAD_REFLECT: {
        if (len == 1)
            return 0;
        int period = 2 * (len - 1);
        int folded = (i < 0 ? -i : i) % period;
        return folded < len ? folded : period - folded;
    }
    case NST_PAD_ZERO:
    default:
        return -1;
    }
}

/* One kernel tap's view of an output row: output columns [lo, hi) read input
 * columns lo*stride + offset ... inside the image; the rest read padding. */
typedef struct tap_columns {
    int offset; /* kj - pad */
    int lo, hi;
} tap_columns;

static int ceil_div_nonneg(int a, int b)
{
    return a <= 0 ? 0 : (a + b - 1) / b;
}

static tap_columns tap_columns_for(int kj, int pad, int stride, int in_w, int out_w)
{
    tap_columns t;
    t.offset = kj - pad;
    t.lo = ceil_div_nonneg(-t.offset, stride);
    t.hi = ceil_div_nonneg(in_w - t.offset, stride);
    if (t.lo > out_w)
        t.lo = out_w;
    if (t.hi > out_w)
        t.hi = out_w;
    if (t.hi < t.lo)
        t.hi = t.lo;
    return t;
}

static void gather_padded_columns(const float *src, int in_w, float *dst, int from, int to, int stride,
                                  int offset, nst_padding mode)
{
    for (int ox = from; ox < to; ox++) {
        int ix = nst_padded_source(ox * stride + offset, in_w, mode);
        dst[ox] = ix < 0 ? 0.0f : src[ix];
    }
}

/* dst[ox] = padded src[ox * stride + offset] for one output row. */
static void gather_row(const float *src, int in_w, float *dst, int out_w, int stride, tap_columns t,
                       nst_padding mode)
{
    gather_padded_columns(src, in_w, dst, 0, t.lo, stride, t.offset, mode);
    if (stride == 1) {
        memcpy(dst + t.lo, src + t.lo + t.offset, (size_t)(t.hi - t.lo) * sizeof *dst);
    } else {
        const float *s = src + t.offset;
        for (int ox = t.lo; ox < t.hi; ox++)
            dst[ox] = s[ox * stride];
    }
    gather_padded_columns(src, in_w, dst, t.hi, out_w, stride, t.offset, mode);
}

/* Adjoint of gather_padded_columns: padding that copies a pixel sends the
 * gradient back to it. */
static void scatter_padded_columns(const float *src, int in_w, float *dst, int from, int to, int stride,
                                   int offset, nst_padding mode)
{
    for (int ox = from; ox < to; ox++) {
        int ix = nst_padded_source(ox * stride + offset, in_w, mode);
        if (ix >= 0)
            dst[ix] += src[ox];
    }
}

/* Adjoint of gather_row: dst (an input-gradient row) += src scattered. */
static void scatter_row(const float *src, int in_w, float *dst, int out_w, int stride, tap_columns t,
                        nst_padding mode)
{
    scatter_padded_columns(src, in_w, dst, 0, t.lo, stride, t.offset, mode);
    float *d = dst + t.offset;
    if (stride == 1) {
        for (int ox = t.lo; ox < t.hi; ox++)
            d[ox] += src[ox];
    } else {
        for (int ox = t.lo; ox < t.hi; ox++)
            d[ox * stride] += src[ox];
    }
    scatter_padded_columns(src, in_w, dst, t.hi, out_w, stride, t.offset, mode);
}

/* col[(c, ki, kj), (oy - oy0, ox)] = padded x[c, oy*s - pad + ki, ox*s - pad + kj]
 * for output rows oy0 <= oy < oy1. */
static void im2col(const nst_conv_desc *d, int in_h, int in_w, int out_w, int oy0, int oy1, const float *x,
                   float *col)
{
    size_t plane = (size_t)in_h * in_w, pixels = (size_t)(oy1 - oy0) * out_w;
    for (int c = 0; c < d->in_channels; c++) {
        const float *xc = x + c * plane;
        for (int ki = 0; ki < d->kernel_h; ki++) {
            for (int kj = 0; kj < d->kernel_w; kj++) {
                tap_columns t = tap_columns_for(kj, d->pad, d->stride, in_w, out_w);
                float *dst = col + (((size_t)c * d->kernel_h + ki) * d->kernel_w + kj) * pixels;
                for (int oy = oy0; oy < oy1; oy++, dst += out_w) {
                    int iy = nst_padded_source(oy * d->stride - d->pad + ki, in_h, d->pad_mode);
                    if (iy < 0)
                        memset(dst, 0, (size_t)out_w * sizeof *dst);
                    else
                        gather_row(xc + (size_t)iy * in_w, in_w, dst, out_w, d->stride, t, d->pad_mode);
                }
            }
        }
    }
}

/* dx += adjoint of im2col applied to col (output rows oy0 .. oy1 - 1). */
static void col2im_add(const nst_conv_desc *d, int in_h, int in_w, int out_w, int oy0, int oy1, const float *col,
                       float *dx)
{
    size_t plane = (size_t)in_h * in_w, pixels = (size_t)(oy1 - oy0) * out_w;
    for (int c = 0; c < d->in_channels; c++) {
        float *dxc = dx + c * plane;
        for (int ki = 0; ki < d->kernel_h; ki++) {
            for (int kj = 0; kj < d->kernel_w; kj++) {
                tap_columns t = tap_columns_for(kj, d->pad, d->stride, in_w, out_w);
                const float *src = col + (((size_t)c * d->kernel_h + ki) * d->kernel_w + kj) * pixels;
                for (int oy = oy0; oy < oy1; oy++, src += out_w) {
                    int iy = nst_padded_source(oy * d->stride - d->pad + ki, in_h, d->pad_mode);
                    if (iy >= 0)
                        scatter_row(src, in_w, dxc + (size_t)iy * in_w, out_w, d->stride, t, d->pad_mode);
                }
            }
        }
    }
}

/* GEMM view of one image: y[out_c, pixels] = W[out_c, taps] * col[taps, pixels],
 * computed in blocks of output rows, one block per task, each worker with its
 * own im2col slab (a pointwise conv reads x directly). */
typedef struct conv_geometry {
    int out_h, out_w, pixels, taps;
    size_t x_image, y_image;
    int pointwise;
    int n_blocks;         /* block i holds output rows nst_parallel_range(out_h, n_blocks, i) */
    size_t worker_floats; /* one worker's im2col slab */
} conv_geometry;

/* An im2col slab stays near this many floats (8 MB). */
static const size_t im2col_budget_floats = (size_t)2 << 20;

/* worker_floats is SIZE_MAX when the sizes overflow. */
static conv_geometry conv_geometry_for(const nst_conv_desc *d, int in_h, int in_w)
{
    conv_geometry g = {0};
    g.worker_floats = SIZE_MAX;
    size_t taps, row;
    if (!nst_size_mul((size_t)d->in_channels, (size_t)d->kernel_h * (size_t)d->kernel_w, &taps) || taps > INT_MAX)
        return g;
    g.out_h = nst_conv_out_size(in_h, d->kernel_h, d->stride, d->pad);
    g.out_w = nst_conv_out_size(in_w, d->kernel_w, d->stride, d->pad);
    g.pixels = g.out_h * g.out_w;
    g.taps = (int)taps;
    g.x_image = (size_t)d->in_channels * in_h * in_w;
    g.y_image = (size_t)d->out_channels * g.pixels;
    g.pointwise = conv_is_pointwise(d);
    if (!nst_size_mul(taps, (size_t)(g.out_w > 0 ? g.out_w : 1), &row))
        return g;
    /* The backward alternates: each block at least kernel_h rows, so that
     * blocks two apart never touch the same input row. */
    g.n_blocks = nst_parallel_blocks(g.out_h, im2col_budget_floats / row,
                                     g.pointwise ? g.out_h : g.out_h / d->kernel_h);
    size_t block_rows = (g.out_h + (size_t)g.n_blocks - 1) / (size_t)g.n_blocks;
    if (g.pointwise)
        g.worker_floats = 0;
    else if (!nst_size_mul(row, block_rows, &g.worker_floats))
        g.worker_floats = SIZE_MAX;
    return g;
}

/* Returns SIZE_MAX when the size does not fit, so the caller's allocation fails. */
size_t nst_conv2d_workspace_floats(const nst_conv_desc *d, int in_h, int in_w)
{
    conv_geometry g = conv_geometry_for(d, in_h, in_w);
    size_t total;
    if (g.worker_floats == SIZE_MAX || !nst_size_mul(g.worker_floats, (size_t)nst_parallel_max_workers(), &total))
        return SIZE_MAX;
    return total;
}

typedef struct conv_job {
    const nst_conv_desc *d;
    conv_geometry g;
    int in_h, in_w;
    const float *x, *weight, *bias; /* backward: x is dy */
    float *y;                       /* backward: dx */
    float *workspace;
} conv_job;

/* Output rows [*oy0, *oy1) of a block; returns its pixel count. */
static int block_rows(const conv_geometry *g, int block, int *oy0, int *oy1)
{
    nst_parallel_range(g->out_h, g->n_blocks, block, oy0, oy1);
    return (*oy1 - *oy0) * g->out_w;
}

static void conv_forward_block(void *ctx, int block, int worker)
{
    const conv_job *job = ctx;
    const conv_geometry *g = &job->g;
    int oy0, oy1, n = block_rows(g, block, &oy0, &oy1);
    if (n == 0)
        return;
    float *y = job->y + (size_t)oy0 * g->out_w;
    if (job->bias)
        for (int oc = 0; oc < job->d->out_channels; oc++)
            for (int p = 0; p < n; p++)
                y[(size_t)oc * g->pixels + p] = job->bias[oc];
    const float *operand = job->x + (size_t)oy0 * g->out_w;
    int ld = g->pixels;
    if (!g->pointwise) {
        float *col = job->workspace + (size_t)worker * g->worker_floats;
        im2col(job->d, job->in_h, job->in_w, g->out_w, oy0, oy1, job->x, col);
        operand = col, ld = n;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, job->d->out_channels, n, g->taps, 1.0f, job->weight,
                g->taps, operand, ld, job->bias ? 1.0f : 0.0f, y, g->pixels);
}

/* dcol[taps, block] = W^T[taps, out_c] * dy[out_c, block], folded back into
 * dx; a pointwise conv accumulates straight into dx. */
static void conv_backward_block(void *ctx, int block, int worker)
{
    const conv_job *job = ctx;
    const conv_geometry *g = &job->g;
    int oy0, oy1, n = block_rows(g, block, &oy0, &oy1);
    if (n == 0)
        return;
    const float *dy = job->x + (size_t)oy0 * g->out_w;
    if (g->pointwise) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g->taps, n, job->d->out_channels, 1.0f, job->weight,
                    g->taps, dy, g->pixels, 1.0f, job->y + (size_t)oy0 * g->out_w, g->pixels);
        return;
    }
    float *dcol = job->workspace + (size_t)worker * g->worker_floats;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g->taps, n, job->d->out_channels, 1.0f, job->weight,
                g->taps, dy, g->pixels, 0.0f, dcol, n);
    col2im_add(job->d, job->in_h, job->in_w, g->out_w, oy0, oy1, dcol, job->y);
}

void nst_conv2d_forward(const nst_conv_desc *d, int n, int in_h, int in_w, const float *x,
                        const float *weight, const float *bias, float *y, float *workspace)
{
    conv_job job = {d, conv_geometry_for(d, in_h, in_w), in_h, in_w, NULL, weight, bias, NULL, workspace};
    if (job.g.pixels == 0) /* BLAS rejects a zero leading dimension */
        return;
    for (int b = 0; b < n; b++) {
        job.x = x + b * job.g.x_image;
        job.y = y + b * job.g.y_image;
        nst_parallel_for(job.g.n_blocks, conv_forward_block, &job);
    }
}

void nst_conv2d_backward_input(const nst_conv_desc *d, int n, int in_h, int in_w, const float *dy,
                               const float *weight, float *dx, float *workspace)
{
    conv_job job = {d, conv_geometry_for(d, in_h, in_w), in_h, in_w, NULL, weight, NULL, NULL, workspace};
    if (job.g.pixels == 0) /* BLAS rejects a zero leading dimension */
        return;
    for (int b = 0; b < n; b++) {
        job.x = dy + b * job.g.y_image;
        job.y = dx + b * job.g.x_image;
        /* blocks of a pointwise conv write disjoint rows of dx; others share
         * input rows with their neighbours */
        if (job.g.pointwise)
            nst_parallel_for(job.g.n_blocks, conv_backward_block, &job);
        else
            nst_parallel_for_alternating(job.g.n_blocks, conv_backward_block, &job);
    }
}

/* Element-wise ReLU passes run in blocks of this many on the worker pool. */
enum { RELU_BLOCK = 1 << 16 };

typedef struct relu_job {
    size_t count;
    const float *in, *y; /* forward: x; mask: the forward's output */
    float *out;          /* forward: y; mask: dy */
} relu_job;

static void relu_range(const relu_job *job, int block, size_t *begin, size_t *end)
{
    *begin = (size_t)block * RELU_BLOCK;
    *end = *begin + RELU_BLOCK < job->count ? *begin + RELU_BLOCK : job->count;
}

static int relu_blocks(size_t count)
{
    return (int)((count + RELU_BLOCK - 1) / RELU_BLOCK);
}

static void relu_forward_block(void *ctx, int block, int worker)
{
    (void)worker;
    const relu_job *job = ctx;
    size_t begin, end;
    relu_range(job, block, &begin, &end);
    /* `x < 0 ? 0 : x` lets NaN through, as torch does, so divergence shows. */
    for (size_t i = begin; i < end; i++)
        job->out[i] = job->in[i] < 0.0f ? 0.0f : job->in[i];
}

void nst_relu_forward(size_t count, const float *x, float *y)
{
    relu_job job = {count, x, NULL, y};
    nst_parallel_for(relu_blocks(count), relu_forward_block, &job);
}

void nst_relu_backward(size_t count, const float *y, const float *dy, float *dx)
{
    for (size_t i = 0; i < count; i++)
        dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
}

static void relu_mask_block(void *ctx, int block, int worker)
{
    (void)worker;
    const relu_job *job = ctx;
    size_t begin, end;
    relu_range(job, block, &begin, &end);
    for (size_t i = begin; i < end; i++)
        job->out[i] = job->y[i] > 0.0f ? job->out[i] : 0.0f;
}

void nst_relu_mask_gradient(size_t count, const float *y, float *dy)
{
    relu_job job = {count, NULL, y, dy};
    nst_parallel_for(relu_blocks(count), relu_mask_block, &job);
}

/* Offset within an input plane of the first maximum of a pooling window,
 * scanning row by row as PyTorch does (a NaN counts as a maximum). */
static size_t window_argmax(const float *plane, int in_w, int top, int left, int kernel)
{
    size_t best = (size_t)top * in_w + left;
    float best_value = plane[best];
    for (int ky = 0; ky < kernel; ky++) {
        const float *row = plane + (size_t)(top + ky) * in_w + left;
        for (int kx = 0; kx < kernel; kx++) {
            if (row[kx] > best_value || isnan(row[kx])) {
                best_value = row[kx];
                best = (size_t)(top + ky) * in_w + left + kx;
            }
        }
    }
    return best;
}

/* Offset of the first element of a window equal to `value` (its maximum). */
static size_t window_first(const float *plane, int in_w, int top, int left, int kernel, float value)
{
    if (value != value)
        return window_argmax(plane, in_w, top, left, kernel);
    for (int ky = 0; ky < kernel; ky++) {
        const float *row = plane + (size_t)(top + ky) * in_w + left;
        for (int kx = 0; kx < kernel; kx++)
            if (row[kx] == value)
                return (size_t)(top + ky) * in_w + left + kx;
    }
    return (size_t)top * in_w + left; /* not reached: the maximum is in its window */
}

static float window_sum(const float *plane, int in_w, int top, int left, int kernel)
{
    float sum = 0.0f;
    for (int ky = 0; ky < kernel; ky++) {
        const float *row = plane + (size_t)(top + ky) * in_w + left;
        for (int kx = 0; kx < kernel; kx++)
            sum += row[kx];
    }
    return sum;
}

static void window_add(float *plane, int in_w, int top, int left, int kernel, float value)
{
    for (int ky = 0; ky < kernel; ky++) {
        float *row = plane + (size_t)(top + ky) * in_w + left;
        for (int kx = 0; kx < kernel; kx++)
            row[kx] += value;
    }
}

/* Pooling geometry shared by the four pool kernels. */
typedef struct pool_shape {
    int planes, in_h, in_w, out_h, out_w, kernel, stride;
    size_t in_plane, out_plane;
} pool_shape;

static pool_shape pool_shape_for(int n, int channels, int in_h, int in_w, int kernel, int stride)
{
    pool_shape s;
    s.planes = n * channels;
    s.in_h = in_h;
    s.in_w = in_w;
    s.out_h = nst_conv_out_size(in_h, kernel, stride, 0);
    s.out_w = nst_conv_out_size(in_w, kernel, stride, 0);
    s.kernel = kernel;
    s.stride = stride;
    s.in_plane = (size_t)in_h * in_w;
    s.out_plane = (size_t)s.out_h * s.out_w;
    return s;
}

/* Window maxima of one output row and, when `at` is not NULL, the plane
 * offset of each (window_argmax's order and rule, but a whole row of windows
 * per tap so it vectorises). */
static void window_max_row(const float *plane, int in_w, int top, int kernel, int stride, int out_w, float *out,
                           uint32_t *at)
{
    const float *first = plane + (size_t)top * in_w;
    for (int ox = 0; ox < out_w; ox++)
        out[ox] = first[ox * stride];
    if (at)
        for (int ox = 0; ox < out_w; ox++)
            at[ox] = (uint32_t)((size_t)top * in_w + (size_t)ox * stride);
    for (int ky = 0; ky < kernel; ky++) {
        const float *row = plane + (size_t)(top + ky) * in_w;
        for (int kx = ky == 0 ? 1 : 0; kx < kernel; kx++) {
            const float *tap = row + kx;
            if (!at) {
                for (int ox = 0; ox < out_w; ox++) {
                    float v = tap[ox * stride];
                    out[ox] = (v > out[ox] || v != v) ? v : out[ox];
                }
                continue;
            }
            uint32_t offset = (uint32_t)((size_t)(top + ky) * in_w + kx);
            for (int ox = 0; ox < out_w; ox++) {
                float v = tap[ox * stride];
                int take = v > out[ox] || v != v;
                out[ox] = take ? v : out[ox];
                at[ox] = take ? offset + (uint32_t)(ox * stride) : at[ox];
            }
        }
    }
}

void nst_maxpool_forward(int n, int channels, int in_h, int in_w, int kernel, int stride, const float *x,
                         float *y)
{
    nst_maxpool_forward_argmax(n, channels, in_h, in_w, kernel, stride, x, y, NULL);
}

/* The argmax pooling runs one plane per task on the worker pool. */
typedef struct argmax_pool_job {
    pool_shape s;
    const float *x, *dy;
    float *y, *dx;
    uint32_t *argmax;
    const uint32_t *routes;
} argmax_pool_job;

static void maxpool_forward_plane(void *ctx, int p, int worker)
{
    (void)worker;
    const argmax_pool_job *job = ctx;
    const pool_shape *s = &job->s;
    const float *xp = job->x + p * s->in_plane;
    float *yp = job->y + p * s->out_plane;
    uint32_t *ap = job->argmax ? job->argmax + p * s->out_plane : NULL;
    for (int oy = 0; oy < s->out_h; oy++)
        window_max_row(xp, s->in_w, oy * s->stride, s->kernel, s->stride, s->out_w, yp + (size_t)oy * s->out_w,
                       ap ? ap + (size_t)oy * s->out_w : NULL);
}

void nst_maxpool_forward_argmax(int n, int channels, int in_h, int in_w, int kernel, int stride, const float *x,
                                float *y, uint32_t *argmax)
{
    argmax_pool_job job = {pool_shape_for(n, channels, in_h, in_w, kernel, stride), x, NULL, y, NULL, argmax, NULL};
    nst_parallel_for(job.s.planes, maxpool_forward_plane, &job);
}

static void maxpool_backward_plane(void *ctx, int p, int worker)
{
    (void)worker;
    const argmax_pool_job *job = ctx;
    const uint32_t *ap = job->routes + p * job->s.out_plane;
    const float *dyp = job->dy + p * job->s.out_plane;
    float *dxp = job->dx + p * job->s.in_plane;
    for (size_t o = 0; o < job->s.out_plane; o++)
        dxp[ap[o]] += dyp[o];
}

void nst_maxpool_backward_argmax(int n, int channels, int in_h, int in_w, int out_h, int out_w,
                                 const uint32_t *argmax, const float *dy, float *dx)
{
    argmax_pool_job job = {{0}, NULL, dy, NULL, dx, NULL, argmax};
    job.s.planes = n * channels;
    job.s.in_plane = (size_t)in_h * in_w;
    job.s.out_plane = (size_t)out_h * out_w;
    nst_parallel_for(job.s.planes, maxpool_backward_plane, &job);
}

void nst_maxpool_backward(int n, int channels, int in_h, int in_w, int kernel, int stride, const float *x,
                          const float *dy, float *dx)
{
    enum { BLOCK = 256 };
    float best[BLOCK];
    pool_shape s = pool_shape_for(n, channels, in_h, in_w, kernel, stride);
    for (int p = 0; p < s.planes; p++) {
        const float *xp = x + p * s.in_plane;
        const float *dyp = dy + p * s.out_plane;
        float *dxp = dx + p * s.in_plane;
        for (int oy = 0; oy < s.out_h; oy++) {
            /* The maximum first, then the first position holding it (a NaN
             * window takes the exact rule). */
            for (int ox0 = 0; ox0 < s.out_w; ox0 += BLOCK) {
                int count = s.out_w - ox0 < BLOCK ? s.out_w - ox0 : BLOCK;
                window_max_row(xp + (size_t)ox0 * stride, in_w, oy * stride, kernel, stride, count, best, NULL);
                for (int k = 0; k < count; k++) {
                    int ox = ox0 + k;
                    size_t at = window_first(xp, in_w, oy * stride, ox * stride, kernel, best[k]);
                    dxp[at] += dyp[oy * s.out_w + ox];
                }
            }
        }
    }
}

void nst_avgpool_forward(int n, int channels, int in_h, int in_w, int kernel, int stride, const float *x,
                         float *y)
{
    pool_shape s = pool_shape_for(n, channels, in_h, in_w, kernel, stride);
    float scale = 1.0f / (float)(kernel * kernel);
    for (int p = 0; p < s.planes; p++) {
        const float *xp = x + p * s.in_plane;
        float *yp = y + p * s.out_plane;
        for (int oy = 0; oy < s.out_h; oy++)
            for (int ox = 0; ox < s.out_w; ox++)
                yp[oy * s.out_w + ox] = window_sum(xp, in_w, oy * stride, ox * stride, kernel) * scale;
    }
}

void nst_avgpool_backward(int n, int channels, int in_h, int in_w, int kernel, int stride, const float *dy,
                          float *dx)
{
    pool_shape s = pool_shape_for(n, channels, in_h, in_w, kernel, stride);
    float scale = 1.0f / (float)(kernel * kernel);
    for (int p = 0; p < s.planes; p++) {
        const float *dyp = dy + p * s.out_plane;
        float *dxp = dx + p * s.in_plane;
        for (int oy = 0; oy < s.out_h; oy++)
            for (int ox = 0; ox < s.out_w; ox++)
                window_add(dxp, in_w, oy * stride, ox * stride, kernel, dyp[oy * s.out_w + ox] * scale);
    }
}

void nst_concat_forward(int n, int ca, int cb, int h, int w, const float *a, const float *b, float *y)
{
    size_t plane = (size_t)h * w, a_image = (size_t)ca * plane, b_image = (size_t)cb * plane;
    for (int i = 0; i < n; i++) {
        float *yi = y + i * (a_image + b_image);
        memcpy(yi, a + i * a_image, a_image * sizeof *y);
        memcpy(yi + a_image, b + i * b_image, b_image * sizeof *y);
    }
}

static void add_into(size_t count, const float *src, float *dst)
{
    for (size_t i = 0; i < count; i++)
        dst[i] += src[i];
}

void nst_concat_backward(int n, int ca, int cb, int h, int w, const float *dy, float *da, float *db)
{
    size_t plane = (size_t)h * w, a_image = (size_t)ca * plane, b_image = (size_t)cb * plane;
    for (int i = 0; i < n; i++) {
        const float *dyi = dy + i * (a_image + b_image);
        add_into(a_image, dyi, da + i * a_image);
        add_into(b_image, dyi + a_image, db + i * b_image);
    }
}
