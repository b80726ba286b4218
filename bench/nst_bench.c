/* Our side of the benchmark (bench/run.py drives it; see there).
 *
 *   nst_bench peak
 *       GFLOP/s of a 2048^3 sgemm (best of 5) on OpenBLAS's threads, and
 *       the kernels OpenBLAS picked for this CPU.
 *   nst_bench eval MODEL WEIGHTS DATA_DIR WARMUP REPS [DEVICE]
 *       seconds per nst_objective_eval (value + gradient) on DATA_DIR's
 *       content.npy / style.npy / x0.npy, the analytic FLOPs of one
 *       evaluation and the first evaluation's losses.  With DEVICE (gpu or
 *       gpu:N) the objective runs on the Vulkan backend (side "gpu"):
 *       "times" with the picture and gradient left in device memory (what
 *       a run on the device needs), "times_transfer" with both copied
 *       to and from the host, and the device's name.
 *   nst_bench lbfgs MODEL WEIGHTS DATA_DIR TARGET MAX_EVALS [DEVICE]
 *       L-BFGS (history 20, box [0,1]) from x0 until the total loss is
 *       <= TARGET: evaluations and seconds taken, and the loss trace.
 *
 * Results are one JSON object on stdout, with ru_maxrss (KiB) of this process. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/error.h"
#include "io/weights.h"
#include "loss/objective.h"
#include "nn/net.h"
#include "optim/optim.h"

#ifdef NST_HAVE_VULKAN
#include "gpu/objective.h"
#endif

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long max_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int fail(const char *what, const nst_error *err)
{
    fprintf(stderr, "nst_bench: %s: %s\n", what, err ? err->message : "");
    return 1;
}

static int run_peak(void)
{
    const int n = 2048;
    float *a = malloc((size_t)n * n * sizeof *a), *b = malloc((size_t)n * n * sizeof *b),
          *c = malloc((size_t)n * n * sizeof *c);
    if (!a || !b || !c)
        return fail("peak", NULL);
    for (size_t i = 0; i < (size_t)n * n; i++)
        a[i] = b[i] = (float)(i % 7) * 0.1f;
    double best = 1e30;
    for (int rep = 0; rep < 6; rep++) { /* the first one warms the threads up */
        double t0 = now_seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double t = now_seconds() - t0;
        if (rep > 0 && t < best)
            best = t;
    }
    printf("{\"sgemm_gflops\": %.2f, \"openblas_core\": \"%s\"}\n", 2.0 * n * n * (double)n / best * 1e-9,
           openblas_get_corename());
    free(a), free(b), free(c);
    return 0;
}

/* The objective of both sides: content/style layers of the model, alpha 1, beta 1e5, tau 0.1. */
static void bench_params(nst_model_kind kind, nst_params *p)
{
    nst_error err = {0};
    nst_params_init(p, kind);
    if (kind == NST_MODEL_SQUEEZENET11) {
        nst_params_set_content_layers(p, "fire3", &err);
        nst_params_set_style_layers(p, "conv1,fire2,fire3,fire4,fire5", &err);
    } else {
        nst_params_set_content_layers(p, "relu4_2", &err);
        nst_params_set_style_layers(p, "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1", &err);
    }
    p->content_weight = 1.0;
    p->style_weight = 1e5;
    p->tv_weight = 0.1;
}

/* FLOPs of one evaluation: every conv forward and backward-input up to the
 * deepest layer in use, and per style layer the Gram (ssyrk) and its gradient (ssymm). */
