/* Masks as the style layers see them (nn/guide.h). */
#include "nn/guide.h"

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
