/* Weight files: numpy .npy arrays (one tensor per file, the SqueezeNet
 * default) and safetensors (many named tensors, how users get VGG).
 *
 * Every header field, offset, dtype and shape is checked before it is trusted:
 * a bad file gives an NST_ERR_FORMAT error naming the file and the tensor,
 * never a crash or an allocation larger than the file itself. */
#ifndef NST_IO_WEIGHTS_H
#define NST_IO_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "nst/nst.h"

#define NST_TENSOR_MAX_DIMS 8

/* The largest |value| a weight tensor may hold (checked by the weight source
 * below; the readers themselves refuse only NaN and infinities, since they
 * also read reference data whose values are larger).  Trained convolutions
 * sit near 1: the largest of SqueezeNet 1.1's weights and biases is 1.69,
 * and weight decay keeps ImageNet networks in that range.  1e6 leaves six
 * orders of magnitude above that and still stops garbage before it reaches
 * float32 arithmetic, where it would overflow: the style term grows with the
 * fourth power of the activations (a Gram matrix, then squared) and float32
 * ends at 3.4e38, so activations much beyond 1e9 cannot be represented --
 * the first convolution alone turns a weight of 1e6 into activations of up
 * to 7e7 (27 inputs of |x| <= 2.7 after ImageNet normalisation). */
#define NST_WEIGHT_MAX_ABS 1e6

/* A float32 array read from a file (converted from f16/bf16/f64 where the file has those). */
typedef struct nst_array {
    int ndim;
    int64_t shape[NST_TENSOR_MAX_DIMS];
    size_t count; /* product of shape */
    float *data;  /* malloc'd, count floats */
} nst_array;

void nst_array_clear(nst_array *array); /* frees data, zeroes the struct */

/* ---- .npy ---- */

/* Parses an in-memory .npy file (versions 1.0, 2.0, 3.0; dtype <f4, <f8, <f2;
 * C order); NaN and infinite values are refused.  `name` is used in messages. */
nst_status nst_npy_parse(const uint8_t *bytes, size_t size, const char *name, nst_array *out, nst_error *err);
/* Reads and parses a .npy file. */
nst_status nst_npy_load(const char *path, nst_array *out, nst_error *err);

/* ---- safetensors ---- */

typedef struct nst_safetensors nst_safetensors;

/* Parses an in-memory safetensors file; the bytes are copied. */
nst_safetensors *nst_safetensors_parse(const uint8_t *bytes, size_t size, const char *name, nst_error *err);
nst_safetensors *nst_safetensors_open(const char *path, nst_error *err);
void nst_safetensors_free(nst_safetensors *st);
int nst_safetensors_count(const nst_safetensors *st);
const char *nst_safetensors_name(const nst_safetensors *st, int index);
/* Looks a tensor up by name and converts it to float32 (F32, F16, BF16, F64);
 * NaN and infinite values are refused.  NST_ERR_NOT_FOUND when absent. */
nst_status nst_safetensors_get(const nst_safetensors *st, const char *tensor, nst_array *out, nst_error *err);

/* ---- one interface over both: a folder of .npy files or a safetensors file ---- */

typedef struct nst_weight_source nst_weight_source;

/* `path` is a folder (tensor NAME is read from NAME.npy in it, or in its
 * weights/ subfolder) or a .safetensors file. */
nst_weight_source *nst_weight_source_open(const char *path, nst_error *err);
void nst_weight_source_free(nst_weight_source *src);
const char *nst_weight_source_path(const nst_weight_source *src);
/* Reads tensor `name`, checking it has exactly the expected shape (the
 * message on failure names the file and the tensor and both shapes) and that
 * every value is finite and within +-NST_WEIGHT_MAX_ABS (the message names
 * the file, the tensor and the first bad element with its value). */
nst_status nst_weight_source_get(nst_weight_source *src, const char *name, int ndim, const int64_t *shape,
                                 float **data, nst_error *err);

#endif
