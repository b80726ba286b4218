/* The GPU kernels against the CPU kernels of nn/ on random data: convolution
 * forward (bias + ReLU fused) and input gradient for 3x3 and 1x1, stride 1
 * and 2, zero/reflect/replicate padding, odd sizes and 1-px planes; ReLU
 * forward and backward; max pooling with argmax and its backward; average
 * pooling and its backward; the Gram matrix and
 * its gradient.  Then the same bytes from two runs, and the staging path of
 * a discrete GPU.  Runs on the first usable device of any kind (Mesa's
 * lavapipe in CI, NST_TEST_GPU_DEVICE=N picks another); built with Vulkan
 * but without a device is a failure, built without Vulkan a skip (77). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_test_util.h"
#include "test_util.h"

#ifndef NST_HAVE_VULKAN
int main(void)
{
    printf("built without the Vulkan backend: skipped\n");
    return 77;
}
#else

#include <cblas.h>

#include "gpu/kernels.h"
#include "nn/layers.h"

/* Per element: max |gpu - cpu| over the CPU tensor's largest magnitude. */
static const double conv_tolerance = 1e-5;
static double worst_conv_forward, worst_conv_backward, worst_gram, worst_gram_gradient, worst_avgpool;

static nst_gpu *gpu;

static nst_gpu_buffer *upload(const void *data, size_t floats)
{
    nst_error err = {0};
    nst_gpu_buffer *b = nst_gpu_buffer_new(gpu, floats * 4, &err);
    CHECK(b, "buffer of %zu floats: %s", floats, err.message);
    if (b && data)
        CHECK(nst_gpu_buffer_write(gpu, b, 0, data, floats * 4, &err) == NST_OK, "upload: %s", err.message);
    if (!b)
        exit(test_finish("test_gpu_kernels"));
    return b;
}

static void download(const nst_gpu_buffer *b, void *data, size_t floats)
{
    nst_error err = {0};
    CHECK(nst_gpu_buffer_read(gpu, b, 0, data, floats * 4, &err) == NST_OK, "download: %s", err.message);
}

static nst_gpu_seq *new_seq(int launches)
{
    nst_error err = {0};
    nst_gpu_seq *seq = nst_gpu_seq_new(gpu, launches, &err);
    CHECK(seq, "sequence: %s", err.message);
    if (!seq)
        exit(test_finish("test_gpu_kernels"));
    return seq;
}

static void run(nst_gpu_seq *seq, const char *what)
{
    nst_error err = {0};
    CHECK(nst_gpu_seq_run(seq, &err) == NST_OK, "%s: %s", what, err.message);
}

/* Downloads `b` and returns its error against `cpu`, keeping the worst. */
static double compare(const nst_gpu_buffer *b, float *out, const float *cpu, size_t n, double *worst)
{
    download(b, out, n);
    double e = test_max_rel_error(out, cpu, n, 1e-6);
    *worst = e > *worst ? e : *worst;
    return e;
}

static void free_buffers(nst_gpu_buffer *const *buffers, size_t n)
{
    for (size_t i = 0; i < n; i++)
        nst_gpu_buffer_free(gpu, buffers[i]);
}

static float *random_floats(size_t n, uint64_t seed)
{
    float *x = test_floats(n);
    test_fill_uniform(x, n, seed, -1.0f, 1.0f);
    return x;
}

typedef struct conv_case {
    int in_c, out_c, k, stride, pad;
    nst_padding mode;
    int h, w;
} conv_case;

/* With relu, y and dy lie at an offset in larger buffers (a part of a
 * concatenation) and the backward masks dy by the fused ReLU's output. */
