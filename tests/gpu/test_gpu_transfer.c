/* A whole stylisation on the device, through the public API, on the device
 * the GPU tests use (Mesa's lavapipe in CI): SqueezeNet 1.1 with the shared
 * weights, the README's pictures at 56x48, with L-BFGS, with Adam and on a
 * two-stage pyramid (L-BFGS pairs carried).  The style term falls at least
 * 10x, the picture keeps the content's edges and comes close to the CPU's
 * run, two runs give the same bytes, and no picture-sized buffer crosses
 * between two evaluations (the optimiser works on the device).  The bad cases: a device that does
 * not exist, a memory budget nothing fits, a device lost halfway (explicit:
 * an error naming it; auto: the run starts again on the CPU and says so),
 * no loader under auto (the CPU, saying why), and a cancel.  Skipped (77)
 * when built without Vulkan or without the weights. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gpu_test_util.h"
#include "nst/nst.h"
#include "test_util.h"

#ifndef NST_HAVE_VULKAN
int main(void)
{
    printf("built without the Vulkan backend: skipped\n");
    return 77;
}
#else

#include "gpu/vk.h"

#define WIDTH 56
#define ITERATIONS 20

typedef struct watch {
    double first_style, last_style;
    int evals, cancel_after;
    char device[NST_PROGRESS_DEVICE_MAX];
    nst_transfer *transfer;
    /* Bytes copied between the host and the device from one evaluation to
     * the next within a stage (not across a stage's start), the most seen;
     * and the picture's size in bytes at the last evaluation. */
    size_t crossed_at_last, most_crossed, picture_bytes;
    int last_stage;
} watch;

static void on_progress(const nst_progress *p, void *data)
{
    watch *w = data;
    if (w->evals == 0)
        w->first_style = p->style;
    w->last_style = p->style;
    size_t crossed = nst_gpu_bytes_crossed();
    if (w->evals > 0 && p->stage == w->last_stage && crossed - w->crossed_at_last > w->most_crossed)
        w->most_crossed = crossed - w->crossed_at_last;
    w->crossed_at_last = crossed;
    w->last_stage = p->stage;
    w->picture_bytes = (size_t)3 * p->stage_width * p->stage_height * sizeof(float);
    snprintf(w->device, sizeof w->device, "%s", p->device);
    if (++w->evals == w->cancel_after)
        nst_transfer_cancel(w->transfer);
}

static nst_image *content_picture, *style_picture;

/* The optimiser and the pyramid a run uses. */
typedef struct variant {
    const char *name;
    nst_optimizer optimizer;
    int scales; /* 2: from 40 px up, pairs carried from the first stage */
    /* What 20 iterations reach on the CPU too: the style term's fall and
     * the content's edges (Adam converges more slowly). */
    double min_fall, min_edges;
} variant;

static const variant plain = {"L-BFGS", NST_OPTIM_LBFGS, 1, 10, 0.4};

/* One run with `device`; the result (NULL on failure, with *status and err). */
static nst_image *stylise_as(const nst_model *model, const char *device, const variant *v, size_t max_memory,
                             watch *w, nst_status *status, nst_error *err)
{
    nst_params p;
    nst_params_init(&p, NST_MODEL_SQUEEZENET11);
    p.size = WIDTH;
    p.iterations = ITERATIONS;
    p.scales = v->scales;
    p.min_scale_size = v->scales > 1 ? 40 : 0;
    p.optimizer = v->optimizer;
    p.max_memory = max_memory;
    snprintf(p.device, sizeof p.device, "%s", device);
    memset(w, 0, sizeof *w);
    nst_image *result = NULL;
    nst_transfer *t = nst_transfer_new(model, &p, err);
    *status = t ? nst_transfer_set_content(t, content_picture, err) : NST_ERR_INVALID;
    if (*status == NST_OK)
        *status = nst_transfer_add_style(t, style_picture, 1.0, err);
    if (*status == NST_OK) {
        w->transfer = t;
        nst_transfer_set_progress_callback(t, on_progress, w);
        *status = nst_transfer_run(t, &result, err);
    }
    nst_transfer_free(t);
    return result;
}

static nst_image *stylise(const nst_model *model, const char *device, size_t max_memory, watch *w,
                          nst_status *status, nst_error *err)
{
    return stylise_as(model, device, &plain, max_memory, w, status, err);
}

/* Luminance edges (|dx| + |dy|) of a picture, correlated with another's:
 * 1 = the same structure, 0 = none in common. */
