/* The objective on the device (gpu/objective.h) against loss/'s
 * nst_objective, SqueezeNet 1.1 with the real weights and the engine's
 * layers: a random picture at an odd size with a reflected border, the
 * content from another, the style blended from two more pictures of other
 * sizes (weights 1:3, their Grams scaled); the total and each term within
 * relative 1e-4, the gradient within relative norm 1e-4; the same bytes from
 * a second evaluation; with no border too, new weights, the staging path
 * and a refusal.  Regions: three styles in two groups, one with a soft mask
 * and one without (everywhere), at three windows of the mask plane as tiles
 * give them (in the first, the masked group's region is empty), against
 * loss/'s guided Grams.  Skipped (77) when built without Vulkan or when the
 * model is not there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_test_util.h"
#include "test_util.h"

#ifndef NST_HAVE_VULKAN
GPU_TEST_SKIPPED_MAIN
#else

#include "gpu/objective.h"
#include "loss/objective.h"
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

/* The CPU and the device objective compared at x: terms and gradient. */
static void compare(nst_objective *cpu, nst_gpu_objective *dev, const float *x, size_t n, const char *what)
{
    nst_error err = {0};
    nst_losses lc;
    nst_gpu_losses lg;
    float *grad_cpu = test_floats(n), *grad_gpu = test_floats(n);
    CHECK(nst_objective_eval(cpu, x, grad_cpu, &lc, &err) == NST_OK, "%s", err.message);
    CHECK(nst_gpu_objective_eval(dev, x, grad_gpu, &lg, &err) == NST_OK, "%s", err.message);
    double e_grad = gpu_test_rel_norm_error(grad_gpu, grad_cpu, n);
    printf("%s: style %.6g (CPU %.6g, rel %.2e), total rel %.2e, gradient rel norm %.2e\n", what, lg.style, lc.style,
           gpu_test_rel(lg.style, lc.style), gpu_test_rel(lg.total, lc.total), e_grad);
    CHECK(lc.style > 0 && gpu_test_rel(lg.style, lc.style) < tolerance && gpu_test_rel(lg.total, lc.total) < tolerance,
          "%s: terms differ", what);
    CHECK(e_grad < tolerance, "%s: gradient differs: %.3e", what, e_grad);
    free(grad_cpu), free(grad_gpu);
}

/* Regions: styles in groups with masks, windows of bigger mask planes. */
static void check_regions(nst_gpu *gpu, const nst_model *model)
{
    enum { W = 39, H = 33, PW = 70, PH = 50 };
    nst_error err = {0};
    nst_params params;
    nst_params_init(&params, NST_MODEL_SQUEEZENET11);
    params.content_weight = 1.0, params.style_weight = 1e3, params.tv_weight = 10.0;
    nst_net_options options = {.pooling = NST_POOL_MAX, .padding = NST_PAD_REFLECT, .border = 5};
    size_t n = (size_t)3 * W * H;
    float *x = test_floats(n), *content = test_floats(n), *styles[3], *mask = test_floats((size_t)PW * PH);
    int heights[3] = {35, 41, 30}, widths[3] = {37, 29, 33}, groups[3] = {0, 1, 1};
    double blend[3] = {1.0, 2.0, 1.0};
    for (int k = 0; k < 3; k++) {
        styles[k] = test_floats((size_t)3 * heights[k] * widths[k]);
        test_fill_uniform(styles[k], (size_t)3 * heights[k] * widths[k], 10 + k, 0.0f, 1.0f);
    }
    test_fill_uniform(x, n, 5, 0.0f, 1.0f);
    test_fill_uniform(content, n, 6, 0.0f, 1.0f);
    /* Group 0's region: the right of the plane, soft at its edge; group 1: everywhere (no mask). */
    for (int y = 0; y < PH; y++)
        for (int i = 0; i < PW; i++)
            mask[(size_t)y * PW + i] = i < 40 ? 0.0f : i < 50 ? (i - 40) / 10.0f : 1.0f;
    const float *masks[2] = {mask, NULL};
    nst_objective *cpu = nst_objective_new(model, H, W, &params, &options, &err);
    nst_gpu_objective *dev = cpu ? nst_gpu_objective_new(gpu, model, H, W, &params, &options, &err) : NULL;
    CHECK(cpu && dev, "objectives: %s", err.message);
    if (dev) {
        CHECK(nst_objective_set_content(cpu, content, &err) == NST_OK &&
                  nst_gpu_objective_set_content(dev, content, &err) == NST_OK,
              "%s", err.message);
        CHECK(nst_objective_set_styles_grouped(cpu, 3, (const float *const *)styles, heights, widths, blend, groups,
                                               &err) == NST_OK &&
                  nst_gpu_objective_set_styles_grouped(dev, 3, (const float *const *)styles, heights, widths, blend,
                                                       groups, &err) == NST_OK,
              "%s", err.message);
        static const int windows[3][2] = {{0, 0}, {20, 10}, {31, 17}}; /* the first: group 0's region is empty */
        for (int k = 0; k < 3; k++) {
            char what[64];
            snprintf(what, sizeof what, "regions, window at %d,%d", windows[k][0], windows[k][1]);
            CHECK(nst_objective_set_masks(cpu, 2, masks, PW, windows[k][0], windows[k][1], &err) == NST_OK &&
                      nst_gpu_objective_set_masks(dev, 2, masks, PW, windows[k][0], windows[k][1], &err) == NST_OK,
                  "%s", err.message);
            compare(cpu, dev, x, n, what);
        }
    }
    nst_gpu_objective_free(dev);
    nst_objective_free(cpu);
    for (int k = 0; k < 3; k++)
        free(styles[k]);
    free(x), free(content), free(mask);
}

int main(void)
{
    int skipped;
    nst_model *model = gpu_test_squeezenet(&skipped);
    if (skipped)
        return 77;
    nst_error err = {0};
    nst_gpu *gpu = model ? gpu_test_open(NULL) : NULL;
    if (gpu) {
        check_case(gpu, model, 41, 37, 6, 45, 39);
        check_case(gpu, model, 37, 41, 0, 37, 41);
        check_regions(gpu, model);
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
        gpu = gpu_test_open(&(nst_gpu_options){.force_staging = 1});
        if (gpu)
            check_case(gpu, model, 41, 37, 6, 31, 29);
    }
    nst_gpu_free(gpu);
    nst_model_free(model);
    return test_finish("test_gpu_objective");
}

#endif
