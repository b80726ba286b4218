#include "io/weight_data.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "base/error.h"

size_t nst_dtype_size(nst_dtype dtype)
{
    switch (dtype) {
    case NST_DTYPE_F16:
    case NST_DTYPE_BF16: return 2;
    case NST_DTYPE_F32: return 4;
    case NST_DTYPE_F64: return 8;
    }
    return 0;
}

void nst_array_clear(nst_array *array)
{
    if (!array)
        return;
    free(array->data);
    memset(array, 0, sizeof *array);
}

static nst_status not_regular(const char *path, mode_t mode, nst_error *err)
{
    return nst_error_set(err, NST_ERR_IO, "%s: is %s, not a regular file", path,
                         S_ISDIR(mode) ? "a folder" : "a special file");
}

nst_status nst_file_open_regular(const char *path, FILE **out, size_t *size, nst_error *err)
{
    *out = NULL;
    *size = 0;
    /* Looked at before it is opened: opening a FIFO waits for a writer
     * (forever), and opening a device can have effects of its own. */
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        return nst_error_set(err, e == ENOENT ? NST_ERR_NOT_FOUND : NST_ERR_IO, "%s: cannot open: %s", path,
                             strerror(e));
    }
    if (!S_ISREG(st.st_mode))
        return not_regular(path, st.st_mode, err);
    /* O_NONBLOCK in case the name was swapped for a FIFO in between; the
     * descriptor is checked again below. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return nst_error_set(err, e == ENOENT ? NST_ERR_NOT_FOUND : NST_ERR_IO, "%s: cannot open: %s", path,
                             strerror(e));
    }
    int flags = fcntl(fd, F_GETFL);
    if (fstat(fd, &st) != 0 || flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return nst_error_set(err, NST_ERR_IO, "%s: cannot read: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return not_regular(path, st.st_mode, err);
    }
    if (st.st_size < 0 || (uintmax_t)st.st_size > SIZE_MAX) {
        close(fd);
        return nst_error_set(err, NST_ERR_IO, "%s: file too large for this system", path);
    }
    FILE *file = fdopen(fd, "rb");
    if (!file) {
        int e = errno;
        close(fd);
        return nst_error_set(err, NST_ERR_IO, "%s: cannot read: %s", path, strerror(e));
    }
    *out = file;
    *size = (size_t)st.st_size;
    return NST_OK;
}

nst_status nst_file_read_at(FILE *file, const char *path, size_t offset, uint8_t *buf, size_t size, nst_error *err)
{
    if ((uintmax_t)offset > INT64_MAX || fseeko(file, (off_t)offset, SEEK_SET) != 0)
        return nst_error_set(err, NST_ERR_IO, "%s: cannot seek to byte %zu: %s", path, offset, strerror(errno));
    size_t got = fread(buf, 1, size, file);
    if (got == size)
        return NST_OK;
    if (ferror(file))
        return nst_error_set(err, NST_ERR_IO, "%s: read error: %s", path, strerror(errno));
    return nst_error_set(err, NST_ERR_FORMAT, "%s: file truncated while reading: expected %zu bytes at %zu, found %zu",
                         path, size, offset, got);
}

nst_status nst_file_read_all(const char *path, uint8_t **bytes, size_t *size, nst_error *err)
{
    FILE *file;
    *bytes = NULL;
    nst_status status = nst_file_open_regular(path, &file, size, err);
    if (status != NST_OK)
        return status;
    uint8_t *buf = nst_alloc(*size, path, err);
    if (!buf) {
        fclose(file);
        return NST_ERR_NOMEM;
    }
    status = nst_file_read_at(file, path, 0, buf, *size, err);
    fclose(file);
    if (status != NST_OK) {
        free(buf);
        return status;
    }
    *bytes = buf;
    return NST_OK;
}

nst_status nst_shape_bytes(int ndim, const int64_t *shape, size_t itemsize, const char *file, const char *tensor,
                           size_t *count, size_t *bytes, nst_error *err)
{
    char dims[256];
    size_t n = 1;
    int ok = 1;
    for (int i = 0; i < ndim && ok; i++)
        ok = shape[i] >= 0 && (uint64_t)shape[i] <= SIZE_MAX && nst_size_mul(n, (size_t)shape[i], &n);
    /* Also keep count * sizeof(float) representable, for the converted array. */
    if (ok)
        ok = nst_size_mul(n, itemsize > sizeof(float) ? itemsize : sizeof(float), bytes);
    if (!ok) {
        nst_shape_format(ndim, shape, dims, sizeof dims);
        return nst_error_set(err, NST_ERR_FORMAT, "%s: %s%s%sshape %s is negative or too large", file,
                             tensor ? "tensor " : "", tensor ? tensor : "", tensor ? ": " : "", dims);
    }
    *count = n;
    *bytes = n * itemsize;
    return NST_OK;
}

