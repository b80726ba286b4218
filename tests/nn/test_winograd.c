/* Winograd F(4x4,3x3) against the im2col path of nst-core/nn/layers.c (itself
 * checked against a direct convolution in test_layers.c and finite differences
 * in test_gradcheck.c), on SqueezeNet- and VGG-like shapes: forward (with
 * bias, with and without the fused ReLU) and input gradient within 1e-4
 * relative, with zero, reflect and replicate padding; the input gradient
 * is also checked as the adjoint of the forward (<conv(x), dy> =
 * <x, conv^T(dy)>) and for accumulating into dx; the same
 * inputs give the same bytes twice.  The kernels run at any size; the
 * shapes below are small so the reference stays fast. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/winograd.h"
#include "test_util.h"

typedef struct shape {
    int in_c, out_c, h, w, pad;
    const char *what;
    nst_padding mode; /* zero unless named */
} shape;

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

static void check_shape(const shape *s, uint64_t seed)
{
    nst_conv_desc d = {s->in_c, s->out_c, 3, 3, 1, s->pad, s->mode};
    CHECK(nst_winograd_computes(&d), "%s: Winograd should compute it", s->what);
    int oh = nst_conv_out_size(s->h, 3, 1, s->pad), ow = nst_conv_out_size(s->w, 3, 1, s->pad);
    size_t nx = (size_t)s->in_c * s->h * s->w, ny = (size_t)s->out_c * oh * ow;
    size_t nw = (size_t)s->out_c * s->in_c * 9;
    float *x = test_floats(nx), *w = test_floats(nw), *bias = test_floats((size_t)s->out_c);
    float *dy = test_floats(ny), *u = test_floats(nst_winograd_weight_floats(&d));
    float *y_ref = test_floats(ny), *y = test_floats(ny), *y2 = test_floats(ny);
    float *dx_ref = test_floats(nx), *dx = test_floats(nx), *dx2 = test_floats(nx);
    float *ws = test_floats(nst_conv2d_workspace_floats(&d, s->h, s->w));
    float *wino_ws = test_floats(nst_winograd_workspace_floats(&d, s->h, s->w));
    float he = sqrtf(2.0f / (9.0f * s->in_c));
    test_fill_uniform(x, nx, seed, -1.0f, 1.0f);
    test_fill_uniform(w, nw, seed + 1, -he, he);
    test_fill_uniform(bias, (size_t)s->out_c, seed + 2, -0.1f, 0.1f);
    test_fill_uniform(dy, ny, seed + 3, -1.0f, 1.0f);
    nst_winograd_transform_weights(&d, w, u);

    nst_conv2d_forward(&d, 1, s->h, s->w, x, w, bias, y_ref, ws);
    nst_winograd_forward(&d, s->h, s->w, x, u, bias, 0, y, wino_ws);
    double e = test_max_rel_error(y, y_ref, ny, 1e-6);
    CHECK(e < 1e-4, "%s: forward rel error %.3g", s->what, e);

    for (size_t i = 0; i < ny; i++)
        y_ref[i] = y_ref[i] < 0.0f ? 0.0f : y_ref[i];
    nst_winograd_forward(&d, s->h, s->w, x, u, bias, 1, y2, wino_ws);
    e = test_max_rel_error(y2, y_ref, ny, 1e-6);
    CHECK(e < 1e-4, "%s: forward+relu rel error %.3g", s->what, e);

    nst_conv2d_backward_input(&d, 1, s->h, s->w, dy, w, dx_ref, ws);
    nst_winograd_backward_input(&d, s->h, s->w, dy, u, dx, wino_ws);
    e = test_max_rel_error(dx, dx_ref, nx, 1e-6);
    CHECK(e < 1e-4, "%s: input gradient rel error %.3g", s->what, e);

    /* Adjoint identity without bias: <W x, dy> = <x, W^T dy>. */
    nst_winograd_forward(&d, s->h, s->w, x, u, NULL, 0, y, wino_ws);
    double lhs = dot(y, dy, ny), rhs = dot(x, dx, nx);
    double scale = sqrt(dot(y, y, ny) * dot(dy, dy, ny)); /* |<a, b>| <= |a| |b|: the terms' size */
    CHECK(fabs(lhs - rhs) <= 1e-5 * scale, "%s: adjoint %.9g vs %.9g (scale %.3g)", s->what, lhs, rhs, scale);

    /* Accumulates: a second pass doubles dx; and it is deterministic. */
    memcpy(dx2, dx, nx * sizeof *dx);
    nst_winograd_backward_input(&d, s->h, s->w, dy, u, dx2, wino_ws);
    for (size_t i = 0; i < nx; i++)
        dx2[i] -= dx[i];
    e = test_max_rel_error(dx2, dx, nx, 1e-6);
    CHECK(e < 1e-5, "%s: backward must add into dx (rel error %.3g)", s->what, e);
    memset(dx2, 0, nx * sizeof *dx2);
    nst_winograd_backward_input(&d, s->h, s->w, dy, u, dx2, wino_ws);
    CHECK(memcmp(dx, dx2, nx * sizeof *dx) == 0, "%s: backward not deterministic", s->what);
    nst_winograd_forward(&d, s->h, s->w, x, u, NULL, 0, y2, wino_ws);
    CHECK(memcmp(y, y2, ny * sizeof *y) == 0, "%s: forward not deterministic", s->what);

    free(x), free(w), free(bias), free(dy), free(u), free(y_ref), free(y), free(y2);
    free(dx_ref), free(dx), free(dx2), free(ws), free(wino_ws);
}

