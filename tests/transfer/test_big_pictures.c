/* Big pictures: the pyramid's stages, the memory plan and its decisions, a
 * tiled stage without seams, progress, steering and cancel across stages.
 * Small synthetic pictures keep it fast. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nst/nst.h"
#include "test_util.h"
#include "transfer/tiles.h"

/* A content picture with structure at several scales: smooth colour ramps,
 * a disc and fine stripes. */
static nst_image *make_content(int w, int h)
{
    nst_image *im = nst_image_new(w, h, NULL);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float *p = im->rgb + 3 * ((size_t)y * w + x);
            double dx = x - 0.4 * w, dy = y - 0.5 * h;
            int disc = dx * dx + dy * dy < 0.09 * h * h;
            p[0] = (float)x / w;
            p[1] = disc ? 0.9f : (float)y / h;
            p[2] = 0.5f + 0.3f * (float)sin(x * 0.3) * (y > h / 2);
        }
    return im;
}

/* A style picture: noisy diagonal strokes. */
static nst_image *make_style(int w, int h)
{
    nst_image *im = nst_image_new(w, h, NULL);
    test_fill_uniform(im->rgb, (size_t)3 * w * h, 7, 0.0f, 0.3f);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float *p = im->rgb + 3 * ((size_t)y * w + x);
            float s = 0.5f + 0.5f * (float)sin((x + y) * 0.5);
            p[0] += 0.6f * s;
            p[1] += 0.3f;
            p[2] += 0.6f * (1 - s);
        }
    return im;
}

static nst_model *model;
static nst_image *content, *style;

static nst_transfer *new_transfer(const nst_params *p)
{
    nst_error err = {0};
    nst_transfer *t = nst_transfer_new(model, p, &err);
    CHECK(t, "%s", err.message);
    if (!t)
        return NULL;
    CHECK(nst_transfer_set_content(t, content, &err) == NST_OK, "%s", err.message);
    CHECK(nst_transfer_add_style(t, style, 1.0, &err) == NST_OK, "%s", err.message);
    return t;
}

static void small_params(nst_params *p, int size, int iterations, int scales)
{
    nst_params_init(p, NST_MODEL_SQUEEZENET11);
    p->size = size;
    p->iterations = iterations;
    p->scales = scales;
    p->threads = 2;
    p->max_memory = (size_t)64 << 30; /* decisions must not depend on this machine */
    snprintf(p->device, sizeof p->device, "cpu"); /* nor on its GPU's memory */
}

static nst_plan plan_of(const nst_params *p)
{
    nst_plan plan;
    memset(&plan, 0, sizeof plan);
    nst_transfer *t = new_transfer(p);
    if (t)
        nst_transfer_plan(t, &plan, NULL);
    nst_transfer_free(t);
    return plan;
}

