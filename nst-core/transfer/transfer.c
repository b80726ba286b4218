/* The driver's public API: the transfer's configuration (model, params,
 * pictures, callbacks), cancel and steering from other threads, the plan,
 * and the run.  A run goes down one way: the plan (memory.c), then the
 * stages (pyramid.c, tiles.c), each on the services of driver.c. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/parallel.h"
#include "transfer/driver.h"
#include "transfer/memory.h"
#include "transfer/params.h"
#include "transfer/pyramid.h"
#include "transfer/transfer.h"

#ifdef NST_HAVE_VULKAN
#include "gpu/vk.h"
#endif

nst_transfer *nst_transfer_new(const nst_model *model, const nst_params *params, nst_error *err)
{
    if ((model ? nst_params_validate(params, model, err) : nst_params_check(params, err)) != NST_OK)
        return NULL;
    nst_transfer *t = nst_alloc_zero(1, sizeof *t, "the transfer", err);
    if (!t)
        return NULL;
    t->model = model;
    t->params = *params;
    pthread_mutex_init(&t->steer.lock, NULL);
    t->steer.content_weight = params->content_weight;
    t->steer.style_weight = params->style_weight;
    t->steer.tv_weight = params->tv_weight;
    t->steer.style_scale = params->style_scale;
    return t;
}

nst_status nst_transfer_set_model(nst_transfer *t, const nst_model *model, nst_error *err)
{
    if (!model)
        return nst_error_set(err, NST_ERR_INVALID, "no model was given");
    nst_status s = nst_params_validate(&t->params, model, err);
    if (s == NST_OK)
        t->model = model;
    return s;
}

void nst_transfer_free(nst_transfer *t)
{
    if (!t)
        return;
    nst_image_free(t->content);
    for (int i = 0; i < t->n_styles; i++) {
        nst_image_free(t->styles[i]);
        free(t->masks[i]);
    }
    pthread_mutex_destroy(&t->steer.lock);
    free(t);
}

static nst_status check_picture(const nst_image *image, const char *what, nst_error *err)
{
    if (!image || image->width < 1 || image->height < 1 || !image->rgb)
        return nst_error_set(err, NST_ERR_INVALID, "the %s picture is empty", what);
    return NST_OK;
}

nst_status nst_transfer_set_content(nst_transfer *t, const nst_image *content, nst_error *err)
{
    if (check_picture(content, "content", err) != NST_OK)
        return err ? err->code : NST_ERR_INVALID;
    nst_image *copy = nst_image_copy(content, err);
    if (!copy)
        return NST_ERR_NOMEM;
    nst_image_free(t->content);
    t->content = copy;
    return NST_OK;
}

nst_status nst_transfer_add_style(nst_transfer *t, const nst_image *style, double blend_weight, nst_error *err)
{
    return nst_transfer_add_style_masked(t, style, blend_weight, NULL, err);
}

/* The mask's grey (luminance, clamped to [0,1]) as a plane. */
static float *mask_plane(const nst_image *mask, nst_error *err)
{
    size_t n = (size_t)mask->width * mask->height;
    float *plane = nst_alloc(n * sizeof(float), "a style mask", err);
    for (size_t i = 0; plane && i < n; i++) {
        const float *p = mask->rgb + 3 * i;
        float grey = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
        plane[i] = grey > 0.0f ? (grey < 1.0f ? grey : 1.0f) : 0.0f;
    }
    return plane;
}

