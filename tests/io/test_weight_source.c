/* nst_weight_source over the shared SqueezeNet folder, a scratch folder of
 * .npy files (flat and under weights/) and a safetensors file: the shape
 * check, lookups that fail, and paths that are not models. */
#include <stdlib.h>
#include <string.h>

#include "io/weights.h"
#include "io_test_files.h"
#include "test_util.h"

static const float values4[4] = {0.5f, -1.0f, 2.0f, 8.0f};

static void check_get(nst_weight_source *src, const char *name, int ndim, const int64_t *shape, const float *expect)
{
    float *data = NULL;
    nst_error err = {0};
    nst_status status = nst_weight_source_get(src, name, ndim, shape, &data, &err);
    CHECK(status == NST_OK && data, "%s: %s", name, err.message);
    if (data && expect)
        CHECK(memcmp(data, expect, sizeof values4) == 0, "%s: values differ", name);
    free(data);
}

static void test_shared_squeezenet(void)
{
    nst_error err = {0};
    const char *folder = test_model_file("squeezenet1.1");
    nst_weight_source *src = nst_weight_source_open(folder, &err);
    CHECK(src != NULL, "%s", err.message);
    if (!src)
        return;
    CHECK(strcmp(nst_weight_source_path(src), folder) == 0, "path %s", nst_weight_source_path(src));
    check_get(src, "squeezenet0_conv0_weight", 4, (const int64_t[]){64, 3, 3, 3}, NULL);
    check_get(src, "squeezenet0_conv0_bias", 1, (const int64_t[]){64}, NULL);

    float *data = NULL;
    nst_status status =
        nst_weight_source_get(src, "squeezenet0_conv0_weight", 4, (const int64_t[]){64, 3, 5, 5}, &data, &err);
    io_check_error("wrong shape", status, &err, NST_ERR_FORMAT, "squeezenet0_conv0_weight.npy",
                   "tensor squeezenet0_conv0_weight has shape [64, 3, 3, 3], expected [64, 3, 5, 5]",
                   (const char *)NULL);
    CHECK(data == NULL, "data returned on a shape mismatch");
    status = nst_weight_source_get(src, "squeezenet0_conv0_bias", 2, (const int64_t[]){64, 1}, &data, &err);
    io_check_error("wrong rank", status, &err, NST_ERR_FORMAT, "has shape [64], expected [64, 1]", (const char *)NULL);
    status = nst_weight_source_get(src, "squeezenet0_conv99_weight", 1, (const int64_t[]){1}, &data, &err);
    io_check_error("missing tensor", status, &err, NST_ERR_NOT_FOUND, "squeezenet0_conv99_weight", folder,
                   (const char *)NULL);
    status = nst_weight_source_get(src, "../weights/squeezenet0_conv0_bias", 1, (const int64_t[]){64}, &data, &err);
    io_check_error("path in the name", status, &err, NST_ERR_INVALID, "not a plain file name", (const char *)NULL);
    nst_weight_source_free(src);
}

static void test_scratch_folder(void)
{
    io_buf npy = {0}, bad = {0};
    nst_error err = {0};
    io_npy_build(&npy, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", values4, sizeof values4);
    io_npy_build(&bad, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", values4, sizeof values4);
    io_write_file("flat.npy", npy.data, npy.size);
    io_write_file("weights/nested.npy", npy.data, npy.size);
    const char *bad_path = io_write_file("weights/ints.npy", bad.data, bad.size);

    nst_weight_source *src = nst_weight_source_open(io_scratch_dir(), &err);
    CHECK(src != NULL, "%s", err.message);
    if (src) {
        check_get(src, "flat", 2, (const int64_t[]){2, 2}, values4);
        check_get(src, "nested", 2, (const int64_t[]){2, 2}, values4);
        float *data = NULL;
        nst_status status = nst_weight_source_get(src, "ints", 2, (const int64_t[]){2, 2}, &data, &err);
        io_check_error("int tensor", status, &err, NST_ERR_FORMAT, bad_path, "'<i4'", (const char *)NULL);
    }
    nst_weight_source_free(src);
    io_buf_free(&npy);
    io_buf_free(&bad);
}

static void test_safetensors_source(void)
{
    io_buf file = {0}, data = {0};
    nst_error err = {0};
    for (int i = 0; i < 4; i++)
        io_buf_append_f32(&data, values4[i]);
    io_safetensors_build(&file,
                         "{\"features.0.weight\": {\"dtype\": \"F32\", \"shape\": [4, 1, 1, 1], "
                         "\"data_offsets\": [0, 16]}}",
                         data.data, data.size);
    const char *path = io_write_file("vgg19.safetensors", file.data, file.size);
    nst_weight_source *src = nst_weight_source_open(path, &err);
    CHECK(src != NULL, "%s", err.message);
    if (src) {
        check_get(src, "features.0.weight", 4, (const int64_t[]){4, 1, 1, 1}, values4);
        float *out = NULL;
        nst_status status =
            nst_weight_source_get(src, "features.0.weight", 4, (const int64_t[]){64, 3, 3, 3}, &out, &err);
        io_check_error("wrong shape", status, &err, NST_ERR_FORMAT, path,
                       "tensor features.0.weight has shape [4, 1, 1, 1], expected [64, 3, 3, 3]", (const char *)NULL);
        status = nst_weight_source_get(src, "features.2.weight", 1, (const int64_t[]){4}, &out, &err);
        io_check_error("missing", status, &err, NST_ERR_NOT_FOUND, path, "features.2.weight", (const char *)NULL);
    }
    nst_weight_source_free(src);

    path = io_write_file("broken.safetensors", file.data, file.size - 4);
    src = nst_weight_source_open(path, &err);
    CHECK(src == NULL, "a truncated file opened");
    io_check_error("truncated", err.code, &err, NST_ERR_FORMAT, path, "features.0.weight", (const char *)NULL);
    nst_weight_source_free(src);

    src = nst_weight_source_open("/nonexistent/model", &err);
    CHECK(src == NULL, "a missing path opened");
    io_check_error("missing path", err.code, &err, NST_ERR_NOT_FOUND, "/nonexistent/model", (const char *)NULL);
    src = nst_weight_source_open("/dev/null", &err);
    CHECK(src == NULL, "/dev/null opened");
    io_check_error("device", err.code, &err, NST_ERR_IO, "/dev/null", (const char *)NULL);
    io_buf_free(&file);
    io_buf_free(&data);
}

int main(void)
{
    test_shared_squeezenet();
    test_scratch_folder();
    test_safetensors_source();
    io_scratch_cleanup();
    return test_finish("test_weight_source");
}
