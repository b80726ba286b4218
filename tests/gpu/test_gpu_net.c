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

#include "gpu_test_util.h"
#include "test_util.h"

#ifndef NST_HAVE_VULKAN
GPU_TEST_SKIPPED_MAIN
#else

#include "gpu/net.h"
#include "nn/model.h"

/* Norm of the difference over the CPU's norm: float32 sums in another order
 * through five fire modules stay far below this; a wrong tap, offset or mask
 * does not. */
static const double tolerance = 1e-4;
static gpu_test_worst worst;

static nst_gpu *gpu;
static const nst_model *model;

typedef struct net_case {
    int width, height;
    nst_padding padding;
    const char *const *layers; /* NULL: every named node and the input */
    int n_layers;
} net_case;

/* The network to fire5 with the layers of a case, against the CPU's. */
static void check_case(const net_case *c, int check_repeat)
{
    int used[32];
    int n_used = c->layers ? gpu_test_layer_nodes(model, c->layers, c->n_layers, used) : 0;
    nst_net_options options = {.pooling = NST_POOL_MAX, .padding = c->padding, .used_nodes = c->layers ? used : NULL,
                               .n_used_nodes = n_used};
    gpu_test_check_net(gpu, model, c->width, c->height, nst_model_find_layer(model, "fire5"), &options,
                       check_repeat, tolerance, &worst);
}

static const char *const engine_layers[] = {"conv1", "fire2", "fire3", "fire4", "fire5"}; /* the defaults */
static const char *const sparse_layers[] = {"fire3", "fire5"};

/* NST_TEST_GPU_TIMING=1: forward and backward to fire5 with the engine's
 * layers at 128x128, on the device and on the CPU, best of 3. */
static void report_timing(void)
{
    if (!gpu_test_timing())
        return;
    int used[32], last = nst_model_find_layer(model, "fire5"), side = 128;
    int n_used = gpu_test_layer_nodes(model, engine_layers, 5, used);
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
    int skipped;
    nst_model *loaded = gpu_test_squeezenet(&skipped);
    if (skipped)
        return 77;
    gpu = loaded ? gpu_test_open(NULL) : NULL;
    if (!gpu) {
        nst_model_free(loaded);
        return test_finish("test_gpu_net");
    }
    model = loaded;
    check_case(&(net_case){67, 45, NST_PAD_REFLECT, engine_layers, 5}, 1);
    check_case(&(net_case){17, 15, NST_PAD_ZERO, NULL, 0}, 0);      /* fire4 and fire5 at 1x1 */
    check_case(&(net_case){25, 23, NST_PAD_REFLECT, sparse_layers, 2}, 0); /* reflect's smallest */
    check_case(&(net_case){33, 31, NST_PAD_REPLICATE, engine_layers, 5}, 0);
    test_refusals();
    report_timing();
    nst_gpu_free(gpu);
    /* The staging copies a discrete GPU uses, on whatever device this is. */
    gpu = gpu_test_open(&(nst_gpu_options){.force_staging = 1});
    if (gpu) {
        check_case(&(net_case){17, 15, NST_PAD_ZERO, engine_layers, 5}, 0);
        nst_gpu_free(gpu);
    }
    printf("largest relative error against the CPU: activations %.3g, input gradient %.3g\n", worst.activation,
           worst.gradient);
    nst_model_free(loaded);
    return test_finish("test_gpu_net");
}
#endif
