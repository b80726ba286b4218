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
 * Regions (Gatys et al. 2017, "Controlling Perceptual Factors in Neural
 * Style Transfer", guided Gram matrices): when the style pictures come in
 * groups (nst_objective_set_styles_grouped: one group per style, each with
 * its own target T_s, blended from its pictures as above), each style s is
 * compared only in its region, given by a mask M_s in [0,1] over the picture
 * (nst_objective_set_masks; none = everywhere).  Per style layer:
 *   M     = the mask with the picture's reflected border, area-averaged to
 *           the layer's nH x nW (each sample the mean of the mask under it)
 *   G_s   = (A . M)(A . M)^T = A diag(M^2) A^T   (A . M: column p times M_p)
 *   a_s   = sum_p M_p^2, the region's area in layer samples
 *   style = sum_s b_s (a_s / nH nW) sum (G_s / a_s - T_s / (nH nW))^2 / (4 nC^2)
 *   d style / dA = sum_s b_s (G_s / a_s - T_s / (nH nW)) (A . M^2) / (nC^2 nH nW)
 * G_s / a_s is the mean of a_p a_p^T over the region weighted by M_p^2 (a
 * constant mask gives A A^T / nH nW), compared with the style's Gram per
 * position; the factor a_s / nH nW gives a region the share of the term its
 * area has, so a pixel feels its style as strongly as in an unguided run: one
 * style whose mask is 1 everywhere gives exactly the unguided term.  b_s =
 * the style's blend weight normalised to mean 1 (equal weights: 1 each).  A
 * region below EMPTY_REGION x nH nW (an all-zero mask, a tile outside it)
 * adds nothing; pixels no mask covers get no style term and keep the
 * content's look, held by the content term.  The mask is constant: the
 * gradient flows through A only.
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

/* nst_objective_set_styles with picture k in group groups[k] (0-based, fewer
 * than NST_MAX_STYLES; NULL = the blended, unguided objective): each group is
 * one style of its own region, its target blended from its pictures with
 * their weights normalised within the group; the groups' weight sums,
 * normalised to mean 1, are the b_s above. */
nst_status nst_objective_set_styles_grouped(nst_objective *obj, int n, const float *const *rgb_planar,
                                            const int *heights, const int *widths, const double *blend,
                                            const int *groups, nst_error *err);

/* The regions of groups 0 .. n-1: masks[g] is a plane of values in [0,1]
 * whose rows are plane_width floats apart, of which the objective takes the
 * window of its own height x width at (x0, y0) (a tile takes its window of
 * the picture's masks); NULL = everywhere, and so is every group >= n.
 * Resampled to every style layer here, once. */
nst_status nst_objective_set_masks(nst_objective *obj, int n, const float *const *masks, int plane_width, int x0,
                                   int y0, nst_error *err);

/* Floats the guided style term adds for n_groups regions with masks: the mask
 * planes of every style layer and the masked activation of the widest (the
 * extra targets are n_groups - 1 Grams per style layer).  shapes: {c, h, w}
 * of each style layer. */
size_t nst_objective_mask_floats(int n_groups, int n_layers, const int (*shapes)[3], int padded_height,
                                 int padded_width);

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
