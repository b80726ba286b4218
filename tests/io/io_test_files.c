#define _XOPEN_SOURCE 700 /* nftw */
#include "io_test_files.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

void io_buf_append(io_buf *b, const void *bytes, size_t n)
{
    if (b->size + n > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 256;
        while (capacity < b->size + n)
            capacity *= 2;
        uint8_t *grown = realloc(b->data, capacity);
        if (!grown) {
            fprintf(stderr, "out of memory building a test file\n");
            exit(1);
        }
        b->data = grown;
        b->capacity = capacity;
    }
    if (n)
        memcpy(b->data + b->size, bytes, n);
    b->size += n;
}

void io_buf_append_str(io_buf *b, const char *s)
{
    io_buf_append(b, s, strlen(s));
}

static void append_le(io_buf *b, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        uint8_t byte = (uint8_t)(v >> (8 * i));
        io_buf_append(b, &byte, 1);
    }
}

void io_buf_append_u16(io_buf *b, uint16_t v)
{
    append_le(b, v, 2);
}

void io_buf_append_u32(io_buf *b, uint32_t v)
{
    append_le(b, v, 4);
}

void io_buf_append_u64(io_buf *b, uint64_t v)
{
    append_le(b, v, 8);
}

void io_buf_append_f32(io_buf *b, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    append_le(b, bits, 4);
}

void io_buf_free(io_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void io_npy_build(io_buf *b, int major, const char *dict, const void *data, size_t data_size)
{
    size_t prefix = major == 1 ? 10 : 12;
    size_t header_len = strlen(dict) + 1; /* + the final newline */
    size_t padded = (prefix + header_len + 63) / 64 * 64 - prefix;
    io_buf_append(b, "\x93NUMPY", 6);
    uint8_t version[2] = {(uint8_t)major, 0};
    io_buf_append(b, version, 2);
    if (major == 1)
        io_buf_append_u16(b, (uint16_t)padded);
    else
        io_buf_append_u32(b, (uint32_t)padded);
    io_buf_append_str(b, dict);
    for (size_t i = header_len; i < padded; i++)
        io_buf_append_str(b, " ");
    io_buf_append_str(b, "\n");
    io_buf_append(b, data, data_size);
}

void io_safetensors_build(io_buf *b, const char *json, const void *data, size_t data_size)
{
    io_buf_append_u64(b, strlen(json));
    io_buf_append_str(b, json);
    io_buf_append(b, data, data_size);
}

static char scratch[4096];

const char *io_scratch_dir(void)
{
    if (scratch[0])
        return scratch;
    const char *root = getenv("NST_TEST_BUILD_ROOT");
    snprintf(scratch, sizeof scratch, "%s/io-scratch-XXXXXX", root && *root ? root : "/tmp");
    if (!mkdtemp(scratch)) {
        perror(scratch);
        exit(1);
    }
    return scratch;
}

const char *io_write_file(const char *relative, const void *bytes, size_t size)
{
    static char path[4096];
    const char *slash = strchr(relative, '/');
    if (slash) {
        snprintf(path, sizeof path, "%s/%.*s", io_scratch_dir(), (int)(slash - relative), relative);
        mkdir(path, 0755);
    }
    snprintf(path, sizeof path, "%s/%s", io_scratch_dir(), relative);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(bytes, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    return path;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

void io_scratch_cleanup(void)
{
    if (scratch[0])
        nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    scratch[0] = '\0';
}

void io_check_error(const char *what, nst_status status, const nst_error *err, nst_status code, ...)
{
    CHECK(status == code, "%s: status %s, expected %s (%s)", what, nst_status_name(status), nst_status_name(code),
          err->message);
    CHECK(err->code == code, "%s: err.code %s", what, nst_status_name(err->code));
    va_list ap;
    va_start(ap, code);
    for (const char *fragment = va_arg(ap, const char *); fragment; fragment = va_arg(ap, const char *))
        CHECK(strstr(err->message, fragment) != NULL, "%s: message \"%s\" lacks \"%s\"", what, err->message, fragment);
    va_end(ap);
}
