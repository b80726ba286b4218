/* safetensors reader.
 *
 * Layout: an 8-byte little-endian header length N, N bytes of JSON
 *   {"__metadata__": {...}, "NAME": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
 * then the data buffer; offsets are relative to its start.
 *
 * Decisions:
 * - Every dtype of the format is recognised so that the offsets of every
 *   tensor can be checked, but only F32, F16, BF16 and F64 can be read:
 *   a file with an integer tensor opens, and reading that tensor fails
 *   naming it.  A dtype the format does not define is an error at once.
 * - Tensors may not overlap; gaps between them are accepted (the reference
 *   implementation insists on a gap-free buffer, but a gap harms no one).
 * - Duplicate tensor names and unknown fields in a tensor entry are errors;
 *   "__metadata__" is skipped whatever it holds, as long as it is JSON.
 * - nst_safetensors_open() reads only the header; each tensor is read from
 *   the file when asked for, so a 550 MB VGG file with a classifier we never
 *   use is not held in memory. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "io/json.h"
#include "io/weight_data.h"
#include "io/weights.h"

/* The reference implementation's own limit. */
#define ST_MAX_HEADER (100u * 1024 * 1024)

typedef struct st_dtype_info {
    const char *name;
    size_t itemsize;
    int readable; /* converted to float32 by nst_safetensors_get */
    nst_dtype dtype;
} st_dtype_info;

static const st_dtype_info st_dtypes[] = {
    {"F32", 4, 1, NST_DTYPE_F32},
    {"F16", 2, 1, NST_DTYPE_F16},
    {"BF16", 2, 1, NST_DTYPE_BF16},
    {"F64", 8, 1, NST_DTYPE_F64},
    {"BOOL", 1, 0, 0},
    {"U8", 1, 0, 0},
    {"I8", 1, 0, 0},
    {"F8_E5M2", 1, 0, 0},
    {"F8_E4M3", 1, 0, 0},
    {"F8_E8M0", 1, 0, 0},
    {"I16", 2, 0, 0},
    {"U16", 2, 0, 0},
    {"I32", 4, 0, 0},
    {"U32", 4, 0, 0},
    {"I64", 8, 0, 0},
    {"U64", 8, 0, 0},
    {"C64", 8, 0, 0},
};

typedef struct st_tensor {
    char *name;
    const st_dtype_info *dtype;
    int ndim;
    int64_t shape[NST_TENSOR_MAX_DIMS];
    size_t count;
    size_t begin, end; /* in the data buffer */
} st_tensor;

struct nst_safetensors {
    char *name;         /* the file, for messages */
    char *path;         /* read tensors from here when `bytes` is NULL */
    uint8_t *bytes;     /* the whole file when parsed from memory */
    size_t data_offset; /* where the data buffer starts in the file */
    size_t data_size;
    st_tensor *tensors; /* sorted by name */
    int count;
    int capacity;
};

void nst_safetensors_free(nst_safetensors *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->count; i++)
        free(st->tensors[i].name);
    free(st->tensors);
    free(st->name);
    free(st->path);
    free(st->bytes);
    free(st);
}

/* ---- the JSON header ---- */

typedef struct header_parser {
    nst_safetensors *st;
    nst_json json;
    nst_error *err;
    const char *tensor; /* the entry being read, for messages */
} header_parser;

static nst_status json_failure(header_parser *hp)
{
    if (hp->tensor)
        return nst_error_set(hp->err, NST_ERR_FORMAT, "%s: malformed safetensors header in tensor %s: %s", hp->st->name,
                             hp->tensor, nst_json_error(&hp->json));
    return nst_error_set(hp->err, NST_ERR_FORMAT, "%s: malformed safetensors header: %s", hp->st->name,
                         nst_json_error(&hp->json));
}

static nst_status tensor_error(header_parser *hp, const char *what, const char *detail)
{
    return nst_error_set(hp->err, NST_ERR_FORMAT, "%s: tensor %s: %s%s", hp->st->name, hp->tensor, what,
                         detail ? detail : "");
}

/* [int, ...] of non-negative integers, at most `max` of them. */
static nst_status read_int_list(header_parser *hp, const char *field, int max, int64_t *values, int *n)
{
    char detail[64];
    *n = 0;
    if (!nst_json_array_begin(&hp->json))
        return json_failure(hp);
    while (nst_json_array_next(&hp->json)) {
        if (*n == max) {
            snprintf(detail, sizeof detail, " has more than %d entries", max);
            return tensor_error(hp, field, detail);
        }
        if (!nst_json_read_int(&hp->json, &values[*n]))
            return json_failure(hp);
        if (values[(*n)++] < 0)
            return tensor_error(hp, field, " has a negative entry");
    }
    return nst_json_failed(&hp->json) ? json_failure(hp) : NST_OK;
}

