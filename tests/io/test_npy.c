/* The .npy reader: the shared SqueezeNet files, hand-built valid files of
 * every accepted kind, and malformed ones that must be refused cleanly. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/weights.h"
#include "io_test_files.h"
#include "test_util.h"

#define NAME "t.npy"

static const float values6[6] = {1.5f, -2.25f, 0.0f, 3.0e-3f, 1.0e20f, -7.0f};

static nst_status parse_dict(int major, const char *dict, const void *data, size_t size, nst_array *out, nst_error *err)
{
    io_buf b = {0};
    io_npy_build(&b, major, dict, data, size);
    nst_status status = nst_npy_parse(b.data, b.size, NAME, out, err);
    io_buf_free(&b);
    return status;
}

/* A malformed header must give NST_ERR_FORMAT naming the file and `fragment`. */
static void expect_bad_dict(const char *dict, size_t data_size, const char *fragment)
{
    static const uint8_t zeros[64];
    nst_array a;
    nst_error err = {0};
    nst_status status = parse_dict(1, dict, zeros, data_size, &a, &err);
    io_check_error(dict, status, &err, NST_ERR_FORMAT, NAME, fragment, (const char *)NULL);
    CHECK(a.data == NULL, "%s: data left allocated", dict);
}

static void expect_bad_bytes(const char *what, const uint8_t *bytes, size_t size, const char *fragment)
{
    nst_array a;
    nst_error err = {0};
    nst_status status = nst_npy_parse(bytes, size, NAME, &a, &err);
    io_check_error(what, status, &err, NST_ERR_FORMAT, NAME, fragment, (const char *)NULL);
}

static double sum_of(const nst_array *a)
{
    double s = 0;
    for (size_t i = 0; i < a->count; i++)
        s += a->data[i];
    return s;
}

static int all_finite(const nst_array *a)
{
    for (size_t i = 0; i < a->count; i++)
        if (!isfinite(a->data[i]))
            return 0;
    return 1;
}

static void test_squeezenet_files(void)
{
    nst_array a;
    nst_error err = {0};
    nst_status status = nst_npy_load(test_model_file("squeezenet1.1/weights/squeezenet0_conv0_weight.npy"), &a, &err);
    CHECK(status == NST_OK, "conv0 weight: %s", err.message);
    if (status == NST_OK) {
        CHECK(a.ndim == 4 && a.shape[0] == 64 && a.shape[1] == 3 && a.shape[2] == 3 && a.shape[3] == 3,
              "conv0 weight shape");
        CHECK(a.count == 64 * 27, "count %zu", a.count);
        CHECK(all_finite(&a), "conv0 weight has non-finite values");
        /* Reference values: /usr/bin/python3 -c "import numpy as np;
         * w=np.load('squeezenet0_conv0_weight.npy'); print(float(w[0,0,0,0]), float(w[63,2,2,2]))" */
        CHECK(a.data[0] == 0.2116604447364807f, "w[0,0,0,0] = %.9g", a.data[0]);
        CHECK(a.data[a.count - 1] == -0.11754670739173889f, "w[63,2,2,2] = %.9g", a.data[a.count - 1]);
    }
    nst_array_clear(&a);
    CHECK(a.data == NULL && a.count == 0, "nst_array_clear");

    status = nst_npy_load(test_model_file("squeezenet1.1/weights/squeezenet0_conv0_bias.npy"), &a, &err);
    CHECK(status == NST_OK, "conv0 bias: %s", err.message);
    if (status == NST_OK) {
        CHECK(a.ndim == 1 && a.shape[0] == 64, "conv0 bias shape");
        /* Reference: np.load('squeezenet0_conv0_bias.npy').astype(np.float64).sum() with /usr/bin/python3's
         * numpy; the summation orders differ, so allow rounding at the 1e-12 level. */
        double sum = sum_of(&a);
        CHECK(fabs(sum - 5.814350989821833) < 1e-12, "conv0 bias sum %.17g", sum);
    }
    nst_array_clear(&a);

    status = nst_npy_load(test_model_file("squeezenet1.1/weights/squeezenet0_conv25_weight.npy"), &a, &err);
    CHECK(status == NST_OK, "conv25 weight: %s", err.message);
    if (status == NST_OK) {
        CHECK(a.ndim == 4 && a.shape[0] == 1000 && a.shape[1] == 512 && a.shape[2] == 1 && a.shape[3] == 1,
              "conv25 weight shape");
        /* Reference: the same numpy float64 sum over squeezenet0_conv25_weight.npy. */
        double sum = sum_of(&a);
        CHECK(fabs(sum - 2235.7437744062795) < 1e-8, "conv25 weight sum %.17g", sum);
    }
    nst_array_clear(&a);
}

