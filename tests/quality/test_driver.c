/* The driver's promises, through the public API only, on SqueezeNet:
 * - --iterations 0 evaluates the starting picture once (eval 0) and returns it;
 * - progress comes once per evaluation with eval counting up from 0;
 * - previews come every K iterations at the working size;
 * - a weight steered from another thread is in force at the next evaluation;
 * - cancel from another thread is answered within a second, with no picture;
 * - the same inputs, seed and thread count give the same bytes. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nst/nst.h"
#include "test_util.h"

static nst_model *model;
static nst_image *content, *style;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* A synthetic content (gradients and a disc) and style (stripes) so the test
 * needs no picture files. */
static nst_image *make_picture(int w, int h, int stripes)
{
    nst_image *im = nst_image_new(w, h, NULL);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float *p = im->rgb + 3 * ((size_t)y * w + x);
            if (stripes) {
                float s = 0.5f + 0.5f * sinf(0.6f * x + 0.3f * y);
                p[0] = s, p[1] = 0.3f * s, p[2] = 1.0f - s;
            } else {
                float d = hypotf(x - w / 2.0f, y - h / 2.0f) < h / 3.0f;
                p[0] = (float)x / w, p[1] = (float)y / h, p[2] = d;
            }
        }
    return im;
}

static nst_transfer *make_transfer(int iterations, int size)
{
    nst_params p;
    nst_params_init(&p, NST_MODEL_SQUEEZENET11);
    p.iterations = iterations;
    p.size = size;
    p.threads = 2;
    nst_error err = {0};
    nst_transfer *t = nst_transfer_new(model, &p, &err);
    CHECK(t != NULL, "nst_transfer_new: %s", err.message);
    CHECK(nst_transfer_set_content(t, content, &err) == NST_OK, "%s", err.message);
    CHECK(nst_transfer_add_style(t, style, 1.0, &err) == NST_OK, "%s", err.message);
    return t;
}

typedef struct record {
    int calls;
    int last_eval;
    int evals_in_order;
    nst_progress first, last;
    int previews, preview_w, preview_h;
    /* steering */
    nst_transfer *steer_target;
    int steer_at_eval;
    int steered_eval; /* first eval after the change */
    int steered_checks, steered_ok;
    nst_status steer_refused, out_of_range; /* the valid change, and a 1e40 before it */
    /* cancel */
    atomic_int reached;
} record;

static void on_progress(const nst_progress *p, void *user)
{
    record *r = user;
    if (r->calls == 0)
        r->first = *p;
    r->evals_in_order &= p->eval == r->calls;
    r->calls++;
    r->last = *p;
    if (r->steer_target && p->eval == r->steer_at_eval) {
        /* Out of range (1e40 overflows a float): refused, and nothing changes. */
        r->out_of_range = nst_transfer_set_weights(r->steer_target, 1.0, 1e40, 0.1, NULL);
        r->steer_refused = nst_transfer_set_weights(r->steer_target, 1.0, 0.0, 0.1, NULL); /* style weight to 0 */
    }
    if (r->steer_target && p->eval > r->steer_at_eval) {
        /* With beta = 0 the total is alpha*content + tau*tv. */
        double expect = p->content + 0.1 * p->tv;
        r->steered_checks++;
        r->steered_ok += fabs(p->total - expect) <= 1e-6 * fabs(expect) + 1e-12;
    }
    atomic_store(&r->reached, p->eval);
}

static void on_preview(const nst_image *image, const nst_progress *p, void *user)
{
    (void)p;
    record *r = user;
    r->previews++;
    r->preview_w = image->width;
    r->preview_h = image->height;
}

