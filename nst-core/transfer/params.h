/* Internal to the engine: the range checks nst_params_check uses, shared
 * with the steering setters so a live change obeys the same limits. */
#ifndef NST_TRANSFER_PARAMS_H
#define NST_TRANSFER_PARAMS_H

#include "nst/nst.h"

nst_status nst_params_check_weights(double content_weight, double style_weight, double tv_weight, nst_error *err);
nst_status nst_params_check_style_scale(double style_scale, nst_error *err);

#endif
