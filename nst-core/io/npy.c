/* numpy .npy reader.
 *
 * Layout: "\x93NUMPY", major, minor, header length (2 bytes LE in 1.0, 4 in
 * 2.0/3.0), then a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (64, 3, 3, 3), }
 * padded with spaces and a newline, then the raw C-order data.  The dict is
 * parsed by a small grammar of its own instead of being trusted: exactly the
 * three keys, a string, a bool and a tuple of non-negative integers. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "io/weight_data.h"
#include "io/weights.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
/* numpy itself refuses headers over 10000 bytes unless told otherwise. */
#define NPY_MAX_HEADER 65536

typedef struct npy_header {
    const char *p;
    const char *end;
    const char *file;
    nst_error *err;
    nst_dtype dtype;
    int ndim;
    int64_t shape[NST_TENSOR_MAX_DIMS];
} npy_header;

static nst_status header_error(npy_header *h, const char *what)
{
    return nst_error_set(h->err, NST_ERR_FORMAT, "%s: bad .npy header: %s", h->file, what);
}

static void skip_space(npy_header *h)
{
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r'))
        h->p++;
}

/* Skips spaces, then consumes `c` if it is next. */
static int accept(npy_header *h, char c)
{
    skip_space(h);
    if (h->p < h->end && *h->p == c) {
        h->p++;
        return 1;
    }
    return 0;
}

/* A quoted Python string without escapes (numpy never writes any in these
 * fields); copies at most size-1 bytes and fails when longer. */
static nst_status read_string(npy_header *h, char *buf, size_t size)
{
    skip_space(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"'))
        return header_error(h, "expected a quoted string");
    char quote = *h->p++;
    size_t len = 0;
    while (h->p < h->end && *h->p != quote) {
        if (*h->p == '\\' || *h->p == '\0' || len + 1 >= size)
            return header_error(h, "string too long or with escapes");
        buf[len++] = *h->p++;
    }
    if (h->p >= h->end)
        return header_error(h, "unterminated string");
    h->p++;
    buf[len] = '\0';
    return NST_OK;
}

static int host_is_little_endian(void)
{
    const uint16_t probe = 1;
    uint8_t first;
    memcpy(&first, &probe, 1);
    return first == 1;
}

/* '<' is little-endian; '=', '|' and no prefix mean "the reader's own order"
 * to numpy, which is little-endian on every host we run on, so they are
 * accepted there and only there. */
static nst_status parse_descr(npy_header *h, const char *descr)
{
    char msg[160];
    const char *type = descr;
    if (*type == '>') {
        snprintf(msg, sizeof msg, "big-endian dtype '%s' is not supported (save as '<f4')", descr);
        return header_error(h, msg);
    }
    if (*type == '<' || ((*type == '=' || *type == '|') && host_is_little_endian()))
        type++;
    else if (*type == '=' || *type == '|')
        return header_error(h, "native byte order on a big-endian host is not supported");
    if (strcmp(type, "f2") == 0)
        h->dtype = NST_DTYPE_F16;
    else if (strcmp(type, "f4") == 0)
        h->dtype = NST_DTYPE_F32;
    else if (strcmp(type, "f8") == 0)
        h->dtype = NST_DTYPE_F64;
    else {
        snprintf(msg, sizeof msg, "dtype '%s' is not supported (only float16/32/64: '<f2', '<f4', '<f8')", descr);
        return header_error(h, msg);
    }
    return NST_OK;
}

static nst_status parse_bool(npy_header *h, int *out)
{
    skip_space(h);
    size_t left = (size_t)(h->end - h->p);
    if (left >= 4 && memcmp(h->p, "True", 4) == 0) {
        h->p += 4;
        *out = 1;
    } else if (left >= 5 && memcmp(h->p, "False", 5) == 0) {
        h->p += 5;
        *out = 0;
    } else {
        return header_error(h, "fortran_order must be True or False");
    }
    return NST_OK;
}

static nst_status parse_dimension(npy_header *h, int64_t *out)
{
    skip_space(h);
    if (h->p < h->end && *h->p == '-')
        return header_error(h, "negative dimension in shape");
    if (h->p >= h->end || *h->p < '0' || *h->p > '9')
        return header_error(h, "shape must be a tuple of integers");
    int64_t value = 0;
    while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
        int digit = *h->p++ - '0';
        if (value > (INT64_MAX - digit) / 10)
            return header_error(h, "dimension too large");
        value = value * 10 + digit;
    }
    if (h->p < h->end && *h->p == 'L') /* written by numpy under Python 2 */
        h->p++;
    *out = value;
    return NST_OK;
}

/* "()", "(n,)", "(a, b)", "(a, b,)"; Python needs the comma in "(n,)". */
static nst_status parse_shape(npy_header *h)
{
    if (!accept(h, '('))
        return header_error(h, "shape must be a tuple");
    h->ndim = 0;
    if (accept(h, ')'))
        return NST_OK;
    for (;;) {
        if (h->ndim == NST_TENSOR_MAX_DIMS)
            return header_error(h, "more than 8 dimensions");
        nst_status status = parse_dimension(h, &h->shape[h->ndim++]);
        if (status != NST_OK)
            return status;
        if (accept(h, ')'))
            return h->ndim == 1 ? header_error(h, "a one-element shape needs a trailing comma: (n,)") : NST_OK;
        if (!accept(h, ','))
            return header_error(h, "expected ',' or ')' in shape");
        if (accept(h, ')'))
            return NST_OK;
    }
}

