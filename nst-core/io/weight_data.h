/* What the .npy and safetensors readers share: reading a whole file with its
 * size checked, the element types they accept, shape arithmetic that cannot
 * overflow, and the conversion of little-endian bytes to float32. */
#ifndef NST_IO_WEIGHT_DATA_H
#define NST_IO_WEIGHT_DATA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "io/weights.h"

typedef enum nst_dtype { NST_DTYPE_F16, NST_DTYPE_BF16, NST_DTYPE_F32, NST_DTYPE_F64 } nst_dtype;

size_t nst_dtype_size(nst_dtype dtype);

/* Opens `path` for reading and returns its size; NST_ERR_IO (NOT_FOUND when
 * absent) for a folder, a special file or one that cannot be read.  A FIFO
 * or a device is refused without being opened (a FIFO would block). */
nst_status nst_file_open_regular(const char *path, FILE **out, size_t *size, nst_error *err);
/* Reads exactly `size` bytes at `offset`; a short read means the file changed
 * or lied about its size, which is reported as truncation. */
nst_status nst_file_read_at(FILE *file, const char *path, size_t offset, uint8_t *buf, size_t size, nst_error *err);
/* Reads a whole regular file into a malloc'd buffer. */
nst_status nst_file_read_all(const char *path, uint8_t **bytes, size_t *size, nst_error *err);

/* Element count and byte size (elements of `itemsize` bytes) of a shape,
 * overflow-checked, also for the float32 copy; NST_ERR_FORMAT naming `file`
 * and `tensor` (may be NULL) when the shape cannot exist in memory. */
nst_status nst_shape_bytes(int ndim, const int64_t *shape, size_t itemsize, const char *file, const char *tensor,
                           size_t *count, size_t *bytes, nst_error *err);

/* "[64, 3, 3, 3]" (truncated to fit). */
void nst_shape_format(int ndim, const int64_t *shape, char *buf, size_t size);

/* Allocates out->data and converts `count` little-endian elements of `src`
 * (count * nst_dtype_size bytes) to float32; ndim/shape are copied.  NaN,
 * +-inf and float64 values beyond float32's range are refused (NST_ERR_FORMAT
 * naming `file`, `tensor` when not NULL, the first such element's index,
 * position and value); out->data is then NULL. */
nst_status nst_array_from_le(nst_dtype dtype, const uint8_t *src, int ndim, const int64_t *shape, size_t count,
                             const char *file, const char *tensor, nst_array *out, nst_error *err);
/* NST_ERR_FORMAT, worded as above, for the first element with |x| > max_abs. */
nst_status nst_array_check_range(const nst_array *array, double max_abs, const char *file, const char *tensor,
                                 nst_error *err);

float nst_f16_to_f32(uint16_t h);
float nst_bf16_to_f32(uint16_t h);

#endif
