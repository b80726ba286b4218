/* Backward kernels against central finite differences of the forward ones:
 * for L = sum(r * y) with a fixed random r, the analytic dL/dx is the backward
 * pass with dy = r, and the reference is (L(x + h e_i) - L(x - h e_i)) / 2h,
 * summed in double, at every input position.  dx starts at a constant so the
 * check also proves the backward passes accumulate instead of overwriting. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn/layers.h"
#include "test_util.h"

#define STEP 1e-3f
#define TOLERANCE 1e-2
#define DX_PREFILL 0.25f

typedef struct layer_op layer_op;
struct layer_op {
    const char *name;
    size_t in_count, out_count;
    void (*forward)(const layer_op *op, const float *x, float *y);
    void (*backward)(const layer_op *op, const float *x, const float *y, const float *dy, float *dx);
    /* shape of the layer under test */
    nst_conv_desc conv;
    int n, channels, h, w, kernel, stride, channels_b;
    const float *weight, *bias;
    float *workspace;
};

static double linear_functional(const layer_op *op, const float *x, const float *r, float *y)
{
    op->forward(op, x, y);
    double sum = 0;
    for (size_t i = 0; i < op->out_count; i++)
        sum += (double)r[i] * y[i];
    return sum;
}

static void gradcheck(const layer_op *op, float *x, uint64_t seed)
{
    float *y = malloc(op->out_count * sizeof *y), *r = malloc(op->out_count * sizeof *r);
    float *dx = malloc(op->in_count * sizeof *dx);
    float *analytic = malloc(op->in_count * sizeof *analytic), *numeric = malloc(op->in_count * sizeof *numeric);
    test_fill_uniform(r, op->out_count, seed, -1.0f, 1.0f);

    op->forward(op, x, y);
    for (size_t i = 0; i < op->in_count; i++)
        dx[i] = DX_PREFILL;
    op->backward(op, x, y, r, dx);
    for (size_t i = 0; i < op->in_count; i++)
        analytic[i] = dx[i] - DX_PREFILL;

    for (size_t i = 0; i < op->in_count; i++) {
        float saved = x[i];
        x[i] = saved + STEP;
        double up = linear_functional(op, x, r, y);
        x[i] = saved - STEP;
        double down = linear_functional(op, x, r, y);
        x[i] = saved;
        numeric[i] = (float)((up - down) / (2.0 * STEP));
    }
    double err = test_max_rel_error(analytic, numeric, op->in_count, 1e-2);
    CHECK(err < TOLERANCE, "%s: gradient rel error %.3g", op->name, err);
    printf("%-40s rel error %.2e\n", op->name, err);
    free(y);
    free(r);
    free(dx);
    free(analytic);
    free(numeric);
}

static void conv_forward(const layer_op *op, const float *x, float *y)
{
    nst_conv2d_forward(&op->conv, op->n, op->h, op->w, x, op->weight, op->bias, y, op->workspace);
}

static void conv_backward(const layer_op *op, const float *x, const float *y, const float *dy, float *dx)
{
    (void)x;
    (void)y;
    nst_conv2d_backward_input(&op->conv, op->n, op->h, op->w, dy, op->weight, dx, op->workspace);
}

