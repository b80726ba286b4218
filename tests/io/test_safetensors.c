/* The safetensors reader: a hand-built file with every readable dtype read
 * back exactly (from memory and from disk), and malformed files that must be
 * refused with a message naming the file and the tensor. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/weights.h"
#include "io_test_files.h"
#include "test_util.h"

#define NAME "m.safetensors"

static const float f32_values[6] = {1.5f, -2.25f, 0.0f, 3.0e-3f, 1.0e20f, -7.0f};
/* f16: 1, -2, 65504, 2^-24 (subnormal); bf16: 1, -3.5, 2^-133 (float subnormal), the largest finite
 * (NaN and infinities are refused: tests/io/test_weight_values.c) */
static const uint16_t f16_bits[4] = {0x3c00, 0xc000, 0x7bff, 0x0001};
static const float f16_values[4] = {1.0f, -2.0f, 65504.0f, 0x1p-24f};
static const uint16_t bf16_bits[4] = {0x3f80, 0xc060, 0x0001, 0x7f7f};
static const float bf16_values[4] = {1.0f, -3.5f, 0x1p-133f, 0x1.fep127f};

static const char valid_header[] =
    "{\"__metadata__\": {\"format\": \"pt\", \"note\": \"caf\\u00e9 \\ud83d\\ude00\"},"
    " \"z.scalar\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [64, 68]},"
    " \"a.f32\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]},"
    " \"b.f16\": {\"shape\": [4], \"dtype\": \"F16\", \"data_offsets\": [24, 32]},"
    " \"c.bf16\": {\"dtype\": \"BF16\", \"shape\": [2, 2], \"data_offsets\": [32, 40]},"
    " \"d.f64\": {\"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [40, 48]},"
    " \"e.i64\": {\"dtype\": \"I64\", \"shape\": [2], \"data_offsets\": [48, 64]},"
    " \"empty\": {\"dtype\": \"F32\", \"shape\": [0, 5], \"data_offsets\": [68, 68]}}   ";

static void build_valid(io_buf *file)
{
    io_buf data = {0};
    for (int i = 0; i < 6; i++)
        io_buf_append_f32(&data, f32_values[i]);
    for (int i = 0; i < 4; i++)
        io_buf_append_u16(&data, f16_bits[i]);
    for (int i = 0; i < 4; i++)
        io_buf_append_u16(&data, bf16_bits[i]);
    double d = -0.1;
    uint64_t d_bits;
    memcpy(&d_bits, &d, sizeof d_bits);
    io_buf_append_u64(&data, d_bits);
    io_buf_append_u64(&data, 7);
    io_buf_append_u64(&data, 8);
    io_buf_append_f32(&data, 42.0f);
    io_safetensors_build(file, valid_header, data.data, data.size);
    io_buf_free(&data);
}

static void check_tensor(const nst_safetensors *st, const char *name, int ndim, const int64_t *shape,
                         const float *expect, size_t count)
{
    nst_array a;
    nst_error err = {0};
    nst_status status = nst_safetensors_get(st, name, &a, &err);
    CHECK(status == NST_OK, "%s: %s", name, err.message);
    if (status != NST_OK)
        return;
    CHECK(a.ndim == ndim && a.count == count, "%s: ndim %d count %zu", name, a.ndim, a.count);
    for (int i = 0; i < ndim && i < a.ndim; i++)
        CHECK(a.shape[i] == shape[i], "%s: dim %d is %lld", name, i, (long long)a.shape[i]);
    for (size_t i = 0; i < count && i < a.count; i++)
        CHECK(a.data[i] == expect[i], "%s[%zu] = %.9g, expected %.9g", name, i, a.data[i], expect[i]);
    nst_array_clear(&a);
}

