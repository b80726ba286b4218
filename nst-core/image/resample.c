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

/* Float samples, `channels` interleaved per pixel, row-major: an
 * nst_image's RGB (3) or a plane such as a mask (1). */
typedef struct raster {
    float *v;
    int width, height, channels;
} raster;

enum { MAX_CHANNELS = 3 };

/* Resamples along x: each output pixel mixes pixels of the same row. */
static void resample_rows(const raster *in, raster *out, const axis_taps *taps)
{
    int ch = in->channels;
    for (int y = 0; y < in->height; y++) {
        const float *src = in->v + (size_t)y * in->width * ch;
        float *dst = out->v + (size_t)y * out->width * ch;
        for (int x = 0; x < out->width; x++) {
            float sum[MAX_CHANNELS] = {0};
            for (int k = 0; k < taps->taps_per_out; k++) {
                size_t slot = (size_t)x * taps->taps_per_out + k;
                const float *p = src + (size_t)taps->index[slot] * ch;
                float w = taps->weight[slot];
                for (int c = 0; c < ch; c++)
                    sum[c] += w * p[c];
            }
            memcpy(dst + (size_t)x * ch, sum, (size_t)ch * sizeof *sum);
        }
    }
}

/* Resamples along y: each output row is a weighted sum of whole source rows. */
static void resample_columns(const raster *in, raster *out, const axis_taps *taps)
{
    size_t row_floats = (size_t)in->width * in->channels;
    for (int y = 0; y < out->height; y++) {
        float *dst = out->v + (size_t)y * row_floats;
        memset(dst, 0, row_floats * sizeof *dst);
        for (int k = 0; k < taps->taps_per_out; k++) {
            size_t slot = (size_t)y * taps->taps_per_out + k;
            float w = taps->weight[slot];
            if (w == 0.0f)
                continue;
            const float *src = in->v + (size_t)taps->index[slot] * row_floats;
            for (size_t i = 0; i < row_floats; i++)
                dst[i] += w * src[i];
        }
    }
}

/* One axis, into `out` (allocated, its size differing from in's on one axis
 * at most; an exact copy when it does not differ).  With area_only, area
 * averaging also where the axis grows. */
static nst_status resample_axis(const raster *in, raster *out, int area_only, nst_error *err)
{
    int along_x = out->width != in->width;
    int in_size = along_x ? in->width : in->height;
    int out_size = along_x ? out->width : out->height;
    if (in_size == out_size) {
        memcpy(out->v, in->v, (size_t)in->width * in->height * in->channels * sizeof(float));
        return NST_OK;
    }
    axis_taps taps;
    nst_status s = area_only ? area_taps(&taps, in_size, out_size, err) : axis_taps_init(&taps, in_size, out_size, err);
    if (s != NST_OK)
        return s;
    if (along_x)
        resample_rows(in, out, &taps);
    else
        resample_columns(in, out, &taps);
    axis_taps_free(&taps);
    return NST_OK;
}

static void clamp_unit(float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = v[i] < 0.0f ? 0.0f : v[i] > 1.0f ? 1.0f : v[i];
}

/* in -> out (allocated at its size), through one intermediate raster. */
static nst_status resize_raster(const raster *in, raster *out, int clamp, int area_only, nst_error *err)
{
    /* Shrink first: the second pass then runs on fewer pixels. */
    int y_first = out->height < in->height;
    raster half = {NULL, y_first ? in->width : out->width, y_first ? out->height : in->height, in->channels};
    half.v = nst_alloc((size_t)half.width * half.height * half.channels * sizeof(float), "a resampled picture", err);
    if (!half.v)
        return NST_ERR_NOMEM;
    nst_status s = resample_axis(in, &half, area_only, err);
    if (s == NST_OK)
        s = resample_axis(&half, out, area_only, err);
    free(half.v);
    /* The cubic overshoots at sharp edges; keep pixels in [0,1]. */
    if (s == NST_OK && clamp && !area_only && (out->width > in->width || out->height > in->height))
        clamp_unit(out->v, (size_t)out->width * out->height * out->channels);
    return s;
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
    nst_image *out = nst_image_new(width, height, err);
    if (!out)
        return NULL;
    raster from = {image->rgb, image->width, image->height, 3}, to = {out->rgb, width, height, 3};
    if (resize_raster(&from, &to, clamp, 0, err) != NST_OK) {
        nst_image_free(out);
        return NULL;
    }
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

nst_status nst_plane_resize(const float *in, int width, int height, float *out, int out_width, int out_height,
                            int area_only, nst_error *err)
{
    if (width <= 0 || height <= 0 || out_width <= 0 || out_height <= 0)
        return nst_error_set(err, NST_ERR_INVALID, "cannot resize %d x %d to %d x %d", width, height, out_width,
                             out_height);
    raster from = {(float *)in, width, height, 1}, to = {out, out_width, out_height, 1};
    return resize_raster(&from, &to, 1, area_only, err);
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
