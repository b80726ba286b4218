/* nst_image: a picture in the engine's own form (RGB float in [0,1],
 * interleaved), its allocation and its planar [3, H, W] form for the net.
 * Reading and writing files is io/image_file.c; resampling resample.c;
 * transparency alpha.c. */
#include "image/image.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

nst_status nst_image_check_dimensions(const char *what, size_t width, size_t height, nst_error *err)
{
    if (width == 0 || height == 0)
        return nst_error_set(err, NST_ERR_FORMAT, "%s: image has no pixels (%zu x %zu)", what, width, height);
    size_t pixels;
    if (!nst_size_mul(width, height, &pixels) || pixels > NST_IMAGE_MAX_PIXELS)
        return nst_error_set(err, NST_ERR_NOMEM,
                             "%s: image of %zu x %zu pixels is too large (the limit is %zu pixels)", what,
                             width, height, NST_IMAGE_MAX_PIXELS);
    return NST_OK;
}

nst_image *nst_image_new(int width, int height, nst_error *err)
{
    if (width <= 0 || height <= 0) {
        nst_error_set(err, NST_ERR_INVALID, "image size %d x %d is not positive", width, height);
        return NULL;
    }
    if (nst_image_check_dimensions("new image", (size_t)width, (size_t)height, err) != NST_OK)
        return NULL;
    nst_image *image = nst_alloc(sizeof *image, "an image", err);
    if (!image)
        return NULL;
    image->width = width;
    image->height = height;
    image->rgb = nst_alloc_zero((size_t)width * (size_t)height * 3, sizeof(float), "image pixels", err);
    if (!image->rgb) {
        free(image);
        return NULL;
    }
    return image;
}

void nst_image_free(nst_image *image)
{
    if (!image)
        return;
    free(image->rgb);
    free(image);
}

static size_t image_floats(const nst_image *image)
{
    return (size_t)image->width * (size_t)image->height * 3;
}

nst_image *nst_image_copy(const nst_image *image, nst_error *err)
{
    if (!image || !image->rgb) {
        nst_error_set(err, NST_ERR_INVALID, "cannot copy a NULL image");
        return NULL;
    }
    nst_image *copy = nst_image_new(image->width, image->height, err);
    if (copy)
        memcpy(copy->rgb, image->rgb, image_floats(image) * sizeof(float));
    return copy;
}

void nst_image_to_planar(const nst_image *image, float *planar)
{
    size_t plane = (size_t)image->width * image->height;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++)
            planar[c * plane + i] = image->rgb[3 * i + c];
}

void nst_planar_to_image(const float *planar, nst_image *image)
{
    size_t plane = (size_t)image->width * image->height;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++)
            image->rgb[3 * i + c] = planar[c * plane + i];
}