static void check_valid_contents(const nst_safetensors *st, const char *file)
{
    static const char *const sorted[] = {"a.f32", "b.f16", "c.bf16", "d.f64", "e.i64", "empty", "z.scalar"};
    CHECK(nst_safetensors_count(st) == 7, "count %d", nst_safetensors_count(st));
    for (int i = 0; i < 7; i++) {
        const char *name = nst_safetensors_name(st, i);
        CHECK(name && strcmp(name, sorted[i]) == 0, "name %d is %s", i, name ? name : "NULL");
    }
    CHECK(nst_safetensors_name(st, 7) == NULL && nst_safetensors_name(st, -1) == NULL, "names out of range");

    check_tensor(st, "a.f32", 2, (const int64_t[]){2, 3}, f32_values, 6);
    check_tensor(st, "b.f16", 1, (const int64_t[]){4}, f16_values, 4);
    check_tensor(st, "c.bf16", 2, (const int64_t[]){2, 2}, bf16_values, 4);
    check_tensor(st, "d.f64", 1, (const int64_t[]){1}, (const float[]){-0.1f}, 1);
    check_tensor(st, "z.scalar", 0, NULL, (const float[]){42.0f}, 1);
    check_tensor(st, "empty", 2, (const int64_t[]){0, 5}, NULL, 0);

    nst_array a;
    nst_error err = {0};
    nst_status status = nst_safetensors_get(st, "e.i64", &a, &err);
    io_check_error("I64 tensor", status, &err, NST_ERR_FORMAT, file, "e.i64", "I64", (const char *)NULL);
    status = nst_safetensors_get(st, "features.0.weight", &a, &err);
    io_check_error("missing tensor", status, &err, NST_ERR_NOT_FOUND, file, "features.0.weight", (const char *)NULL);
    CHECK(a.data == NULL, "missing tensor left data");
}

static void test_valid_file(void)
{
    io_buf file = {0};
    nst_error err = {0};
    build_valid(&file);

    nst_safetensors *st = nst_safetensors_parse(file.data, file.size, NAME, &err);
    CHECK(st != NULL, "parse: %s", err.message);
    if (st)
        check_valid_contents(st, NAME);
    nst_safetensors_free(st);

    const char *path = io_write_file("valid.safetensors", file.data, file.size);
    st = nst_safetensors_open(path, &err);
    CHECK(st != NULL, "open: %s", err.message);
    if (st)
        check_valid_contents(st, path);
    nst_safetensors_free(st);

    /* Only the header: no tensors at all is a valid (if useless) file. */
    io_buf empty = {0};
    io_safetensors_build(&empty, "{}", NULL, 0);
    st = nst_safetensors_parse(empty.data, empty.size, NAME, &err);
    CHECK(st != NULL && nst_safetensors_count(st) == 0, "empty header: %s", err.message);
    nst_safetensors_free(st);
    io_buf_free(&empty);
    io_buf_free(&file);
}

/* A header with these tensors over `data_size` zero bytes must be refused
 * with NST_ERR_FORMAT and a message holding the file name and `fragment`
 * (and `tensor` when not NULL). */
static void expect_bad_header(const char *json, size_t data_size, const char *tensor, const char *fragment)
{
    static const uint8_t zeros[256];
    io_buf file = {0};
    nst_error err = {0};
    io_safetensors_build(&file, json, zeros, data_size);
    nst_safetensors *st = nst_safetensors_parse(file.data, file.size, NAME, &err);
    CHECK(st == NULL, "accepted: %s", json);
    nst_safetensors_free(st);
    io_check_error(json, st ? NST_OK : err.code, &err, NST_ERR_FORMAT, NAME, fragment, tensor, (const char *)NULL);
    io_buf_free(&file);
}

#define T(offsets) "{\"t\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": " offsets "}}"