static void test_iterations_zero(void)
{
    nst_transfer *t = make_transfer(0, 64);
    record r = {.evals_in_order = 1};
    nst_transfer_set_progress_callback(t, on_progress, &r);
    nst_image *out = NULL;
    nst_error err = {0};
    CHECK(nst_transfer_run(t, &out, &err) == NST_OK, "%s", err.message);
    CHECK(r.calls == 1 && r.first.eval == 0, "iterations 0: %d progress calls, first eval %d", r.calls, r.first.eval);
    CHECK(r.first.content == 0.0, "init content: content term %g", r.first.content);
    CHECK(r.first.style > 0.0, "style term of the content picture %g", r.first.style);
    CHECK(out && out->width == 64 && out->height == 48, "size %dx%d", out ? out->width : 0, out ? out->height : 0);
    nst_image_free(out);
    nst_transfer_free(t);
}

static void test_progress_preview_and_steering(void)
{
    nst_transfer *t = make_transfer(24, 64);
    record r = {.evals_in_order = 1, .steer_target = t, .steer_at_eval = 8};
    nst_transfer_set_progress_callback(t, on_progress, &r);
    nst_transfer_set_preview_callback(t, on_preview, 5, &r);
    nst_image *out = NULL;
    nst_error err = {0};
    CHECK(nst_transfer_run(t, &out, &err) == NST_OK, "%s", err.message);
    CHECK(r.evals_in_order, "eval numbers must count 0, 1, 2, ...");
    CHECK(r.calls >= 24, "%d evaluations for 24 iterations", r.calls);
    CHECK(r.last.iter <= 24 && r.last.iterations == 24, "iter %d of %d", r.last.iter, r.last.iterations);
    CHECK(r.previews >= 4, "%d previews at every 5 of 24 iterations (+ the end)", r.previews);
    CHECK(r.preview_w == 64 && r.preview_h == 48, "preview %dx%d", r.preview_w, r.preview_h);
    CHECK(r.steered_checks > 0 && r.steered_ok == r.steered_checks,
          "after steering beta to 0, %d of %d evaluations had total = a*content + t*tv", r.steered_ok,
          r.steered_checks);
    CHECK(r.steer_refused == NST_OK && r.out_of_range == NST_ERR_INVALID, "steering: valid %d, 1e40 %d",
          r.steer_refused, r.out_of_range);
    static const double bad_scales[] = {0.01, 9.0, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        err = (nst_error){0};
        CHECK(nst_transfer_set_style_scale(t, bad_scales[i], &err) == NST_ERR_INVALID &&
                  strstr(err.message, "style scale"),
              "style scale %g: '%s'", bad_scales[i], err.message);
    }
    err = (nst_error){0};
    CHECK(nst_transfer_set_weights(t, NAN, 1, 1, &err) == NST_ERR_INVALID && strstr(err.message, "weights"),
          "NaN content weight: '%s'", err.message);
    nst_image_free(out);
    nst_transfer_free(t);
}

typedef struct run_args {
    nst_transfer *t;
    nst_status status;
    nst_image *out;
    double returned_at;
} run_args;

static void *run_thread(void *arg)
{
    run_args *a = arg;
    nst_error err = {0};
    a->status = nst_transfer_run(a->t, &a->out, &err);
    a->returned_at = now();
    return NULL;
}

static void test_cancel(void)
{
    /* 512 px so one evaluation takes a noticeable time; cancel mid-run. */
    nst_transfer *t = make_transfer(1000, 512);
    record r = {.evals_in_order = 1};
    nst_transfer_set_progress_callback(t, on_progress, &r);
    run_args a = {.t = t};
    pthread_t thread;
    pthread_create(&thread, NULL, run_thread, &a);
    while (atomic_load(&r.reached) < 3)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    double cancelled_at = now();
    nst_transfer_cancel(t);
    pthread_join(thread, NULL);
    double latency = a.returned_at - cancelled_at;
    printf("cancel answered in %.3f s\n", latency);
    CHECK(a.status == NST_ERR_CANCELLED, "status %s", nst_status_name(a.status));
    CHECK(a.out == NULL, "no picture after a cancel");
    CHECK(latency < 1.0, "cancel took %.3f s", latency);
    nst_transfer_free(t);
}

