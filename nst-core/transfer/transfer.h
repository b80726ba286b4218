/* Internal to the driver: the transfer object, a run's configuration.  Only
 * transfer.c (the public nst_transfer_* API) writes it; the run below reads
 * it, and takes the steering lock to read what other threads set. */
#ifndef NST_TRANSFER_TRANSFER_H
#define NST_TRANSFER_TRANSFER_H

#include <pthread.h>
#include <stdatomic.h>

#include "nst/nst.h"

/* Values other threads may change while the driver runs. */
typedef struct steering {
    pthread_mutex_t lock;
    double content_weight, style_weight, tv_weight, style_scale;
    atomic_int generation; /* bumped on every change */
} steering;

struct nst_transfer {
    const nst_model *model;
    nst_params params;
    nst_image *content;
    nst_image *styles[NST_MAX_STYLES];
    double blend[NST_MAX_STYLES];
    int n_styles;
    /* Each style's region: a grey plane of its own size, NULL = everywhere. */
    float *masks[NST_MAX_STYLES];
    int mask_width[NST_MAX_STYLES], mask_height[NST_MAX_STYLES];
    int n_masks; /* styles that have one: > 0 makes the run guided */

    nst_progress_fn progress_fn;
    void *progress_data;
    nst_preview_fn preview_fn;
    void *preview_data;
    int preview_every;

    atomic_int cancel;
    steering steer;
};

#endif
