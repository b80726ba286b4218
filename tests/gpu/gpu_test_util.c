/* What the GPU tests share (gpu_test_util.h). */
#include "gpu_test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "nst/nst.h"
#include "test_util.h"

int gpu_test_pick_device(void)
{
    const char *env = getenv("NST_TEST_GPU_DEVICE");
    if (env && *env)
        return atoi(env);
    nst_device_info devices[NST_MAX_DEVICES];
    int count = 0;
    nst_error err = {0};
    if (nst_device_list(devices, NST_MAX_DEVICES, &count, &err) != NST_OK) {
        printf("FAIL: listing Vulkan devices: %s\n", err.message);
        return -1;
    }
    int pick = nst_device_auto_pick(devices, count);
    for (int i = 0; i < count && pick < 0; i++)
        if (devices[i].usable)
            pick = i;
    if (pick < 0)
        printf("FAIL: built with Vulkan but no usable device (install mesa-vulkan-drivers for lavapipe)\n");
    return pick;
}

int gpu_test_timing(void)
{
    const char *env = getenv("NST_TEST_GPU_TIMING");
    return env && strcmp(env, "1") == 0;
}

double gpu_test_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

nst_model *gpu_test_squeezenet(int *skipped)
{
    struct stat st;
    const char *dir = test_model_file("squeezenet1.1");
    *skipped = stat(dir, &st) != 0;
    if (*skipped) {
        printf("no SqueezeNet 1.1 weights at %s: skipped\n", dir);
        return NULL;
    }
    nst_error err = {0};
    nst_model *model = nst_model_load(NST_MODEL_SQUEEZENET11, dir, &err);
    CHECK(model, "loading SqueezeNet from %s: %s", dir, err.message);
    return model;
}

double gpu_test_rel(double got, double ref)
{
    return fabs(got - ref) / (fabs(ref) > 0 ? fabs(ref) : 1.0);
}

double gpu_test_rel_norm_error(const float *got, const float *ref, size_t n)
{
    double diff = 0, norm = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - ref[i];
        diff += d * d;
        norm += (double)ref[i] * ref[i];
    }
    return norm > 0 ? sqrt(diff / norm) : sqrt(diff);
}

#ifdef NST_HAVE_VULKAN

#include "gpu/objective.h"
#include "loss/objective.h"
#include "nn/model.h"
#include "test_util.h"

enum { MAX_USED = 64 };

static void fill_random(void *ctx, const char *name, int ndim, const int64_t *shape, float *data)
{
    (void)name;
    uint64_t *state = ctx;
    size_t count = 1;
    for (int d = 0; d < ndim; d++)
        count *= (size_t)shape[d];
    /* He's uniform bound for a weight [out, in, kh, kw]; small biases. */
    float bound = ndim == 4 ? sqrtf(6.0f / (float)(count / (size_t)shape[0])) : 0.1f;
    for (size_t i = 0; i < count; i++)
        data[i] = test_rand_uniform(state, -bound, bound);
}

nst_gpu *gpu_test_open(const nst_gpu_options *options)
{
    int index = gpu_test_pick_device();
    CHECK(index >= 0, "no device to test on");
    if (index < 0)
        return NULL;
    nst_error err = {0};
    nst_gpu *gpu = nst_gpu_new(index, options, &err);
    int staged = options && options->force_staging;
    CHECK(gpu, "opening device %d%s: %s", index, staged ? " with staging" : "", err.message);
    CHECK(!gpu || !staged || !gpu->unified, "device %d: staging was asked for, the buffers are mapped", index);
    if (gpu)
        printf("device %d: %s (%s), buffers %s\n", index, gpu->info.name, nst_device_kind_name(gpu->info.kind),
               gpu->unified ? "mapped" : "staged");
    return gpu;
}

nst_model *gpu_test_random_model(nst_model_kind kind, uint64_t seed)
{
    nst_error err = {0};
    nst_model *model = nst_model_from_fill(kind, fill_random, &seed, &err);
    CHECK(model, "a random model: %s", err.message);
    return model;
}

int gpu_test_layer_nodes(const nst_model *model, const char *const *names, int n_names, int *used)
{
    int n = 0;
    for (int i = 0; i < model->n_nodes; i++)
        for (int k = 0; k < n_names && model->nodes[i].name[0]; k++)
            if (strcmp(model->nodes[i].name, names[k]) == 0) {
                used[n++] = i;
                break;
            }
    return n;
}