static nst_image *run_once(uint64_t seed)
{
    nst_params p;
    nst_params_init(&p, NST_MODEL_SQUEEZENET11);
    p.iterations = 8;
    p.size = 64;
    p.threads = 2;
    p.init = NST_INIT_NOISE;
    p.seed = seed;
    nst_error err = {0};
    nst_transfer *t = nst_transfer_new(model, &p, &err);
    nst_transfer_set_content(t, content, &err);
    nst_transfer_add_style(t, style, 1.0, &err);
    nst_image *out = NULL;
    CHECK(nst_transfer_run(t, &out, &err) == NST_OK, "%s", err.message);
    nst_transfer_free(t);
    return out;
}

static void test_same_bytes(void)
{
    nst_image *a = run_once(7), *b = run_once(7), *c = run_once(8);
    size_t bytes = (size_t)3 * a->width * a->height * sizeof(float);
    CHECK(memcmp(a->rgb, b->rgb, bytes) == 0, "same seed and threads must give the same bytes");
    CHECK(memcmp(a->rgb, c->rgb, bytes) != 0, "another seed must give another picture");
    nst_image_free(a);
    nst_image_free(b);
    nst_image_free(c);
}

/* A front end makes the transfer and steers it before the model is there
 * (the plug-in does, while the model loads); the steering made then is in
 * force when the run starts, and a layer the model lacks is refused when
 * the model comes. */
static void test_model_given_later(void)
{
    nst_params p;
    nst_params_init(&p, NST_MODEL_SQUEEZENET11);
    p.iterations = 0;
    p.size = 32;
    nst_error err = {0};
    nst_transfer *t = nst_transfer_new(NULL, &p, &err);
    CHECK(t != NULL, "nst_transfer_new without a model: %s", err.message);
    if (!t)
        return;
    CHECK(nst_transfer_set_content(t, content, &err) == NST_OK && nst_transfer_add_style(t, style, 1, &err) == NST_OK,
          "%s", err.message);
    nst_plan plan;
    err = (nst_error){0};
    CHECK(nst_transfer_plan(t, &plan, &err) == NST_ERR_INVALID && strstr(err.message, "no model"),
          "plan without a model: '%s'", err.message);
    CHECK(nst_transfer_set_weights(t, 1.0, 0.0, 0.0, &err) == NST_OK, "steering before the model: %s", err.message);
    CHECK(nst_transfer_set_model(t, model, &err) == NST_OK, "set_model: %s", err.message);
    record r = {.evals_in_order = 1};
    nst_transfer_set_progress_callback(t, on_progress, &r);
    nst_image *out = NULL;
    CHECK(nst_transfer_run(t, &out, &err) == NST_OK, "run: %s", err.message);
    /* beta = tau = 0: the total is the content term alone. */
    CHECK(r.calls == 1 && r.last.total == r.last.content, "total %g, content %g after steering", r.last.total,
          r.last.content);
    nst_image_free(out);
    nst_transfer_free(t);

    CHECK(nst_params_set_style_layers(&p, "conv1,fire2", &err) == NST_OK, "%s", err.message);
    snprintf(p.style_layers[1], NST_LAYER_NAME_MAX, "relu1_1"); /* a VGG layer */
    t = nst_transfer_new(NULL, &p, &err);
    err = (nst_error){0};
    CHECK(t && nst_transfer_set_model(t, model, &err) == NST_ERR_NOT_FOUND && strstr(err.message, "relu1_1"),
          "a VGG layer on SqueezeNet: '%s'", err.message);
    nst_transfer_free(t);
}

int main(void)
{
    nst_error err = {0};
    model = nst_model_load(NST_MODEL_SQUEEZENET11, NULL, &err);
    if (!model) {
        fprintf(stderr, "FAIL: %s\n", err.message);
        return 1;
    }
    content = make_picture(64, 48, 0);
    style = make_picture(80, 80, 1);
    test_iterations_zero();
    test_progress_preview_and_steering();
    test_cancel();
    test_same_bytes();
    test_model_given_later();
    nst_image_free(content);
    nst_image_free(style);
    nst_model_free(model);
    return test_finish("driver");
}
