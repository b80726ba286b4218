/* Masks as the style layers see them (nn/guide.h). */
#include "nn/guide.h"

#include <string.h>

#include "base/error.h"
#include "image/image.h"
#include "nn/layers.h"

void nst_guide_window(const float *plane, int plane_width, int x0, int y0, int height, int width, int border,
                      float *padded)
{
    int pw = width + 2 * border;
    for (int y = 0; y < height + 2 * border; y++) {
        const float *row = plane + (size_t)(y0 + nst_padded_source(y - border, height, NST_PAD_REFLECT)) * plane_width;
        float *out = padded + (size_t)y * pw;
        for (int x = 0; x < pw; x++)
            out[x] = row[x0 + nst_padded_source(x - border, width, NST_PAD_REFLECT)];
    }
}

nst_status nst_guide_layer(const float *padded, int padded_width, int padded_height, float *out, int out_width,
                           int out_height, double *area, nst_error *err)
{
    nst_status s = nst_plane_resize(padded, padded_width, padded_height, out, out_width, out_height, 1, err);
    double sum = 0;
    for (size_t p = 0; s == NST_OK && p < (size_t)out_width * out_height; p++)
        sum += (double)out[p] * out[p];
    *area = sum;
    return s;
}

nst_status nst_guide_group_sums(int n, const double *blend, const int *groups, double group_sum[NST_MAX_STYLES],
                                double *sum, int *n_groups, nst_error *err)
{
    memset(group_sum, 0, NST_MAX_STYLES * sizeof *group_sum);
    *sum = 0;
    *n_groups = 0;
    for (int k = 0; k < n; k++) {
        int g = groups ? groups[k] : 0;
        if (g < 0 || g >= NST_MAX_STYLES)
            return nst_error_set(err, NST_ERR_INVALID, "style group %d is not from 0 to %d", g, NST_MAX_STYLES - 1);
        *sum += blend ? blend[k] : 1.0;
        group_sum[g] += blend ? blend[k] : 1.0;
        *n_groups = g + 1 > *n_groups ? g + 1 : *n_groups;
    }
    if (n < 1 || !(*sum > 0))
        return nst_error_set(err, NST_ERR_INVALID, "at least one style picture with a positive blend weight is needed");
    return NST_OK;
}

nst_status nst_guide_which_masks(int n, const float *const *masks, int has_mask[NST_MAX_STYLES], int *any,
                                 nst_error *err)
{
    *any = 0;
    if (n < 0 || n > NST_MAX_STYLES)
        return nst_error_set(err, NST_ERR_INVALID, "%d masks: at most %d", n, NST_MAX_STYLES);
    for (int g = 0; g < NST_MAX_STYLES; g++) {
        has_mask[g] = g < n && masks[g];
        *any |= has_mask[g];
    }
    return NST_OK;
}