static void check_conv(const conv_case *c, int with_bias, int relu)
{
    nst_conv_desc d = {c->in_c, c->out_c, c->k, c->k, c->stride, c->pad, c->mode};
    int oh = nst_conv_out_size(c->h, c->k, c->stride, c->pad), ow = nst_conv_out_size(c->w, c->k, c->stride, c->pad);
    size_t nx = (size_t)c->in_c * c->h * c->w, ny = (size_t)c->out_c * oh * ow;
    size_t nw = (size_t)c->out_c * c->in_c * c->k * c->k;
    float *x = random_floats(nx, 1), *w = random_floats(nw, 2), *bias = random_floats((size_t)c->out_c, 3);
    float *dy = random_floats(ny, 4), *dx = random_floats(nx, 5);
    float *y_cpu = test_floats(ny), *y_gpu = test_floats(ny), *dx_cpu = test_floats(nx), *dx_gpu = test_floats(nx);
    float *work = test_floats(nst_conv2d_workspace_floats(&d, c->h, c->w));
    nst_conv2d_forward(&d, 1, c->h, c->w, x, w, with_bias ? bias : NULL, y_cpu, work);
    if (relu)
        nst_relu_forward(ny, y_cpu, y_cpu);
    memcpy(dx_cpu, dx, nx * sizeof *dx);
    float *dy_cpu = test_floats(ny);
    memcpy(dy_cpu, dy, ny * sizeof *dy);
    if (relu)
        nst_relu_mask_gradient(ny, y_cpu, dy_cpu);
    nst_conv2d_backward_input(&d, 1, c->h, c->w, dy_cpu, w, dx_cpu, work);

    size_t offset = relu ? ny / 2 + 3 : 0;
    nst_gpu_buffer *bx = upload(x, nx), *bw = upload(w, nw), *bb = upload(bias, (size_t)c->out_c);
    nst_gpu_buffer *by = upload(NULL, offset + ny), *bdy = upload(NULL, offset + ny), *bdx = upload(dx, nx);
    nst_error err = {0};
    CHECK(nst_gpu_buffer_write(gpu, bdy, offset * 4, dy, ny * 4, &err) == NST_OK, "%s", err.message);
    nst_gpu_seq *seq = new_seq(2);
    CHECK(nst_gpu_conv_forward(seq, &d, c->h, c->w, bx, bw, with_bias ? bb : NULL, relu, by, offset, &err) == NST_OK,
          "%s", err.message);
    CHECK(nst_gpu_conv_backward_input(seq, &d, c->h, c->w, bdy, offset, relu ? by : NULL, bw, bdx, &err) == NST_OK,
          "%s", err.message);
    run(seq, "convolution");
    CHECK(nst_gpu_buffer_read(gpu, by, offset * 4, y_gpu, ny * 4, &err) == NST_OK, "%s", err.message);
    double ef = test_max_rel_error(y_gpu, y_cpu, ny, 1e-6);
    worst_conv_forward = ef > worst_conv_forward ? ef : worst_conv_forward;
    double eb = compare(bdx, dx_gpu, dx_cpu, nx, &worst_conv_backward);
    const char *mode = c->mode == NST_PAD_REFLECT ? "reflect" : c->mode == NST_PAD_REPLICATE ? "replicate" : "zero";
    CHECK(ef <= conv_tolerance, "conv %d->%d %dx%d/%d pad %d %s on %dx%d (bias %d relu %d): forward error %.3g",
          c->in_c, c->out_c, c->k, c->k, c->stride, c->pad, mode, c->w, c->h, with_bias, relu, ef);
    CHECK(eb <= conv_tolerance, "conv %d->%d %dx%d/%d pad %d %s on %dx%d: backward error %.3g", c->in_c, c->out_c,
          c->k, c->k, c->stride, c->pad, mode, c->w, c->h, eb);
    nst_gpu_seq_free(seq);
    nst_gpu_buffer *buffers[] = {bx, bw, bb, by, bdy, bdx};
    free_buffers(buffers, sizeof buffers / sizeof *buffers);
    float *host[] = {x, w, bias, dy, dx, y_cpu, y_gpu, dx_cpu, dx_gpu, work, dy_cpu};
    for (size_t i = 0; i < sizeof host / sizeof *host; i++)
        free(host[i]);
}

