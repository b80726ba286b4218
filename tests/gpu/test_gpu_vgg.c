/* VGG19 and VGG16 on the device against the CPU engine, with random weights
 * made in memory (no downloaded weights needed), at small odd sizes, with
 * max and average pooling: the network's activations and input gradient
 * (every named layer used, so every ReLU runs apart from its conv; the
 * engine's layers; a conv read by both its ReLU and the loss), then VGG19's
 * whole objective (each term within relative 1e-4, the gradient within
 * relative norm 1e-4) with the engine's layers and with conv4_2 as the
 * content layer.
 *
 * A value within rounding of a ReLU's or a max pool's decision can take the
 * other side on the device (the convs sum in another order), and then a
 * whole unit's gradient goes elsewhere: with these random weights VGG19's
 * max-pooling objective at 37x41 on picture seed 1 shows 7e-3 for that
 * reason: the CPU's own gradient moves by up to 1.3e-2 when that picture is
 * nudged by +-1e-6, and at some of those nudges the device agrees within
 * 1.4e-5 (other seeds at that size: 1.4e-5 to 2e-5).  So the sizes here
 * are ones without such a tie; a wrong kernel fails every size.  Skipped (77)
 * when built without Vulkan; built with it but without a device is a
 * failure. */
#include <stdio.h>
#include <string.h>

#include "gpu_test_util.h"
#include "test_util.h"

#ifndef NST_HAVE_VULKAN
GPU_TEST_SKIPPED_MAIN
#else

#include "nn/model.h"

/* As for SqueezeNet: float32 sums in another order stay far below this; a
 * wrong tap, window, mask or buffer does not. */
static const double tolerance = 1e-4;

static nst_gpu *gpu;
static gpu_test_worst worst;

/* The engine's VGG layers (transfer/params.c) and a content layer that is a
 * conv also read by its ReLU. */
static const char *const engine_layers[] = {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"};
static const char *const conv_content_layers[] = {"relu1_1", "relu3_1", "conv4_2", "relu5_1"};

static void check_net(const nst_model *model, nst_pooling pooling, int width, int height,
                      const char *const *layers, int n_layers, int check_repeat)
{
    int used[32];
    int n_used = layers ? gpu_test_layer_nodes(model, layers, n_layers, used) : 0;
    nst_net_options options = {.pooling = pooling, .padding = NST_PAD_REFLECT, .used_nodes = layers ? used : NULL,
                               .n_used_nodes = n_used};
    int last = layers ? used[n_used - 1] : nst_model_find_layer(model, "relu5_1");
    printf("%s pooling, %s: ", pooling == NST_POOL_AVG ? "average" : "max",
           layers ? (layers == engine_layers ? "the engine's layers" : "conv4_2 used") : "every named layer");
    gpu_test_check_net(gpu, model, width, height, last, &options, check_repeat, tolerance, &worst);
}

static void check_objective(const nst_model *model, nst_pooling pooling, const char *content_layers,
                            int width, int height, int style_w, int style_h)
{
    nst_params params;
    nst_params_init(&params, model->kind);
    nst_error err = {0};
    CHECK(!content_layers || nst_params_set_content_layers(&params, content_layers, &err) == NST_OK, "%s",
          err.message);
    /* Weights that make every term count in the total. */
    params.content_weight = 1.0, params.style_weight = 1e3, params.tv_weight = 10.0;
    nst_net_options options = {.pooling = pooling, .padding = NST_PAD_REFLECT};
    printf("objective, %s pooling, content %s: ", pooling == NST_POOL_AVG ? "average" : "max",
           params.content_layers[0]);
    gpu_test_check_objective(gpu, model, &params, &options, width, height, style_w, style_h, tolerance);
}

static void check_model(nst_model_kind kind, const char *name)
{
    nst_model *model = gpu_test_random_model(kind, kind == NST_MODEL_VGG19 ? 19 : 16);
    if (!model)
        return;
    printf("%s, random weights\n", name);
    int vgg19 = kind == NST_MODEL_VGG19;
    check_net(model, vgg19 ? NST_POOL_MAX : NST_POOL_AVG, 37, 41, NULL, 0, vgg19);
    /* VGG16 differs from VGG19 only in its layer count: its network is
     * enough (lavapipe takes about 25 s per objective case). */
    if (vgg19) {
        check_net(model, NST_POOL_MAX, 41, 37, engine_layers, 6, 0);
        check_net(model, NST_POOL_AVG, 33, 35, conv_content_layers, 4, 0);
        check_objective(model, NST_POOL_MAX, NULL, 41, 37, 39, 33);
        check_objective(model, NST_POOL_AVG, "conv4_2", 41, 37, 35, 43);
    }
    nst_model_free(model);
}

int main(void)
{
    gpu = gpu_test_open(NULL);
    if (!gpu)
        return test_finish("test_gpu_vgg");
    check_model(NST_MODEL_VGG19, "VGG19");
    check_model(NST_MODEL_VGG16, "VGG16");
    printf("largest relative error against the CPU: activations %.3g, input gradient %.3g\n", worst.activation,
           worst.gradient);
    nst_gpu_free(gpu);
    return test_finish("test_gpu_vgg");
}
#endif
