/* Resampling, one axis at a time.
 *
 * Each axis gets a table of taps (source index + weight) per output sample:
 * area averaging (a box with fractional coverage) when that axis shrinks, so
 * every source pixel counts exactly by the area it covers and nothing aliases;
 * Keys' cubic (a = -0.5, Catmull-Rom) with clamped edges when it grows.  An
 * axis whose size does not change is left alone, so an unchanged image is an
 * exact copy. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "image/image.h"
#include "nst/nst.h"

typedef struct axis_taps {
    int out_size;
    int taps_per_out; /* every output sample has this many taps (unused ones weigh 0) */
    int *index;       /* out_size * taps_per_out */
    float *weight;
} axis_taps;

static void axis_taps_free(axis_taps *taps)
{
    free(taps->index);
    free(taps->weight);
}

static nst_status axis_taps_alloc(axis_taps *taps, int out_size, int taps_per_out, nst_error *err)
{
    size_t n = (size_t)out_size * (size_t)taps_per_out;
    taps->out_size = out_size;
    taps->taps_per_out = taps_per_out;
    taps->index = nst_alloc_zero(n, sizeof *taps->index, "resampling taps", err);
    taps->weight = nst_alloc_zero(n, sizeof *taps->weight, "resampling weights", err);
    if (!taps->index || !taps->weight) {
        axis_taps_free(taps);
        return NST_ERR_NOMEM;
    }
    return NST_OK;
}

/* Output sample j covers source [j*scale, (j+1)*scale); each source pixel
 * weighs by its overlap with that span. */
static nst_status area_taps(axis_taps *taps, int in_size, int out_size, nst_error *err)
{
    double scale = (double)in_size / out_size;
    if (axis_taps_alloc(taps, out_size, (int)ceil(scale) + 1, err) != NST_OK)
        return NST_ERR_NOMEM;
    for (int j = 0; j < out_size; j++) {
        double lo = j * scale, hi = (j + 1) * scale;
        int first = (int)floor(lo);
        for (int k = 0; k < taps->taps_per_out; k++) {
            int i = first + k;
            double overlap = fmin(hi, i + 1.0) - fmax(lo, (double)i);
            size_t slot = (size_t)j * taps->taps_per_out + k;
            taps->index[slot] = i < in_size ? i : in_size - 1;
            taps->weight[slot] = overlap > 0 ? (float)(overlap / scale) : 0.0f;
        }
    }
    return NST_OK;
}

static double keys_cubic(double x)
{
    const double a = -0.5;
    x = fabs(x);
    if (x < 1)
        return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2)
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0;
}

static nst_status cubic_taps(axis_taps *taps, int in_size, int out_size, nst_error *err)
{
    if (axis_taps_alloc(taps, out_size, 4, err) != NST_OK)
        return NST_ERR_NOMEM;
    double scale = (double)in_size / out_size;
    for (int j = 0; j < out_size; j++) {
        double centre = (j + 0.5) * scale - 0.5; /* pixel centres line up */
        int base = (int)floor(centre);
        for (int k = 0; k < 4; k++) {
            int i = base - 1 + k;
            size_t slot = (size_t)j * 4 + k;
            taps->index[slot] = i < 0 ? 0 : i >= in_size ? in_size - 1 : i;
            taps->weight[slot] = (float)keys_cubic(centre - i);
        }
    }
    return NST_OK;
}

static nst_status axis_taps_init(axis_taps *taps, int in_size, int out_size, nst_error *err)
{
    return out_size < in_size ? area_taps(taps, in_size, out_size, err)
                              : cubic_taps(taps, in_size, out_size, err);
}

/* Resamples along x: each output pixel mixes pixels of the same row. */
static void resample_rows(const nst_image *in, nst_image *out, const axis_taps *taps)
{
    for (int y = 0; y < in->height; y++) {
        const float *src = in->rgb + (size_t)y * in->width * 3;
        float *dst = out->rgb + (size_t)y * out->width * 3;
        for (int x = 0; x < out->width; x++) {
            float sum[3] = {0, 0, 0};
            for (int k = 0; k < taps->taps_per_out; k++) {
                size_t slot = (size_t)x * taps->taps_per_out + k;
                const float *p = src + (size_t)taps->index[slot] * 3;
                float w = taps->weight[slot];
                sum[0] += w * p[0];
                sum[1] += w * p[1];
                sum[2] += w * p[2];
            }
            memcpy(dst + (size_t)x * 3, sum, sizeof sum);
        }
    }
}

