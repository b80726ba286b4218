/* The worker pool (nst-core/base/parallel.c) and the layers that use it:
 * every task runs once on a valid worker; the alternating loop finishes all
 * even tasks before an odd one starts; and convolutions (im2col, pointwise,
 * strided, Winograd; forward and input gradient) give the same bytes on one
 * worker as on all of them, so no block races another.  On a one-core
 * machine the comparison is trivially true; CI has two. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/parallel.h"
#include "nn/layers.h"
#include "nn/winograd.h"
#include "test_util.h"

enum { TASKS = 257 };

typedef struct record {
    atomic_int runs[TASKS];
    atomic_int bad_worker;
    atomic_int clock;
    int started[TASKS], finished[TASKS];
} record;

static void note_task(void *ctx, int task, int worker)
{
    record *r = ctx;
    r->started[task] = atomic_fetch_add(&r->clock, 1);
    atomic_fetch_add(&r->runs[task], 1);
    if (worker < 0 || worker >= nst_parallel_max_workers())
        atomic_store(&r->bad_worker, 1);
    for (volatile int spin = 0; spin < 2000; spin++) /* let the other workers in */
        ;
    r->finished[task] = atomic_fetch_add(&r->clock, 1);
}

static void test_pool(void)
{
    static record r;
    memset(&r, 0, sizeof r);
    nst_parallel_for(TASKS, note_task, &r);
    int once = 1;
    for (int i = 0; i < TASKS; i++)
        once &= atomic_load(&r.runs[i]) == 1;
    CHECK(once, "every task runs exactly once");
    CHECK(!atomic_load(&r.bad_worker), "worker indices stay below nst_parallel_max_workers()");

    memset(&r, 0, sizeof r);
    nst_parallel_for_alternating(TASKS, note_task, &r);
    int last_even = -1, first_odd = 1 << 30;
    once = 1;
    for (int i = 0; i < TASKS; i++) {
        once &= atomic_load(&r.runs[i]) == 1;
        if (i % 2 == 0 && r.finished[i] > last_even)
            last_even = r.finished[i];
        if (i % 2 == 1 && r.started[i] < first_odd)
            first_odd = r.started[i];
    }
    CHECK(once, "alternating: every task runs exactly once");
    CHECK(last_even < first_odd, "alternating: even tasks end (%d) before odd ones start (%d)", last_even, first_odd);

    nst_parallel_for(0, note_task, &r); /* nothing to do, must return */
    int begin, end, covered = 0, ordered = 1;
    for (int i = 0; i < 7; i++) {
        nst_parallel_range(100, 7, i, &begin, &end);
        ordered &= begin == covered && end >= begin && end - begin >= 14 && end - begin <= 15;
        covered = end;
    }
    CHECK(ordered && covered == 100, "nst_parallel_range splits 100 into 7 contiguous near-equal parts");
}

typedef struct conv_case {
    nst_conv_desc d;
    int h, w;
    int winograd;
    const char *what;
} conv_case;

/* y and dx of one conv with the workers currently set. */
static void run_conv(const conv_case *c, const float *x, const float *weight, const float *u, const float *bias,
                     const float *dy, float *y, float *dx, float *ws)
{
    size_t nx = (size_t)c->d.in_channels * c->h * c->w;
    memset(dx, 0, nx * sizeof *dx);
    if (c->winograd) {
        nst_winograd_forward(&c->d, c->h, c->w, x, u, bias, 1, y, ws);
        nst_winograd_backward_input(&c->d, c->h, c->w, dy, u, dx, ws);
    } else {
        nst_conv2d_forward(&c->d, 1, c->h, c->w, x, weight, bias, y, ws);
        nst_conv2d_backward_input(&c->d, 1, c->h, c->w, dy, weight, dx, ws);
    }
}

static void test_conv_same_on_any_workers(const conv_case *c, uint64_t seed)
{
    const nst_conv_desc *d = &c->d;
    int oh = nst_conv_out_size(c->h, d->kernel_h, d->stride, d->pad);
    int ow = nst_conv_out_size(c->w, d->kernel_w, d->stride, d->pad);
    size_t nx = (size_t)d->in_channels * c->h * c->w, ny = (size_t)d->out_channels * oh * ow;
    size_t nw = (size_t)d->out_channels * d->in_channels * d->kernel_h * d->kernel_w;
    size_t nws = c->winograd ? nst_winograd_workspace_floats(d, c->h, c->w)
                             : nst_conv2d_workspace_floats(d, c->h, c->w);
    float *x = test_floats(nx), *weight = test_floats(nw), *dy = test_floats(ny);
    float *bias = test_floats((size_t)d->out_channels);
    float *u = test_floats(c->winograd ? nst_winograd_weight_floats(d) : 1), *ws = test_floats(nws);
    float *y1 = test_floats(ny), *yn = test_floats(ny), *dx1 = test_floats(nx), *dxn = test_floats(nx);
    test_fill_uniform(x, nx, seed, -1.0f, 1.0f);
    test_fill_uniform(weight, nw, seed + 1, -0.2f, 0.2f);
    test_fill_uniform(bias, (size_t)d->out_channels, seed + 2, -0.1f, 0.1f);
    test_fill_uniform(dy, ny, seed + 3, -1.0f, 1.0f);
    if (c->winograd)
        nst_winograd_transform_weights(d, weight, u);

    nst_parallel_set_workers(1);
    run_conv(c, x, weight, u, bias, dy, y1, dx1, ws);
    nst_parallel_set_workers(0);
    run_conv(c, x, weight, u, bias, dy, yn, dxn, ws);
    CHECK(memcmp(y1, yn, ny * sizeof *y1) == 0, "%s: forward differs between 1 and %d workers", c->what,
          nst_parallel_workers());
    CHECK(memcmp(dx1, dxn, nx * sizeof *dx1) == 0, "%s: input gradient differs between 1 and %d workers", c->what,
          nst_parallel_workers());
    free(x), free(weight), free(bias), free(dy), free(u), free(ws), free(y1), free(yn), free(dx1), free(dxn);
}

int main(void)
{
    test_pool();
    static const conv_case cases[] = {
        {{3, 16, 3, 3, 1, 1, NST_PAD_REFLECT}, 61, 47, 0, "3x3 im2col, reflect"},
        {{8, 16, 3, 3, 2, 0, NST_PAD_ZERO}, 63, 40, 0, "3x3 stride 2 (SqueezeNet conv1)"},
        {{16, 32, 1, 1, 1, 0, NST_PAD_ZERO}, 37, 29, 0, "pointwise"},
        {{64, 64, 3, 3, 1, 1, NST_PAD_REFLECT}, 72, 68, 1, "Winograd, reflect"},
        {{128, 64, 3, 3, 1, 1, NST_PAD_ZERO}, 33, 90, 1, "Winograd, zero padding, partial tiles"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        test_conv_same_on_any_workers(&cases[i], 500 + 10 * i);
    return test_finish("parallel");
}