static void test_convolutions(void)
{
    static const conv_case cases[] = {
        {3, 16, 3, 2, 0, NST_PAD_ZERO, 17, 13},     /* SqueezeNet's conv1 */
        {3, 16, 3, 2, 0, NST_PAD_REFLECT, 4, 3},
        {5, 7, 3, 1, 1, NST_PAD_REFLECT, 9, 11},
        {4, 3, 3, 1, 1, NST_PAD_ZERO, 1, 1},        /* 1-px planes */
        {2, 3, 3, 1, 1, NST_PAD_REFLECT, 1, 1},
        {2, 5, 3, 1, 1, NST_PAD_REPLICATE, 1, 7},
        {3, 4, 3, 1, 1, NST_PAD_REFLECT, 6, 1},
        {33, 65, 1, 1, 0, NST_PAD_ZERO, 7, 9},      /* fire squeeze/expand 1x1, tiles cut */
        {16, 64, 3, 1, 1, NST_PAD_REFLECT, 13, 13}, /* fire expand 3x3 */
        {64, 67, 3, 1, 1, NST_PAD_ZERO, 20, 19},    /* several tiles in both */
        {6, 5, 3, 2, 1, NST_PAD_REFLECT, 8, 7},     /* stride 2 through padding */
        {3, 2, 3, 2, 0, NST_PAD_ZERO, 3, 3},        /* one output pixel */
        {5, 3, 1, 2, 0, NST_PAD_ZERO, 9, 6},        /* strided 1x1 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_conv(&cases[i], 1, 1);
    check_conv(&cases[2], 0, 0);
    check_conv(&cases[9], 1, 0);
}

static void test_relu(void)
{
    enum { N = 1000 };
    float *y = random_floats(N, 7), *dy = random_floats(N, 8), *dx = random_floats(N, 9);
    float *cpu_dx = test_floats(N), *cpu_mask = test_floats(N), *out = test_floats(N), *cpu_y = test_floats(N);
    y[3] = 0.0f; /* y > 0 is strict */
    y[5] = NAN;  /* the forward lets NaN through */
    nst_relu_forward(N, y, cpu_y);
    y[5] = 0.5f;
    memcpy(cpu_dx, dx, sizeof(float) * N);
    nst_relu_backward(N, y, dy, cpu_dx);
    memcpy(cpu_mask, dy, sizeof(float) * N);
    nst_relu_mask_gradient(N, y, cpu_mask);
    nst_gpu_buffer *by = upload(y, N), *bdy = upload(dy, N), *bdx = upload(dx, N), *brelu = upload(NULL, N);
    nst_gpu_seq *seq = new_seq(3);
    nst_error err = {0};
    y[5] = NAN;
    nst_gpu_buffer *bnan = upload(y, N);
    CHECK(nst_gpu_relu_forward(seq, N, bnan, brelu, &err) == NST_OK, "%s", err.message);
    CHECK(nst_gpu_relu_backward(seq, N, by, bdy, bdx, &err) == NST_OK, "%s", err.message);
    CHECK(nst_gpu_relu_mask_gradient(seq, N, by, bdy, &err) == NST_OK, "%s", err.message);
    run(seq, "ReLU");
    download(brelu, out, N);
    CHECK(memcmp(out, cpu_y, sizeof(float) * N) == 0, "ReLU forward differs from the CPU's");
    download(bdx, out, N);
    CHECK(memcmp(out, cpu_dx, sizeof(float) * N) == 0, "ReLU backward differs from the CPU's");
    download(bdy, out, N);
    CHECK(memcmp(out, cpu_mask, sizeof(float) * N) == 0, "ReLU mask differs from the CPU's");
    nst_gpu_seq_free(seq);
    nst_gpu_buffer_free(gpu, by);
    nst_gpu_buffer_free(gpu, bdy);
    nst_gpu_buffer_free(gpu, bdx);
    nst_gpu_buffer_free(gpu, brelu);
    nst_gpu_buffer_free(gpu, bnan);
    free(y), free(dy), free(dx), free(cpu_dx), free(cpu_mask), free(out), free(cpu_y);
}

/* Pooling is exact: the same comparisons and the same order of sums. */
static void check_pool(int channels, int h, int w, int k, int s, int with_nan)
{
    int oh = nst_conv_out_size(h, k, s, 0), ow = nst_conv_out_size(w, k, s, 0);
    size_t nx = (size_t)channels * h * w, ny = (size_t)channels * oh * ow;
    float *x = random_floats(nx, 11), *dy = random_floats(ny, 12), *dx = random_floats(nx, 13);
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)(int)(x[i] * 3.0f); /* few levels: ties in most windows */
    if (with_nan)
        x[nx / 2] = NAN;
    float *y_cpu = test_floats(ny), *y_gpu = test_floats(ny), *dx_cpu = test_floats(nx), *dx_gpu = test_floats(nx);
    uint32_t *a_cpu = calloc(ny, sizeof *a_cpu), *a_gpu = calloc(ny, sizeof *a_gpu);
    nst_maxpool_forward_argmax(1, channels, h, w, k, s, x, y_cpu, a_cpu);
    memcpy(dx_cpu, dx, nx * sizeof *dx);
    nst_maxpool_backward_argmax(1, channels, h, w, oh, ow, a_cpu, dy, dx_cpu);
    nst_gpu_buffer *bx = upload(x, nx), *by = upload(NULL, ny), *ba = upload(NULL, ny);
    nst_gpu_buffer *bdy = upload(dy, ny), *bdx = upload(dx, nx);
    nst_gpu_seq *seq = new_seq(2);
    nst_error err = {0};
    CHECK(nst_gpu_maxpool_forward(seq, channels, h, w, k, s, bx, by, ba, &err) == NST_OK, "%s", err.message);
    CHECK(nst_gpu_maxpool_backward(seq, channels, h, w, k, s, ba, bdy, bdx, &err) == NST_OK, "%s", err.message);
    run(seq, "max pooling");
    download(by, y_gpu, ny);
    download(ba, a_gpu, ny);
    download(bdx, dx_gpu, nx);
    CHECK(memcmp(y_gpu, y_cpu, ny * 4) == 0 && memcmp(a_gpu, a_cpu, ny * 4) == 0,
          "max pool %dx%d/%d on %d x %dx%d (NaN %d): forward or argmax differs", k, k, s, channels, w, h, with_nan);
    CHECK(memcmp(dx_gpu, dx_cpu, nx * 4) == 0, "max pool %dx%d/%d on %d x %dx%d: backward differs", k, k, s, channels,
          w, h);
    nst_gpu_seq_free(seq);
    nst_gpu_buffer *buffers[] = {bx, by, ba, bdy, bdx};
    free_buffers(buffers, sizeof buffers / sizeof *buffers);
    free(x), free(dy), free(dx), free(y_cpu), free(y_gpu), free(dx_cpu), free(dx_gpu), free(a_cpu), free(a_gpu);
}