static double eval_flops(const nst_model *m, const nst_params *p, int height, int width)
{
    int deepest = 0;
    for (int i = 0; i < p->n_content_layers; i++)
        if (nst_model_find_layer(m, p->content_layers[i]) > deepest)
            deepest = nst_model_find_layer(m, p->content_layers[i]);
    for (int i = 0; i < p->n_style_layers; i++)
        if (nst_model_find_layer(m, p->style_layers[i]) > deepest)
            deepest = nst_model_find_layer(m, p->style_layers[i]);
    int *c = calloc((size_t)deepest + 1, sizeof(int) * 3);
    if (!c)
        return 0;
    int *h = c + deepest + 1, *w = h + deepest + 1;
    double flops = 0;
    c[0] = 3, h[0] = height, w[0] = width;
    for (int i = 1; i <= deepest; i++) {
        const nst_node *n = &m->nodes[i];
        int in = n->inputs[0];
        c[i] = c[in], h[i] = h[in], w[i] = w[in];
        if (n->op == NST_OP_CONV) {
            c[i] = n->conv.out_channels;
            h[i] = nst_conv_out_size(h[in], n->conv.kernel_h, n->conv.stride, n->conv.pad);
            w[i] = nst_conv_out_size(w[in], n->conv.kernel_w, n->conv.stride, n->conv.pad);
            flops += 2.0 * 2.0 * c[i] * c[in] * n->conv.kernel_h * n->conv.kernel_w * h[i] * (double)w[i];
        } else if (n->op == NST_OP_MAXPOOL || n->op == NST_OP_AVGPOOL) {
            h[i] = nst_conv_out_size(h[in], n->kernel, n->stride, 0);
            w[i] = nst_conv_out_size(w[in], n->kernel, n->stride, 0);
        } else if (n->op == NST_OP_CONCAT) {
            c[i] = c[in] + c[n->inputs[1]];
        }
    }
    for (int i = 0; i < p->n_style_layers; i++) {
        int k = nst_model_find_layer(m, p->style_layers[i]);
        double hw = (double)h[k] * w[k];
        flops += (double)c[k] * (c[k] + 1) * hw + 2.0 * c[k] * (double)c[k] * hw;
    }
    free(c);
    return flops;
}

typedef struct bench {
    nst_model *model;
    nst_params params;
    nst_objective *obj;
    void *gpu, *gpu_obj; /* nst_gpu, nst_gpu_objective: with a DEVICE */
    char device[256];
    nst_array content, style, x0;
    int height, width;
    float *grad;
    /* L-BFGS bookkeeping */
    int evals;
    double start, target, reached_at;
    int reached_evals;
} bench;

static nst_status load_picture(const char *dir, const char *name, nst_array *a, nst_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    nst_status s = nst_npy_load(path, a, err);
    if (s == NST_OK && (a->ndim != 3 || a->shape[0] != 3))
        return nst_error_set(err, NST_ERR_FORMAT, "%s: expected [3, H, W]", path);
    return s;
}

/* The objective on the device the setting names (gpu or gpu:N). */
static int open_device(bench *b, const char *setting, const nst_net_options *options)
{
#ifdef NST_HAVE_VULKAN
    nst_error err = {0};
    nst_device_choice choice;
    if (nst_device_resolve(setting, &choice, &err) != NST_OK)
        return fail("device", &err);
    if (!choice.on_gpu)
        return fail("device: not a GPU", NULL);
    nst_gpu *gpu = nst_gpu_new(choice.gpu.index, NULL, &err);
    b->gpu = gpu;
    if (!gpu)
        return fail("device", &err);
    snprintf(b->device, sizeof b->device, "%s", gpu->info.name);
    nst_gpu_objective *obj = nst_gpu_objective_new(gpu, b->model, b->height, b->width, &b->params, options, &err);
    b->gpu_obj = obj;
    const float *styles[1] = {b->style.data};
    int sh = (int)b->style.shape[1], sw = (int)b->style.shape[2];
    if (!obj || nst_gpu_objective_set_content(obj, b->content.data, &err) != NST_OK ||
        nst_gpu_objective_set_styles(obj, 1, styles, &sh, &sw, NULL, &err) != NST_OK)
        return fail("the objective on the device", &err);
    return 0;
#else
    (void)b, (void)options;
    fprintf(stderr, "nst_bench: device %s: built without the Vulkan backend\n", setting);
    return 1;
#endif
}

