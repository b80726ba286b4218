/* The engine against PyTorch autograd: features, losses and gradients of VGG19
 * and VGG16 (random weights from a fixed seed) and of SqueezeNet 1.1 (the
 * shared weights).  The references come from tools/make-torch-fixtures.py:
 * meson's test runs it with /usr/bin/python3 (torch 1.13), it writes them into
 * the folder argv[1] and "ok" or its error into argv[2], then execs this
 * program.  It computes them in float64 from the same float32 weights and
 * pictures read here; its layers, weights and sizes are the constants below.
 * SqueezeNet is also checked with reflect and replicate padding against
 * torch's F.pad modes of the same names, and with the guided style term
 * (regions: two styles, each in its feathered mask, blend weights 1.4/0.6).
 *
 * Tolerances: float32 torch misses the float64 references by about 1e-6
 * (features, losses) and 3e-6 (gradients); the fixture script writes these
 * numbers to precision.txt on every run.  A C engine with other summation
 * orders (blocked GEMM, Winograd transforms, whose float32 error is about 10x
 * larger) gets 1e-4 on features and losses and 1e-3 on gradients, which the
 * backward pass's longer chain (Gram products, 16 layers back) needs; a wrong
 * layer, offset or normalisation misses them by orders of magnitude. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_test_util.h"
#include "test_util.h"

#define FEATURE_TOLERANCE 1e-4
#define LOSS_TOLERANCE 1e-4
#define GRADIENT_TOLERANCE 1e-3

/* As in tools/make-torch-fixtures.py. */
#define VGG_H 48
#define VGG_W 80
#define VGG_STYLE2_H 56
#define VGG_STYLE2_W 56
#define VGG_CONTENT "relu4_2"
#define VGG_STYLE "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1"
#define VGG_ALPHA 1.0
#define VGG_BETA 1e3
#define VGG_TAU 0.1
/* The engine normalises them to 0.7, 0.3 (blended) or 1.4, 0.6 (regions: to mean 1). */
static const double vgg_blend[2] = {1.4, 0.6};
static const char *const vgg_feature_layers[] = {"conv1_1", "relu1_1", "relu2_1", "relu3_1",
                                                 "relu4_1", "relu4_2", "relu5_1"};
#define SQ_H 96
#define SQ_W 128
#define SQ_STYLE_H 80
#define SQ_STYLE_W 112
#define SQ_STYLE2_H 64
#define SQ_STYLE2_W 72
#define SQ_CONTENT "fire3"
#define SQ_STYLE "conv1,fire2,fire3,fire4,fire5"
#define SQ_ALPHA 1.0
#define SQ_BETA 1e5
#define SQ_TAU 0.1

static const char *fixtures;

/* The fixture script writes "ok" to the status file, or why it could not
 * make the references. */
static int fixtures_ready(const char *status_path)
{
    char text[4096] = "";
    FILE *f = fopen(status_path, "r");
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = '\0';
        fclose(f);
    }
    int ok = strncmp(text, "ok", 2) == 0;
    CHECK(ok, "no torch references in %s: %s\n     They come from tools/make-torch-fixtures.py, run by meson "
              "with /usr/bin/python3, which needs numpy and torch (Debian: python3-torch).",
          fixtures, f ? text : "the fixture script did not run (is /usr/bin/python3 missing?)");
    return ok;
}

typedef struct pictures {
    nst_array x, content, style, style2;
} pictures;

static void pictures_clear(pictures *p)
{
    nst_array_clear(&p->x);
    nst_array_clear(&p->content);
    nst_array_clear(&p->style);
    nst_array_clear(&p->style2);
}

static void check_features(const nst_model *model, const char *prefix, const float *x, int height, int width,
                           nst_pooling pooling, const char *const *layers, int n_layers)
{
    nst_error err = {0};
    int last = nst_model_find_layer(model, layers[n_layers - 1]);
    CHECK(last >= 0, "%s: no layer %s", prefix, layers[n_layers - 1]);
    nst_net_options options = {.pooling = pooling, .padding = NST_PAD_ZERO};
    nst_net *net = last >= 0 ? nst_net_new(model, height, width, last, &options, &err) : NULL;
    CHECK(last < 0 || net, "%s: nst_net_new: %s", prefix, err.message);
    size_t count = (size_t)3 * height * width;
    float *normalised = malloc(count * sizeof *normalised);
    if (net && normalised) {
        nst_normalize_imagenet(x, height, width, normalised);
        nst_status st = nst_net_forward(net, normalised, NULL, &err);
        CHECK(st == NST_OK, "%s: forward: %s", prefix, err.message);
        for (int i = 0; st == NST_OK && i < n_layers; i++) {
            char name[128];
            snprintf(name, sizeof name, "%s_%s.npy", prefix, layers[i]);
            nst_array ref = load_reference(fixtures, name, 0);
            check_activation(model, net, layers[i], &ref, FEATURE_TOLERANCE, name);
            nst_array_clear(&ref);
        }
    }
    free(normalised);
    nst_net_free(net);
}

/* Evaluates the objective and compares the losses with prefix_losses.npy
 * [content, style, tv, total] and the gradient with prefix_grad.npy. */
