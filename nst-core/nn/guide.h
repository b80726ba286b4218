/* A region's mask as a style layer sees it, for the guided Grams of
 * loss/objective.h (on the CPU) and gpu/objective.h (on the device): the
 * objective's window of the mask with the picture's reflected border, then
 * area-averaged to each style layer's grid. */
#ifndef NST_NN_GUIDE_H
#define NST_NN_GUIDE_H

#include "nst/nst.h"

/* padded [(height + 2 border) x (width + 2 border)] = the window of `plane`
 * (plane_width wide) at (x0, y0), height x width, with its reflected
 * border, as the net sees the picture. */
void nst_guide_window(const float *plane, int plane_width, int x0, int y0, int height, int width, int border,
                      float *padded);
/* out [out_height x out_width] = padded (padded_width x padded_height)
 * area-averaged to a layer's grid; *area = sum of out^2, the region's area
 * in layer samples. */
nst_status nst_guide_layer(const float *padded, int padded_width, int padded_height, float *out, int out_width,
                           int out_height, double *area, nst_error *err);

#endif
