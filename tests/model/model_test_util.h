/* Helpers shared by the model tests: reading .npy references, comparing
 * against them, and objective parameters from layer lists. */
#ifndef NST_TESTS_MODEL_TEST_UTIL_H
#define NST_TESTS_MODEL_TEST_UTIL_H

#include <stddef.h>

#include "io/weights.h"
#include "loss/objective.h"
#include "nn/net.h"

/* Loads dir/name (a .npy), CHECKs it loaded and, when expected_count is not 0,
 * that it holds that many floats; data is NULL after a failure. */
nst_array load_reference(const char *dir, const char *name, size_t expected_count);

/* CHECKs test_max_rel_error(got, ref) <= tol, printing the error either way. */
void check_rel_error(const char *what, const float *got, const nst_array *ref, size_t count, double tol);

/* CHECKs |got - ref| <= tol |ref| for a scalar. */
void check_scalar(const char *what, double got, double ref, double tol);

/* CHECKs the activation of `layer` after the net's last forward has the
 * reference's shape [C,H,W] and values (tol as check_rel_error); `what`
 * names the case in messages. */
void check_activation(const nst_model *model, const nst_net *net, const char *layer, const nst_array *ref,
                      double tol, const char *what);

/* Defaults of `kind` with equal-weight content and style layers (comma lists)
 * and alpha/beta/tau. */
void make_params(nst_params *params, nst_model_kind kind, const char *content_layers, const char *style_layers,
                 double alpha, double beta, double tau);

/* An objective at height x width with its content and one style picture set;
 * NULL (after a failed CHECK) when any step fails. */
nst_objective *make_objective(const nst_model *model, int height, int width, const nst_params *params,
                              const nst_net_options *options, const float *content, const float *style,
                              int style_height, int style_width);

#endif