static void check_conv(const char *name, int kh, int kw, int stride, int pad, nst_padding mode, uint64_t seed)
{
    layer_op op = {.name = name, .n = 2, .h = 6, .w = 5};
    op.conv = (nst_conv_desc){3, 4, kh, kw, stride, pad, mode};
    int oh = nst_conv_out_size(op.h, kh, stride, pad), ow = nst_conv_out_size(op.w, kw, stride, pad);
    op.in_count = (size_t)op.n * op.conv.in_channels * op.h * op.w;
    op.out_count = (size_t)op.n * op.conv.out_channels * oh * ow;
    op.forward = conv_forward;
    op.backward = conv_backward;
    size_t nw = (size_t)op.conv.out_channels * op.conv.in_channels * kh * kw;
    float *weight = malloc(nw * sizeof *weight), *bias = malloc(4 * sizeof *bias);
    float *x = malloc(op.in_count * sizeof *x);
    op.workspace = malloc((nst_conv2d_workspace_floats(&op.conv, op.h, op.w) + 1) * sizeof(float));
    test_fill_uniform(weight, nw, seed, -0.5f, 0.5f);
    test_fill_uniform(bias, 4, seed + 1, -1.0f, 1.0f);
    test_fill_uniform(x, op.in_count, seed + 2, -1.0f, 1.0f);
    op.weight = weight;
    op.bias = bias;
    gradcheck(&op, x, seed + 3);
    free(weight);
    free(bias);
    free(x);
    free(op.workspace);
}