static double edge_correlation(const nst_image *a, const nst_image *b)
{
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    int n = 0;
    for (int y = 0; y + 1 < a->height; y++)
        for (int x = 0; x + 1 < a->width; x++) {
            double e[2];
            for (int k = 0; k < 2; k++) {
                const nst_image *im = k ? b : a;
                const float *p = im->rgb + 3 * ((size_t)y * im->width + x);
                const float *r = p + 3, *d = p + 3 * (size_t)im->width;
                double l = p[0] + p[1] + p[2], lr = r[0] + r[1] + r[2], ld = d[0] + d[1] + d[2];
                e[k] = fabs(lr - l) + fabs(ld - l);
            }
            sa += e[0], sb += e[1], saa += e[0] * e[0], sbb += e[1] * e[1], sab += e[0] * e[1];
            n++;
        }
    double cov = sab / n - sa / n * sb / n, va = saa / n - sa / n * sa / n, vb = sbb / n - sb / n * sb / n;
    return cov / sqrt(va * vb);
}

static double mean_abs_difference(const nst_image *a, const nst_image *b)
{
    double sum = 0;
    size_t n = (size_t)3 * a->width * a->height;
    for (size_t i = 0; i < n; i++)
        sum += fabs(a->rgb[i] - b->rgb[i]);
    return sum / n;
}

static void test_stylisation(const nst_model *model, const char *device, const variant *v)
{
    nst_error err = {0};
    nst_status s;
    watch w, again, cpu;
    nst_image *result = stylise_as(model, device, v, 0, &w, &s, &err);
    CHECK(result, "%s, %s: %s", device, v->name, err.message);
    nst_image *second = stylise_as(model, device, v, 0, &again, &s, &err);
    CHECK(second, "%s again, %s: %s", device, v->name, err.message);
    nst_image *on_cpu = stylise_as(model, "cpu", v, 0, &cpu, &s, &err);
    CHECK(on_cpu, "cpu, %s: %s", v->name, err.message);
    if (!result || !second || !on_cpu)
        goto done;
    nst_image *small = nst_image_resize(content_picture, result->width, result->height, &err);
    double fall = w.first_style / w.last_style, edges = small ? edge_correlation(result, small) : 0;
    double cpu_edges = small ? edge_correlation(on_cpu, small) : 0, diff = mean_abs_difference(result, on_cpu);
    printf("%s, %s, %d stage(s) (%s): %dx%d, style %.4g -> %.4g (%.0fx; CPU %.4g -> %.4g), edges %.3f (CPU %.3f), "
           "mean |GPU - CPU| %.2e\n",
           device, v->name, v->scales, w.device, result->width, result->height, w.first_style, w.last_style, fall, cpu.first_style,
           cpu.last_style, edges, cpu_edges, diff);
    CHECK(strstr(w.device, "CPU") == NULL && strcmp(cpu.device, "CPU") == 0, "devices named: %s, %s", w.device,
          cpu.device);
    CHECK(fall >= v->min_fall, "%s: the style term fell only %.1fx", v->name, fall);
    CHECK(edges > v->min_edges, "%s: the content's edges are lost: correlation %.3f", v->name, edges);
    /* The same objective within 1e-4; the optimiser's path drifts apart over
     * the iterations, so the pictures are compared loosely. */
    CHECK(fabs(w.first_style - cpu.first_style) < 1e-4 * cpu.first_style, "first evaluation: %.8g vs CPU %.8g",
          w.first_style, cpu.first_style);
    CHECK(diff < 0.03, "the picture is far from the CPU's: mean difference %.4f", diff);
    /* Only scalars cross per evaluation: no picture-sized copy within a
     * stage (no preview is asked for).  Before the optimiser ran on the
     * device, x went over and the gradient back: 2 pictures each time. */
    printf("%s: at most %zu bytes crossed between two evaluations (a picture is %zu)\n", v->name, w.most_crossed,
           w.picture_bytes);
    CHECK(w.most_crossed < w.picture_bytes, "%s: %zu bytes crossed between two evaluations", v->name,
          w.most_crossed);
    CHECK(memcmp(result->rgb, second->rgb, (size_t)3 * result->width * result->height * sizeof(float)) == 0,
          "two runs on the device gave other bytes");
    nst_image_free(small);
done:
    nst_image_free(result);
    nst_image_free(second);
    nst_image_free(on_cpu);
}

