/* Values a weight file must not hold: NaN, +inf, -inf and magnitudes beyond
 * NST_WEIGHT_MAX_ABS, in a weight and in a bias, in every element type each
 * reader accepts (.npy f2/f4/f8, safetensors F16/BF16/F32/F64), each refused
 * with the file, the tensor, the element and its value named.  Then the same
 * through nst_model_load on a copy of the real SqueezeNet folder with one
 * tensor poisoned. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/weights.h"
#include "io_test_files.h"
#include "test_util.h"

typedef enum elem { E_F16, E_BF16, E_F32, E_F64 } elem;

static const struct {
    const char *npy;         /* descr, NULL when .npy cannot hold it here */
    const char *safetensors; /* dtype */
    size_t size;
} elems[] = {
    [E_F16] = {"<f2", "F16", 2},
    [E_BF16] = {NULL, "BF16", 2}, /* numpy has no bfloat16 */
    [E_F32] = {"<f4", "F32", 4},
    [E_F64] = {"<f8", "F64", 8},
};

typedef struct bad_value {
    const char *label;
    double value;
    const char *text; /* how the message spells it */
} bad_value;

static const bad_value bad_values[] = {
    {"NaN", NAN, "is NaN"},
    {"+inf", INFINITY, "is +inf"},
    {"-inf", -INFINITY, "is -inf"},
    {"too large", -2e7, "larger than any trained network's weight"},
};

/* Little-endian bits of `value` as `e` (exact for every value used here,
 * except -2e7 in bf16, which truncates to -19922944: still too large). */
static void append_value(io_buf *b, elem e, double value)
{
    float f = (float)value;
    uint32_t f_bits;
    memcpy(&f_bits, &f, sizeof f_bits);
    switch (e) {
    case E_F16: {
        uint16_t h = 0x3400; /* 0.25 */
        if (isnan(value))
            h = 0x7e00;
        else if (isinf(value))
            h = value > 0 ? 0x7c00 : 0xfc00;
        else if (value == 1.0)
            h = 0x3c00;
        io_buf_append_u16(b, h);
        break;
    }
    case E_BF16: io_buf_append_u16(b, (uint16_t)(f_bits >> 16)); break;
    case E_F32: io_buf_append_u32(b, f_bits); break;
    case E_F64: {
        uint64_t d_bits;
        memcpy(&d_bits, &value, sizeof d_bits);
        io_buf_append_u64(b, d_bits);
        break;
    }
    }
}

/* `count` good values (0.25 everywhere; representable in every type) with
 * `bad` at `index` (no bad value when index >= count). */
static void append_tensor(io_buf *b, elem e, size_t count, size_t index, double bad)
{
    for (size_t i = 0; i < count; i++)
        append_value(b, e, i == index ? bad : 0.25);
}

/* A weight [2, 3, 3, 3] poisoned at element 40 = [1, 1, 1, 1] and a bias [2]
 * poisoned at element 1 = [1]. */
static const struct {
    const char *name;
    int ndim;
    int64_t shape[4];
    size_t count, index;
    const char *where;
} tensors[] = {
    {"conv_weight", 4, {2, 3, 3, 3}, 54, 40, "element 40 at [1, 1, 1, 1] "},
    {"conv_bias", 1, {2}, 2, 1, "element 1 at [1] "},
};

static void expect_refused(nst_weight_source *src, int t, const char *what, const char *file, const bad_value *bad)
{
    float *data = NULL;
    nst_error err = {0};
    nst_status status = nst_weight_source_get(src, tensors[t].name, tensors[t].ndim, tensors[t].shape, &data, &err);
    io_check_error(what, status, &err, NST_ERR_FORMAT, file, tensors[t].name, tensors[t].where, bad->text,
                   (const char *)NULL);
    CHECK(data == NULL, "%s: data returned", what);
    free(data);
}

static void expect_accepted(nst_weight_source *src, int t, const char *what)
{
    float *data = NULL;
    nst_error err = {0};
    nst_status status = nst_weight_source_get(src, tensors[t].name, tensors[t].ndim, tensors[t].shape, &data, &err);
    CHECK(status == NST_OK && data, "%s: %s", what, err.message);
    free(data);
}

static int representable(elem e, const bad_value *bad)
{
    return !(e == E_F16 && isfinite(bad->value)); /* f16 ends at 65504 */
}