/* One evaluation on the side opened; x and grad NULL on the device: the
 * picture and gradient stay in device memory. */
static nst_status evaluate(bench *b, const float *x, float *grad, nst_losses *l, nst_error *err)
{
#ifdef NST_HAVE_VULKAN
    if (b->gpu_obj) {
        nst_gpu_losses g;
        nst_status s = nst_gpu_objective_eval(b->gpu_obj, x, grad, &g, err);
        *l = (nst_losses){.content = g.content, .style = g.style, .tv = g.tv, .total = g.total};
        return s;
    }
#endif
    return nst_objective_eval(b->obj, x, grad, l, err);
}

static int bench_open(bench *b, const char *kind_name, const char *weights, const char *dir, const char *device)
{
    nst_error err = {0};
    nst_model_kind kind;
    if (nst_model_kind_from_name(kind_name, &kind, &err) != NST_OK)
        return fail("model", &err);
    b->model = nst_model_from_source(kind, weights, &err);
    if (!b->model)
        return fail("weights", &err);
    if (load_picture(dir, "content.npy", &b->content, &err) != NST_OK ||
        load_picture(dir, "style.npy", &b->style, &err) != NST_OK ||
        load_picture(dir, "x0.npy", &b->x0, &err) != NST_OK)
        return fail("pictures", &err);
    b->height = (int)b->content.shape[1];
    b->width = (int)b->content.shape[2];
    bench_params(kind, &b->params);
    nst_net_options options = {.pooling = NST_POOL_MAX, .padding = NST_PAD_ZERO, .border = 0}; /* the exact PyTorch objective */
    b->grad = malloc(b->x0.count * sizeof(float));
    if (!b->grad)
        return fail("gradient", NULL);
    if (device)
        return open_device(b, device, &options);
    b->obj = nst_objective_new(b->model, b->height, b->width, &b->params, &options, &err);
    if (!b->obj)
        return fail("objective", &err);
    const float *styles[1] = {b->style.data};
    int sh = (int)b->style.shape[1], sw = (int)b->style.shape[2];
    if (nst_objective_set_content(b->obj, b->content.data, &err) != NST_OK ||
        nst_objective_set_styles(b->obj, 1, styles, &sh, &sw, NULL, &err) != NST_OK)
        return fail("targets", &err);
    return 0;
}

static void bench_close(bench *b)
{
    nst_objective_free(b->obj);
#ifdef NST_HAVE_VULKAN
    nst_gpu_objective_free(b->gpu_obj);
    nst_gpu_free(b->gpu);
#endif
    nst_model_free(b->model);
    nst_array_clear(&b->content);
    nst_array_clear(&b->style);
    nst_array_clear(&b->x0);
    free(b->grad);
}

/* Seconds of each of `reps` evaluations after `warmup` untimed ones; x and
 * grad as evaluate() takes them.  The first evaluation's losses in *first. */
static int time_evals(bench *b, const float *x, float *grad, int warmup, int reps, double *times, nst_losses *first)
{
    nst_error err = {0};
    for (int i = 0; i < warmup + reps; i++) {
        nst_losses l;
        double t0 = now_seconds();
        if (evaluate(b, x, grad, &l, &err) != NST_OK)
            return fail("eval", &err);
        double t = now_seconds() - t0;
        if (i == 0 && first)
            *first = l;
        if (i >= warmup)
            times[i - warmup] = t;
    }
    return 0;
}

static void print_times(const char *key, const double *times, int reps)
{
    printf(", \"%s\": [", key);
    for (int i = 0; i < reps; i++)
        printf("%s%.6f", i ? ", " : "", times[i]);
    printf("]");
}