static void test_valid_variants(void)
{
    nst_array a;
    nst_error err = {0};
    for (int major = 1; major <= 3; major++) {
        nst_status status =
            parse_dict(major, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", values6, 24, &a, &err);
        CHECK(status == NST_OK, "version %d: %s", major, err.message);
        CHECK(status != NST_OK || (a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.count == 6 &&
                                   memcmp(a.data, values6, sizeof values6) == 0),
              "version %d read back", major);
        nst_array_clear(&a);
    }

    /* Key order, double quotes, no trailing comma, Python 2's "L", '=' and '|' as native order. */
    const char *dicts[] = {
        "{\"shape\": (6,), \"fortran_order\": False, \"descr\": \"<f4\"}",
        "{'descr': '=f4', 'fortran_order': False, 'shape': (6L,)}",
        "{'descr': '|f4','fortran_order':False,'shape':(1,6,)}",
    };
    for (size_t i = 0; i < sizeof dicts / sizeof dicts[0]; i++) {
        nst_status status = parse_dict(1, dicts[i], values6, 24, &a, &err);
        CHECK(status == NST_OK && a.count == 6 && memcmp(a.data, values6, sizeof values6) == 0, "%s: %s", dicts[i],
              err.message);
        nst_array_clear(&a);
    }

    nst_status status = parse_dict(1, "{'descr': '<f4', 'fortran_order': False, 'shape': ()}", values6, 4, &a, &err);
    CHECK(status == NST_OK && a.ndim == 0 && a.count == 1 && a.data[0] == 1.5f, "scalar: %s", err.message);
    nst_array_clear(&a);
    status = parse_dict(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 0)}", NULL, 0, &a, &err);
    CHECK(status == NST_OK && a.ndim == 2 && a.count == 0, "empty array: %s", err.message);
    nst_array_clear(&a);

    /* The extremes of float32 still fit; beyond them (and NaN, +-inf) is tests/io/test_weight_values.c. */
    double d[4] = {0.1, -3.4028234663852886e38, 65504.0, 1e-50};
    status = parse_dict(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4,)}", d, sizeof d, &a, &err);
    CHECK(status == NST_OK && a.data[0] == 0.1f && a.data[1] == -FLT_MAX && a.data[2] == 65504.0f &&
              a.data[3] == 0.0f,
          "f8 conversion: %s", err.message);
    nst_array_clear(&a);

    /* f16 bit patterns and their exact values: 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal),
     * 2^-14 (smallest normal), -0, -65504 */
    const uint16_t halves[7] = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x8000, 0xfbff};
    const float expect[7] = {1.0f, -2.0f, 65504.0f, 0x1p-24f, 0x1p-14f, -0.0f, -65504.0f};
    io_buf raw = {0};
    for (int i = 0; i < 7; i++)
        io_buf_append_u16(&raw, halves[i]);
    status = parse_dict(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (7,)}", raw.data, raw.size, &a, &err);
    CHECK(status == NST_OK, "f2: %s", err.message);
    for (int i = 0; status == NST_OK && i < 7; i++)
        CHECK(a.data[i] == expect[i] && signbit(a.data[i]) == signbit(expect[i]), "f2[%d] = %g", i, a.data[i]);
    nst_array_clear(&a);
    io_buf_free(&raw);
}