/* A folder of .npy files per (type, bad value), a weight and a bias each. */
static void test_npy_folders(void)
{
    for (int e = 0; e < 4; e++) {
        if (!elems[e].npy)
            continue;
        for (size_t v = 0; v < sizeof bad_values / sizeof bad_values[0]; v++) {
            const bad_value *bad = &bad_values[v];
            if (!representable((elem)e, bad))
                continue;
            char folder[64], what[128];
            snprintf(folder, sizeof folder, "npy-%s-%zu", elems[e].npy + 1, v);
            for (int t = 0; t < 2; t++) {
                char dict[160], relative[128];
                snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                         elems[e].npy, t == 0 ? "2, 3, 3, 3" : "2,");
                io_buf raw = {0}, file = {0};
                append_tensor(&raw, (elem)e, tensors[t].count, tensors[t].index, bad->value);
                io_npy_build(&file, 1, dict, raw.data, raw.size);
                snprintf(relative, sizeof relative, "%s/%s.npy", folder, tensors[t].name);
                io_write_file(relative, file.data, file.size);
                io_buf_free(&raw);
                io_buf_free(&file);
            }
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", io_scratch_dir(), folder);
            nst_error err = {0};
            nst_weight_source *src = nst_weight_source_open(path, &err);
            CHECK(src != NULL, "%s: %s", path, err.message);
            for (int t = 0; src && t < 2; t++) {
                char file[4200];
                snprintf(file, sizeof file, "%s/%s.npy", path, tensors[t].name);
                snprintf(what, sizeof what, ".npy %s %s in %s", elems[e].npy, bad->label, tensors[t].name);
                expect_refused(src, t, what, file, bad);
            }
            nst_weight_source_free(src);
        }
    }
}

/* One safetensors file per (type, bad value) with both tensors poisoned,
 * and one per type with clean tensors that must load. */
static void test_safetensors_files(void)
{
    for (int e = 0; e < 4; e++) {
        for (size_t v = 0; v <= sizeof bad_values / sizeof bad_values[0]; v++) {
            const bad_value *bad = v < sizeof bad_values / sizeof bad_values[0] ? &bad_values[v] : NULL;
            if (bad && !representable((elem)e, bad))
                continue;
            io_buf data = {0}, file = {0};
            size_t bias_begin = tensors[0].count * elems[e].size;
            size_t end = bias_begin + tensors[1].count * elems[e].size;
            for (int t = 0; t < 2; t++)
                append_tensor(&data, (elem)e, tensors[t].count, bad ? tensors[t].index : SIZE_MAX,
                              bad ? bad->value : 0);
            char json[512], name[64], what[128];
            snprintf(json, sizeof json,
                     "{\"__metadata__\": {\"format\": \"pt\"},"
                     " \"conv_weight\": {\"dtype\": \"%s\", \"shape\": [2, 3, 3, 3], \"data_offsets\": [0, %zu]},"
                     " \"conv_bias\": {\"dtype\": \"%s\", \"shape\": [2], \"data_offsets\": [%zu, %zu]}}",
                     elems[e].safetensors, bias_begin, elems[e].safetensors, bias_begin, end);
            io_safetensors_build(&file, json, data.data, data.size);
            snprintf(name, sizeof name, "%s-%zu.safetensors", elems[e].safetensors, v);
            const char *written = io_write_file(name, file.data, file.size);
            char path[4096];
            snprintf(path, sizeof path, "%s", written);
            io_buf_free(&data);
            io_buf_free(&file);

            nst_error err = {0};
            nst_weight_source *src = nst_weight_source_open(path, &err);
            CHECK(src != NULL, "%s: %s", path, err.message);
            for (int t = 0; src && t < 2; t++) {
                snprintf(what, sizeof what, "safetensors %s %s in %s", elems[e].safetensors,
                         bad ? bad->label : "clean", tensors[t].name);
                if (bad)
                    expect_refused(src, t, what, path, bad);
                else
                    expect_accepted(src, t, what);
            }
            nst_weight_source_free(src);
        }
    }
}

/* The readers on their own refuse what float32 cannot hold but not large
 * finite values (they also read reference data); the limit is the weight
 * source's, inclusive. */
