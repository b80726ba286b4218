/* SqueezeNet 1.1's feature network on the device against nn/'s nst_net,
 * with the real weights: the activations of every used layer after forward,
 * and the input gradient after backward from random gradients at those
 * layers, at odd picture sizes down to the smallest fire5 takes; then the
 * same bytes from a second run, the staging path of a discrete GPU, and
 * the refusals.  Skipped (77) when built without Vulkan or when the model
 * is not there; built with Vulkan but without a device is a failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gpu_test_util.h"
#include "test_util.h"

#ifndef NST_HAVE_VULKAN
int main(void)
{
    printf("built without the Vulkan backend: skipped\n");
    return 77;
}
#else

#include <math.h>

#include "gpu/net.h"
#include "nn/model.h"

/* Norm of the difference over the CPU's norm: float32 sums in another order
 * through five fire modules stay far below this; a wrong tap, offset or mask
 * does not. */
static const double tolerance = 1e-4;
static double worst_activation, worst_gradient;

static nst_gpu *gpu;
static const nst_model *model;

typedef struct net_case {
    int width, height;
    nst_padding padding;
    const char *const *layers; /* NULL: every named node and the input */
    int n_layers;
} net_case;

/* The nodes a case uses, and the deepest (fire5 for every case here). */
static int used_nodes(const net_case *c, int *used, int *last)
{
    int n = 0;
    *last = nst_model_find_layer(model, "fire5");
    for (int i = 0; i <= *last; i++) {
        const char *name = model->nodes[i].name;
        int pick = c->layers ? 0 : i == 0 || name[0];
        for (int k = 0; k < c->n_layers && name[0]; k++)
            pick |= strcmp(name, c->layers[k]) == 0;
        if (pick)
            used[n++] = i;
    }
    return n;
}

typedef struct run_result {
    float *activations[32]; /* per used node */
    float *grad_input;
} run_result;

static void free_result(run_result *r, int n_used)
{
    for (int k = 0; k < n_used; k++)
        free(r->activations[k]);
    free(r->grad_input);
}

static size_t node_count(const nst_gpu_net *net, int node)
{
    int c, h, w;
    nst_gpu_net_shape(net, node, &c, &h, &w);
    return (size_t)c * h * w;
}

/* Forward, the gradients written, backward: what the device gives. */
static void run_gpu(nst_gpu_net *net, const float *input, const int *used, int n_used, float *const *grads,
                    run_result *r)
{
    nst_error err = {0};
    CHECK(nst_gpu_net_forward(net, input, &err) == NST_OK, "GPU forward: %s", err.message);
    for (int k = 0; k < n_used; k++) {
        r->activations[k] = test_floats(node_count(net, used[k]));
        CHECK(nst_gpu_net_read_activation(net, used[k], r->activations[k], &err) == NST_OK, "reading node %d: %s",
              used[k], err.message);
        CHECK(nst_gpu_net_write_gradient(net, used[k], grads[k], &err) == NST_OK, "writing node %d: %s", used[k],
              err.message);
    }
    r->grad_input = test_floats(node_count(net, 0));
    CHECK(nst_gpu_net_backward(net, r->grad_input, &err) == NST_OK, "GPU backward: %s", err.message);
}