void nst_shape_format(int ndim, const int64_t *shape, char *buf, size_t size)
{
    size_t used = 0;
    if (size == 0)
        return;
    buf[0] = '\0';
    for (int i = -1; i <= ndim && used < size; i++) {
        int n;
        if (i < 0)
            n = snprintf(buf + used, size - used, "[");
        else if (i == ndim)
            n = snprintf(buf + used, size - used, "]");
        else
            n = snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
        if (n < 0)
            return;
        used += (size_t)n;
    }
}

static uint16_t load_u16_le(const uint8_t *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static uint32_t load_u32_le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t load_u64_le(const uint8_t *p)
{
    return (uint64_t)load_u32_le(p) | (uint64_t)load_u32_le(p + 4) << 32;
}

static float f32_from_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float nst_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0x1f) /* infinity or NaN, payload kept */
        return f32_from_bits(sign | 0x7f800000u | mantissa << 13);
    if (exponent != 0) /* rebias 15 -> 127 */
        return f32_from_bits(sign | (exponent + 112) << 23 | mantissa << 13);
    /* zero or subnormal: mantissa * 2^-24, exact in float32 */
    float magnitude = (float)mantissa * (1.0f / 16777216.0f);
    return sign ? -magnitude : magnitude;
}

float nst_bf16_to_f32(uint16_t h)
{
    return f32_from_bits((uint32_t)h << 16);
}

/* "[1, 0, 2, 2]": where flat element `index` sits in a C-order shape. */
static void index_format(int ndim, const int64_t *shape, size_t index, char *buf, size_t size)
{
    int64_t position[NST_TENSOR_MAX_DIMS];
    for (int i = ndim - 1; i >= 0; i--) {
        size_t extent = shape[i] > 0 ? (size_t)shape[i] : 1;
        position[i] = (int64_t)(index % extent);
        index /= extent;
    }
    nst_shape_format(ndim, position, buf, size);
}

/* "FILE: tensor NAME: element 17 at [0, 0, 2, 2] is NaN (WHY)". */
static nst_status bad_value(const char *file, const char *tensor, int ndim, const int64_t *shape, size_t index,
                            double value, const char *why, nst_error *err)
{
    char where[256] = "", text[64];
    if (ndim > 0) {
        char position[220];
        index_format(ndim, shape, index, position, sizeof position);
        snprintf(where, sizeof where, " at %s", position);
    }
    if (isnan(value))
        snprintf(text, sizeof text, "NaN");
    else if (isinf(value))
        snprintf(text, sizeof text, "%cinf", value > 0 ? '+' : '-');
    else
        snprintf(text, sizeof text, "%.9g", value);
    return nst_error_set(err, NST_ERR_FORMAT, "%s: %s%s%selement %zu%s is %s (%s)", file ? file : "(weights)",
                         tensor ? "tensor " : "", tensor ? tensor : "", tensor ? ": " : "", index, where, text, why);
}

/* Element i of `src` exactly (every source type widens to double without rounding). */
static double load_element(nst_dtype dtype, const uint8_t *src, size_t i)
{
    switch (dtype) {
    case NST_DTYPE_F16: return nst_f16_to_f32(load_u16_le(src + 2 * i));
    case NST_DTYPE_BF16: return nst_bf16_to_f32(load_u16_le(src + 2 * i));
    case NST_DTYPE_F32: return f32_from_bits(load_u32_le(src + 4 * i));
    case NST_DTYPE_F64: {
        uint64_t bits = load_u64_le(src + 8 * i);
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    }
    return NAN;
}

nst_status nst_array_from_le(nst_dtype dtype, const uint8_t *src, int ndim, const int64_t *shape, size_t count,
                             const char *file, const char *tensor, nst_array *out, nst_error *err)
{
    memset(out, 0, sizeof *out);
    float *data = nst_alloc_zero(count, sizeof(float), "tensor data", err);
    if (!data)
        return NST_ERR_NOMEM;
    for (size_t i = 0; i < count; i++) {
        double value = load_element(dtype, src, i);
        /* NaN fails the comparison too.  Within FLT_MAX the narrowing is defined and finite. */
        if (!(fabs(value) <= FLT_MAX)) {
            free(data);
            return bad_value(file, tensor, ndim, shape, i, value,
                             isfinite(value) ? "beyond the range of float32" : "every value must be a finite number",
                             err);
        }
        data[i] = (float)value;
    }
    out->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        out->shape[i] = shape[i];
    out->count = count;
    out->data = data;
    return NST_OK;
}

nst_status nst_array_check_range(const nst_array *array, double max_abs, const char *file, const char *tensor,
                                 nst_error *err)
{
    for (size_t i = 0; i < array->count; i++)
        if (!(fabsf(array->data[i]) <= max_abs)) {
            char why[96];
            snprintf(why, sizeof why, "larger than any trained network's weight: the limit is %g", max_abs);
            return bad_value(file, tensor, array->ndim, array->shape, i, array->data[i], why, err);
        }
    return NST_OK;
}