/* The same sums in the same order as the CPU's; a fused multiply-add in the
 * backward may round once less, hence a tolerance of a few ulps. */
static void check_avgpool(int channels, int h, int w, int k, int s)
{
    int oh = nst_conv_out_size(h, k, s, 0), ow = nst_conv_out_size(w, k, s, 0);
    size_t nx = (size_t)channels * h * w, ny = (size_t)channels * oh * ow;
    float *x = random_floats(nx, 14), *dy = random_floats(ny, 15), *dx = random_floats(nx, 16);
    float *y_cpu = test_floats(ny), *y_gpu = test_floats(ny), *dx_cpu = test_floats(nx), *dx_gpu = test_floats(nx);
    nst_avgpool_forward(1, channels, h, w, k, s, x, y_cpu);
    memcpy(dx_cpu, dx, nx * sizeof *dx);
    nst_avgpool_backward(1, channels, h, w, k, s, dy, dx_cpu);
    nst_gpu_buffer *bx = upload(x, nx), *by = upload(NULL, ny), *bdy = upload(dy, ny), *bdx = upload(dx, nx);
    nst_gpu_seq *seq = new_seq(2);
    nst_error err = {0};
    CHECK(nst_gpu_avgpool_forward(seq, channels, h, w, k, s, bx, by, &err) == NST_OK, "%s", err.message);
    CHECK(nst_gpu_avgpool_backward(seq, channels, h, w, k, s, bdy, bdx, &err) == NST_OK, "%s", err.message);
    run(seq, "average pooling");
    double ef = compare(by, y_gpu, y_cpu, ny, &worst_avgpool);
    double eb = compare(bdx, dx_gpu, dx_cpu, nx, &worst_avgpool);
    CHECK(ef <= 1e-6 && eb <= 1e-6, "average pool %dx%d/%d on %d x %dx%d: forward error %.3g, backward %.3g", k, k, s,
          channels, w, h, ef, eb);
    nst_gpu_seq_free(seq);
    nst_gpu_buffer *buffers[] = {bx, by, bdy, bdx};
    free_buffers(buffers, sizeof buffers / sizeof *buffers);
    free(x), free(dy), free(dx), free(y_cpu), free(y_gpu), free(dx_cpu), free(dx_gpu);
}

