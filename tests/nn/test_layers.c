/* Forward layer kernels against naive references written independently of
 * nst-core/nn/layers.c: a direct 7-loop convolution that pads by explicit
 * index rules, direct pooling loops, and torch's own padding of a tiny image. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/parallel.h"
#include "nn/layers.h"
#include "test_util.h"

static const char *mode_name(nst_padding mode)
{
    return mode == NST_PAD_REFLECT ? "reflect" : mode == NST_PAD_REPLICATE ? "replicate" : "zero";
}

/* Torch's rules written out for pad < len: reflect mirrors about the edge
 * pixel (-1 -> 1, len -> len-2), replicate clamps.  Returns 0 for a zero. */
static int reference_padded(const float *plane, int h, int w, int y, int x, nst_padding mode, float *out)
{
    int coords[2] = {y, x}, lens[2] = {h, w};
    for (int a = 0; a < 2; a++) {
        int i = coords[a], len = lens[a];
        if (i >= 0 && i < len)
            continue;
        if (mode == NST_PAD_ZERO)
            return 0;
        if (mode == NST_PAD_REPLICATE)
            coords[a] = i < 0 ? 0 : len - 1;
        else
            coords[a] = i < 0 ? -i : 2 * (len - 1) - i;
    }
    *out = plane[coords[0] * w + coords[1]];
    return 1;
}

static void reference_conv(const nst_conv_desc *d, int n, int h, int w, const float *x, const float *weight,
                           const float *bias, float *y)
{
    int oh = (h + 2 * d->pad - d->kernel_h) / d->stride + 1;
    int ow = (w + 2 * d->pad - d->kernel_w) / d->stride + 1;
    for (int b = 0; b < n; b++)
        for (int oc = 0; oc < d->out_channels; oc++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double sum = bias ? bias[oc] : 0.0;
                    for (int c = 0; c < d->in_channels; c++)
                        for (int ki = 0; ki < d->kernel_h; ki++)
                            for (int kj = 0; kj < d->kernel_w; kj++) {
                                const float *plane = x + ((size_t)b * d->in_channels + c) * h * w;
                                float v;
                                if (!reference_padded(plane, h, w, oy * d->stride - d->pad + ki,
                                                      ox * d->stride - d->pad + kj, d->pad_mode, &v))
                                    continue;
                                sum += (double)v *
                                       weight[((oc * d->in_channels + c) * d->kernel_h + ki) * d->kernel_w + kj];
                            }
                    y[(((size_t)b * d->out_channels + oc) * oh + oy) * ow + ox] = (float)sum;
                }
}

typedef struct conv_case {
    int n, in_c, out_c, h, w, kh, kw, stride, pad;
    int with_bias;
} conv_case;

#define WORKSPACE_GUARD 64
#define GUARD_VALUE 12345.0f