static void check_case(const net_case *c, int check_repeat)
{
    int used[32], last;
    int n_used = used_nodes(c, used, &last);
    nst_net_options options = {.pooling = NST_POOL_MAX, .padding = c->padding, .used_nodes = used,
                               .n_used_nodes = n_used};
    if (!c->layers)
        options.used_nodes = NULL, options.n_used_nodes = 0;
    nst_error err = {0};
    nst_net *cpu = nst_net_new(model, c->height, c->width, last, &options, &err);
    CHECK(cpu, "CPU net %dx%d: %s", c->width, c->height, err.message);
    nst_gpu_net *net = cpu ? nst_gpu_net_new(gpu, model, c->height, c->width, last, &options, &err) : NULL;
    CHECK(!cpu || net, "GPU net %dx%d: %s", c->width, c->height, err.message);
    if (!net) {
        nst_net_free(cpu);
        return;
    }
    size_t n_input = (size_t)3 * c->height * c->width;
    float *input = test_floats(n_input);
    test_fill_uniform(input, n_input, 7, -2.0f, 2.0f);
    float *grads[32] = {0};
    CHECK(nst_net_forward(cpu, input, NULL, &err) == NST_OK, "CPU forward: %s", err.message);
    nst_net_zero_gradients(cpu);
    for (int k = 0; k < n_used; k++) {
        size_t n = node_count(net, used[k]);
        grads[k] = test_floats(n);
        test_fill_uniform(grads[k], n, 100 + (uint64_t)k, -1.0f, 1.0f);
        memcpy(nst_net_gradient(cpu, used[k]), grads[k], n * sizeof(float));
    }
    float *cpu_grad_input = test_floats(n_input);
    run_result r = {{0}, 0}, again = {{0}, 0};
    run_gpu(net, input, used, n_used, grads, &r);
    for (int k = 0; k < n_used; k++) {
        const float *ref = nst_net_activation(cpu, used[k], NULL, NULL, NULL);
        double e = gpu_test_rel_norm_error(r.activations[k], ref, node_count(net, used[k]));
        worst_activation = e > worst_activation ? e : worst_activation;
        CHECK(e <= tolerance, "%dx%d: activation of %s: relative error %.3g", c->width, c->height,
              used[k] ? model->nodes[used[k]].name : "input", e);
    }
    CHECK(nst_net_backward(cpu, cpu_grad_input, NULL, &err) == NST_OK, "CPU backward: %s", err.message);
    double e = gpu_test_rel_norm_error(r.grad_input, cpu_grad_input, n_input);
    worst_gradient = e > worst_gradient ? e : worst_gradient;
    CHECK(e <= tolerance, "%dx%d: input gradient: relative error %.3g", c->width, c->height, e);
    printf("%dx%d, %d used nodes: input gradient error %.3g\n", c->width, c->height, n_used, e);
    if (check_repeat) {
        /* The recorded sequences replayed: the same bytes. */
        run_gpu(net, input, used, n_used, grads, &again);
        for (int k = 0; k < n_used; k++)
            CHECK(memcmp(r.activations[k], again.activations[k], node_count(net, used[k]) * sizeof(float)) == 0,
                  "%dx%d: node %d differs on a second run", c->width, c->height, used[k]);
        CHECK(memcmp(r.grad_input, again.grad_input, n_input * sizeof(float)) == 0,
              "%dx%d: the input gradient differs on a second run", c->width, c->height);
        free_result(&again, n_used);
    }
    free_result(&r, n_used);
    for (int k = 0; k < n_used; k++)
        free(grads[k]);
    free(input);
    free(cpu_grad_input);
    nst_gpu_net_free(net);
    nst_net_free(cpu);
}

static const char *const engine_layers[] = {"conv1", "fire2", "fire3", "fire4", "fire5"}; /* the defaults */
static const char *const sparse_layers[] = {"fire3", "fire5"};

/* NST_TEST_GPU_TIMING=1: forward and backward to fire5 with the engine's
 * layers at 128x128, on the device and on the CPU, best of 3. */
static void report_timing(void)
{
    if (!gpu_test_timing())
        return;
    int used[32], last, side = 128;
    int n_used = used_nodes(&(net_case){side, side, NST_PAD_REFLECT, engine_layers, 5}, used, &last);
    nst_net_options options = {.pooling = NST_POOL_MAX, .padding = NST_PAD_REFLECT, .used_nodes = used,
                               .n_used_nodes = n_used};
    nst_error err = {0};
    nst_net *cpu = nst_net_new(model, side, side, last, &options, &err);
    nst_gpu_net *net = nst_gpu_net_new(gpu, model, side, side, last, &options, &err);
    CHECK(cpu && net, "timing nets: %s", err.message);
    size_t n_input = (size_t)3 * side * side;
    float *input = test_floats(n_input), *grad = test_floats(n_input), *zeros = test_floats(n_input * 64);
    double best_gpu = 1e30, best_cpu = 1e30;
    for (int r = 0; r < 3 && cpu && net; r++) {
        double t0 = gpu_test_seconds();
        nst_gpu_net_forward(net, input, &err);
        for (int k = 0; k < n_used; k++)
            nst_gpu_net_write_gradient(net, used[k], zeros, &err);
        nst_gpu_net_backward(net, grad, &err);
        double t1 = gpu_test_seconds();
        nst_net_forward(cpu, input, NULL, &err);
        nst_net_zero_gradients(cpu);
        for (int k = 0; k < n_used; k++)
            nst_net_gradient(cpu, used[k]);
        nst_net_backward(cpu, grad, NULL, &err);
        double t2 = gpu_test_seconds();
        best_gpu = t1 - t0 < best_gpu ? t1 - t0 : best_gpu;
        best_cpu = t2 - t1 < best_cpu ? t2 - t1 : best_cpu;
    }
    printf("timing: SqueezeNet to fire5 at %dx%d, forward + backward: device %.1f ms, CPU %.1f ms\n", side, side,
           best_gpu * 1e3, best_cpu * 1e3);
    nst_gpu_net_free(net);
    nst_net_free(cpu);
    free(input), free(grad), free(zeros);
}

