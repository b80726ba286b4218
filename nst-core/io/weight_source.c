/* One way to ask for a named tensor, whether the model is a folder of .npy
 * files (SqueezeNet as published: NAME.npy, possibly under weights/) or a
 * safetensors file (VGG). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "io/weight_data.h"
#include "io/weights.h"

struct nst_weight_source {
    char *path;
    nst_safetensors *safetensors; /* NULL for a folder of .npy files */
};

nst_weight_source *nst_weight_source_open(const char *path, nst_error *err)
{
    struct stat st;
    if (!path || !*path) {
        nst_error_set(err, NST_ERR_INVALID, "no model path given");
        return NULL;
    }
    if (stat(path, &st) != 0) {
        int e = errno;
        nst_error_set(err, e == ENOENT ? NST_ERR_NOT_FOUND : NST_ERR_IO, "%s: %s", path, strerror(e));
        return NULL;
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
        nst_error_set(err, NST_ERR_IO, "%s: neither a folder of .npy files nor a safetensors file", path);
        return NULL;
    }
    nst_weight_source *src = nst_alloc_zero(1, sizeof *src, "a weight source", err);
    if (!src)
        return NULL;
    src->path = nst_strdup(path, err);
    if (src->path && S_ISREG(st.st_mode))
        src->safetensors = nst_safetensors_open(path, err);
    if (!src->path || (S_ISREG(st.st_mode) && !src->safetensors)) {
        nst_weight_source_free(src);
        return NULL;
    }
    return src;
}

void nst_weight_source_free(nst_weight_source *src)
{
    if (!src)
        return;
    nst_safetensors_free(src->safetensors);
    free(src->path);
    free(src);
}

const char *nst_weight_source_path(const nst_weight_source *src)
{
    return src ? src->path : NULL;
}

/* NAME.npy in the folder, else in its weights/ subfolder; `file` receives
 * the path used (or the last one tried). */
static nst_status load_npy(const nst_weight_source *src, const char *name, nst_array *out, char *file, size_t file_size,
                           nst_error *err)
{
    static const char *const subfolders[] = {"", "weights/"};
    /* The name becomes part of a path: keep it inside the folder. */
    if (!*name || strchr(name, '/') || name[0] == '.')
        return nst_error_set(err, NST_ERR_INVALID, "%s: tensor name \"%s\" is not a plain file name", src->path, name);
    nst_status status = NST_ERR_NOT_FOUND;
    for (size_t i = 0; i < 2 && status == NST_ERR_NOT_FOUND; i++) {
        int n = snprintf(file, file_size, "%s/%s%s.npy", src->path, subfolders[i], name);
        if (n < 0 || (size_t)n >= file_size)
            return nst_error_set(err, NST_ERR_INVALID, "%s: path too long", src->path);
        status = nst_npy_load(file, out, err);
    }
    if (status == NST_ERR_NOT_FOUND)
        nst_error_set(err, NST_ERR_NOT_FOUND, "%s: tensor %s not found: neither %s/%s.npy nor %s/weights/%s.npy exists",
                      src->path, name, src->path, name, src->path, name);
    return status;
}

static int same_shape(const nst_array *array, int ndim, const int64_t *shape)
{
    if (array->ndim != ndim)
        return 0;
    for (int i = 0; i < ndim; i++)
        if (array->shape[i] != shape[i])
            return 0;
    return 1;
}

nst_status nst_weight_source_get(nst_weight_source *src, const char *name, int ndim, const int64_t *shape, float **data,
                                 nst_error *err)
{
    char file[4096];
    nst_array array;
    nst_status status;
    *data = NULL;
    if (!src || !name || ndim < 0 || ndim > NST_TENSOR_MAX_DIMS || (ndim > 0 && !shape))
        return nst_error_set(err, NST_ERR_INVALID, "nst_weight_source_get: bad arguments");
    if (src->safetensors) {
        snprintf(file, sizeof file, "%s", src->path);
        status = nst_safetensors_get(src->safetensors, name, &array, err);
    } else {
        status = load_npy(src, name, &array, file, sizeof file, err);
    }
    if (status != NST_OK)
        return status;
    if (!same_shape(&array, ndim, shape)) {
        char got[256], want[256];
        nst_shape_format(array.ndim, array.shape, got, sizeof got);
        nst_shape_format(ndim, shape, want, sizeof want);
        nst_array_clear(&array);
        return nst_error_set(err, NST_ERR_FORMAT, "%s: tensor %s has shape %s, expected %s", file, name, got, want);
    }
    status = nst_array_check_range(&array, NST_WEIGHT_MAX_ABS, file, name, err);
    if (status != NST_OK) {
        nst_array_clear(&array);
        return status;
    }
    *data = array.data;
    return NST_OK;
}