static void test_stages(void)
{
    nst_params p;
    small_params(&p, 512, 100, 0);
    nst_plan plan = plan_of(&p);
    /* 600x400 at 512: 192 -> 512 in steps of at most 2x. */
    CHECK(plan.stages == 3, "automatic stages: %d", plan.stages);
    CHECK(strcmp(plan.device, "CPU") == 0, "planned on '%s'", plan.device);
    CHECK(plan.stage_width[0] == 192 && plan.stage_height[0] == 128, "first stage %dx%d", plan.stage_width[0],
          plan.stage_height[0]);
    CHECK(plan.stage_width[plan.stages - 1] == 512 && plan.stage_height[plan.stages - 1] == 341,
          "final stage %dx%d", plan.stage_width[plan.stages - 1], plan.stage_height[plan.stages - 1]);
    int sum = 0;
    for (int s = 0; s < plan.stages; s++) {
        sum += plan.stage_iterations[s];
        CHECK(plan.stage_iterations[s] >= 1, "stage %d has no iteration", s);
        if (s > 0) {
            double step = (double)plan.stage_width[s] / plan.stage_width[s - 1];
            CHECK(step > 1.2 && step <= 2.0 + 1e-9, "step %g between stages %d and %d", step, s - 1, s);
        }
    }
    CHECK(sum == 100, "stage iterations sum to %d, not 100", sum);

    small_params(&p, 512, 100, 4);
    plan = plan_of(&p);
    CHECK(plan.stages == 4 && plan.stage_width[3] == 512, "--scales 4: %d stages, last %d px", plan.stages,
          plan.stage_width[3]);
    small_params(&p, 512, 100, 1);
    plan = plan_of(&p);
    CHECK(plan.stages == 1 && plan.stage_width[0] == 512 && plan.stage_iterations[0] == 100,
          "--scales 1: %d stages", plan.stages);
    /* Too few iterations for every stage: the coarsest go, each left gets one. */
    small_params(&p, 512, 12, 0);
    plan = plan_of(&p);
    CHECK(plan.stages == 2 && plan.stage_iterations[0] == 1 && plan.stage_iterations[1] == 11 &&
              plan.stage_width[0] == 314 && plan.stage_width[1] == 512,
          "12 iterations: %d stages (%d+%d)", plan.stages, plan.stage_iterations[0], plan.stage_iterations[1]);

    /* A big picture is styled at the last stage up to 1024 px; the larger
     * stages refine with fewer iterations the larger they are. */
    small_params(&p, 6000, 300, 0);
    plan = plan_of(&p);
    int main_stage = -1, total = 0, shrinking = 1;
    for (int s = 0; s < plan.stages; s++) {
        total += plan.stage_iterations[s];
        if (plan.stage_width[s] <= 1024)
            main_stage = s;
        else if (s > 0 && plan.stage_width[s - 1] > 1024)
            shrinking &= plan.stage_iterations[s] < plan.stage_iterations[s - 1];
    }
    CHECK(total == 300 && plan.stage_width[plan.stages - 1] == 6000, "6000 px: %d iterations, last stage %d px",
          total, plan.stage_width[plan.stages - 1]);
    CHECK(main_stage >= 0 && main_stage < plan.stages - 1 && plan.stage_iterations[main_stage] >= 150,
          "6000 px: the main stage (%d, %d px) must get most iterations (%d)", main_stage,
          main_stage >= 0 ? plan.stage_width[main_stage] : 0, main_stage >= 0 ? plan.stage_iterations[main_stage] : 0);
    CHECK(shrinking && plan.stage_iterations[plan.stages - 1] >= 1 &&
              plan.stage_iterations[plan.stages - 1] <= 300 / 20,
          "6000 px: refining stages get fewer iterations as they grow (final: %d)",
          plan.stage_iterations[plan.stages - 1]);
}

static void test_memory_plan(void)
{
    nst_params p;
    size_t previous = 0;
    for (int size = 256; size <= 2048; size *= 2) {
        small_params(&p, size, 10, 1);
        nst_plan plan = plan_of(&p);
        CHECK(plan.mode == NST_RUN_WHOLE && plan.bytes > previous, "size %d: %zu bytes (mode %d) after %zu", size,
              plan.bytes, plan.mode, previous);
        /* The picture's activations alone grow with the pixel count. */
        if (previous)
            CHECK(plan.bytes > 3 * previous, "size %d: %zu bytes, %zu at half the size", size, plan.bytes, previous);
        previous = plan.bytes;
    }

    small_params(&p, 1024, 10, 1);
    nst_plan whole = plan_of(&p);
    p.max_memory = whole.bytes + 1;
    CHECK(plan_of(&p).mode == NST_RUN_WHOLE, "budget just above the whole run");
    p.max_memory = whole.bytes - 1;
    nst_plan tiled = plan_of(&p);
    CHECK(tiled.mode == NST_RUN_TILED && tiled.bytes <= p.max_memory && tiled.stage_tiled[0] &&
              tiled.tile_width >= 128 && tiled.tile_margin > 0,
          "budget just below: mode %d, %zu bytes, %d px tiles", tiled.mode, tiled.bytes, tiled.tile_width);
    CHECK(tiled.whole_bytes == whole.bytes, "the tiled plan still reports the whole run's %zu bytes",
          tiled.whole_bytes);

    /* Refused: a clear message and no run. */
    p.max_memory = 1 << 20;
    nst_transfer *t = new_transfer(&p);
    nst_error err = {0};
    nst_plan refused;
    CHECK(nst_transfer_plan(t, &refused, &err) == NST_ERR_NOMEM && refused.mode == NST_RUN_REFUSED,
          "1 MiB budget: mode %d", refused.mode);
    CHECK(strstr(err.message, "1 MiB available") && strstr(err.message, "memory limit") &&
              strstr(err.message, "1024x"),
          "message: %s", err.message);
    nst_image *result = (nst_image *)&err; /* must be reset */
    err = (nst_error){0};
    CHECK(nst_transfer_run(t, &result, &err) == NST_ERR_NOMEM && result == NULL && err.code == NST_ERR_NOMEM,
          "run with a 1 MiB budget: %s", err.message);
    nst_transfer_free(t);

    static const struct {
        const char *text;
        size_t bytes; /* SIZE_MAX = refused */
    } sizes[] = {{"4G", (size_t)4 << 30}, {"512M", (size_t)512 << 20}, {"1.5GiB", (size_t)3 << 29},
                 {"1000", 1000}, {"0", 0}, {"0G", 0}, {"4X", SIZE_MAX}, {"", SIZE_MAX}, {"-1G", SIZE_MAX},
                 {"0.5", SIZE_MAX}, {" 4G", SIZE_MAX}, {"1e30T", SIZE_MAX}, {"nan", SIZE_MAX}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t bytes = 12345;
        err = (nst_error){0};
        nst_status s = nst_parse_bytes(sizes[i].text, &bytes, &err);
        CHECK(sizes[i].bytes == SIZE_MAX ? s == NST_ERR_INVALID && bytes == 12345 && strstr(err.message, "4G")
                                         : s == NST_OK && bytes == sizes[i].bytes,
              "nst_parse_bytes('%s'): status %d, %zu bytes, '%s'", sizes[i].text, s, bytes, err.message);
    }
    CHECK(nst_default_memory_budget() > ((size_t)64 << 20), "default budget %zu", nst_default_memory_budget());
}