static nst_status read_dtype(header_parser *hp, st_tensor *t)
{
    char *name;
    if (!nst_json_read_string(&hp->json, &name))
        return json_failure(hp);
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (strcmp(name, st_dtypes[i].name) == 0)
            t->dtype = &st_dtypes[i];
    nst_status status = NST_OK;
    if (!t->dtype)
        status = nst_error_set(hp->err, NST_ERR_FORMAT, "%s: tensor %s has unknown dtype \"%.40s\"", hp->st->name,
                               hp->tensor, name);
    free(name);
    return status;
}

static nst_status read_tensor_fields(header_parser *hp, st_tensor *t)
{
    enum { HAS_DTYPE = 1, HAS_SHAPE = 2, HAS_OFFSETS = 4, HAS_ALL = 7 };
    int seen = 0;
    char *field;
    if (!nst_json_object_begin(&hp->json))
        return json_failure(hp);
    while (nst_json_object_next(&hp->json, &field)) {
        int64_t offsets[2];
        int n = 0, bit;
        nst_status status;
        if (strcmp(field, "dtype") == 0) {
            bit = HAS_DTYPE;
            status = seen & bit ? NST_OK : read_dtype(hp, t);
        } else if (strcmp(field, "shape") == 0) {
            bit = HAS_SHAPE;
            status = read_int_list(hp, "shape", NST_TENSOR_MAX_DIMS, t->shape, &t->ndim);
        } else if (strcmp(field, "data_offsets") == 0) {
            bit = HAS_OFFSETS;
            status = read_int_list(hp, "data_offsets", 2, offsets, &n);
            if (status == NST_OK && n != 2)
                status = tensor_error(hp, "data_offsets must be [begin, end]", NULL);
            if (status == NST_OK) {
                t->begin = (size_t)offsets[0];
                t->end = (size_t)offsets[1];
            }
        } else {
            status = tensor_error(hp, "unknown field ", field);
            bit = 0;
        }
        if (status == NST_OK && (seen & bit))
            status = tensor_error(hp, "duplicate field ", field);
        free(field);
        if (status != NST_OK)
            return status;
        seen |= bit;
    }
    if (nst_json_failed(&hp->json))
        return json_failure(hp);
    if (seen != HAS_ALL)
        return tensor_error(hp, "needs dtype, shape and data_offsets", NULL);
    return NST_OK;
}

/* Offsets within the data buffer and agreeing with dtype x shape. */
static nst_status check_extent(header_parser *hp, st_tensor *t)
{
    size_t bytes;
    nst_status status =
        nst_shape_bytes(t->ndim, t->shape, t->dtype->itemsize, hp->st->name, hp->tensor, &t->count, &bytes, hp->err);
    if (status != NST_OK)
        return status;
    if (t->begin > t->end || t->end > hp->st->data_size)
        return nst_error_set(hp->err, NST_ERR_FORMAT,
                             "%s: tensor %s: data_offsets [%zu, %zu] lie outside the data buffer of %zu bytes",
                             hp->st->name, hp->tensor, t->begin, t->end, hp->st->data_size);
    if (t->end - t->begin != bytes) {
        char dims[256];
        nst_shape_format(t->ndim, t->shape, dims, sizeof dims);
        return nst_error_set(hp->err, NST_ERR_FORMAT,
                             "%s: tensor %s: data_offsets [%zu, %zu] hold %zu bytes, but %s %s needs %zu", hp->st->name,
                             hp->tensor, t->begin, t->end, t->end - t->begin, t->dtype->name, dims, bytes);
    }
    return NST_OK;
}

static st_tensor *add_tensor(header_parser *hp, char *name)
{
    nst_safetensors *st = hp->st;
    if (st->count == st->capacity) {
        int capacity = st->capacity ? 2 * st->capacity : 16;
        st_tensor *grown = realloc(st->tensors, (size_t)capacity * sizeof *grown);
        if (!grown) {
            nst_error_set(hp->err, NST_ERR_NOMEM, "%s: out of memory reading the tensor list", st->name);
            return NULL;
        }
        st->tensors = grown;
        st->capacity = capacity;
    }
    st_tensor *t = &st->tensors[st->count++];
    memset(t, 0, sizeof *t);
    t->name = name;
    return t;
}