static int run_eval(bench *b, int warmup, int reps)
{
    nst_losses first = {0};
    double *times = calloc((size_t)reps, 2 * sizeof *times);
    if (!times)
        return fail("eval", NULL);
    /* On the device: the picture goes there once, the gradient comes back once. */
    int rc = time_evals(b, b->x0.data, b->grad, warmup, reps, times, &first);
    if (rc == 0 && b->gpu_obj)
        rc = time_evals(b, NULL, NULL, warmup, reps, times + reps, NULL);
    if (rc) {
        free(times);
        return rc;
    }
    double grad_norm = 0;
    for (size_t i = 0; i < b->x0.count; i++)
        grad_norm += (double)b->grad[i] * b->grad[i];
    printf("{\"side\": \"%s\", \"losses\": [%.9g, %.9g, %.9g, %.9g], \"grad_norm\": %.9g, \"flops\": %.6g",
           b->gpu_obj ? "gpu" : "ours", first.content, first.style, first.tv, first.total, sqrt(grad_norm),
           eval_flops(b->model, &b->params, b->height, b->width));
    if (b->gpu_obj) {
        print_times("times", times + reps, reps);
        print_times("times_transfer", times, reps);
        printf(", \"device\": \"%s\"", b->device);
    } else {
        print_times("times", times, reps);
    }
    printf(", \"maxrss_kib\": %ld}\n", max_rss_kib());
    free(times);
    return 0;
}

static nst_status lbfgs_objective(const float *x, float *grad, double *value, void *user_data, nst_error *err)
{
    bench *b = user_data;
    nst_losses l;
    nst_status s = evaluate(b, x, grad, &l, err);
    if (s != NST_OK)
        return s;
    *value = l.total;
    b->evals++;
    if (b->reached_evals == 0 && l.total <= b->target) {
        b->reached_evals = b->evals;
        b->reached_at = now_seconds() - b->start;
    }
    return NST_OK;
}

static int run_lbfgs(bench *b, double target, int max_evals)
{
    nst_error err = {0};
    nst_lbfgs *opt = nst_lbfgs_new(b->x0.count, 20, 0.0f, 1.0f, &err);
    if (!opt)
        return fail("lbfgs", &err);
    float *x = b->x0.data;
    b->target = target;
    b->start = now_seconds();
    printf("{\"side\": \"%s\", \"trace\": [", b->gpu_obj ? "gpu" : "ours");
    int first = 1;
    while (b->evals < max_evals && b->reached_evals == 0) {
        int converged = 0;
        if (nst_lbfgs_step(opt, x, lbfgs_objective, b, &converged, &err) != NST_OK)
            return fail("lbfgs step", &err);
        printf("%s[%d, %.4f, %.9g]", first ? "" : ", ", b->evals, now_seconds() - b->start, nst_lbfgs_value(opt));
        first = 0;
        if (converged)
            break;
    }
    printf("], \"evals_to_target\": %d, \"seconds_to_target\": %.4f, \"evals\": %d, \"seconds\": %.4f, "
           "\"maxrss_kib\": %ld}\n",
           b->reached_evals, b->reached_evals ? b->reached_at : -1.0, b->evals, now_seconds() - b->start,
           max_rss_kib());
    nst_lbfgs_free(opt);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "peak") == 0)
        return run_peak();
    if ((argc != 7 && argc != 8) || (strcmp(argv[1], "eval") != 0 && strcmp(argv[1], "lbfgs") != 0)) {
        fprintf(stderr, "usage: nst_bench peak | eval MODEL WEIGHTS DIR WARMUP REPS [DEVICE] | "
                        "lbfgs MODEL WEIGHTS DIR TARGET MAX_EVALS [DEVICE]\n");
        return 2;
    }
    bench b = {0};
    int rc = bench_open(&b, argv[2], argv[3], argv[4], argc == 8 ? argv[7] : NULL);
    if (rc == 0)
        rc = strcmp(argv[1], "eval") == 0 ? run_eval(&b, atoi(argv[5]), atoi(argv[6]))
                                          : run_lbfgs(&b, atof(argv[5]), atoi(argv[6]));
    bench_close(&b);
    fflush(stdout);
    return rc;
}