int main(void)
{
    static const shape shapes[] = {
        {16, 64, 31, 31, 1, "SqueezeNet fire2 expand3x3 (partial tiles)", NST_PAD_ZERO},
        {48, 192, 15, 17, 1, "SqueezeNet fire6 expand3x3", NST_PAD_ZERO},
        {64, 64, 40, 36, 1, "VGG conv1_2", NST_PAD_ZERO},
        {128, 256, 16, 16, 1, "VGG conv3_1", NST_PAD_ZERO},
        {512, 512, 8, 8, 1, "VGG conv5_1", NST_PAD_ZERO},
        {256, 256, 80, 72, 1, "several tile chunks", NST_PAD_ZERO},
        {8, 8, 13, 11, 0, "no padding", NST_PAD_ZERO},
        {8, 12, 9, 10, 2, "padding 2", NST_PAD_ZERO},
        {8, 8, 2, 3, 1, "smaller than a tile", NST_PAD_ZERO},
        {512, 512, 3, 5, 1, "VGG conv5_1 at 48x80", NST_PAD_ZERO},
        {256, 512, 6, 10, 1, "VGG conv4_1 at 48x80", NST_PAD_ZERO},
        {256, 256, 12, 20, 1, "VGG conv3_x at 48x80", NST_PAD_ZERO},
        {32, 48, 20, 18, 1, "reflect padding", NST_PAD_REFLECT},
        {16, 32, 9, 13, 1, "replicate padding", NST_PAD_REPLICATE},
        {8, 8, 13, 11, 2, "reflect padding 2", NST_PAD_REFLECT},
        {64, 64, 70, 66, 1, "reflect, several chunks' worth of rows", NST_PAD_REFLECT},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        check_shape(&shapes[i], 100 + 10 * i);

    /* Where the net uses it. */
    nst_conv_desc reflect = {64, 64, 3, 3, 1, 1, NST_PAD_REFLECT};
    nst_conv_desc strided = {64, 64, 3, 3, 2, 1, NST_PAD_ZERO};
    nst_conv_desc rgb = {3, 64, 3, 3, 1, 1, NST_PAD_ZERO};
    nst_conv_desc pointwise = {64, 64, 1, 1, 1, 0, NST_PAD_ZERO};
    nst_conv_desc vgg = {64, 64, 3, 3, 1, 1, NST_PAD_ZERO};
    CHECK(nst_winograd_computes(&reflect), "reflect padding is folded in the row loads");
    CHECK(!nst_winograd_computes(&strided), "stride 2 must keep im2col");
    CHECK(!nst_winograd_applies(&rgb, 256, 256), "3 input channels keep im2col");
    CHECK(!nst_winograd_computes(&pointwise), "1x1 is a plain GEMM");
    CHECK(nst_winograd_applies(&vgg, 256, 256), "a 256x256 VGG conv should use Winograd");
    CHECK(!nst_winograd_applies(&vgg, 48, 80), "a 48x80 plane keeps im2col");
    return test_finish("winograd");
}