static void check_conv_case(const conv_case *cc, nst_padding mode, uint64_t seed)
{
    nst_conv_desc d = {cc->in_c, cc->out_c, cc->kh, cc->kw, cc->stride, cc->pad, mode};
    int oh = nst_conv_out_size(cc->h, cc->kh, cc->stride, cc->pad);
    int ow = nst_conv_out_size(cc->w, cc->kw, cc->stride, cc->pad);
    size_t nx = (size_t)cc->n * cc->in_c * cc->h * cc->w;
    size_t ny = (size_t)cc->n * cc->out_c * oh * ow;
    size_t nw = (size_t)cc->out_c * cc->in_c * cc->kh * cc->kw;
    size_t ws = nst_conv2d_workspace_floats(&d, cc->h, cc->w);
    float *x = malloc(nx * sizeof *x), *weight = malloc(nw * sizeof *weight);
    float *bias = malloc((size_t)cc->out_c * sizeof *bias);
    float *y = malloc(ny * sizeof *y), *ref = malloc(ny * sizeof *ref);
    float *workspace = malloc((ws + WORKSPACE_GUARD) * sizeof *workspace);
    test_fill_uniform(x, nx, seed, -1.0f, 1.0f);
    test_fill_uniform(weight, nw, seed + 1, -0.5f, 0.5f);
    test_fill_uniform(bias, (size_t)cc->out_c, seed + 2, -1.0f, 1.0f);
    for (size_t i = 0; i < ws + WORKSPACE_GUARD; i++)
        workspace[i] = GUARD_VALUE;
    for (size_t i = 0; i < ny; i++)
        y[i] = NAN; /* every output must be written */

    const float *b = cc->with_bias ? bias : NULL;
    nst_conv2d_forward(&d, cc->n, cc->h, cc->w, x, weight, b, y, workspace);
    reference_conv(&d, cc->n, cc->h, cc->w, x, weight, b, ref);

    double err = test_max_rel_error(y, ref, ny, 1e-3);
    CHECK(err < 1e-5, "conv n=%d %dx%d k=%dx%d s=%d p=%d %s bias=%d: rel error %.3g", cc->n, cc->h, cc->w,
          cc->kh, cc->kw, cc->stride, cc->pad, mode_name(mode), cc->with_bias, err);
    int guard_intact = 1;
    for (size_t i = ws; i < ws + WORKSPACE_GUARD; i++)
        guard_intact &= workspace[i] == GUARD_VALUE;
    CHECK(guard_intact, "conv k=%dx%d s=%d p=%d wrote past its %zu-float workspace", cc->kh, cc->kw, cc->stride,
          cc->pad, ws);
    free(x);
    free(weight);
    free(bias);
    free(y);
    free(ref);
    free(workspace);
}

static void test_conv_forward(void)
{
    static const conv_case cases[] = {
        {1, 8, 5, 6, 7, 1, 1, 1, 0, 1},   /* pointwise: plain GEMM */
        {2, 4, 3, 5, 5, 1, 1, 1, 0, 0},   /* pointwise, batch, no bias */
        {1, 3, 2, 7, 7, 1, 1, 2, 0, 1},   /* 1x1 stride 2 */
        {1, 3, 2, 4, 5, 1, 1, 1, 1, 1},   /* 1x1 padded */
        {1, 3, 4, 7, 9, 3, 3, 1, 1, 1},   /* VGG-style 3x3 */
        {1, 3, 8, 15, 13, 3, 3, 2, 0, 1}, /* SqueezeNet conv1 */
        {1, 2, 3, 8, 7, 5, 3, 1, 2, 1},   /* non-square kernel */
        {2, 3, 4, 9, 8, 3, 3, 2, 1, 1},   /* stride 2 pad 1, batch */
        {1, 2, 3, 6, 5, 3, 3, 1, 4, 0},   /* pad wider than the image (zero only) */
    };
    uint64_t seed = 100;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_conv_case(&cases[i], NST_PAD_ZERO, seed += 10);
        if (cases[i].pad > 0 && cases[i].pad < cases[i].h && cases[i].pad < cases[i].w) {
            check_conv_case(&cases[i], NST_PAD_REFLECT, seed += 10);
            check_conv_case(&cases[i], NST_PAD_REPLICATE, seed += 10);
        }
    }
}

/* A 1x1 conv with weight 1 and pad 2 returns the padded image; the expected
 * images come from torch 1.13: F.pad(torch.arange(12.).reshape(1,1,3,4),
 * (2,2,2,2), mode='reflect' / 'replicate'). */