static nst_status parse_entries(header_parser *hp)
{
    char *key;
    if (!nst_json_object_begin(&hp->json))
        return json_failure(hp);
    while (nst_json_object_next(&hp->json, &key)) {
        if (strcmp(key, "__metadata__") == 0) {
            free(key);
            if (!nst_json_skip(&hp->json))
                return json_failure(hp);
            continue;
        }
        st_tensor *t = add_tensor(hp, key);
        if (!t) {
            free(key);
            return NST_ERR_NOMEM;
        }
        hp->tensor = key;
        nst_status status = read_tensor_fields(hp, t);
        if (status == NST_OK)
            status = check_extent(hp, t);
        if (status != NST_OK)
            return status;
        hp->tensor = NULL;
    }
    if (!nst_json_finish(&hp->json))
        return json_failure(hp);
    return NST_OK;
}

static int compare_by_name(const void *a, const void *b)
{
    return strcmp(((const st_tensor *)a)->name, ((const st_tensor *)b)->name);
}

static int compare_by_offset(const void *a, const void *b)
{
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Sorts by name for lookups (neighbours reveal duplicates), then checks that
 * no two tensors share a byte. */
static nst_status check_tensor_set(nst_safetensors *st, nst_error *err)
{
    if (st->count == 0)
        return NST_OK;
    qsort(st->tensors, (size_t)st->count, sizeof *st->tensors, compare_by_name);
    for (int i = 1; i < st->count; i++)
        if (strcmp(st->tensors[i - 1].name, st->tensors[i].name) == 0)
            return nst_error_set(err, NST_ERR_FORMAT, "%s: tensor %s appears twice in the header", st->name,
                                 st->tensors[i].name);
    const st_tensor **by_offset = nst_alloc_zero((size_t)st->count, sizeof *by_offset, "the tensor list", err);
    if (!by_offset)
        return NST_ERR_NOMEM;
    for (int i = 0; i < st->count; i++)
        by_offset[i] = &st->tensors[i];
    qsort(by_offset, (size_t)st->count, sizeof *by_offset, compare_by_offset);
    nst_status status = NST_OK;
    const st_tensor *last = NULL; /* the non-empty tensor that ends furthest */
    for (int i = 0; i < st->count && status == NST_OK; i++) {
        const st_tensor *t = by_offset[i];
        if (t->begin == t->end)
            continue;
        if (last && t->begin < last->end)
            status = nst_error_set(err, NST_ERR_FORMAT, "%s: tensors %s and %s overlap in the data buffer", st->name,
                                   last->name, t->name);
        if (!last || t->end > last->end)
            last = t;
    }
    free(by_offset);
    return status;
}

static uint64_t load_u64_le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Checks the 8-byte prefix of a file of `size` bytes; returns the header length. */
static nst_status header_length(const uint8_t prefix[8], size_t size, const char *name, size_t *out, nst_error *err)
{
    uint64_t n = load_u64_le(prefix);
    if (n > ST_MAX_HEADER)
        return nst_error_set(err, NST_ERR_FORMAT, "%s: safetensors header length %llu exceeds the limit of %u bytes",
                             name, (unsigned long long)n, ST_MAX_HEADER);
    if (n > size - 8)
        return nst_error_set(err, NST_ERR_FORMAT,
                             "%s: safetensors header truncated: header length %llu, but only %zu bytes follow", name,
                             (unsigned long long)n, size - 8);
    if (n < 2)
        return nst_error_set(err, NST_ERR_FORMAT, "%s: safetensors header of %llu bytes cannot hold a JSON object",
                             name, (unsigned long long)n);
    *out = (size_t)n;
    return NST_OK;
}

/* Parses the header of a file of `size` bytes into a new object that reads
 * nothing yet (the caller sets `bytes` or `path`). */
static nst_safetensors *parse_header(const char *name, const uint8_t *header, size_t header_len, size_t size,
                                     nst_error *err)
{
    nst_safetensors *st = nst_alloc_zero(1, sizeof *st, "a safetensors file", err);
    if (!st)
        return NULL;
    st->name = nst_strdup(name, err);
    if (!st->name) {
        free(st);
        return NULL;
    }
    st->data_offset = 8 + header_len;
    st->data_size = size - st->data_offset;
    header_parser hp = {.st = st, .err = err};
    nst_json_init(&hp.json, (const char *)header, header_len);
    nst_status status = parse_entries(&hp);
    if (status == NST_OK)
        status = check_tensor_set(st, err);
    if (status != NST_OK) {
        nst_safetensors_free(st);
        return NULL;
    }
    return st;
}

nst_safetensors *nst_safetensors_parse(const uint8_t *bytes, size_t size, const char *name, nst_error *err)
{
    size_t header_len;
    if (!name)
        name = "(safetensors)";
    if (size < 8) {
        nst_error_set(err, NST_ERR_FORMAT, "%s: too short for a safetensors file (%zu bytes)", name, size);
        return NULL;
    }
    if (header_length(bytes, size, name, &header_len, err) != NST_OK)
        return NULL;
    nst_safetensors *st = parse_header(name, bytes + 8, header_len, size, err);
    if (!st)
        return NULL;
    st->bytes = nst_alloc(size, name, err);
    if (!st->bytes) {
        nst_safetensors_free(st);
        return NULL;
    }
    memcpy(st->bytes, bytes, size);
    return st;
}

nst_safetensors *nst_safetensors_open(const char *path, nst_error *err)
{
    FILE *file;
    size_t size, header_len;
    uint8_t prefix[8], *header = NULL;
    nst_safetensors *st = NULL;
    if (nst_file_open_regular(path, &file, &size, err) != NST_OK)
        return NULL;
    if (size < 8)
        nst_error_set(err, NST_ERR_FORMAT, "%s: too short for a safetensors file (%zu bytes)", path, size);
    else if (nst_file_read_at(file, path, 0, prefix, 8, err) == NST_OK &&
             header_length(prefix, size, path, &header_len, err) == NST_OK &&
             (header = nst_alloc(header_len, "the safetensors header", err)) != NULL &&
             nst_file_read_at(file, path, 8, header, header_len, err) == NST_OK)
        st = parse_header(path, header, header_len, size, err);
    fclose(file);
    free(header);
    if (st) {
        st->path = nst_strdup(path, err);
        if (!st->path) {
            nst_safetensors_free(st);
            return NULL;
        }
    }
    return st;
}

int nst_safetensors_count(const nst_safetensors *st)
{
    return st ? st->count : 0;
}

const char *nst_safetensors_name(const nst_safetensors *st, int index)
{
    return st && index >= 0 && index < st->count ? st->tensors[index].name : NULL;
}

static nst_status read_from_file(const nst_safetensors *st, const st_tensor *t, nst_array *out, nst_error *err)
{
    FILE *file;
    size_t size;
    nst_status status = nst_file_open_regular(st->path, &file, &size, err);
    if (status != NST_OK)
        return status;
    size_t bytes = t->end - t->begin;
    uint8_t *raw = nst_alloc(bytes, t->name, err);
    if (!raw)
        status = NST_ERR_NOMEM;
    else
        status = nst_file_read_at(file, st->path, st->data_offset + t->begin, raw, bytes, err);
    fclose(file);
    if (status == NST_OK)
        status = nst_array_from_le(t->dtype->dtype, raw, t->ndim, t->shape, t->count, st->name, t->name, out, err);
    free(raw);
    return status;
}

nst_status nst_safetensors_get(const nst_safetensors *st, const char *tensor, nst_array *out, nst_error *err)
{
    memset(out, 0, sizeof *out);
    if (!st || !tensor)
        return nst_error_set(err, NST_ERR_INVALID, "nst_safetensors_get: no file or no tensor name");
    st_tensor key = {.name = (char *)tensor};
    const st_tensor *t =
        st->count == 0 ? NULL : bsearch(&key, st->tensors, (size_t)st->count, sizeof *st->tensors, compare_by_name);
    if (!t)
        return nst_error_set(err, NST_ERR_NOT_FOUND, "%s: no tensor named %s", st->name, tensor);
    if (!t->dtype->readable)
        return nst_error_set(err, NST_ERR_FORMAT,
                             "%s: tensor %s has dtype %s, which cannot be read (only F32, F16, "
                             "BF16, F64)",
                             st->name, t->name, t->dtype->name);
    if (st->bytes)
        return nst_array_from_le(t->dtype->dtype, st->bytes + st->data_offset + t->begin, t->ndim, t->shape, t->count,
                                 st->name, t->name, out, err);
    return read_from_file(st, t, out, err);
}
