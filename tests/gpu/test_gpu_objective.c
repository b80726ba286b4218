/* The objective on the device (gpu/objective.h) against loss/'s
 * nst_objective, SqueezeNet 1.1 with the real weights and the engine's
 * layers: a random picture at an odd size with a reflected border, the
 * content from another, the style blended from two more pictures of other
 * sizes (weights 1:3, their Grams scaled); the total and each term within relative 1e-4, the gradient
 * within relative norm 1e-4; the same bytes from a second evaluation; with
 * no border too, new weights, the staging path and a refusal.  Skipped (77) when built without Vulkan or when the model
 * is not there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gpu_test_util.h"
#include "test_util.h"

#ifndef NST_HAVE_VULKAN
GPU_TEST_SKIPPED_MAIN
#else

#include "gpu/objective.h"
#include "nn/model.h"

static const double tolerance = 1e-4;

/* SqueezeNet's engine layers with weights that make every term count. */
static void check_case(nst_gpu *gpu, const nst_model *model, int width, int height, int border, int style_w,
                       int style_h)
{
    nst_params params;
    nst_params_init(&params, NST_MODEL_SQUEEZENET11);
    params.content_weight = 1.0, params.style_weight = 1e3, params.tv_weight = 10.0;
    nst_net_options options = {.pooling = NST_POOL_MAX, .padding = NST_PAD_REFLECT, .border = border};
    gpu_test_check_objective(gpu, model, &params, &options, width, height, style_w, style_h, tolerance);
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
    nst_model *model = nst_model_load(NST_MODEL_SQUEEZENET11, dir, &err);
    CHECK(model, "loading SqueezeNet from %s: %s", dir, err.message);
    int index = gpu_test_pick_device();
    CHECK(index >= 0, "no device to test on");
    nst_gpu *gpu = model && index >= 0 ? nst_gpu_new(index, NULL, &err) : NULL;
    CHECK(!model || index < 0 || gpu, "opening device %d: %s", index, err.message);
    if (gpu) {
        printf("device %d: %s\n", index, gpu->info.name);
        check_case(gpu, model, 41, 37, 6, 45, 39);
        check_case(gpu, model, 37, 41, 0, 37, 41);
        /* A style picture smaller than the network takes is refused. */
        nst_params params;
        nst_params_init(&params, NST_MODEL_SQUEEZENET11);
        nst_net_options options = {.pooling = NST_POOL_MAX, .padding = NST_PAD_REFLECT};
        nst_gpu_objective *obj = nst_gpu_objective_new(gpu, model, 37, 41, &params, &options, &err);
        float tiny[3 * 9 * 9] = {0};
        CHECK(obj && nst_gpu_objective_set_style(obj, tiny, 9, 9, &err) != NST_OK && err.message[0],
              "a 9x9 style picture was taken");
        printf("refused: %s\n", err.message);
        nst_gpu_objective_free(obj);
        nst_gpu_free(gpu);
        /* The staging copies of a discrete GPU. */
        nst_gpu_options staged = {.force_staging = 1};
        gpu = nst_gpu_new(index, &staged, &err);
        CHECK(gpu, "opening device %d with staging: %s", index, err.message);
        if (gpu)
            check_case(gpu, model, 41, 37, 6, 31, 29);
    }
    nst_gpu_free(gpu);
    nst_model_free(model);
    return test_finish("test_gpu_objective");
}

#endif