static void test_conv(void)
{
    static const struct {
        const char *name;
        int kh, kw, stride, pad;
        nst_padding mode;
    } cases[] = {
        {"conv 1x1 s1 (pointwise GEMM)", 1, 1, 1, 0, NST_PAD_ZERO},
        {"conv 1x1 s2", 1, 1, 2, 0, NST_PAD_ZERO},
        {"conv 1x1 s1 pad1 reflect", 1, 1, 1, 1, NST_PAD_REFLECT},
        {"conv 3x3 s1 pad1 zero", 3, 3, 1, 1, NST_PAD_ZERO},
        {"conv 3x3 s1 pad1 reflect", 3, 3, 1, 1, NST_PAD_REFLECT},
        {"conv 3x3 s1 pad1 replicate", 3, 3, 1, 1, NST_PAD_REPLICATE},
        {"conv 3x3 s2 pad0 (squeezenet conv1)", 3, 3, 2, 0, NST_PAD_ZERO},
        {"conv 3x3 s2 pad1 zero", 3, 3, 2, 1, NST_PAD_ZERO},
        {"conv 3x3 s2 pad1 reflect", 3, 3, 2, 1, NST_PAD_REFLECT},
        {"conv 3x3 s2 pad1 replicate", 3, 3, 2, 1, NST_PAD_REPLICATE},
        {"conv 5x3 s1 pad2 zero", 5, 3, 1, 2, NST_PAD_ZERO},
        {"conv 5x3 s1 pad2 reflect", 5, 3, 1, 2, NST_PAD_REFLECT},
        {"conv 5x3 s1 pad2 replicate", 5, 3, 1, 2, NST_PAD_REPLICATE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_conv(cases[i].name, cases[i].kh, cases[i].kw, cases[i].stride, cases[i].pad, cases[i].mode,
                   1000 + 10 * i);
}

static void relu_forward(const layer_op *op, const float *x, float *y)
{
    nst_relu_forward(op->in_count, x, y);
}

static void relu_backward(const layer_op *op, const float *x, const float *y, const float *dy, float *dx)
{
    (void)x;
    nst_relu_backward(op->in_count, y, dy, dx);
}

static void test_relu(void)
{
    layer_op op = {.name = "relu", .in_count = 200, .out_count = 200};
    op.forward = relu_forward;
    op.backward = relu_backward;
    float x[200];
    test_fill_uniform(x, 200, 7, -1.0f, 1.0f);
    for (int i = 0; i < 200; i++) /* keep 100 steps away from the kink */
        if (fabsf(x[i]) < 0.1f)
            x[i] += x[i] < 0 ? -0.1f : 0.1f;
    gradcheck(&op, x, 8);
}

static void pool_sizes(layer_op *op)
{
    int oh = nst_conv_out_size(op->h, op->kernel, op->stride, 0);
    int ow = nst_conv_out_size(op->w, op->kernel, op->stride, 0);
    op->in_count = (size_t)op->n * op->channels * op->h * op->w;
    op->out_count = (size_t)op->n * op->channels * oh * ow;
}

static void maxpool_forward(const layer_op *op, const float *x, float *y)
{
    nst_maxpool_forward(op->n, op->channels, op->h, op->w, op->kernel, op->stride, x, y);
}

static void maxpool_backward(const layer_op *op, const float *x, const float *y, const float *dy, float *dx)
{
    (void)y;
    nst_maxpool_backward(op->n, op->channels, op->h, op->w, op->kernel, op->stride, x, dy, dx);
}

static void avgpool_forward(const layer_op *op, const float *x, float *y)
{
    nst_avgpool_forward(op->n, op->channels, op->h, op->w, op->kernel, op->stride, x, y);
}

static void avgpool_backward(const layer_op *op, const float *x, const float *y, const float *dy, float *dx)
{
    (void)x;
    (void)y;
    nst_avgpool_backward(op->n, op->channels, op->h, op->w, op->kernel, op->stride, dy, dx);
}

/* Distinct values 10 steps apart in shuffled order, so no window has a
 * maximum the finite difference could swap. */
static void fill_without_ties(float *x, size_t count, uint64_t seed)
{
    for (size_t i = 0; i < count; i++)
        x[i] = (float)i * 10.0f * STEP - 1.0f;
    for (size_t i = count - 1; i > 0; i--) {
        size_t j = (size_t)(test_rand_u64(&seed) % (i + 1));
        float t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}

static void test_pools(void)
{
    static const struct {
        const char *name;
        int is_max, h, w, kernel, stride;
    } cases[] = {
        {"maxpool 2x2/2 on 7x9 (floor)", 1, 7, 9, 2, 2},
        {"maxpool 3x3/2 on 9x8 (floor, overlap)", 1, 9, 8, 3, 2},
        {"avgpool 2x2/2 on 7x9 (floor)", 0, 7, 9, 2, 2},
        {"avgpool 3x3/2 on 9x8 (floor, overlap)", 0, 9, 8, 3, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        layer_op op = {.name = cases[i].name, .n = 2, .channels = 3, .h = cases[i].h, .w = cases[i].w,
                       .kernel = cases[i].kernel, .stride = cases[i].stride};
        pool_sizes(&op);
        op.forward = cases[i].is_max ? maxpool_forward : avgpool_forward;
        op.backward = cases[i].is_max ? maxpool_backward : avgpool_backward;
        float *x = malloc(op.in_count * sizeof *x);
        fill_without_ties(x, op.in_count, 40 + i);
        gradcheck(&op, x, 50 + i);
        free(x);
    }
}

/* x holds a [n, ca, h, w] then b [n, cb, h, w], one after the other. */
static void concat_forward(const layer_op *op, const float *x, float *y)
{
    size_t a_count = (size_t)op->n * op->channels * op->h * op->w;
    nst_concat_forward(op->n, op->channels, op->channels_b, op->h, op->w, x, x + a_count, y);
}

static void concat_backward(const layer_op *op, const float *x, const float *y, const float *dy, float *dx)
{
    (void)x;
    (void)y;
    size_t a_count = (size_t)op->n * op->channels * op->h * op->w;
    nst_concat_backward(op->n, op->channels, op->channels_b, op->h, op->w, dy, dx, dx + a_count);
}

static void test_concat(void)
{
    layer_op op = {.name = "concat", .n = 2, .channels = 3, .channels_b = 2, .h = 4, .w = 5};
    op.in_count = op.out_count = (size_t)op.n * (op.channels + op.channels_b) * op.h * op.w;
    op.forward = concat_forward;
    op.backward = concat_backward;
    float *x = malloc(op.in_count * sizeof *x);
    test_fill_uniform(x, op.in_count, 60, -1.0f, 1.0f);
    gradcheck(&op, x, 61);
    free(x);
}

int main(void)
{
    test_conv();
    test_relu();
    test_pools();
    test_concat();
    return test_finish("test_gradcheck");
}