static void check_evaluation(nst_objective *obj, const float *x, size_t count, const char *prefix,
                             const char *grad_name, int check_losses)
{
    char name[128];
    nst_error err = {0};
    float *grad = malloc(count * sizeof *grad);
    nst_losses losses = {0};
    nst_status st = grad ? nst_objective_eval(obj, x, grad, &losses, &err) : NST_ERR_NOMEM;
    CHECK(st == NST_OK, "%s: eval: %s", prefix, err.message);
    if (st == NST_OK && check_losses) {
        snprintf(name, sizeof name, "%s_losses.npy", prefix);
        nst_array ref = load_reference(fixtures, name, 4);
        if (ref.data) {
            const double got[4] = {losses.content, losses.style, losses.tv, losses.total};
            static const char *const terms[4] = {"content", "style", "tv", "total"};
            for (int i = 0; i < 4; i++) {
                char what[128];
                snprintf(what, sizeof what, "%s %s loss", prefix, terms[i]);
                check_scalar(what, got[i], ref.data[i], LOSS_TOLERANCE);
            }
        }
        nst_array_clear(&ref);
    }
    if (st == NST_OK) {
        snprintf(name, sizeof name, "%s_%s.npy", prefix, grad_name);
        nst_array ref = load_reference(fixtures, name, count);
        check_rel_error(name, grad, &ref, count, GRADIENT_TOLERANCE);
        nst_array_clear(&ref);
    }
    free(grad);
}

/* The total, then each term's gradient alone (the total is dominated by the
 * style term at these weights, so content and TV are checked on their own). */
static void check_objective(nst_objective *obj, const float *x, size_t count, const char *prefix, double alpha,
                            double beta, double tau)
{
    check_evaluation(obj, x, count, prefix, "grad", 1);
    nst_objective_set_weights(obj, 1, 0, 0);
    check_evaluation(obj, x, count, prefix, "grad_content", 0);
    nst_objective_set_weights(obj, 0, 1, 0);
    check_evaluation(obj, x, count, prefix, "grad_style", 0);
    nst_objective_set_weights(obj, 0, 0, 1);
    check_evaluation(obj, x, count, prefix, "grad_tv", 0);
    nst_objective_set_weights(obj, alpha, beta, tau);
}

static void check_blend(nst_objective *obj, const pictures *p, const char *prefix)
{
    char blend_prefix[64];
    snprintf(blend_prefix, sizeof blend_prefix, "%s_blend", prefix);
    nst_error err = {0};
    const float *styles[2] = {p->style.data, p->style2.data};
    const int heights[2] = {VGG_H, VGG_STYLE2_H}, widths[2] = {VGG_W, VGG_STYLE2_W};
    nst_status st = nst_objective_set_styles(obj, 2, styles, heights, widths, vgg_blend, &err);
    CHECK(st == NST_OK, "%s: set_styles with two pictures: %s", blend_prefix, err.message);
    if (st == NST_OK)
        check_evaluation(obj, p->x.data, p->x.count, blend_prefix, "grad", 1);
}

static void check_vgg(nst_model_kind kind, const pictures *p)
{
    const char *name = nst_model_kind_name(kind);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.safetensors", fixtures, name);
    printf("%s (random weights from %s)\n", name, path);
    nst_error err = {0};
    nst_model *model = nst_model_from_source(kind, path, &err);
    CHECK(model, "loading %s: %s", path, err.message);
    if (!model)
        return;

    int n_layers = (int)(sizeof vgg_feature_layers / sizeof *vgg_feature_layers);
    check_features(model, name, p->x.data, VGG_H, VGG_W, NST_POOL_MAX, vgg_feature_layers, n_layers);
    if (kind == NST_MODEL_VGG19) {
        static const char *const avg_layer[] = {"relu3_1"};
        check_features(model, "vgg19_avg", p->x.data, VGG_H, VGG_W, NST_POOL_AVG, avg_layer, 1);
    }

    nst_params params;
    make_params(&params, kind, VGG_CONTENT, VGG_STYLE, VGG_ALPHA, VGG_BETA, VGG_TAU);
    nst_net_options options = {.pooling = NST_POOL_MAX, .padding = NST_PAD_ZERO};
    nst_objective *obj = make_objective(model, VGG_H, VGG_W, &params, &options, p->content.data, p->style.data,
                                        VGG_H, VGG_W);
    if (obj) {
        check_objective(obj, p->x.data, p->x.count, name, VGG_ALPHA, VGG_BETA, VGG_TAU);
        check_blend(obj, p, name);
    }
    nst_objective_free(obj);
    nst_model_free(model);
}