static void test_bad_cases(const nst_model *model, const char *device)
{
    nst_error err = {0};
    nst_status s;
    watch w;
    nst_image *result = stylise(model, "gpu:7", 0, &w, &s, &err);
    CHECK(!result && s == NST_ERR_DEVICE && strstr(err.message, "no such device"), "gpu:7: %s", err.message);
    printf("gpu:7: %s\n", err.message);

    result = stylise(model, device, 200000, &w, &s, &err);
    CHECK(!result && s == NST_ERR_NOMEM && strstr(err.message, "needs"), "a 200 kB budget: %s", err.message);
    printf("200 kB: %s\n", err.message);

    /* The device lost at its 20th submission (during the first iterations). */
    setenv("NST_GPU_FAIL_AFTER", "20", 1);
    result = stylise(model, device, 0, &w, &s, &err);
    CHECK(!result && s == NST_ERR_DEVICE && strstr(err.message, "VK_ERROR_DEVICE_LOST"), "device lost: %s",
          err.message);
    printf("device lost: %s\n", err.message);
    setenv("NST_AUTO_TAKES_SOFTWARE", "1", 1);
    result = stylise(model, "auto", 0, &w, &s, &err);
    CHECK(result && strstr(w.device, "CPU (") && strstr(w.device, "VK_ERROR_DEVICE_LOST") && w.last_style > 0,
          "auto after a lost device: %s, %s", w.device, err.message);
    printf("auto, device lost: ran on %s\n", w.device);
    nst_image_free(result);
    unsetenv("NST_GPU_FAIL_AFTER");

    /* auto's own pick (the software device, by the hook) runs there. */
    result = stylise(model, "auto", 0, &w, &s, &err);
    CHECK(result && !strstr(w.device, "CPU"), "auto with the hook: %s, %s", w.device, err.message);
    nst_image_free(result);
    unsetenv("NST_AUTO_TAKES_SOFTWARE");

    setenv("NST_VULKAN_LIBRARY", "/nonexistent/libvulkan.so.1", 1);
    result = stylise(model, "auto", 0, &w, &s, &err);
    CHECK(result && strstr(w.device, "CPU (no usable GPU") && strstr(w.device, "loader"), "auto without a loader: %s",
          w.device);
    printf("auto without a loader: %s\n", w.device);
    nst_image_free(result);
    unsetenv("NST_VULKAN_LIBRARY");

    /* A cancel on the device is a cancel: no second run on the CPU. */
    nst_params p;
    nst_params_init(&p, NST_MODEL_SQUEEZENET11);
    p.size = WIDTH, p.iterations = ITERATIONS, p.scales = 1;
    snprintf(p.device, sizeof p.device, "%s", device);
    nst_transfer *t = nst_transfer_new(model, &p, &err);
    memset(&w, 0, sizeof w);
    w.cancel_after = 3;
    w.transfer = t;
    nst_transfer_set_content(t, content_picture, &err);
    nst_transfer_add_style(t, style_picture, 1.0, &err);
    nst_transfer_set_progress_callback(t, on_progress, &w);
    s = nst_transfer_run(t, &result, &err);
    CHECK(s == NST_ERR_CANCELLED && !result && w.evals <= 4, "cancel: status %d after %d evaluations: %s", s, w.evals,
          err.message);
    nst_transfer_free(t);
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
    content_picture = nst_image_load(test_source_file("data/readme/chelsea.png"), &err);
    style_picture = nst_image_load(test_source_file("data/readme/starry_night.png"), &err);
    CHECK(content_picture && style_picture, "the README's pictures: %s", err.message);
    int index = gpu_test_pick_device();
    CHECK(index >= 0, "no device to test on");
    if (model && content_picture && style_picture && index >= 0) {
        char device[16];
        snprintf(device, sizeof device, "gpu:%d", index);
        static const variant variants[] = {{"L-BFGS", NST_OPTIM_LBFGS, 1, 10, 0.4},
                                           {"Adam", NST_OPTIM_ADAM, 1, 5, 0.3},
                                           {"L-BFGS, pyramid", NST_OPTIM_LBFGS, 2, 10, 0.4}};
        for (size_t k = 0; k < sizeof variants / sizeof variants[0]; k++)
            test_stylisation(model, device, &variants[k]);
        test_bad_cases(model, device);
    }
    nst_image_free(content_picture);
    nst_image_free(style_picture);
    nst_model_free(model);
    return test_finish("test_gpu_transfer");
}
#endif