nst_status nst_transfer_add_style_masked(nst_transfer *t, const nst_image *style, double blend_weight,
                                         const nst_image *mask, nst_error *err)
{
    if (check_picture(style, "style", err) != NST_OK || (mask && check_picture(mask, "mask", err) != NST_OK))
        return err ? err->code : NST_ERR_INVALID;
    if (t->n_styles == NST_MAX_STYLES)
        return nst_error_set(err, NST_ERR_INVALID, "at most %d style pictures", NST_MAX_STYLES);
    if (!(isfinite(blend_weight) && blend_weight >= 0))
        return nst_error_set(err, NST_ERR_INVALID, "style blend weight must be a non-negative number");
    nst_image *copy = nst_image_copy(style, err);
    float *plane = copy && mask ? mask_plane(mask, err) : NULL;
    if (!copy || (mask && !plane)) {
        nst_image_free(copy);
        return NST_ERR_NOMEM;
    }
    t->masks[t->n_styles] = plane;
    t->mask_width[t->n_styles] = mask ? mask->width : 0;
    t->mask_height[t->n_styles] = mask ? mask->height : 0;
    t->n_masks += mask != NULL;
    t->styles[t->n_styles] = copy;
    t->blend[t->n_styles++] = blend_weight;
    return NST_OK;
}

void nst_transfer_set_progress_callback(nst_transfer *t, nst_progress_fn fn, void *user_data)
{
    t->progress_fn = fn;
    t->progress_data = user_data;
}

void nst_transfer_set_preview_callback(nst_transfer *t, nst_preview_fn fn, int every, void *user_data)
{
    t->preview_fn = fn;
    t->preview_every = every > 0 ? every : 1;
    t->preview_data = user_data;
}

void nst_transfer_cancel(nst_transfer *t)
{
    atomic_store(&t->cancel, 1);
}

nst_status nst_transfer_set_weights(nst_transfer *t, double content_weight, double style_weight, double tv_weight,
                                    nst_error *err)
{
    nst_status s = nst_params_check_weights(content_weight, style_weight, tv_weight, err);
    if (s != NST_OK)
        return s;
    pthread_mutex_lock(&t->steer.lock);
    t->steer.content_weight = content_weight;
    t->steer.style_weight = style_weight;
    t->steer.tv_weight = tv_weight;
    atomic_fetch_add(&t->steer.generation, 1);
    pthread_mutex_unlock(&t->steer.lock);
    return NST_OK;
}

nst_status nst_transfer_set_style_scale(nst_transfer *t, double style_scale, nst_error *err)
{
    nst_status s = nst_params_check_style_scale(style_scale, err);
    if (s != NST_OK)
        return s;
    pthread_mutex_lock(&t->steer.lock);
    t->steer.style_scale = style_scale;
    atomic_fetch_add(&t->steer.generation, 1);
    pthread_mutex_unlock(&t->steer.lock);
    return NST_OK;
}

void nst_transfer_working_size(const nst_params *params, int content_width, int content_height, int *width,
                               int *height)
{
    int longest = content_width > content_height ? content_width : content_height;
    if (params->size <= 0 || params->size == longest) {
        *width = content_width;
        *height = content_height;
    } else {
        nst_image_fit_size(content_width, content_height, params->size, width, height);
    }
}

/* ---- one run ---- */

/* What a plan needs: a model and a content picture. */
static nst_status check_content(const nst_transfer *t, nst_error *err)
{
    if (!t->model)
        return nst_error_set(err, NST_ERR_INVALID, "no model was given");
    if (!t->content)
        return nst_error_set(err, NST_ERR_INVALID, "no content picture was given");
    return NST_OK;
}

/* The plan of a transfer that has its content, on `device` (NULL = the CPU). */
static nst_status make_plan(const nst_transfer *t, const nst_device_info *device, nst_plan *plan, nst_error *err)
{
    int width, height;
    nst_transfer_working_size(&t->params, t->content->width, t->content->height, &width, &height);
    return nst_memory_plan(t, width, height, device, plan, err);
}

/* A run's own handles: what plan_and_run needs to run, not only plan. */
typedef struct run_target {
    nst_transfer *transfer;
    nst_run *run;
    nst_image **result;
} run_target;