/* The guided objective: sq_style in sq_mask1's region, sq_style2 in sq_mask2's. */
static void check_guided(const nst_model *model, const nst_array *x, const nst_array *content,
                         const nst_array *style)
{
    nst_array style2 = load_reference(fixtures, "sq_style2.npy", (size_t)3 * SQ_STYLE2_H * SQ_STYLE2_W);
    nst_array mask1 = load_reference(fixtures, "sq_mask1.npy", (size_t)SQ_H * SQ_W);
    nst_array mask2 = load_reference(fixtures, "sq_mask2.npy", (size_t)SQ_H * SQ_W);
    nst_params params;
    make_params(&params, NST_MODEL_SQUEEZENET11, SQ_CONTENT, SQ_STYLE, SQ_ALPHA, SQ_BETA, SQ_TAU);
    nst_net_options options = {.pooling = NST_POOL_MAX, .padding = NST_PAD_ZERO};
    nst_objective *obj = style2.data && mask1.data && mask2.data
                             ? make_objective(model, SQ_H, SQ_W, &params, &options, content->data, style->data,
                                              SQ_STYLE_H, SQ_STYLE_W)
                             : NULL;
    if (obj) {
        const float *styles[2] = {style->data, style2.data}, *masks[2] = {mask1.data, mask2.data};
        const int heights[2] = {SQ_STYLE_H, SQ_STYLE2_H}, widths[2] = {SQ_STYLE_W, SQ_STYLE2_W}, groups[2] = {0, 1};
        nst_error err = {0};
        nst_status st = nst_objective_set_styles_grouped(obj, 2, styles, heights, widths, vgg_blend, groups, &err);
        if (st == NST_OK)
            st = nst_objective_set_masks(obj, 2, masks, SQ_W, 0, 0, &err);
        CHECK(st == NST_OK, "squeezenet_guided: %s", err.message);
        if (st == NST_OK)
            check_objective(obj, x->data, x->count, "squeezenet_guided", SQ_ALPHA, SQ_BETA, SQ_TAU);
    }
    nst_objective_free(obj);
    nst_array_clear(&style2);
    nst_array_clear(&mask1);
    nst_array_clear(&mask2);
}

static void check_squeezenet(void)
{
    printf("squeezenet1.1 (shared weights)\n");
    nst_error err = {0};
    nst_model *model = nst_model_load(NST_MODEL_SQUEEZENET11, test_model_file("squeezenet1.1"), &err);
    CHECK(model, "loading SqueezeNet from %s: %s", test_model_file("squeezenet1.1"), err.message);
    nst_array x = load_reference(fixtures, "sq_x.npy", (size_t)3 * SQ_H * SQ_W);
    nst_array content = load_reference(fixtures, "sq_content.npy", (size_t)3 * SQ_H * SQ_W);
    nst_array style = load_reference(fixtures, "sq_style.npy", (size_t)3 * SQ_STYLE_H * SQ_STYLE_W);
    /* Every padded conv (the fire modules' 3x3 expands) in each mode; torch
     * pads with F.pad(mode='reflect' / 'replicate') before an unpadded conv. */
    static const struct {
        nst_padding mode;
        const char *prefix;
    } paddings[] = {{NST_PAD_ZERO, "squeezenet"},
                    {NST_PAD_REFLECT, "squeezenet_reflect"},
                    {NST_PAD_REPLICATE, "squeezenet_replicate"}};
    for (size_t i = 0; model && x.data && content.data && style.data && i < sizeof paddings / sizeof *paddings;
         i++) {
        nst_params params;
        make_params(&params, NST_MODEL_SQUEEZENET11, SQ_CONTENT, SQ_STYLE, SQ_ALPHA, SQ_BETA, SQ_TAU);
        nst_net_options options = {.pooling = NST_POOL_MAX, .padding = paddings[i].mode};
        nst_objective *obj = make_objective(model, SQ_H, SQ_W, &params, &options, content.data, style.data,
                                            SQ_STYLE_H, SQ_STYLE_W);
        if (obj && paddings[i].mode == NST_PAD_ZERO)
            check_objective(obj, x.data, x.count, paddings[i].prefix, SQ_ALPHA, SQ_BETA, SQ_TAU);
        else if (obj)
            check_evaluation(obj, x.data, x.count, paddings[i].prefix, "grad", 1);
        nst_objective_free(obj);
    }
    if (model && x.data && content.data && style.data)
        check_guided(model, &x, &content, &style);
    nst_array_clear(&x);
    nst_array_clear(&content);
    nst_array_clear(&style);
    nst_model_free(model);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s FIXTURE_DIR STATUS_FILE (meson passes them)\n", argv[0]);
        return 2;
    }
    fixtures = argv[1];
    if (!fixtures_ready(argv[2]))
        return test_finish("torch_reference");

    size_t vgg_count = (size_t)3 * VGG_H * VGG_W;
    pictures p = {
        .x = load_reference(fixtures, "x.npy", vgg_count),
        .content = load_reference(fixtures, "content.npy", vgg_count),
        .style = load_reference(fixtures, "style.npy", vgg_count),
        .style2 = load_reference(fixtures, "style2.npy", (size_t)3 * VGG_STYLE2_H * VGG_STYLE2_W),
    };
    if (p.x.data && p.content.data && p.style.data && p.style2.data) {
        check_vgg(NST_MODEL_VGG19, &p);
        check_vgg(NST_MODEL_VGG16, &p);
    }
    pictures_clear(&p);
    check_squeezenet();
    return test_finish("torch_reference");
}
