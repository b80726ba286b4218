/* Building .npy and safetensors files byte by byte for the reader tests, and
 * a scratch folder to write them to. */
#ifndef NST_TESTS_IO_TEST_FILES_H
#define NST_TESTS_IO_TEST_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "nst/nst.h"

typedef struct io_buf {
    uint8_t *data;
    size_t size;
    size_t capacity;
} io_buf;

void io_buf_append(io_buf *b, const void *bytes, size_t n);
void io_buf_append_str(io_buf *b, const char *s);
void io_buf_append_u16(io_buf *b, uint16_t v); /* little-endian */
void io_buf_append_u32(io_buf *b, uint32_t v);
void io_buf_append_u64(io_buf *b, uint64_t v);
void io_buf_append_f32(io_buf *b, float v);
void io_buf_free(io_buf *b);

/* A .npy file: magic, version major.0, the dict padded to 64 bytes like numpy does, then `data`. */
void io_npy_build(io_buf *b, int major, const char *dict, const void *data, size_t data_size);
/* A safetensors file: header length, `json`, then `data`. */
void io_safetensors_build(io_buf *b, const char *json, const void *data, size_t data_size);

/* A fresh folder under the build tree (or /tmp), removed by io_scratch_cleanup(). */
const char *io_scratch_dir(void);
/* Writes `relative` inside the scratch folder (creating one subfolder level
 * if named) and returns its path in a static buffer. */
const char *io_write_file(const char *relative, const void *bytes, size_t size);
void io_scratch_cleanup(void);

/* CHECKs that `status` is `code`, that err->code agrees, and that the message
 * holds each of the NULL-terminated fragments. */
void io_check_error(const char *what, nst_status status, const nst_error *err, nst_status code, ...);

#endif