static void test_bad_headers(void)
{
    static const struct {
        const char *dict;
        size_t data_size;
        const char *fragment;
    } cases[] = {
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2,)}", 8, "big-endian"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (2,)}", 8, "'<i4' is not supported"},
        {"{'descr': '|O', 'fortran_order': False, 'shape': (2,)}", 16, "'|O' is not supported"},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (2,)}", 16, "not supported"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", 8, "structured"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2,)}", 8, "Fortran"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", 8, "True or False"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", 8, "negative"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", 8, "trailing comma"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': 2}", 8, "tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}", 4, "8 dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", 4, "too large"},
        /* 2^62 x 2^62 overflows size_t; 2^40 elements fit but the file has 8 bytes: both refused without
         * allocating. */
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904)}", 8,
         "too large"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, 1048576)}", 8,
         "tensor data truncated: expected 4398046511104 bytes, found 8"},
        {"{'descr': '<f4', 'shape': (2,)}", 8, "missing"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8, "duplicate"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", 8, "unknown key"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", 8, "after the dict"},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", 8, "bad .npy header"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", 8, "expected ',' or '}'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 6,
         "tensor data truncated: expected 8 bytes, found 6"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 12, "4 unexpected bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_bad_dict(cases[i].dict, cases[i].data_size, cases[i].fragment);
}

static void test_bad_prefix(void)
{
    io_buf b = {0};
    io_npy_build(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", values6, 8);
    uint8_t copy[256];
    CHECK(b.size <= sizeof copy, "test file size");

    memcpy(copy, b.data, b.size);
    copy[1] = 'n';
    expect_bad_bytes("bad magic", copy, b.size, "magic");
    memcpy(copy, b.data, b.size);
    copy[6] = 4;
    expect_bad_bytes("version 4.0", copy, b.size, "version 4.0");
    copy[6] = 1;
    copy[7] = 1;
    expect_bad_bytes("version 1.1", copy, b.size, "version 1.1");
    expect_bad_bytes("7 bytes", b.data, 7, "magic");
    expect_bad_bytes("9 bytes", b.data, 9, "truncated");
    expect_bad_bytes("truncated header", b.data, 40, "truncated .npy header");

    /* A version 2.0 header length of 4 GiB - 1: refused before it is trusted. */
    memcpy(copy, b.data, b.size);
    const uint8_t v2_prefix[6] = {2, 0, 0xff, 0xff, 0xff, 0xff};
    memcpy(copy + 6, v2_prefix, sizeof v2_prefix);
    expect_bad_bytes("huge header length", copy, b.size, "exceeds the limit");

    memcpy(copy, b.data, b.size);
    copy[20] = '\0';
    expect_bad_bytes("NUL in header", copy, b.size, "bad .npy header");
    io_buf_free(&b);
}

static void test_load_files(void)
{
    nst_array a;
    nst_error err = {0};
    io_buf b = {0};
    io_npy_build(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", values6, 24);
    const char *path = io_write_file("good.npy", b.data, b.size);
    nst_status status = nst_npy_load(path, &a, &err);
    CHECK(status == NST_OK && a.count == 6 && memcmp(a.data, values6, 24) == 0, "good.npy: %s", err.message);
    nst_array_clear(&a);

    path = io_write_file("short.npy", b.data, b.size - 3);
    status = nst_npy_load(path, &a, &err);
    io_check_error("short.npy", status, &err, NST_ERR_FORMAT, path,
                   "tensor data truncated: expected 24 bytes, found 21", (const char *)NULL);

    status = nst_npy_load(io_scratch_dir(), &a, &err);
    io_check_error("folder", status, &err, NST_ERR_IO, io_scratch_dir(), "folder", (const char *)NULL);

    status = nst_npy_load("/nonexistent/nothing.npy", &a, &err);
    io_check_error("missing", status, &err, NST_ERR_NOT_FOUND, "/nonexistent/nothing.npy", (const char *)NULL);

    /* Opening a FIFO waits for a writer, forever: it must be refused before
     * it is opened.  The alarm turns a hang into a failure. */
    char fifo[4200];
    snprintf(fifo, sizeof fifo, "%s/fifo.npy", io_scratch_dir());
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo %s", fifo);
    alarm(10);
    status = nst_npy_load(fifo, &a, &err);
    alarm(0);
    io_check_error("FIFO", status, &err, NST_ERR_IO, fifo, "special file", (const char *)NULL);
    io_buf_free(&b);
}

int main(void)
{
    test_squeezenet_files();
    test_valid_variants();
    test_bad_headers();
    test_bad_prefix();
    test_load_files();
    io_scratch_cleanup();
    return test_finish("test_npy");
}