static void test_pooling(void)
{
    check_avgpool(4, 7, 9, 2, 2);   /* VGG's, odd: the last row and column in no window */
    check_avgpool(3, 14, 16, 2, 2); /* even */
    check_avgpool(5, 13, 15, 3, 2); /* overlapping windows */
    check_avgpool(2, 3, 3, 3, 2);   /* one window */
    check_avgpool(1, 1, 1, 1, 1);   /* 1-px plane */
    check_avgpool(2, 1, 9, 1, 2);   /* a 1-px row, strided */
    check_pool(5, 13, 15, 3, 2, 0); /* SqueezeNet's pools */
    check_pool(3, 14, 16, 3, 2, 1); /* even sizes: a column and a row no window reaches */
    check_pool(4, 7, 9, 2, 2, 0);   /* VGG's */
    check_pool(2, 3, 3, 3, 2, 0);   /* one window */
    check_pool(1, 1, 1, 1, 1, 0);   /* 1-px plane */
}

static void check_gram(int c, int hw)
{
    size_t na = (size_t)c * hw, ng = (size_t)c * c;
    float *a = random_floats(na, 21), *g_cpu = test_floats(ng), *g_gpu = test_floats(ng);
    float *dmat = random_floats(ng, 22), *grad = random_floats(na, 23), *grad_cpu = test_floats(na);
    float *grad_gpu = test_floats(na);
    for (int i = 0; i < c; i++) /* the Gram difference is symmetric */
        for (int j = 0; j < i; j++)
            dmat[(size_t)i * c + j] = dmat[(size_t)j * c + i];
    const float scale = 0.37f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c, c, hw, 1.0f, a, hw, a, hw, 0.0f, g_cpu, c);
    memcpy(grad_cpu, grad, na * 4);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c, hw, c, scale, dmat, c, a, hw, 1.0f, grad_cpu, hw);
    size_t scratch_floats = nst_gpu_gram_scratch_floats(c, hw);
    nst_gpu_buffer *ba = upload(a, na), *bg = upload(NULL, ng), *bd = upload(dmat, ng), *bgrad = upload(grad, na);
    nst_gpu_buffer *scratch = scratch_floats ? upload(NULL, scratch_floats) : NULL;
    nst_gpu_seq *seq = new_seq(3);
    nst_error err = {0};
    CHECK(nst_gpu_gram(seq, c, hw, ba, bg, scratch, &err) == NST_OK, "%s", err.message);
    CHECK(nst_gpu_gram_gradient(seq, c, hw, bd, ba, scale, bgrad, &err) == NST_OK, "%s", err.message);
    run(seq, "Gram");
    double eg = compare(bg, g_gpu, g_cpu, ng, &worst_gram);
    double ed = compare(bgrad, grad_gpu, grad_cpu, na, &worst_gram_gradient);
    CHECK(eg <= 1e-5, "Gram of %d x %d (%zu scratch floats): error %.3g", c, hw, scratch_floats, eg);
    CHECK(ed <= 1e-5, "Gram gradient of %d x %d: error %.3g", c, hw, ed);
    nst_gpu_seq_free(seq);
    nst_gpu_buffer *buffers[] = {ba, bg, bd, bgrad, scratch};
    free_buffers(buffers, sizeof buffers / sizeof *buffers);
    free(a), free(g_cpu), free(g_gpu), free(dmat), free(grad), free(grad_cpu), free(grad_gpu);
}

static void test_gram(void)
{
    check_gram(5, 7);
    check_gram(1, 1);
    check_gram(64, 4099); /* split over pixels */
    check_gram(130, 1500);
}

