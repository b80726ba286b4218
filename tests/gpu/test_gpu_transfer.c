/* A whole stylisation on the device, through the public API, on the device
 * the GPU tests use (Mesa's lavapipe in CI): SqueezeNet 1.1 with the shared
 * weights, the README's pictures at 56x48, with L-BFGS, with Adam and on a
 * two-stage pyramid (L-BFGS pairs carried).  The style term falls at least
 * 10x (Adam: 5x), the picture keeps the content's edges and comes close to
 * the CPU's run, two runs give the same bytes, and no picture-sized buffer
 * crosses between two evaluations (the optimiser works on the device); two
 * styles in two regions, tiled, against the CPU's run.  nst_transfer_plan plans on the
 * device the run uses and names it (gpu:N within its memory, "cpu", auto
 * falling back to the CPU).  The bad cases: a device that does
 * not exist, a memory budget nothing fits, a device lost halfway (explicit:
 * an error naming it; auto: the run starts again on the CPU and says so),
 * no loader under auto (the CPU, saying why), and a cancel.  Skipped (77)
 * when built without Vulkan or without the weights. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_test_util.h"
#include "nst/nst.h"
#include "test_util.h"

#ifndef NST_HAVE_VULKAN
GPU_TEST_SKIPPED_MAIN
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

static nst_image *content_picture, *style_picture, *half_mask;

/* What a run differs in; zero = the defaults of the tests. */
typedef struct run_options {
    const char *device;
    size_t max_memory;
    int regions;   /* two styles, each on one half (a tiled run with tile_size) */
    int size, tile_size, iterations;
    nst_optimizer optimizer;
    int scales; /* 2: from 40 px up, L-BFGS pairs carried from the first stage; 0 = 1 */
} run_options;

/* A transfer of the README's pictures with the options' params; NULL with
 * *status and err when one is refused. */
static nst_transfer *transfer_of(const nst_model *model, const run_options *o, nst_status *status, nst_error *err)
{
    nst_params p;
    nst_params_init(&p, NST_MODEL_SQUEEZENET11);
    p.size = o->size ? o->size : WIDTH;
    p.iterations = o->iterations ? o->iterations : ITERATIONS;
    p.scales = o->scales ? o->scales : 1;
    p.min_scale_size = o->scales > 1 ? 40 : 0;
    p.optimizer = o->optimizer;
    p.max_memory = o->max_memory;
    p.tile_size = o->tile_size;
    snprintf(p.device, sizeof p.device, "%s", o->device);
    nst_transfer *t = nst_transfer_new(model, &p, err);
    *status = t ? nst_transfer_set_content(t, content_picture, err) : NST_ERR_INVALID;
    if (*status == NST_OK)
        *status = nst_transfer_add_style_masked(t, style_picture, 1.0, o->regions ? half_mask : NULL, err);
    if (*status == NST_OK && o->regions) /* the other half in the content's own look, as a second style */
        *status = nst_transfer_add_style(t, content_picture, 1.0, err);
    if (*status != NST_OK) {
        nst_transfer_free(t);
        return NULL;
    }
    return t;
}