/* The stages on `gpu` (NULL = the CPU), as planned. */
static nst_status run_stages(const run_target *go, const nst_device_info *gpu, const nst_plan *plan,
                             nst_error *err)
{
    nst_run_init(go->run, go->transfer, plan);
    if (!gpu)
        return nst_pyramid_run(go->run, go->result, err);
#ifdef NST_HAVE_VULKAN
    go->run->gpu = nst_gpu_new(gpu->index, NULL, err);
    nst_status s = go->run->gpu ? nst_pyramid_run(go->run, go->result, err) : (err ? err->code : NST_ERR_DEVICE);
    nst_gpu_free(go->run->gpu);
    go->run->gpu = NULL;
    return s;
#else
    return nst_error_set(err, NST_ERR_DEVICE, "this build of nst-core has no GPU backend");
#endif
}

/* The plan on `gpu` (NULL = the CPU; a GPU's is within its memory too),
 * named `device` as progress reports name it; with `go`, the run there. */
static nst_status plan_on(const nst_transfer *t, const nst_device_info *gpu, const char *device, nst_plan *plan,
                          const run_target *go, nst_error *err)
{
    nst_status s = make_plan(t, gpu, plan, err);
    snprintf(plan->device, sizeof plan->device, "%s", device);
    return s != NST_OK || !go ? s : run_stages(go, gpu, plan, err);
}

/* The plan, and with `go` the run, where the setting resolved to.  Under
 * "auto", a device that fails (its plan refused, too little memory, lost,
 * out of memory, a layer it cannot run) hands the run to the CPU, which
 * plans and starts again from the beginning and says why; so
 * nst_transfer_plan tells what the run will do. */
static nst_status plan_and_run(const nst_transfer *t, const nst_device_choice *choice, nst_plan *plan,
                               const run_target *go, nst_error *err)
{
    char device[NST_PROGRESS_DEVICE_MAX] = "CPU";
    if (!choice->on_gpu) {
        if (choice->reason[0])
            snprintf(device, sizeof device, "CPU (%.170s)", choice->reason);
        return plan_on(t, NULL, device, plan, go, err);
    }
    snprintf(device, sizeof device, "%.180s", choice->gpu.name);
    nst_status s = plan_on(t, &choice->gpu, device, plan, go, err);
    int automatic = !t->params.device[0] || strcmp(t->params.device, "auto") == 0;
    if (s == NST_OK || s == NST_ERR_CANCELLED)
        return s;
    if (!automatic) {
        nst_error_prefix(err, "on %s: ", choice->gpu.name);
        return s;
    }
    snprintf(device, sizeof device, "CPU (%.40s failed: %.120s)", choice->gpu.name, err ? err->message : "");
    return plan_on(t, NULL, device, plan, go, err);
}

nst_status nst_transfer_plan(const nst_transfer *t, nst_plan *plan, nst_error *err)
{
    nst_device_choice choice;
    nst_status s = check_content(t, err);
    if (s == NST_OK)
        s = nst_device_resolve(t->params.device, &choice, err);
    if (s != NST_OK) {
        memset(plan, 0, sizeof *plan);
        return s;
    }
    return plan_and_run(t, &choice, plan, NULL, err);
}

size_t nst_transfer_estimate_bytes(const nst_transfer *t)
{
    nst_plan plan;
    nst_transfer_plan(t, &plan, NULL); /* filled when refused, zero without a content or a device */
    return plan.bytes;
}

nst_status nst_transfer_run(nst_transfer *t, nst_image **result, nst_error *err)
{
    *result = NULL;
    nst_status s = check_content(t, err);
    if (s != NST_OK)
        return s;
    if (t->params.n_style_layers > 0 && t->n_styles == 0)
        return nst_error_set(err, NST_ERR_INVALID, "no style picture was given");
    nst_device_choice choice;
    s = nst_device_resolve(t->params.device, &choice, err);
    if (s != NST_OK)
        return s;
    nst_parallel_set_workers(t->params.threads);
    if (!t->preview_every)
        t->preview_every = 1;
    nst_run run;
    nst_plan plan;
    return plan_and_run(t, &choice, &plan, &(run_target){t, &run, result}, err);
}
