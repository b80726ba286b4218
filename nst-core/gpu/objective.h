/* The style-transfer objective on the device (loss/objective.h's terms):
 * the picture's reflected border and
 * ImageNet normalisation, the content and Gram style terms at their layers,
 * total variation, and the gradient with respect to the picture, all in
 * device memory; only the terms' sums (one float each, reduced in a fixed
 * order) come back to the host, which weights them.  With regions, the
 * guided Grams of loss/objective.h. */
#ifndef NST_GPU_OBJECTIVE_H
#define NST_GPU_OBJECTIVE_H

#include "gpu/net.h"

typedef struct nst_gpu_objective nst_gpu_objective;

/* The terms as loss/objective.h's nst_losses (gpu/ comes before loss/). */
typedef struct nst_gpu_losses {
    double content, style, tv, total;
} nst_gpu_losses;

/* As nst_objective_new: layers, their weights and alpha/beta/tau from
 * params, the border from options (clamped as loss/'s nst_objective_border). */
nst_gpu_objective *nst_gpu_objective_new(nst_gpu *gpu, const nst_model *model, int height, int width,
                                         const nst_params *params, const nst_net_options *options, nst_error *err);
void nst_gpu_objective_free(nst_gpu_objective *obj);
void nst_gpu_objective_set_weights(nst_gpu_objective *obj, double alpha, double beta, double tau);

/* Content target from a [3, H, W] picture at the objective's size. */
nst_status nst_gpu_objective_set_content(nst_gpu_objective *obj, const float *rgb_planar, nst_error *err);
/* The style targets from n pictures [3, heights[k], widths[k]] of any size,
 * as nst_objective_set_styles without groups: each layer's target is the
 * blend-weighted mean of the pictures' Grams, each scaled to the generated
 * picture's pixel count (blend NULL = equal weights). */
nst_status nst_gpu_objective_set_styles(nst_gpu_objective *obj, int n, const float *const *rgb_planar,
                                        const int *heights, const int *widths, const double *blend, nst_error *err);
/* With regions, as nst_objective_set_styles_grouped: groups[k] is picture
 * k's style (its region), groups NULL = no regions. */
nst_status nst_gpu_objective_set_styles_grouped(nst_gpu_objective *obj, int n, const float *const *rgb_planar,
                                                const int *heights, const int *widths, const double *blend,
                                                const int *groups, nst_error *err);
/* The regions of groups 0 .. n-1, as nst_objective_set_masks: masks[g] a
 * plane in [0,1] plane_width wide whose window at (x0, y0) is the
 * objective's picture; NULL = everywhere. */
nst_status nst_gpu_objective_set_masks(nst_gpu_objective *obj, int n, const float *const *masks, int plane_width,
                                       int x0, int y0, nst_error *err);
/* One picture: nst_gpu_objective_set_styles with n = 1. */
nst_status nst_gpu_objective_set_style(nst_gpu_objective *obj, const float *rgb_planar, int height, int width,
                                       nst_error *err);

/* Evaluates at x [3, H, W] (NULL: the picture already in
 * nst_gpu_objective_picture); grad (may be NULL) receives dTotal/dx, which
 * stays in nst_gpu_objective_gradient either way. */
nst_status nst_gpu_objective_eval(nst_gpu_objective *obj, const float *x, float *grad, nst_gpu_losses *out,
                                  nst_error *err);
nst_gpu_buffer *nst_gpu_objective_picture(nst_gpu_objective *obj);
nst_gpu_buffer *nst_gpu_objective_gradient(nst_gpu_objective *obj);

#endif