static nst_status parse_dict(npy_header *h)
{
    enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4, KEY_ALL = 7 };
    int seen = 0;
    if (!accept(h, '{'))
        return header_error(h, "expected '{'");
    while (!accept(h, '}')) {
        char key[32], descr[32];
        int fortran_order = 0, bit;
        nst_status status = read_string(h, key, sizeof key);
        if (status == NST_OK && !accept(h, ':'))
            status = header_error(h, "expected ':'");
        if (status != NST_OK)
            return status;
        if (strcmp(key, "descr") == 0) {
            bit = KEY_DESCR;
            skip_space(h);
            if (h->p < h->end && *h->p == '[')
                return header_error(h, "structured dtypes are not supported");
            status = read_string(h, descr, sizeof descr);
            if (status == NST_OK)
                status = parse_descr(h, descr);
        } else if (strcmp(key, "fortran_order") == 0) {
            bit = KEY_FORTRAN;
            status = parse_bool(h, &fortran_order);
            if (status == NST_OK && fortran_order)
                status = header_error(h, "Fortran-order arrays are not supported (save with C order)");
        } else if (strcmp(key, "shape") == 0) {
            bit = KEY_SHAPE;
            status = parse_shape(h);
        } else {
            return header_error(h, "unknown key (expected descr, fortran_order, shape)");
        }
        if (status != NST_OK)
            return status;
        if (seen & bit)
            return header_error(h, "duplicate key");
        seen |= bit;
        if (!accept(h, ',') && !accept(h, '}'))
            return header_error(h, "expected ',' or '}'");
        if (h->p[-1] == '}')
            break;
    }
    skip_space(h);
    if (h->p != h->end)
        return header_error(h, "unexpected text after the dict");
    if (seen != KEY_ALL)
        return header_error(h, "missing descr, fortran_order or shape");
    return NST_OK;
}

nst_status nst_npy_parse(const uint8_t *bytes, size_t size, const char *name, nst_array *out, nst_error *err)
{
    npy_header h = {.file = name ? name : "(npy)", .err = err};
    memset(out, 0, sizeof *out);
    if (size < NPY_MAGIC_LEN + 2 || memcmp(bytes, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return nst_error_set(err, NST_ERR_FORMAT, "%s: not a .npy file (bad magic)", h.file);
    int major = bytes[6], minor = bytes[7];
    if (major < 1 || major > 3 || minor != 0)
        return nst_error_set(err, NST_ERR_FORMAT, "%s: unsupported .npy version %d.%d (1.0, 2.0, 3.0 are)", h.file,
                             major, minor);
    size_t length_bytes = major == 1 ? 2 : 4;
    size_t prefix = NPY_MAGIC_LEN + 2 + length_bytes;
    if (size < prefix)
        return nst_error_set(err, NST_ERR_FORMAT, "%s: truncated .npy header", h.file);
    size_t header_len = bytes[8] | (size_t)bytes[9] << 8;
    if (length_bytes == 4)
        header_len |= (size_t)bytes[10] << 16 | (size_t)bytes[11] << 24;
    if (header_len > NPY_MAX_HEADER)
        return nst_error_set(err, NST_ERR_FORMAT, "%s: .npy header length %zu exceeds the limit of %d bytes", h.file,
                             header_len, NPY_MAX_HEADER);
    if (header_len > size - prefix)
        return nst_error_set(err, NST_ERR_FORMAT, "%s: truncated .npy header: expected %zu bytes, found %zu", h.file,
                             header_len, size - prefix);
    h.p = (const char *)bytes + prefix;
    h.end = h.p + header_len;
    nst_status status = parse_dict(&h);
    if (status != NST_OK)
        return status;

    size_t count, data_bytes;
    status = nst_shape_bytes(h.ndim, h.shape, nst_dtype_size(h.dtype), h.file, NULL, &count, &data_bytes, err);
    if (status != NST_OK)
        return status;
    size_t offset = prefix + header_len, found = size - offset;
    if (found < data_bytes)
        return nst_error_set(err, NST_ERR_FORMAT, "%s: tensor data truncated: expected %zu bytes, found %zu", h.file,
                             data_bytes, found);
    if (found > data_bytes)
        return nst_error_set(err, NST_ERR_FORMAT, "%s: %zu unexpected bytes after the tensor data (expected %zu)",
                             h.file, found - data_bytes, data_bytes);
    return nst_array_from_le(h.dtype, bytes + offset, h.ndim, h.shape, count, h.file, NULL, out, err);
}

nst_status nst_npy_load(const char *path, nst_array *out, nst_error *err)
{
    uint8_t *bytes;
    size_t size;
    memset(out, 0, sizeof *out);
    nst_status status = nst_file_read_all(path, &bytes, &size, err);
    if (status != NST_OK)
        return status;
    status = nst_npy_parse(bytes, size, path, out, err);
    free(bytes);
    return status;
}
