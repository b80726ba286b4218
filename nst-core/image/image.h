/* Internal to the engine: what it does with an nst_image (nst/nst.h)
 * besides reading and writing files. */
#ifndef NST_IMAGE_IMAGE_H
#define NST_IMAGE_IMAGE_H

#include <stddef.h>

#include "nst/nst.h"

/* 2^28 px (16384 x 16384) = 3 GiB of float RGB: far beyond what the
 * optimisation can handle, yet small enough that every size product below
 * stays far from overflow. */
#define NST_IMAGE_MAX_PIXELS ((size_t)1 << 28)

/* NST_ERR_FORMAT for an empty picture, NST_ERR_NOMEM above NST_IMAGE_MAX_PIXELS;
 * `what` names the picture in the message. */
nst_status nst_image_check_dimensions(const char *what, size_t width, size_t height, nst_error *err);

/* Interleaved HWC image <-> planar CHW (the net's layout). */
void nst_image_to_planar(const nst_image *image, float *planar);
void nst_planar_to_image(const float *planar, nst_image *image);

/* nst_image_resize for images that hold signed values (differences,
 * gradients) rather than colours: nothing is clamped to [0,1]. */
nst_image *nst_image_resize_unclamped(const nst_image *image, int width, int height, nst_error *err);

/* One plane of width x height floats (a mask) into out (out_width x
 * out_height): as nst_image_resize (area averaging where an axis shrinks,
 * cubic clamped to [0,1] where it grows) or, with area_only, area averaging
 * on both axes (each output sample the mean of the source it covers). */
nst_status nst_plane_resize(const float *in, int width, int height, float *out, int out_width, int out_height,
                            int area_only, nst_error *err);

#endif
