/* Adam (Kingma & Ba) with bias correction, x clamped to the box after every
 * update.  The moments are floats like x; a step with a non-finite value or
 * gradient changes neither x nor the moments. */
#include <math.h>
#include <stdlib.h>

#include "base/error.h"
#include "optim/box.h"
#include "optim/optim.h"

#define ADAM_WHO "Adam"

static const double adam_beta1 = 0.9;
static const double adam_beta2 = 0.999;
static const double adam_eps = 1e-8;

struct nst_adam {
    size_t n;
    double learning_rate;
    float lower, upper;
    float *grad;
    float *m; /* first moment */
    float *v; /* second moment */
    long steps;
    double value;
};

static int valid_learning_rate(double learning_rate)
{
    return learning_rate > 0.0 && isfinite(learning_rate);
}

nst_adam *nst_adam_new(size_t n, double learning_rate, float lower, float upper, nst_error *err)
{
    if (nst_box_validate(n, lower, upper, ADAM_WHO, err) != NST_OK)
        return NULL;
    if (!valid_learning_rate(learning_rate)) {
        nst_error_set(err, NST_ERR_INVALID, "Adam: the learning rate %g is not a positive number", learning_rate);
        return NULL;
    }
    nst_adam *opt = nst_alloc_zero(1, sizeof *opt, "the Adam state", err);
    if (!opt)
        return NULL;
    opt->n = n;
    opt->learning_rate = learning_rate;
    opt->lower = lower;
    opt->upper = upper;
    opt->value = NAN;
    opt->grad = nst_box_vector_new(n, "the Adam gradient", err);
    opt->m = opt->grad ? nst_box_vector_new(n, "the Adam first moment", err) : NULL;
    opt->v = opt->m ? nst_box_vector_new(n, "the Adam second moment", err) : NULL;
    if (!opt->v) {
        nst_adam_free(opt);
        return NULL;
    }
    return opt;
}

void nst_adam_free(nst_adam *opt)
{
    if (!opt)
        return;
    free(opt->grad);
    free(opt->m);
    free(opt->v);
    free(opt);
}

nst_status nst_adam_step(nst_adam *opt, float *x, nst_minimized_fn f, void *user_data, nst_error *err)
{
    if (!opt || !x || !f)
        return nst_error_set(err, NST_ERR_INVALID, "Adam: step called with a NULL argument");
    double value = NAN;
    nst_status status = f(x, opt->grad, &value, user_data, err);
    if (status != NST_OK)
        return status;
    status = nst_box_check_start(value, opt->grad, opt->n, ADAM_WHO, err);
    if (status != NST_OK)
        return status;
    opt->value = value;
    opt->steps++;
    double bias1 = 1.0 - pow(adam_beta1, (double)opt->steps);
    double bias2 = 1.0 - pow(adam_beta2, (double)opt->steps);
    double step = opt->learning_rate / bias1;
    double root_bias2 = sqrt(bias2);
    for (size_t i = 0; i < opt->n; i++) {
        double g = opt->grad[i];
        double m = adam_beta1 * opt->m[i] + (1.0 - adam_beta1) * g;
        double v = adam_beta2 * opt->v[i] + (1.0 - adam_beta2) * g * g;
        opt->m[i] = (float)m;
        opt->v[i] = (float)v;
        x[i] = nst_box_project(x[i] - step * m / (sqrt(v) / root_bias2 + adam_eps), opt->lower, opt->upper);
    }
    return NST_OK;
}

void nst_adam_set_learning_rate(nst_adam *opt, double learning_rate)
{
    if (opt && valid_learning_rate(learning_rate))
        opt->learning_rate = learning_rate;
}

void nst_adam_reset(nst_adam *opt)
{
    if (!opt)
        return;
    for (size_t i = 0; i < opt->n; i++) {
        opt->m[i] = 0.0f;
        opt->v[i] = 0.0f;
    }
    opt->steps = 0;
}

double nst_adam_value(const nst_adam *opt)
{
    return opt ? opt->value : NAN;
}
