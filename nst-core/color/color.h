/* Colour handling around the optimisation (nst_colors). */
#ifndef NST_COLOR_COLOR_H
#define NST_COLOR_COLOR_H

#include "nst/nst.h"

/* Rec. 601 luma of each pixel, written to all three channels (in place). */
void nst_color_to_luminance(nst_image *image);

/* Scales and shifts the luminance of `image` (already grey) so its mean and
 * standard deviation equal those of `reference`'s luminance (Gatys et al.
 * 2016, "Preserving color in neural artistic style transfer"). */
void nst_color_match_luminance(nst_image *image, const nst_image *reference);

/* out = luminance of `stylised` + chroma (YIQ I and Q) of `content`, clamped
 * to [0,1]; both must have the same size.  In place on `stylised`. */
nst_status nst_color_keep_chroma(nst_image *stylised, const nst_image *content, nst_error *err);

/* Histogram mode: transforms `style` so its colour mean and covariance match
 * the content's (a linear map through the Cholesky or eigen square roots of
 * the two 3x3 covariances), clamped to [0,1].  In place on `style`. */
nst_status nst_color_match_histogram(nst_image *style, const nst_image *content, nst_error *err);

#endif
