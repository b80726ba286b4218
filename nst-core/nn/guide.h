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

/* has_mask[g] = whether group g has a mask among masks[0 .. n-1] (NULL =
 * everywhere); *any = one has.  NST_ERR_INVALID for n outside 0 ..
 * NST_MAX_STYLES. */
nst_status nst_guide_which_masks(int n, const float *const *masks, int has_mask[NST_MAX_STYLES], int *any,
                                 nst_error *err);

/* The blend weights of n style pictures in groups (one group per region;
 * groups NULL = all in group 0; blend NULL = 1 each): group_sum[g] sums
 * group g's, *sum all of them, *n_groups = the highest group + 1.
 * NST_ERR_INVALID for a group outside 0 .. NST_MAX_STYLES - 1, or when no
 * weight is positive. */
nst_status nst_guide_group_sums(int n, const double *blend, const int *groups, double group_sum[NST_MAX_STYLES],
                                double *sum, int *n_groups, nst_error *err);

#endif