static void test_reader_and_limit(void)
{
    nst_array a;
    nst_error err = {0};
    io_buf raw = {0}, file = {0};
    append_value(&raw, E_F64, 0.5);
    append_value(&raw, E_F64, -1e300);
    io_npy_build(&file, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", raw.data, raw.size);
    nst_status status = nst_npy_parse(file.data, file.size, "big.npy", &a, &err);
    io_check_error("f8 beyond float32", status, &err, NST_ERR_FORMAT, "big.npy", "element 1 at [1] is -1e+300",
                   "beyond the range of float32", (const char *)NULL);
    CHECK(a.data == NULL, "data returned");
    io_buf_free(&raw);
    io_buf_free(&file);

    const float values[4] = {1.5e7f, (float)NST_WEIGHT_MAX_ABS, -(float)NST_WEIGHT_MAX_ABS, FLT_MAX};
    io_npy_build(&file, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", values, sizeof values);
    status = nst_npy_parse(file.data, file.size, "large.npy", &a, &err);
    CHECK(status == NST_OK && a.count == 4 && a.data[3] == FLT_MAX, "large finite values: %s", err.message);
    nst_array_clear(&a);
    io_buf_free(&file);

    /* Exactly +-NST_WEIGHT_MAX_ABS is a weight; the next float above is not. */
    const float edge[2] = {(float)NST_WEIGHT_MAX_ABS, -(float)NST_WEIGHT_MAX_ABS};
    const float over[2] = {0.0f, nextafterf((float)NST_WEIGHT_MAX_ABS, INFINITY)};
    io_npy_build(&file, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", edge, sizeof edge);
    io_write_file("limit/edge.npy", file.data, file.size);
    io_buf_free(&file);
    io_npy_build(&file, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", over, sizeof over);
    io_write_file("limit/over.npy", file.data, file.size);
    io_buf_free(&file);
    char folder[4096];
    snprintf(folder, sizeof folder, "%s/limit", io_scratch_dir());
    nst_weight_source *src = nst_weight_source_open(folder, &err);
    CHECK(src != NULL, "%s", err.message);
    if (src) {
        float *data = NULL;
        status = nst_weight_source_get(src, "edge", 1, (const int64_t[]){2}, &data, &err);
        CHECK(status == NST_OK && data && data[0] == 1e6f && data[1] == -1e6f, "the limit itself: %s", err.message);
        free(data);
        data = NULL;
        status = nst_weight_source_get(src, "over", 1, (const int64_t[]){2}, &data, &err);
        io_check_error("just over the limit", status, &err, NST_ERR_FORMAT, "over.npy", "tensor over",
                       "element 1 at [1] is 1000000.06", "the limit is 1e+06", (const char *)NULL);
        free(data);
    }
    nst_weight_source_free(src);
}

/* ---- fault injection on the real SqueezeNet ---- */

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    int ok = in && out;
    char buf[65536];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
        ok = fwrite(buf, 1, n, out) == n;
    ok = ok && !ferror(in);
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        ok = 0;
    return ok;
}

/* Copies the shared squeezenet1.1/weights/ into the scratch folder `name`. */
static const char *copy_squeezenet(const char *name)
{
    static char folder[4096];
    char weights[4200];
    snprintf(folder, sizeof folder, "%s/%s", io_scratch_dir(), name);
    snprintf(weights, sizeof weights, "%s/weights", folder);
    mkdir(folder, 0755);
    mkdir(weights, 0755);
    const char *source = test_model_file("squeezenet1.1/weights");
    char source_dir[4096];
    snprintf(source_dir, sizeof source_dir, "%s", source);
    int copied = 0;
    for (int conv = 0; conv < 26; conv++)
        for (int bias = 0; bias < 2; bias++) {
            char file[128], from[8300], to[8300];
            snprintf(file, sizeof file, "squeezenet0_conv%d_%s.npy", conv, bias ? "bias" : "weight");
            snprintf(from, sizeof from, "%s/%s", source_dir, file);
            snprintf(to, sizeof to, "%s/%s", weights, file);
            copied += copy_file(from, to);
        }
    CHECK(copied == 52, "copied %d of SqueezeNet's 52 tensors from %s", copied, source_dir);
    return folder;
}

/* Overwrites float32 element `index` of a .npy file (header length read from the file). */
static void poison_npy(const char *path, size_t index, float value)
{
    FILE *f = fopen(path, "r+b");
    unsigned char prefix[10];
    int ok = f && fread(prefix, 1, sizeof prefix, f) == sizeof prefix && prefix[6] == 1;
    size_t offset = 10 + (prefix[8] | (size_t)prefix[9] << 8) + 4 * index;
    ok = ok && fseek(f, (long)offset, SEEK_SET) == 0 && fwrite(&value, sizeof value, 1, f) == 1;
    if (f && fclose(f) != 0)
        ok = 0;
    CHECK(ok, "cannot poison %s", path);
}

static void test_poisoned_squeezenet(void)
{
    static const struct {
        const char *tensor;
        size_t index;
        float value;
        const char *text;
    } poisons[] = {
        {"squeezenet0_conv7_bias", 5, -INFINITY, "element 5 at [5] is -inf"},
        {"squeezenet0_conv12_weight", 1000, NAN, "is NaN"},
        {"squeezenet0_conv25_weight", 3, 3e9f, "is 3e+09"},
    };
    nst_error err = {0};
    const char *clean = copy_squeezenet("squeezenet-clean");
    nst_model *model = nst_model_load(NST_MODEL_SQUEEZENET11, clean, &err);
    CHECK(model != NULL, "the unpoisoned copy must load: %s", err.message);
    nst_model_free(model);

    for (size_t k = 0; k < sizeof poisons / sizeof poisons[0]; k++) {
        char name[64], file[4300];
        snprintf(name, sizeof name, "squeezenet-poisoned-%zu", k);
        const char *folder = copy_squeezenet(name);
        snprintf(file, sizeof file, "%s/weights/%s.npy", folder, poisons[k].tensor);
        poison_npy(file, poisons[k].index, poisons[k].value);
        model = nst_model_load(NST_MODEL_SQUEEZENET11, folder, &err);
        CHECK(model == NULL, "%s poisoned: the model loaded", poisons[k].tensor);
        nst_model_free(model);
        io_check_error(poisons[k].tensor, err.code, &err, NST_ERR_FORMAT, file, poisons[k].text, (const char *)NULL);
    }
}

int main(void)
{
    test_npy_folders();
    test_safetensors_files();
    test_reader_and_limit();
    test_poisoned_squeezenet();
    io_scratch_cleanup();
    return test_finish("test_weight_values");
}
