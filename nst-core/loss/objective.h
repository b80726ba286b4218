/* The style-transfer objective, exactly the seed's:
 *   content  = sum_l wc_l * sum (a_C - a_G)^2 / (4 nH nW nC)
 *   style    = sum_l ws_l * sum (Gram_S - Gram_G)^2 / (4 nC^2 (nH nW)^2),  Gram = A A^T
 *   tv       = mean over (C,H,W-1) of squared horizontal differences
 *            + mean over (C,H-1,W) of squared vertical differences   (RGB in [0,1])
 *   total    = alpha content + beta style + tau tv
 * Several style pictures blend their Gram targets with normalised weights.
 * A style picture whose size differs from the generated one has its Gram
 * scaled by (nH nW)_generated / (nH nW)_style, i.e. compared as if it had the
 * generated picture's pixel count (a Gram grows with the pixel count).
 *
 * Pictures are planar RGB [3, H, W] in [0,1]; the objective normalises them
 * (ImageNet mean/std) before the network and chains the gradient back. */
#ifndef NST_LOSS_OBJECTIVE_H
#define NST_LOSS_OBJECTIVE_H

#include <stdatomic.h>

#include "nn/net.h"
#include "nst/nst.h"

typedef struct nst_losses {
    double content, style, tv, total;
} nst_losses;

typedef struct nst_objective nst_objective;

/* Layers, layer weights and alpha/beta/tau come from params. */
nst_objective *nst_objective_new(const nst_model *model, int height, int width, const nst_params *params,
                                 const nst_net_options *options, nst_error *err);
void nst_objective_free(nst_objective *obj);

/* Cancel flag checked between layers (may be NULL). */
void nst_objective_set_cancel(nst_objective *obj, const atomic_int *cancel);

/* Content target from a [3, H, W] picture at the objective's size. */
nst_status nst_objective_set_content(nst_objective *obj, const float *rgb_planar, nst_error *err);

/* Style targets: n pictures of any size, each [3, heights[i], widths[i]], with
 * blend weights (normalised here). */
nst_status nst_objective_set_styles(nst_objective *obj, int n, const float *const *rgb_planar,
                                    const int *heights, const int *widths, const double *blend,
                                    nst_error *err);

void nst_objective_set_weights(nst_objective *obj, double alpha, double beta, double tau);

/* Evaluates at x [3, H, W]; grad (may be NULL) receives dTotal/dx. */
nst_status nst_objective_eval(nst_objective *obj, const float *x, float *grad, nst_losses *out,
                              nst_error *err);

/* The border an objective of height x width actually pads with when asked
 * for `border` px (the memory plan counts the same). */
int nst_objective_border(int border, int height, int width);

/* Floats of Gram scratch for style layers of at most max_c channels (the
 * memory plan counts it). */
size_t nst_objective_gram_floats(int max_c);

/* ImageNet normalisation of planar RGB (exposed for the reference tests). */
void nst_normalize_imagenet(const float *rgb_planar, int height, int width, float *out);

#endif