/* One run; the result (NULL on failure, with *status and err). */
static nst_image *stylise(const nst_model *model, const run_options *o, watch *w, nst_status *status,
                          nst_error *err)
{
    memset(w, 0, sizeof *w);
    nst_image *result = NULL;
    nst_transfer *t = transfer_of(model, o, status, err);
    if (t) {
        w->transfer = t;
        nst_transfer_set_progress_callback(t, on_progress, w);
        *status = nst_transfer_run(t, &result, err);
    }
    nst_transfer_free(t);
    return result;
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

/* The optimiser and the pyramid a run uses, and what 20 iterations reach on
 * the CPU too: the style term's fall and the content's edges (Adam
 * converges more slowly). */
typedef struct variant {
    const char *name;
    nst_optimizer optimizer;
    int scales;
    double min_fall, min_edges;
} variant;

static void test_stylisation(const nst_model *model, const char *device, const variant *v)
{
    nst_error err = {0};
    nst_status s;
    watch w, again, cpu;
    run_options on_device = {.device = device, .optimizer = v->optimizer, .scales = v->scales};
    run_options on_the_cpu = on_device;
    on_the_cpu.device = "cpu";
    nst_image *result = stylise(model, &on_device, &w, &s, &err);
    CHECK(result, "%s, %s: %s", device, v->name, err.message);
    nst_image *second = stylise(model, &on_device, &again, &s, &err);
    CHECK(second, "%s again, %s: %s", device, v->name, err.message);
    nst_image *on_cpu = stylise(model, &on_the_cpu, &cpu, &s, &err);
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

/* Two styles on the two halves, in 64 px tiles (the masks' windows move
 * with the tiles), on the device and on the CPU. */
static void test_regions(const nst_model *model, const char *device)
{
    nst_error err = {0};
    nst_status s;
    watch w, cpu;
    run_options o = {.device = device, .regions = 1, .size = 96, .tile_size = 64, .iterations = 6};
    nst_image *result = stylise(model, &o, &w, &s, &err);
    CHECK(result, "regions on %s: %s", device, err.message);
    o.device = "cpu";
    nst_image *on_cpu = stylise(model, &o, &cpu, &s, &err);
    CHECK(on_cpu, "regions on the CPU: %s", err.message);
    if (result && on_cpu) {
        double diff = mean_abs_difference(result, on_cpu);
        printf("regions on %s, tiled: %dx%d, style %.6g -> %.4g (CPU %.6g -> %.4g), mean |GPU - CPU| %.2e\n",
               w.device, result->width, result->height, w.first_style, w.last_style, cpu.first_style, cpu.last_style,
               diff);
        CHECK(!strstr(w.device, "CPU"), "regions ran on %s", w.device);
        CHECK(fabs(w.first_style - cpu.first_style) < 1e-4 * cpu.first_style && w.last_style < w.first_style,
              "regions: style %.8g -> %.8g vs CPU %.8g", w.first_style, w.last_style, cpu.first_style);
        CHECK(diff < 0.03, "regions: far from the CPU's picture: %.4f", diff);
    }
    nst_image_free(result);
    nst_image_free(on_cpu);
}

/* nst_transfer_plan's plan with these options; its status in *status. */
static nst_plan plan_of(const nst_model *model, const run_options *o, nst_status *status, nst_error *err)
{
    nst_plan plan;
    memset(&plan, 0xff, sizeof plan); /* whatever was there is overwritten */
    nst_transfer *t = transfer_of(model, o, status, err);
    if (t)
        *status = nst_transfer_plan(t, &plan, err);
    nst_transfer_free(t);
    return plan;
}

/* The plan is made on the device the run will use and names it as the
 * run's progress does: within the GPU's memory on gpu:N (the smallest
 * picture it cannot hold whole is tiled there, and the CPU runs it whole in
 * a 1 TiB budget; a 16000 px tile asked for is refused there), the CPU's
 * under "cpu", and under "auto" the CPU's, saying why, when the GPU's is
 * refused. */
static void test_plans(const nst_model *model, const char *device, const char *name)
{
    nst_error err = {0};
    nst_status s;
    const size_t host = (size_t)1 << 40;
    run_options o = {.device = device, .max_memory = host};
    size_t budget = plan_of(model, &o, &s, &err).budget;
    CHECK(s == NST_OK && budget < host, "%s: %s; a budget of %zu bytes", device, err.message, budget);
    nst_plan cpu, gpu;
    o.device = "cpu";
    for (o.size = 512;; o.size *= 2) {
        cpu = plan_of(model, &o, &s, &err);
        if (s != NST_OK || cpu.whole_bytes > budget || o.size >= NST_SIZE_MAX)
            break;
    }
    CHECK(s == NST_OK && strcmp(cpu.device, "CPU") == 0 && cpu.mode == NST_RUN_WHOLE && cpu.budget == host,
          "cpu, %d px: %s; mode %d on '%s' in %zu bytes", o.size, err.message, cpu.mode, cpu.device, cpu.budget);
    o.device = device;
    gpu = plan_of(model, &o, &s, &err);
    printf("%d px in 1 TiB: %s: %zu of %zu bytes, mode %d; CPU: %zu of %zu bytes, mode %d\n", o.size, gpu.device,
           gpu.bytes, gpu.budget, gpu.mode, cpu.bytes, cpu.budget, cpu.mode);
    CHECK(s == NST_OK && strcmp(gpu.device, name) == 0, "%s, %d px: %s on '%s'", device, o.size, err.message,
          gpu.device);
    CHECK(gpu.mode == NST_RUN_TILED && gpu.budget == budget && gpu.bytes <= budget &&
              gpu.whole_bytes == cpu.whole_bytes && cpu.whole_bytes > budget,
          "%s, %d px: mode %d, %zu of %zu bytes (%zu whole)", name, o.size, gpu.mode, gpu.bytes, gpu.budget,
          gpu.whole_bytes);

    run_options huge_tile = {.device = device, .size = NST_SIZE_MAX, .tile_size = 16000, .max_memory = host};
    gpu = plan_of(model, &huge_tile, &s, &err);
    char prefix[300];
    snprintf(prefix, sizeof prefix, "on %s: ", name);
    CHECK(s == NST_ERR_NOMEM && gpu.mode == NST_RUN_REFUSED && strcmp(gpu.device, name) == 0 &&
              strncmp(err.message, prefix, strlen(prefix)) == 0 && strstr(err.message, "available on the GPU"),
          "%s, 16000 px tiles: status %d, mode %d on '%s': %s", device, s, gpu.mode, gpu.device, err.message);
    printf("%s, 16000 px tiles: %s\n", device, err.message);
    huge_tile.device = "cpu";
    cpu = plan_of(model, &huge_tile, &s, &err);
    CHECK(s == NST_OK && cpu.mode == NST_RUN_TILED && strcmp(cpu.device, "CPU") == 0,
          "cpu, 16000 px tiles: status %d, mode %d on '%s': %s", s, cpu.mode, cpu.device, err.message);
    /* auto's pick (the software device, by the hook): its plan, or the
     * CPU's when its plan is refused, as the run goes. */
    setenv("NST_AUTO_TAKES_SOFTWARE", "1", 1);
    huge_tile.device = "auto";
    nst_plan fallback = plan_of(model, &huge_tile, &s, &err);
    CHECK(s == NST_OK && fallback.mode == NST_RUN_TILED && fallback.budget == host &&
              strncmp(fallback.device, "CPU (", 5) == 0 && strstr(fallback.device, " failed: ") &&
              strstr(fallback.device, "needs"),
          "auto, 16000 px tiles: status %d, mode %d on '%s': %s", s, fallback.mode, fallback.device, err.message);
    printf("auto, 16000 px tiles: planned on %s\n", fallback.device);
    nst_plan fits = plan_of(model, &(run_options){.device = "auto"}, &s, &err);
    CHECK(s == NST_OK && fits.mode == NST_RUN_WHOLE && fits.device[0] && !strstr(fits.device, "CPU"),
          "auto, 56 px: status %d, mode %d on '%s': %s", s, fits.mode, fits.device, err.message);
    unsetenv("NST_AUTO_TAKES_SOFTWARE");

    nst_plan none = plan_of(model, &(run_options){.device = "gpu:7"}, &s, &err);
    CHECK(s == NST_ERR_DEVICE && none.mode == NST_RUN_WHOLE && none.stages == 0 && !none.device[0] &&
              strstr(err.message, "no such device"),
          "gpu:7: status %d, mode %d, %d stages: %s", s, none.mode, none.stages, err.message);
}

static void test_bad_cases(const nst_model *model, const char *device)
{
    nst_error err = {0};
    nst_status s;
    watch w;
    nst_image *result = stylise(model, &(run_options){.device = "gpu:7"}, &w, &s, &err);
    CHECK(!result && s == NST_ERR_DEVICE && strstr(err.message, "no such device"), "gpu:7: %s", err.message);
    printf("gpu:7: %s\n", err.message);

    result = stylise(model, &(run_options){.device = device, .max_memory = 200000}, &w, &s, &err);
    CHECK(!result && s == NST_ERR_NOMEM && strstr(err.message, "needs"), "a 200 kB budget: %s", err.message);
    printf("200 kB: %s\n", err.message);

    /* The device lost at its 20th submission (during the first iterations). */
    setenv("NST_GPU_FAIL_AFTER", "20", 1);
    result = stylise(model, &(run_options){.device = device}, &w, &s, &err);
    CHECK(!result && s == NST_ERR_DEVICE && strstr(err.message, "VK_ERROR_DEVICE_LOST"), "device lost: %s",
          err.message);
    printf("device lost: %s\n", err.message);
    setenv("NST_AUTO_TAKES_SOFTWARE", "1", 1);
    result = stylise(model, &(run_options){.device = "auto"}, &w, &s, &err);
    CHECK(result && strstr(w.device, "CPU (") && strstr(w.device, "VK_ERROR_DEVICE_LOST") && w.last_style > 0,
          "auto after a lost device: %s, %s", w.device, err.message);
    printf("auto, device lost: ran on %s\n", w.device);
    nst_image_free(result);
    unsetenv("NST_GPU_FAIL_AFTER");

    /* auto's own pick (the software device, by the hook) runs there. */
    result = stylise(model, &(run_options){.device = "auto"}, &w, &s, &err);
    CHECK(result && !strstr(w.device, "CPU"), "auto with the hook: %s, %s", w.device, err.message);
    nst_image_free(result);
    unsetenv("NST_AUTO_TAKES_SOFTWARE");

    setenv("NST_VULKAN_LIBRARY", "/nonexistent/libvulkan.so.1", 1);
    result = stylise(model, &(run_options){.device = "auto"}, &w, &s, &err);
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
    int skipped;
    nst_model *model = gpu_test_squeezenet(&skipped);
    if (skipped)
        return 77;
    nst_error err = {0};
    content_picture = nst_image_load(test_source_file("data/readme/chelsea.png"), &err);
    style_picture = nst_image_load(test_source_file("data/readme/starry_night.png"), &err);
    half_mask = content_picture ? nst_image_new(content_picture->width, content_picture->height, &err) : NULL;
    for (size_t i = 0; half_mask && i < (size_t)half_mask->width * half_mask->height; i++)
        for (int c = 0; c < 3; c++)
            half_mask->rgb[3 * i + c] = (int)(i % half_mask->width) < half_mask->width / 2 ? 1.0f : 0.0f;
    CHECK(content_picture && style_picture, "the README's pictures: %s", err.message);
    int index = gpu_test_pick_device();
    CHECK(index >= 0, "no device to test on");
    if (model && content_picture && style_picture && index >= 0) {
        char device[16];
        snprintf(device, sizeof device, "gpu:%d", index);
        nst_device_choice choice = {0};
        CHECK(nst_device_resolve(device, &choice, &err) == NST_OK, "%s: %s", device, err.message);
        static const variant variants[] = {{"L-BFGS", NST_OPTIM_LBFGS, 1, 10, 0.4},
                                           {"Adam", NST_OPTIM_ADAM, 1, 5, 0.3},
                                           {"L-BFGS, pyramid", NST_OPTIM_LBFGS, 2, 10, 0.4}};
        for (size_t k = 0; k < sizeof variants / sizeof variants[0]; k++)
            test_stylisation(model, device, &variants[k]);
        test_regions(model, device);
        test_plans(model, device, choice.gpu.name);
        test_bad_cases(model, device);
    }
    nst_image_free(content_picture);
    nst_image_free(style_picture);
    nst_image_free(half_mask);
    nst_model_free(model);
    return test_finish("test_gpu_transfer");
}
#endif