static void test_padding_matches_torch(void)
{
    static const float reflect[7 * 8] = {
        10, 9, 8, 9, 10, 11, 10, 9, 6, 5, 4, 5, 6, 7, 6, 5, 2, 1, 0, 1, 2, 3, 2, 1,
        6,  5, 4, 5, 6,  7,  6,  5, 10, 9, 8, 9, 10, 11, 10, 9, 6, 5, 4, 5, 6, 7, 6, 5,
        2,  1, 0, 1, 2,  3,  2,  1,
    };
    static const float replicate[7 * 8] = {
        0, 0, 0, 1, 2, 3,  3,  3,  0, 0, 0, 1, 2,  3,  3,  3,  0, 0, 0, 1, 2, 3,  3,  3,
        4, 4, 4, 5, 6, 7,  7,  7,  8, 8, 8, 9, 10, 11, 11, 11, 8, 8, 8, 9, 10, 11, 11, 11,
        8, 8, 8, 9, 10, 11, 11, 11,
    };
    float x[12], y[7 * 8], one = 1.0f;
    for (int i = 0; i < 12; i++)
        x[i] = (float)i;
    const float *expected[2] = {reflect, replicate};
    nst_padding modes[2] = {NST_PAD_REFLECT, NST_PAD_REPLICATE};
    for (int m = 0; m < 2; m++) {
        nst_conv_desc d = {1, 1, 1, 1, 1, 2, modes[m]};
        size_t ws = nst_conv2d_workspace_floats(&d, 3, 4);
        CHECK(ws > 0 && ws % 8 == 0, "a padded 1x1 conv needs im2col rows of 8");
        float *workspace = malloc(ws * sizeof *workspace);
        nst_conv2d_forward(&d, 1, 3, 4, x, &one, NULL, y, workspace);
        CHECK(memcmp(y, expected[m], sizeof y) == 0, "%s padding differs from torch", mode_name(modes[m]));
        free(workspace);
    }
}

static void test_sizes(void)
{
    CHECK(nst_conv_out_size(224, 3, 2, 0) == 111, "SqueezeNet conv1 output");
    CHECK(nst_conv_out_size(111, 3, 2, 0) == 55, "3x3/2 pool floor mode");
    CHECK(nst_conv_out_size(7, 2, 2, 0) == 3, "2x2/2 pool floor mode on odd size");
    CHECK(nst_conv_out_size(5, 3, 1, 1) == 5, "same-size 3x3");
    CHECK(nst_conv_out_size(2, 3, 1, 0) == 0, "kernel larger than the input");
    CHECK(nst_conv_out_size(8, 3, 0, 0) == 0, "stride 0 is rejected");

    nst_conv_desc pointwise = {16, 64, 1, 1, 1, 0, NST_PAD_ZERO};
    CHECK(nst_conv2d_workspace_floats(&pointwise, 55, 55) == 0, "1x1 stride-1 conv needs no workspace");
    nst_conv_desc conv1 = {3, 64, 3, 3, 2, 0, NST_PAD_ZERO};
    /* im2col runs in blocks of whole output rows, one slab per worker */
    size_t row = (size_t)27 * 111, workers = (size_t)nst_parallel_max_workers();
    size_t conv1_ws = nst_conv2d_workspace_floats(&conv1, 224, 224);
    CHECK(conv1_ws % (row * workers) == 0 && conv1_ws >= row * 3 * workers && conv1_ws <= row * 111 * workers,
          "conv1 im2col: whole rows, at least a kernel's height, at most the plane, per worker");
    nst_conv_desc vgg = {64, 64, 3, 3, 1, 1, NST_PAD_REFLECT};
    CHECK(nst_conv2d_workspace_floats(&vgg, 256, 256) <= ((size_t)2 << 20) * workers,
          "im2col stays within its 8 MB slab per worker");
    CHECK(nst_conv2d_workspace_floats(&vgg, 4096, 4096) <= (size_t)576 * 4096 * 4 * workers,
          "when a row alone exceeds the slab, a block is a few rows (a kernel's height, rounded)");
    nst_conv_desc huge = {1 << 30, 4, 1 << 10, 1 << 10, 1, 0, NST_PAD_ZERO}; /* 2^50 taps x ~2^23 pixels */
    CHECK(nst_conv2d_workspace_floats(&huge, 1 << 12, 1 << 12) == SIZE_MAX,
          "an overflowing workspace size reports SIZE_MAX");
}

static void reference_pool(int is_max, int planes, int h, int w, int k, int s, const float *x, float *y)
{
    int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
    for (int p = 0; p < planes; p++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                double acc = is_max ? -INFINITY : 0.0;
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) {
                        double v = x[((size_t)p * h + oy * s + i) * w + ox * s + j];
                        acc = is_max ? fmax(acc, v) : acc + v;
                    }
                y[((size_t)p * oh + oy) * ow + ox] = (float)(is_max ? acc : acc / (k * k));
            }
}