typedef struct run_result {
    float *activations[MAX_USED]; /* per used node */
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

/* The nodes 0..last the options use, as nst_net decides. */
static int used_nodes(const nst_model *model, int last, const nst_net_options *options, int *used)
{
    int n = 0;
    for (int i = 0; i <= last && n < MAX_USED; i++) {
        nst_node node;
        int is_used;
        nst_net_node(model, i, options, &node, &is_used);
        if (is_used)
            used[n++] = i;
    }
    return n;
}

void gpu_test_check_net(nst_gpu *gpu, const nst_model *model, int width, int height, int last,
                        const nst_net_options *options, int check_repeat, double tolerance, gpu_test_worst *worst)
{
    int used[MAX_USED];
    int n_used = used_nodes(model, last, options, used);
    nst_error err = {0};
    nst_net *cpu = nst_net_new(model, height, width, last, options, &err);
    CHECK(cpu, "CPU net %dx%d: %s", width, height, err.message);
    nst_gpu_net *net = cpu ? nst_gpu_net_new(gpu, model, height, width, last, options, &err) : NULL;
    CHECK(!cpu || net, "GPU net %dx%d: %s", width, height, err.message);
    if (!net) {
        nst_net_free(cpu);
        return;
    }
    size_t n_input = (size_t)3 * height * width;
    float *input = test_floats(n_input);
    test_fill_uniform(input, n_input, 7, -2.0f, 2.0f);
    float *grads[MAX_USED] = {0};
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
        worst->activation = e > worst->activation ? e : worst->activation;
        CHECK(e <= tolerance, "%dx%d: activation of %s: relative error %.3g", width, height,
              used[k] ? model->nodes[used[k]].name : "input", e);
    }
    CHECK(nst_net_backward(cpu, cpu_grad_input, NULL, &err) == NST_OK, "CPU backward: %s", err.message);
    double e = gpu_test_rel_norm_error(r.grad_input, cpu_grad_input, n_input);
    worst->gradient = e > worst->gradient ? e : worst->gradient;
    CHECK(e <= tolerance, "%dx%d: input gradient: relative error %.3g", width, height, e);
    printf("%dx%d to %s, %d used nodes: input gradient error %.3g\n", width, height, model->nodes[last].name, n_used,
           e);
    if (check_repeat) {
        /* The recorded sequences replayed: the same bytes. */
        run_gpu(net, input, used, n_used, grads, &again);
        for (int k = 0; k < n_used; k++)
            CHECK(memcmp(r.activations[k], again.activations[k], node_count(net, used[k]) * sizeof(float)) == 0,
                  "%dx%d: node %d differs on a second run", width, height, used[k]);
        CHECK(memcmp(r.grad_input, again.grad_input, n_input * sizeof(float)) == 0,
              "%dx%d: the input gradient differs on a second run", width, height);
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


void gpu_test_check_objective(nst_gpu *gpu, const nst_model *model, const nst_params *params,
                              const nst_net_options *options, int width, int height, int style_w, int style_h,
                              double tolerance)
{
    nst_error err = {0};
    size_t n = (size_t)3 * width * height;
    size_t n_style = (size_t)3 * style_w * style_h;
    float *x = test_floats(n), *content = test_floats(n), *style = test_floats(n_style), *style2 = test_floats(n_style);
    float *grad_cpu = test_floats(n), *grad_gpu = test_floats(n), *grad_again = test_floats(n);
    test_fill_uniform(x, n, 1, 0.0f, 1.0f);
    test_fill_uniform(content, n, 2, 0.0f, 1.0f);
    test_fill_uniform(style, n_style, 3, 0.0f, 1.0f);
    test_fill_uniform(style2, n_style, 4, 0.0f, 1.0f);

    nst_objective *cpu = nst_objective_new(model, height, width, params, options, &err);
    CHECK(cpu, "CPU objective: %s", err.message);
    nst_gpu_objective *dev = cpu ? nst_gpu_objective_new(gpu, model, height, width, params, options, &err) : NULL;
    CHECK(!cpu || dev, "GPU objective: %s", err.message);
    if (!dev)
        goto done;
    /* The second style picture is the first's shape turned. */
    const float *styles[2] = {style, style2};
    int heights[2] = {style_h, style_w}, widths[2] = {style_w, style_h};
    double blend[2] = {1.0, 3.0};
    nst_losses lc;
    nst_gpu_losses lg, lg2;
    CHECK(nst_objective_set_content(cpu, content, &err) == NST_OK, "%s", err.message);
    CHECK(nst_objective_set_styles(cpu, 2, styles, heights, widths, blend, &err) == NST_OK, "%s", err.message);
    CHECK(nst_objective_eval(cpu, x, grad_cpu, &lc, &err) == NST_OK, "%s", err.message);
    CHECK(nst_gpu_objective_eval(dev, x, grad_gpu, &lg, &err) == NST_ERR_INVALID, "eval before the targets");
    CHECK(nst_gpu_objective_set_content(dev, content, &err) == NST_OK, "%s", err.message);
    CHECK(nst_gpu_objective_set_styles(dev, 2, styles, heights, widths, blend, &err) == NST_OK, "%s", err.message);
    CHECK(nst_gpu_objective_eval(dev, x, grad_gpu, &lg, &err) == NST_OK, "%s", err.message);
    CHECK(nst_gpu_objective_eval(dev, x, grad_again, &lg2, &err) == NST_OK, "%s", err.message);
    /* An evaluation that leaves its picture and gradient on the device is
     * one submission, one round trip: only its sums come back. */
    size_t submissions = gpu->submissions;
    nst_gpu_losses kept;
    CHECK(nst_gpu_objective_eval(dev, NULL, NULL, &kept, &err) == NST_OK && kept.total == lg2.total, "%s",
          err.message);
    CHECK(gpu->submissions - submissions == 1, "an evaluation took %zu submissions", gpu->submissions - submissions);

    double e_total = gpu_test_rel(lg.total, lc.total), e_content = gpu_test_rel(lg.content, lc.content);
    double e_style = gpu_test_rel(lg.style, lc.style), e_tv = gpu_test_rel(lg.tv, lc.tv);
    double e_grad = gpu_test_rel_norm_error(grad_gpu, grad_cpu, n);
    printf("%dx%d border %d, styles %dx%d + %dx%d: total %.6g (CPU %.6g, rel %.2e), content rel %.2e, style rel %.2e, "
           "tv rel %.2e, gradient rel norm %.2e\n",
           width, height, options->border, style_w, style_h, style_h, style_w, lg.total, lc.total, e_total, e_content,
           e_style, e_tv, e_grad);
    CHECK(lc.content > 0 && lc.style > 0 && lc.tv > 0, "every term counts");
    CHECK(e_total < tolerance && e_content < tolerance && e_style < tolerance && e_tv < tolerance,
          "terms differ from the CPU's");
    CHECK(e_grad < tolerance, "gradient differs from the CPU's: %.3e", e_grad);
    CHECK(memcmp(grad_gpu, grad_again, n * sizeof(float)) == 0 && lg.total == lg2.total,
          "a second evaluation gives other bytes");

    /* Other weights re-record the loss launches (no style gradient at all
     * with beta 0); the picture left on the device (x NULL) is evaluated. */
    nst_objective_set_weights(cpu, 0.5, 0.0, 3.0);
    nst_gpu_objective_set_weights(dev, 0.5, 0.0, 3.0);
    CHECK(nst_objective_eval(cpu, x, grad_cpu, &lc, &err) == NST_OK, "%s", err.message);
    CHECK(nst_gpu_objective_eval(dev, NULL, grad_gpu, &lg, &err) == NST_OK, "%s", err.message);
    e_grad = gpu_test_rel_norm_error(grad_gpu, grad_cpu, n);
    printf("  weights 0.5/0/3: total rel %.2e, gradient rel norm %.2e\n", gpu_test_rel(lg.total, lc.total), e_grad);
    CHECK(gpu_test_rel(lg.total, lc.total) < tolerance && e_grad < tolerance, "after new weights: %.3e, %.3e",
          gpu_test_rel(lg.total, lc.total), e_grad);
done:
    nst_gpu_objective_free(dev);
    nst_objective_free(cpu);
    free(x), free(content), free(style), free(style2), free(grad_cpu), free(grad_gpu), free(grad_again);
}

#endif