/* ---- progress recording ---- */

typedef struct record {
    nst_transfer *t;
    int n, last_iter, monotone, max_tiles, bad_stage_size;
    int steer_at_stage, cancel_at_stage, steered;
    double total_after_steer_max;
    int evals_after_steer;
    int previews, preview_stage_size_ok;
} record;

static void on_progress(const nst_progress *p, void *data)
{
    record *r = data;
    if (p->iter < r->last_iter)
        r->monotone = 0;
    r->last_iter = p->iter;
    r->n++;
    if (p->tiles > r->max_tiles)
        r->max_tiles = p->tiles;
    if (p->stage < 0 || p->stage >= p->stages || p->stage_width < 1 || p->memory_bytes == 0)
        r->bad_stage_size = 1;
    if (r->steered && p->stage > r->steer_at_stage) {
        r->evals_after_steer++;
        if (p->total > r->total_after_steer_max)
            r->total_after_steer_max = p->total;
    }
    if (p->stage == r->steer_at_stage && !r->steered) {
        nst_transfer_set_weights(r->t, 0.0, 0.0, 0.0, NULL);
        r->steered = 1;
    }
    if (p->stage == r->cancel_at_stage)
        nst_transfer_cancel(r->t);
}

static void on_preview(const nst_image *image, const nst_progress *p, void *data)
{
    record *r = data;
    r->previews++;
    if (image->width != p->stage_width || image->height != p->stage_height)
        r->preview_stage_size_ok = 0;
}

static nst_status run_recorded(const nst_params *p, record *r, nst_image **result, nst_error *err)
{
    nst_transfer *t = new_transfer(p);
    r->t = t;
    r->monotone = 1;
    r->preview_stage_size_ok = 1;
    nst_transfer_set_progress_callback(t, on_progress, r);
    nst_transfer_set_preview_callback(t, on_preview, 1, r);
    nst_status s = nst_transfer_run(t, result, err);
    nst_transfer_free(t);
    return s;
}

static void test_stages_run(void)
{
    nst_params p;
    small_params(&p, 256, 10, 2);
    nst_error err = {0};
    nst_image *result = NULL;
    record r = {.steer_at_stage = -1, .cancel_at_stage = -1};
    nst_status s = run_recorded(&p, &r, &result, &err);
    CHECK(s == NST_OK && result && result->width == 256 && result->height == 192, "pyramid run: %s",
          err.message);
    CHECK(r.monotone && r.last_iter == 10, "progress iterations run 0..10 (last %d, monotone %d)", r.last_iter,
          r.monotone);
    CHECK(!r.bad_stage_size && r.previews >= 10 && r.preview_stage_size_ok,
          "stage fields, %d previews at their stage's size", r.previews);
    nst_image_free(result);

    /* Steering in the first stage holds in the next: all weights 0 -> total 0. */
    r = (record){.steer_at_stage = 0, .cancel_at_stage = -1};
    s = run_recorded(&p, &r, &result, &err);
    CHECK(s == NST_OK && r.evals_after_steer > 0 && r.total_after_steer_max == 0.0,
          "steered weights in stage 2: %d evaluations, largest total %g", r.evals_after_steer,
          r.total_after_steer_max);
    nst_image_free(result);

    /* Cancel in the second stage. */
    r = (record){.steer_at_stage = -1, .cancel_at_stage = 1};
    result = NULL;
    s = run_recorded(&p, &r, &result, &err);
    CHECK(s == NST_ERR_CANCELLED && result == NULL && r.last_iter < 10, "cancel in stage 2: status %d, iter %d",
          s, r.last_iter);
}