/* Resamples along y: each output row is a weighted sum of whole source rows. */
static void resample_columns(const nst_image *in, nst_image *out, const axis_taps *taps)
{
    size_t row_floats = (size_t)in->width * 3;
    for (int y = 0; y < out->height; y++) {
        float *dst = out->rgb + (size_t)y * row_floats;
        memset(dst, 0, row_floats * sizeof *dst);
        for (int k = 0; k < taps->taps_per_out; k++) {
            size_t slot = (size_t)y * taps->taps_per_out + k;
            float w = taps->weight[slot];
            if (w == 0.0f)
                continue;
            const float *src = in->rgb + (size_t)taps->index[slot] * row_floats;
            for (size_t i = 0; i < row_floats; i++)
                dst[i] += w * src[i];
        }
    }
}

/* One axis: a new image, or a copy of `in` when the size on it is unchanged. */
static nst_image *resample_axis(const nst_image *in, int width, int height, nst_error *err)
{
    int along_x = width != in->width;
    int in_size = along_x ? in->width : in->height;
    int out_size = along_x ? width : height;
    if (in_size == out_size)
        return nst_image_copy(in, err);
    axis_taps taps;
    if (axis_taps_init(&taps, in_size, out_size, err) != NST_OK)
        return NULL;
    nst_image *out = nst_image_new(width, height, err);
    if (out) {
        if (along_x)
            resample_rows(in, out, &taps);
        else
            resample_columns(in, out, &taps);
    }
    axis_taps_free(&taps);
    return out;
}

static void clamp_unit(nst_image *image)
{
    size_t n = (size_t)image->width * image->height * 3;
    for (size_t i = 0; i < n; i++)
        image->rgb[i] = image->rgb[i] < 0.0f ? 0.0f : image->rgb[i] > 1.0f ? 1.0f : image->rgb[i];
}

static nst_image *resize(const nst_image *image, int width, int height, int clamp, nst_error *err)
{
    if (!image || !image->rgb) {
        nst_error_set(err, NST_ERR_INVALID, "cannot resize a NULL image");
        return NULL;
    }
    if (width <= 0 || height <= 0) {
        nst_error_set(err, NST_ERR_INVALID, "cannot resize to %d x %d", width, height);
        return NULL;
    }
    if (width == image->width && height == image->height)
        return nst_image_copy(image, err);
    /* Shrink first: the second pass then runs on fewer pixels. */
    int y_first = height < image->height;
    nst_image *half = y_first ? resample_axis(image, image->width, height, err)
                              : resample_axis(image, width, image->height, err);
    if (!half)
        return NULL;
    nst_image *out = resample_axis(half, width, height, err);
    nst_image_free(half);
    /* The cubic overshoots at sharp edges; keep pixels in [0,1]. */
    if (out && clamp && (width > image->width || height > image->height))
        clamp_unit(out);
    return out;
}

nst_image *nst_image_resize(const nst_image *image, int width, int height, nst_error *err)
{
    return resize(image, width, height, 1, err);
}

nst_image *nst_image_resize_unclamped(const nst_image *image, int width, int height, nst_error *err)
{
    return resize(image, width, height, 0, err);
}

void nst_image_fit_size(int width, int height, int longest, int *out_width, int *out_height)
{
    if (width <= 0 || height <= 0 || longest <= 0) {
        /* Nothing sensible to fit: keep the size as it is. */
        *out_width = width > 0 ? width : 1;
        *out_height = height > 0 ? height : 1;
        return;
    }
    int landscape = width >= height;
    double ratio = landscape ? (double)height / width : (double)width / height;
    int shorter = (int)floor(ratio * longest + 0.5);
    if (shorter < 1)
        shorter = 1;
    *out_width = landscape ? longest : shorter;
    *out_height = landscape ? shorter : longest;
}
