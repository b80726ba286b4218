/* Transparency: a layer's hidden colours (under alpha 0) are whatever an
 * earlier edit left there; they must not steer the content or the style.
 * nst_image_fill_transparent replaces them by a push-pull fill (Gortler et
 * al. 1996, "The Lumigraph"): alpha-weighted averages are pulled up a 2x
 * pyramid, then pushed down, each pixel blending its own colour by its alpha
 * over the bilinearly enlarged colour of the coarser level. */
#include <stdlib.h>

#include "base/error.h"
#include "nst/nst.h"

/* One pyramid level: per pixel the alpha-weighted colour sum and the weight
 * sum (rgbw), which the push turns into the filled colour (rgb, w unused). */
typedef struct level {
    int width, height;
    float *rgbw;
} level;

/* Level `to` (half of `from`, rounded up) from the sums of 2x2 blocks. */
static void pull(const level *from, level *to)
{
    for (int y = 0; y < to->height; y++)
        for (int x = 0; x < to->width; x++) {
            float *out = to->rgbw + 4 * ((size_t)y * to->width + x);
            out[0] = out[1] = out[2] = out[3] = 0.0f;
            for (int dy = 0; dy < 2 && 2 * y + dy < from->height; dy++)
                for (int dx = 0; dx < 2 && 2 * x + dx < from->width; dx++) {
                    const float *in = from->rgbw + 4 * ((size_t)(2 * y + dy) * from->width + 2 * x + dx);
                    for (int c = 0; c < 4; c++)
                        out[c] += in[c];
                }
        }
}

/* The filled colour of the coarse level at the centre of fine pixel (x, y). */
static void sample_coarse(const level *coarse, int x, int y, float rgb[3])
{
    float fx = (x + 0.5f) * 0.5f - 0.5f, fy = (y + 0.5f) * 0.5f - 0.5f;
    fx = fx < 0 ? 0 : fx > coarse->width - 1 ? (float)(coarse->width - 1) : fx;
    fy = fy < 0 ? 0 : fy > coarse->height - 1 ? (float)(coarse->height - 1) : fy;
    int x0 = (int)fx, y0 = (int)fy;
    int x1 = x0 + 1 < coarse->width ? x0 + 1 : x0, y1 = y0 + 1 < coarse->height ? y0 + 1 : y0;
    float tx = fx - x0, ty = fy - y0;
    const float *p00 = coarse->rgbw + 4 * ((size_t)y0 * coarse->width + x0);
    const float *p01 = coarse->rgbw + 4 * ((size_t)y0 * coarse->width + x1);
    const float *p10 = coarse->rgbw + 4 * ((size_t)y1 * coarse->width + x0);
    const float *p11 = coarse->rgbw + 4 * ((size_t)y1 * coarse->width + x1);
    for (int c = 0; c < 3; c++)
        rgb[c] = (1 - ty) * ((1 - tx) * p00[c] + tx * p01[c]) + ty * ((1 - tx) * p10[c] + tx * p11[c]);
}

/* Blends a pixel's own colour (sum/weight) by its weight, at most 1, over `under`. */
static void blend(const float *sum, float weight, const float under[3], float *out)
{
    float a = weight < 1.0f ? weight : 1.0f;
    for (int c = 0; c < 3; c++)
        out[c] = (weight > 0.0f ? a * sum[c] / weight : 0.0f) + (1.0f - a) * under[c];
}

/* Level k's sums become its filled colours, from level k+1's (already filled). */
static void push(level *fine, const level *coarse)
{
    for (int y = 0; y < fine->height; y++)
        for (int x = 0; x < fine->width; x++) {
            float *p = fine->rgbw + 4 * ((size_t)y * fine->width + x);
            float under[3];
            sample_coarse(coarse, x, y, under);
            blend(p, p[3], under, p);
        }
}

nst_status nst_image_fill_transparent(nst_image *image, const float *alpha, nst_error *err)
{
    if (image == NULL || image->rgb == NULL || alpha == NULL || image->width <= 0 || image->height <= 0)
        return nst_error_set(err, NST_ERR_INVALID, "fill transparent: no image or no alpha");
    /* Level 0 is the image itself; levels 1.. are at most a third of its size more. */
    int count = 1;
    for (int w = image->width, h = image->height; w > 1 || h > 1; w = (w + 1) / 2, h = (h + 1) / 2)
        count++;
    level *levels = nst_alloc_zero((size_t)count, sizeof *levels, "transparency fill levels", err);
    if (levels == NULL)
        return NST_ERR_NOMEM;
    nst_status status = NST_OK;
    levels[0].width = image->width;
    levels[0].height = image->height;
    size_t pixels = (size_t)image->width * (size_t)image->height;
    levels[0].rgbw = nst_alloc_zero(pixels, 4 * sizeof(float), "transparency fill", err);
    if (levels[0].rgbw == NULL)
        status = NST_ERR_NOMEM;
    for (size_t i = 0; status == NST_OK && i < pixels; i++) {
        float a = alpha[i] < 0.0f ? 0.0f : alpha[i] > 1.0f ? 1.0f : alpha[i];
        for (int c = 0; c < 3; c++)
            levels[0].rgbw[4 * i + c] = a * image->rgb[3 * i + c];
        levels[0].rgbw[4 * i + 3] = a;
    }
    for (int k = 1; status == NST_OK && k < count; k++) {
        levels[k].width = (levels[k - 1].width + 1) / 2;
        levels[k].height = (levels[k - 1].height + 1) / 2;
        levels[k].rgbw = nst_alloc_zero((size_t)levels[k].width * levels[k].height, 4 * sizeof(float),
                                        "transparency fill", err);
        if (levels[k].rgbw == NULL)
            status = NST_ERR_NOMEM;
        else
            pull(&levels[k - 1], &levels[k]);
    }
    /* No visible pixel at all: nothing to fill from; the colours stay. */
    float *top = status == NST_OK ? levels[count - 1].rgbw : NULL;
    if (top != NULL && top[3] > 0.0f) {
        for (int c = 0; c < 3; c++)
            top[c] /= top[3]; /* the mean visible colour */
        for (int k = count - 2; k >= 0; k--)
            push(&levels[k], &levels[k + 1]);
        for (size_t i = 0; i < pixels; i++)
            for (int c = 0; c < 3; c++)
                image->rgb[3 * i + c] = levels[0].rgbw[4 * i + c];
    }
    for (int k = 0; k < count; k++)
        free(levels[k].rgbw);
    free(levels);
    return status;
}