static void test_refusals(void)
{
    nst_error err = {0};
    int last = nst_model_find_layer(model, "fire5");
    nst_net_options options = {.pooling = NST_POOL_MAX, .padding = NST_PAD_REFLECT};
    CHECK(!nst_gpu_net_new(gpu, model, 13, 40, last, &options, &err) && err.code == NST_ERR_INVALID &&
              strstr(err.message, "too small"),
          "a picture too small for fire5: %s", err.message);
    CHECK(!nst_gpu_net_new(gpu, model, 40, 40, model->n_nodes, &options, &err) && err.code == NST_ERR_INVALID,
          "a layer past the model: %s", err.message);
    int fire3 = nst_model_find_layer(model, "fire3");
    options.used_nodes = &fire3, options.n_used_nodes = 1;
    nst_gpu_net *net = nst_gpu_net_new(gpu, model, 31, 33, fire3, &options, &err);
    CHECK(net, "a net to fire3: %s", err.message);
    float one[1];
    CHECK(!net || (nst_gpu_net_read_activation(net, fire3 - 1, one, &err) == NST_ERR_INVALID &&
                   nst_gpu_net_write_gradient(net, 1, one, &err) == NST_ERR_INVALID),
          "a node that is not used is refused: %s", err.message);
    nst_gpu_net_free(net);
}

int main(void)
{
    struct stat st;
    const char *dir = test_model_file("squeezenet1.1");
    if (stat(dir, &st) != 0) {
        printf("no SqueezeNet 1.1 weights at %s: skipped\n", dir);
        return 77;
    }
    nst_error err = {0};
    nst_model *loaded = nst_model_load(NST_MODEL_SQUEEZENET11, dir, &err);
    CHECK(loaded, "loading SqueezeNet from %s: %s", dir, err.message);
    int index = gpu_test_pick_device();
    CHECK(index >= 0, "no device to test on");
    gpu = loaded && index >= 0 ? nst_gpu_new(index, NULL, &err) : NULL;
    CHECK(!loaded || index < 0 || gpu, "opening device %d: %s", index, err.message);
    if (!gpu) {
        nst_model_free(loaded);
        return test_finish("test_gpu_net");
    }
    model = loaded;
    printf("device %d: %s\n", index, gpu->info.name);
    check_case(&(net_case){67, 45, NST_PAD_REFLECT, engine_layers, 5}, 1);
    check_case(&(net_case){17, 15, NST_PAD_ZERO, NULL, 0}, 0);      /* fire4 and fire5 at 1x1 */
    check_case(&(net_case){25, 23, NST_PAD_REFLECT, sparse_layers, 2}, 0); /* reflect's smallest */
    check_case(&(net_case){33, 31, NST_PAD_REPLICATE, engine_layers, 5}, 0);
    test_refusals();
    report_timing();
    nst_gpu_free(gpu);
    /* The staging copies a discrete GPU uses, on whatever device this is. */
    nst_gpu_options staged = {.force_staging = 1};
    gpu = nst_gpu_new(index, &staged, &err);
    CHECK(gpu && !gpu->unified, "opening device %d with staging: %s", index, err.message);
    if (gpu) {
        check_case(&(net_case){17, 15, NST_PAD_ZERO, engine_layers, 5}, 0);
        nst_gpu_free(gpu);
    }
    printf("largest relative error against the CPU: activations %.3g, input gradient %.3g\n", worst_activation,
           worst_gradient);
    nst_model_free(loaded);
    return test_finish("test_gpu_net");
}
#endif
