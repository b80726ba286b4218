#include "model_test_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

nst_array load_reference(const char *dir, const char *name, size_t expected_count)
{
    char path[4096];
    nst_array array = {0};
    nst_error err = {0};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    nst_status st = nst_npy_load(path, &array, &err);
    CHECK(st == NST_OK, "loading %s: %s", path, err.message);
    if (st != NST_OK)
        return (nst_array){0};
    if (expected_count && array.count != expected_count) {
        CHECK(array.count == expected_count, "%s holds %zu floats, expected %zu", path, array.count,
              expected_count);
        nst_array_clear(&array);
    }
    return array;
}

void check_rel_error(const char *what, const float *got, const nst_array *ref, size_t count, double tol)
{
    if (!got || !ref->data || ref->count != count) {
        CHECK(got && ref->data && ref->count == count, "%s: missing output or reference (%zu vs %zu floats)",
              what, ref->count, count);
        return;
    }
    double e = test_max_rel_error(got, ref->data, count, 1e-30);
    printf("  %-40s rel err %.2e (tolerance %.0e)\n", what, e, tol);
    CHECK(e <= tol, "%s: max |got - ref| / max |ref| = %.3e > %.0e", what, e, tol);
}

void check_scalar(const char *what, double got, double ref, double tol)
{
    double e = fabs(got - ref) / fmax(fabs(ref), 1e-300);
    printf("  %-40s %.9g vs %.9g, rel err %.2e (tolerance %.0e)\n", what, got, ref, e, tol);
    CHECK(e <= tol, "%s: %.9g vs reference %.9g, rel err %.3e > %.0e", what, got, ref, e, tol);
}

void check_activation(const nst_model *model, const nst_net *net, const char *layer, const nst_array *ref,
                      double tol, const char *what)
{
    int node = nst_model_find_layer(model, layer);
    CHECK(node >= 0, "%s: layer %s not found", what, layer);
    if (node < 0 || !ref->data)
        return;
    int c = 0, h = 0, w = 0;
    const float *a = nst_net_activation(net, node, &c, &h, &w);
    int shape_ok = ref->ndim == 3 && ref->shape[0] == c && ref->shape[1] == h && ref->shape[2] == w;
    CHECK(a && shape_ok, "%s: activation [%d,%d,%d] does not match the reference shape", what, c, h, w);
    if (a && shape_ok)
        check_rel_error(what, a, ref, ref->count, tol);
}

/* Splits "a,b,c" into the layer list with equal weights summing to 1. */
static int set_layers(const char *csv, char names[][NST_LAYER_NAME_MAX], double *weights)
{
    int n = 0;
    const char *p = csv;
    while (*p && n < NST_MAX_LAYERS) {
        size_t len = strcspn(p, ",");
        snprintf(names[n], NST_LAYER_NAME_MAX, "%.*s", (int)len, p);
        n++;
        p += len + (p[len] == ',');
    }
    for (int i = 0; i < n; i++)
        weights[i] = 1.0 / n;
    return n;
}

void make_params(nst_params *params, nst_model_kind kind, const char *content_layers, const char *style_layers,
                 double alpha, double beta, double tau)
{
    nst_params_init(params, kind);
    params->n_content_layers = set_layers(content_layers, params->content_layers, params->content_layer_weights);
    params->n_style_layers = set_layers(style_layers, params->style_layers, params->style_layer_weights);
    params->content_weight = alpha;
    params->style_weight = beta;
    params->tv_weight = tau;
}

nst_objective *make_objective(const nst_model *model, int height, int width, const nst_params *params,
                              const nst_net_options *options, const float *content, const float *style,
                              int style_height, int style_width)
{
    nst_error err = {0};
    nst_objective *obj = nst_objective_new(model, height, width, params, options, &err);
    CHECK(obj, "nst_objective_new %dx%d: %s", width, height, err.message);
    if (!obj)
        return NULL;
    nst_objective_set_weights(obj, params->content_weight, params->style_weight, params->tv_weight);
    nst_status st = nst_objective_set_content(obj, content, &err);
    CHECK(st == NST_OK, "set_content: %s", err.message);
    double blend = 1.0;
    if (st == NST_OK)
        st = nst_objective_set_styles(obj, 1, &style, &style_height, &style_width, &blend, &err);
    CHECK(st == NST_OK, "set_styles: %s", err.message);
    if (st != NST_OK) {
        nst_objective_free(obj);
        return NULL;
    }
    return obj;
}