static void test_pools(void)
{
    static const int shapes[][4] = {{7, 9, 2, 2}, {9, 8, 3, 2}, {6, 6, 3, 3}, {5, 5, 1, 1}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int h = shapes[i][0], w = shapes[i][1], k = shapes[i][2], s = shapes[i][3], n = 2, c = 3;
        int oh = nst_conv_out_size(h, k, s, 0), ow = nst_conv_out_size(w, k, s, 0);
        size_t nx = (size_t)n * c * h * w, ny = (size_t)n * c * oh * ow;
        float *x = malloc(nx * sizeof *x), *y = malloc(ny * sizeof *y), *ref = malloc(ny * sizeof *ref);
        test_fill_uniform(x, nx, 500 + i, -2.0f, 2.0f);

        nst_maxpool_forward(n, c, h, w, k, s, x, y);
        reference_pool(1, n * c, h, w, k, s, x, ref);
        CHECK(test_max_rel_error(y, ref, ny, 1e-3) == 0.0, "maxpool %dx%d k=%d s=%d", h, w, k, s);
        nst_avgpool_forward(n, c, h, w, k, s, x, y);
        reference_pool(0, n * c, h, w, k, s, x, ref);
        double err = test_max_rel_error(y, ref, ny, 1e-3);
        CHECK(err < 1e-6, "avgpool %dx%d k=%d s=%d: rel error %.3g", h, w, k, s, err);
        free(x);
        free(y);
        free(ref);
    }
}

/* PyTorch routes a tied maximum's gradient to the first one in row-major
 * order; overlapping 3x3/2 windows share the tied pixels. */
static void test_maxpool_ties(void)
{
    float x[5 * 5], dy[2 * 2] = {1, 2, 4, 8}, dx[5 * 5] = {0}, y[2 * 2];
    for (int i = 0; i < 25; i++)
        x[i] = 1.0f;
    nst_maxpool_forward(1, 1, 5, 5, 3, 2, x, y);
    nst_maxpool_backward(1, 1, 5, 5, 3, 2, x, dy, dx);
    /* window tops-left: (0,0), (0,2), (2,0), (2,2) */
    CHECK(dx[0] == 1 && dx[2] == 2 && dx[10] == 4 && dx[12] == 8, "ties: first max of each window gets dy");
    float total = 0;
    for (int i = 0; i < 25; i++)
        total += dx[i];
    CHECK(total == 15, "ties: gradient sent once per window, total %g", total);
}

static void test_relu_and_concat(void)
{
    float x[6] = {-2, -0.0f, 0.5f, 3, -1e-30f, NAN}, y[6];
    nst_relu_forward(6, x, y);
    CHECK(y[0] == 0 && y[1] == 0 && y[2] == 0.5f && y[3] == 3 && y[4] == 0, "relu values");
    CHECK(isnan(y[5]), "relu lets NaN through so divergence is visible");
    nst_relu_forward(6, x, x);
    CHECK(x[0] == 0 && x[3] == 3, "relu in place");

    /* n=2, a has 1 channel, b has 2, planes of 2 floats */
    float a[2 * 1 * 2] = {1, 2, 3, 4}, b[2 * 2 * 2] = {10, 11, 12, 13, 20, 21, 22, 23}, cat[12];
    static const float expected[12] = {1, 2, 10, 11, 12, 13, 3, 4, 20, 21, 22, 23};
    nst_concat_forward(2, 1, 2, 1, 2, a, b, cat);
    CHECK(memcmp(cat, expected, sizeof cat) == 0, "concat layout [n, ca+cb, h, w]");
}

int main(void)
{
    test_sizes();
    test_padding_matches_torch();
    test_conv_forward();
    test_pools();
    test_maxpool_ties();
    test_relu_and_concat();
    return test_finish("test_layers");
}