/* One sequence of every kind of launch, run twice (the second replays the
 * recorded commands) on fresh inputs: the same bytes. */
static void test_same_bytes(void)
{
    nst_conv_desc d = {16, 64, 3, 3, 1, 1, NST_PAD_REFLECT};
    int h = 23, w = 21;
    size_t nx = (size_t)16 * h * w, ny = (size_t)64 * h * w, nw = (size_t)64 * 16 * 9, ng = 64 * 64;
    float *x = random_floats(nx, 31), *wt = random_floats(nw, 32), *b = random_floats(64, 33);
    nst_gpu_buffer *bx = upload(x, nx), *bw = upload(wt, nw), *bb = upload(b, 64), *by = upload(NULL, ny);
    nst_gpu_buffer *bg = upload(NULL, ng), *bdx = upload(NULL, nx);
    size_t scratch_floats = nst_gpu_gram_scratch_floats(64, h * w);
    nst_gpu_buffer *scratch = scratch_floats ? upload(NULL, scratch_floats) : NULL;
    nst_gpu_seq *seq = new_seq(4);
    nst_error err = {0};
    CHECK(nst_gpu_conv_forward(seq, &d, h, w, bx, bw, bb, 1, by, 0, &err) == NST_OK, "%s", err.message);
    CHECK(nst_gpu_gram(seq, 64, h * w, by, bg, scratch, &err) == NST_OK, "%s", err.message);
    CHECK(nst_gpu_conv_backward_input(seq, &d, h, w, by, 0, by, bw, bdx, &err) == NST_OK, "%s", err.message);
    float *out[2][2];
    for (int r = 0; r < 2; r++) {
        float *zero = test_floats(nx);
        CHECK(nst_gpu_buffer_write(gpu, bdx, 0, zero, nx * 4, &err) == NST_OK, "%s", err.message);
        free(zero);
        run(seq, "the same bytes");
        out[r][0] = test_floats(ng);
        out[r][1] = test_floats(nx);
        download(bg, out[r][0], ng);
        download(bdx, out[r][1], nx);
    }
    CHECK(memcmp(out[0][0], out[1][0], ng * 4) == 0, "two runs gave different Gram matrices");
    CHECK(memcmp(out[0][1], out[1][1], nx * 4) == 0, "two runs gave different input gradients");
    for (int r = 0; r < 2; r++)
        free(out[r][0]), free(out[r][1]);
    nst_gpu_seq_free(seq);
    nst_gpu_buffer *buffers[] = {bx, bw, bb, by, bg, bdx, scratch};
    free_buffers(buffers, sizeof buffers / sizeof *buffers);
    free(x), free(wt), free(b);
}

/* Shapes and sizes that do not fit are refused before anything runs. */
static void test_refusals(void)
{
    nst_gpu_buffer *small = upload(NULL, 4), *big = upload(NULL, 4096);
    nst_gpu_seq *seq = new_seq(1);
    nst_error err = {0};
    nst_conv_desc d = {2, 2, 3, 3, 1, 1, NST_PAD_ZERO};
    CHECK(nst_gpu_conv_forward(seq, &d, 8, 8, small, big, NULL, 0, big, 0, &err) == NST_ERR_INVALID &&
              strstr(err.message, "input"),
          "a short input buffer: %s", err.message);
    d.pad = 0;
    CHECK(nst_gpu_conv_forward(seq, &d, 2, 2, big, big, NULL, 0, big, 0, &err) == NST_ERR_INVALID,
          "a picture smaller than the kernel: %s", err.message);
    d.pad = 1;
    CHECK(nst_gpu_conv_forward(seq, &d, 8, 8, big, big, NULL, 0, big, 4096 - 2 * 64 + 1, &err) == NST_ERR_INVALID &&
              strstr(err.message, "output"),
          "an output offset past the buffer's end: %s", err.message);
    CHECK(nst_gpu_maxpool_forward(seq, 1, 8, 8, 3, 2, big, big, small, &err) == NST_ERR_INVALID,
          "a short argmax buffer: %s", err.message);
    CHECK(nst_gpu_avgpool_forward(seq, 1, 8, 8, 9, 2, big, big, &err) == NST_ERR_INVALID,
          "a plane smaller than the pooling window: %s", err.message);
    nst_gpu_seq_free(seq);
    nst_gpu_buffer_free(gpu, small);
    nst_gpu_buffer_free(gpu, big);
    CHECK(nst_gpu_new(NST_MAX_DEVICES, NULL, &err) == NULL && err.code == NST_ERR_DEVICE,
          "opening a device that does not exist: %s", err.message);
}