static void test_bad_tensors(void)
{
    expect_bad_header(T("[0, 16]"), 12, "t", "outside the data buffer of 12 bytes");
    expect_bad_header(T("[0, 1000]"), 16, "t", "outside");
    expect_bad_header(T("[16, 0]"), 16, "t", "outside");
    expect_bad_header(T("[0, 12]"), 16, "t", "hold 12 bytes, but F32 [2, 2] needs 16");
    expect_bad_header(T("[0]"), 16, "t", "[begin, end]");
    expect_bad_header(T("[0, 16, 32]"), 16, "t", "more than 2 entries");
    expect_bad_header(T("[-4, 16]"), 16, "t", "negative");
    expect_bad_header(T("[0, 18446744073709551616]"), 16, "t", "out of range");
    expect_bad_header("{\"t\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 0]}}", 16, "t", "negative");
    expect_bad_header("{\"t\": {\"dtype\": \"F32\", \"shape\": [2.5], \"data_offsets\": [0, 10]}}", 16, "t",
                      "expected an integer");
    expect_bad_header("{\"t\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 4]}}", 16,
                      "t", "more than 8");
    /* 2^40 elements that the file does not hold, then a shape whose size overflows: no allocation either way. */
    expect_bad_header("{\"t\": {\"dtype\": \"F32\", \"shape\": [1048576, 1048576], \"data_offsets\": [0, "
                      "4398046511104]}}",
                      16, "t", "outside");
    expect_bad_header("{\"t\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904, 4611686018427387904], "
                      "\"data_offsets\": [0, 16]}}",
                      16, "t", "too large");
    expect_bad_header("{\"t\": {\"dtype\": \"F12\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 16, "t", "F12");
    expect_bad_header("{\"t\": {\"dtype\": 4, \"shape\": [2], \"data_offsets\": [0, 8]}}", 16, "t", "string");
    expect_bad_header("{\"t\": {\"shape\": [2], \"data_offsets\": [0, 8]}}", 16, "t", "needs dtype");
    expect_bad_header("{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8], \"x\": 1}}", 16, "t",
                      "unknown field x");
    expect_bad_header("{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"shape\": [2], \"data_offsets\": [0, 8]}}", 16,
                      "t", "duplicate field shape");
    expect_bad_header("{\"t\": 5}", 16, "t", "expected '{'");
    expect_bad_header("{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                      " \"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}}",
                      16, "t", "appears twice");
    expect_bad_header("{\"first\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
                      " \"second\": {\"dtype\": \"F16\", \"shape\": [4], \"data_offsets\": [8, 16]}}",
                      16, "second", "overlap");
    /* the same file again: the message must name the other tensor too */
    expect_bad_header("{\"first\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
                      " \"second\": {\"dtype\": \"F16\", \"shape\": [4], \"data_offsets\": [8, 16]}}",
                      16, "first", "overlap");
}

static void test_bad_json(void)
{
    expect_bad_header("{\"t\": {\"dtype\": \"F32", 16, "t", "unterminated string");
    expect_bad_header("{\"t\": {\"dtype\": \"F32\", \"shape\": [2,], \"data_offsets\": [0, 8]}}", 16, "t",
                      "trailing comma");
    expect_bad_header("{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},}", 16, NULL,
                      "trailing comma");
    expect_bad_header("{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}} x", 16, NULL,
                      "unexpected text");
    expect_bad_header("[1, 2]", 16, NULL, "expected '{'");
    expect_bad_header("{\"t\": {\"dtype\": \"F3\x01\"}}", 16, "t", "control character");
    expect_bad_header("{\"t\xff\": {}}", 16, NULL, "invalid UTF-8");
    expect_bad_header("{\"__metadata__\": {\"a\": 01}}", 16, NULL, "leading zero");
    expect_bad_header("{\"__metadata__\": {\"a\": \"\\x\"}}", 16, NULL, "invalid escape");
    expect_bad_header("{\"__metadata__\": {\"a\": tru}}", 16, NULL, "unexpected character");
    expect_bad_header("{\"t\" {}}", 16, NULL, "expected ':'");
    expect_bad_header("{'t': {}}", 16, NULL, "expected a string");

    char deep[300];
    size_t n = 0;
    n += (size_t)snprintf(deep + n, sizeof deep - n, "{\"__metadata__\": ");
    for (int i = 0; i < 70; i++)
        deep[n++] = '[';
    deep[n] = '\0';
    expect_bad_header(deep, 16, NULL, "nesting too deep");

    /* Metadata of any valid JSON is skipped. */
    io_buf file = {0};
    nst_error err = {0};
    io_safetensors_build(&file,
                         "{\"__metadata__\": {\"n\": [-1.5e+3, 0, true, false, null, {\"x\": \"\\\"\\\\\\/\\b\\f\\n"
                         "\\r\\t\\u0000\"}]}}",
                         NULL, 0);
    nst_safetensors *st = nst_safetensors_parse(file.data, file.size, NAME, &err);
    CHECK(st != NULL, "metadata of any JSON: %s", err.message);
    nst_safetensors_free(st);
    io_buf_free(&file);
}

static void expect_bad_bytes(const char *what, const uint8_t *bytes, size_t size, const char *fragment)
{
    nst_error err = {0};
    nst_safetensors *st = nst_safetensors_parse(bytes, size, NAME, &err);
    CHECK(st == NULL, "%s accepted", what);
    nst_safetensors_free(st);
    io_check_error(what, st ? NST_OK : err.code, &err, NST_ERR_FORMAT, NAME, fragment, (const char *)NULL);
}

static void test_bad_prefix_and_files(void)
{
    io_buf file = {0};
    build_valid(&file);
    expect_bad_bytes("5 bytes", file.data, 5, "too short");
    expect_bad_bytes("truncated header", file.data, 100, "header truncated");
    expect_bad_bytes("truncated data", file.data, file.size - 1, "outside the data buffer");

    uint8_t lying[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    expect_bad_bytes("header length 2^63", lying, sizeof lying, "exceeds the limit");
    const uint8_t just_over[16] = {9, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    expect_bad_bytes("header length past the end", just_over, 16, "header truncated");
    const uint8_t zero_header[8] = {0};
    expect_bad_bytes("empty header", zero_header, 8, "cannot hold");

    nst_error err = {0};
    const char *path = io_write_file("short.safetensors", file.data, 100);
    nst_safetensors *st = nst_safetensors_open(path, &err);
    CHECK(st == NULL, "short file accepted");
    io_check_error("short file", err.code, &err, NST_ERR_FORMAT, path, "header truncated", (const char *)NULL);
    nst_safetensors_free(st);

    st = nst_safetensors_open(io_scratch_dir(), &err);
    CHECK(st == NULL, "folder accepted");
    io_check_error("folder", err.code, &err, NST_ERR_IO, io_scratch_dir(), "folder", (const char *)NULL);
    st = nst_safetensors_open("/nonexistent/vgg19.safetensors", &err);
    CHECK(st == NULL, "missing file accepted");
    io_check_error("missing file", err.code, &err, NST_ERR_NOT_FOUND, "/nonexistent/vgg19.safetensors",
                   (const char *)NULL);

    /* A file cut short after it was opened: the lazy read notices. */
    path = io_write_file("shrinks.safetensors", file.data, file.size);
    st = nst_safetensors_open(path, &err);
    CHECK(st != NULL, "shrinks.safetensors: %s", err.message);
    io_write_file("shrinks.safetensors", file.data, file.size - 40);
    nst_array a;
    nst_status status = nst_safetensors_get(st, "z.scalar", &a, &err);
    io_check_error("file shrunk", status, &err, NST_ERR_FORMAT, path, "truncated", (const char *)NULL);
    nst_safetensors_free(st);
    io_buf_free(&file);
}

int main(void)
{
    test_valid_file();
    test_bad_tensors();
    test_bad_json();
    test_bad_prefix_and_files();
    io_scratch_cleanup();
    return test_finish("test_safetensors");
}