/* Mean |difference| across each tile border of every round, over the mean
 * of the same differences 2..8 px beside it: a seam makes it larger. */
static double seam_ratio(const nst_image *im, const nst_plan *plan, int rounds)
{
    int starts[256], ends[256], windows[256];
    double border = 0, beside = 0;
    long nb = 0, ns = 0;
    for (int axis = 0; axis < 2; axis++) {
        int size = axis == 0 ? im->width : im->height, other = axis == 0 ? im->height : im->width;
        int window = axis == 0 ? plan->tile_width : plan->tile_height;
        for (int r = 0; r < rounds; r++) {
            int n = nst_tiles_axis(size, window, plan->tile_margin, r, axis, starts, ends, windows, 256);
            for (int k = 1; k < n; k++) {
                int b = starts[k];
                for (int d = -8; d <= 8; d++) {
                    int q = b + d;
                    if (q < 1 || q >= size || (d > -2 && d < 2 && d != 0))
                        continue;
                    for (int o = 0; o < other; o++)
                        for (int c = 0; c < 3; c++) {
                            size_t i1 = axis == 0 ? (size_t)o * im->width + q : (size_t)q * im->width + o;
                            size_t i0 = axis == 0 ? i1 - 1 : i1 - im->width;
                            double g = fabs(im->rgb[3 * i1 + c] - im->rgb[3 * i0 + c]);
                            if (d == 0)
                                border += g, nb++;
                            else
                                beside += g, ns++;
                        }
                }
            }
        }
    }
    return nb && ns ? (border / nb) / (beside / ns) : -1;
}

static void test_tiled_run(void)
{
    nst_params p;
    small_params(&p, 240, 8, 1);
    p.tile_size = 128;
    nst_plan plan = plan_of(&p);
    CHECK(plan.mode == NST_RUN_TILED && plan.tile_width == 128, "forced tiles: mode %d, %d px", plan.mode,
          plan.tile_width);
    /* A budget below the whole run tiles without being asked. */
    small_params(&p, 240, 8, 1);
    nst_plan whole = plan_of(&p);
    p.max_memory = whole.bytes - 1;
    plan = plan_of(&p);
    CHECK(plan.mode == NST_RUN_TILED, "tiny budget: mode %d", plan.mode);
    p.tile_size = 128; /* several tiles on a small picture */
    plan = plan_of(&p);

    nst_error err = {0};
    nst_image *result = NULL;
    record r = {.steer_at_stage = -1, .cancel_at_stage = -1};
    nst_status s = run_recorded(&p, &r, &result, &err);
    CHECK(s == NST_OK && result && result->width == 240 && result->height == 180, "tiled run: %s", err.message);
    CHECK(r.max_tiles >= 4 && r.last_iter == 8 && r.monotone, "tiles %d, last iteration %d", r.max_tiles,
          r.last_iter);
    if (result) {
        /* The result must have changed from the content. */
        double diff = 0;
        for (size_t i = 0; i < (size_t)3 * 240 * 180; i++)
            diff += fabs(result->rgb[i] - content->rgb[i]);
        CHECK(diff / (3.0 * 240 * 180) > 0.02, "mean change %g", diff / (3.0 * 240 * 180));
        double ratio = seam_ratio(result, &plan, 2);
        printf("seam ratio (tile borders / beside them): %.3f\n", ratio);
        CHECK(ratio > 0 && fabs(ratio - 1.0) <= 0.10, "seam ratio %.3f", ratio);
    }
    nst_image_free(result);
}

int main(void)
{
    nst_error err = {0};
    const char *path = test_model_file("squeezenet1.1");
    if (access(path, R_OK) != 0) {
        printf("skipped: no %s\n", path);
        return 77;
    }
    model = nst_model_load(NST_MODEL_SQUEEZENET11, path, &err);
    CHECK(model, "%s", err.message);
    if (!model)
        return test_finish("big_pictures");
    content = make_content(600, 450);
    style = make_style(160, 160);
    nst_image *scaled = nst_image_resize(content, 600, 400, &err); /* 3:2 for the stage checks */
    nst_image_free(content);
    content = scaled;
    test_stages();
    test_memory_plan();
    nst_image_free(content);
    content = make_content(240, 180);
    test_stages_run();
    test_tiled_run();
    nst_image_free(content);
    nst_image_free(style);
    nst_model_free(model);
    return test_finish("big_pictures");
}