/* NST_TEST_GPU_TIMING=1: one 3x3 convolution of SqueezeNet's size class
 * (64 -> 64 channels, 128 x 128, reflect), forward and input gradient, on the
 * device and on the CPU, best of 5 (a note for the README, not a check). */
static void report_timing(void)
{
    if (!gpu_test_timing())
        return;
    nst_conv_desc d = {64, 64, 3, 3, 1, 1, NST_PAD_REFLECT};
    int h = 128, w = 128;
    size_t nx = (size_t)64 * h * w, nw = (size_t)64 * 64 * 9;
    float *x = random_floats(nx, 41), *wt = random_floats(nw, 42), *y = test_floats(nx), *dx = test_floats(nx);
    float *work = test_floats(nst_conv2d_workspace_floats(&d, h, w));
    nst_gpu_buffer *bx = upload(x, nx), *bw = upload(wt, nw), *by = upload(NULL, nx), *bdx = upload(NULL, nx);
    nst_gpu_seq *seq = new_seq(2);
    nst_error err = {0};
    CHECK(nst_gpu_conv_forward(seq, &d, h, w, bx, bw, NULL, 1, by, 0, &err) == NST_OK, "%s", err.message);
    CHECK(nst_gpu_conv_backward_input(seq, &d, h, w, by, 0, NULL, bw, bdx, &err) == NST_OK, "%s", err.message);
    double best_gpu = 1e30, best_cpu = 1e30;
    for (int r = 0; r < 5; r++) {
        double t0 = gpu_test_seconds();
        run(seq, "timing");
        double t1 = gpu_test_seconds();
        nst_conv2d_forward(&d, 1, h, w, x, wt, NULL, y, work);
        nst_relu_forward(nx, y, y);
        nst_conv2d_backward_input(&d, 1, h, w, y, wt, dx, work);
        double t2 = gpu_test_seconds();
        best_gpu = t1 - t0 < best_gpu ? t1 - t0 : best_gpu;
        best_cpu = t2 - t1 < best_cpu ? t2 - t1 : best_cpu;
    }
    printf("timing: conv 3x3 64->64 on 128x128, forward + input gradient: device %.1f ms, CPU %.1f ms\n",
           best_gpu * 1e3, best_cpu * 1e3);
    nst_gpu_seq_free(seq);
    nst_gpu_buffer *buffers[] = {bx, bw, by, bdx};
    free_buffers(buffers, sizeof buffers / sizeof *buffers);
    free(x), free(wt), free(y), free(dx), free(work);
}

int main(void)
{
    gpu = gpu_test_open(NULL);
    if (!gpu)
        return test_finish("test_gpu_kernels");
    test_convolutions();
    test_relu();
    test_pooling();
    test_gram();
    test_same_bytes();
    test_refusals();
    report_timing();
    printf("largest error against the CPU: conv forward %.3g, conv backward %.3g, Gram %.3g, Gram gradient %.3g, "
           "average pooling %.3g\n",
           worst_conv_forward, worst_conv_backward, worst_gram, worst_gram_gradient, worst_avgpool);
    nst_gpu_free(gpu);
    /* The staging copies a discrete GPU uses, on whatever device this is. */
    gpu = gpu_test_open(&(nst_gpu_options){.force_staging = 1});
    if (gpu) {
        check_conv(&(conv_case){5, 7, 3, 1, 1, NST_PAD_REFLECT, 9, 11}, 1, 1);
        check_pool(5, 13, 15, 3, 2, 0);
        check_avgpool(4, 7, 9, 2, 2);
        nst_gpu_free(gpu);
    }
    return test_finish("test_gpu_kernels");
}
#endif
