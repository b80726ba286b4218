/* Adam (Kingma & Ba) with bias correction, x clamped to the box after every
 * update.  The moments are floats like x; a step with a non-finite value or
 * gradient changes neither x nor the moments. */
#include <math.h>
#include <stdlib.h>

#include "base/error.h"
#include "optim/box.h"
#include "optim/optim.h"
#include "optim/vectors.h"

#define ADAM_WHO "Adam"

static const double adam_beta1 = 0.9;
static const double adam_beta2 = 0.999;
static const double adam_eps = 1e-8;

struct nst_adam {
    nst_vectors *vec; /* X (evaluated), GRAD and the moments M, V */
    size_t n;
    double learning_rate;
    long steps;
    double value;
};

static int valid_learning_rate(double learning_rate)
{
    return learning_rate > 0.0 && isfinite(learning_rate);
}

nst_status nst_adam_check_args(size_t n, double learning_rate, float lower, float upper, nst_error *err)
{
    nst_status s = nst_box_validate(n, lower, upper, ADAM_WHO, err);
    if (s == NST_OK && !valid_learning_rate(learning_rate))
        s = nst_error_set(err, NST_ERR_INVALID, "Adam: the learning rate %g is not a positive number", learning_rate);
    return s;
}

nst_adam *nst_adam_new_on(nst_vectors *vec, double learning_rate, nst_error *err)
{
    if (!vec)
        return NULL;
    nst_adam *opt = nst_alloc_zero(1, sizeof *opt, "the Adam state", err);
    if (!opt) {
        nst_vectors_free(vec);
        return NULL;
    }
    opt->vec = vec;
    opt->n = vec->n;
    opt->learning_rate = learning_rate;
    opt->value = NAN;
    return opt;
}

nst_adam *nst_adam_new(size_t n, double learning_rate, float lower, float upper, nst_error *err)
{
    if (nst_adam_check_args(n, learning_rate, lower, upper, err) != NST_OK)
        return NULL;
    return nst_adam_new_on(nst_vectors_new_host(n, lower, upper, NST_VECS_ADAM, 0, err), learning_rate, err);
}

void nst_adam_free(nst_adam *opt)
{
    if (!opt)
        return;
    nst_vectors_free(opt->vec);
    free(opt);
}

nst_status nst_adam_step(nst_adam *opt, float *x, nst_minimized_fn f, void *user_data, nst_error *err)
{
    if (!opt || !f || (!x && opt->vec->ops->host(opt->vec, NST_VEC_GRAD)))
        return nst_error_set(err, NST_ERR_INVALID, "Adam: step called with a NULL argument");
    nst_vectors *v = opt->vec;
    if (x)
        nst_vectors_host_set_x(v, x);
    double value = NAN;
    nst_status status = f(x, v->ops->host(v, NST_VEC_GRAD), &value, user_data, err);
    if (status != NST_OK)
        return status;
    status = nst_vectors_check_start(v, value, NST_VEC_GRAD, ADAM_WHO, err);
    if (status != NST_OK)
        return status;
    opt->value = value;
    opt->steps++;
    double bias1 = 1.0 - pow(adam_beta1, (double)opt->steps);
    double bias2 = 1.0 - pow(adam_beta2, (double)opt->steps);
    return v->ops->adam_update(v, adam_beta1, adam_beta2, adam_eps, opt->learning_rate / bias1, sqrt(bias2), err);
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
    /* A failure shows at the next step, which evaluates on the same device. */
    opt->vec->ops->zero(opt->vec, NST_VEC_M, NULL);
    opt->vec->ops->zero(opt->vec, NST_VEC_V, NULL);
    opt->steps = 0;
}

double nst_adam_value(const nst_adam *opt)
{
    return opt ? opt->value : NAN;
}

nst_status nst_adam_read_x(nst_adam *opt, float *x, nst_error *err)
{
    return opt->vec->ops->read(opt->vec, NST_VEC_X, x, err);
}

nst_status nst_adam_write_x(nst_adam *opt, const float *x, nst_error *err)
{
    return opt->vec->ops->write(opt->vec, NST_VEC_X, x, err);
}
