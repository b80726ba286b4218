/* Internal to the driver: the services one evaluation needs (evaluate and
 * report, previews, steering, the objective and its style targets, the
 * optimiser, cancel).  They work on an explicit run and stage, and call
 * nothing above them: transfer.c starts a run, pyramid.c makes the stages,
 * tiles.c runs a stage on tiles, memory.c sizes the style pictures. */
#ifndef NST_TRANSFER_DRIVER_H
#define NST_TRANSFER_DRIVER_H

#include <stddef.h>
#include <time.h>

#include "loss/objective.h"
#include "nst/nst.h"
#include "transfer/transfer.h"

/* Reflect padding inside and a reflected border around the picture keep the
 * edges as stylised as the middle (zero padding leaves a frame). */
#define NST_DRIVER_BORDER 16

/* One nst_transfer_run.  Every field is written by driver.c only. */
typedef struct nst_run {
    const nst_transfer *transfer; /* the configuration, read only */
    steering *steer;              /* the transfer's: set by other threads */
    atomic_int *cancel;           /* the transfer's: set by other threads */
    const nst_plan *plan;
    int eval, iter;               /* iter counts over all stages */
    int seen_generation;          /* of the steering, last applied */
    struct timespec start;
    struct nst_gpu *gpu;          /* the device the objective runs on (plan->device); NULL = the CPU */
} nst_run;

/* One stage of the pyramid.  pyramid.c fills its size, place and pictures,
 * tiles.c its tile, driver.c its objective and the style scale. */
typedef struct nst_stage {
    int index;                /* in the plan */
    int width, height;        /* the stage's picture */
    int iter_base;            /* iterations of the stages before this one */
    double content_factor;    /* the stage's multiplier of alpha */
    int tile, tiles;          /* the tile being run and their count; 0 when whole */
    nst_objective *objective; /* at the stage's or the tile window's size (on the CPU) */
    struct nst_gpu_objective *gpu_objective; /* the same on the run's device */
    double style_scale;       /* style scale the targets were made with */
    nst_image *content;       /* the content at the stage size, true colours */
    nst_image *colors;        /* what the net sees: grey in luminance mode, else content */
    nst_image *frame;         /* scratch for previews and the result, stage size */
    float *masks[NST_MAX_STYLES]; /* each style's region at the stage size; NULL = everywhere */
} nst_stage;

/* Starts a run of t with its plan (which must outlive the run): counters at
 * zero, the clock started, on the CPU (transfer.c may then give it the
 * plan's device). */
void nst_run_init(nst_run *run, nst_transfer *t, const nst_plan *plan);

/* Size of a style picture (width x height) given to the net at a stage whose
 * longest side is `longest`: scaled to longest x style_scale, but never so
 * small that the net cannot see it (SqueezeNet needs about 25 px to reach
 * fire5, VGG 16 px to reach relu5_1), so every scale the limits accept runs. */
void nst_driver_style_size(int width, int height, int longest, double style_scale, int *out_width,
                           int *out_height);
/* One evaluation of the stage's objective at x, reported to the progress
 * callback. */
nst_status nst_driver_evaluate(nst_run *run, const nst_stage *st, const float *x, float *grad, double *value,
                               nst_error *err);
/* The picture the user gets from the planar x at the stage size: true
 * colours restored in luminance mode. */
nst_status nst_driver_render(const nst_run *run, const nst_stage *st, const float *x, nst_image *out,
                             nst_error *err);
/* Renders x into the stage's frame and hands it to the preview callback. */
void nst_driver_preview(const nst_run *run, const nst_stage *st, const float *x, double value);
/* True when a preview is due after global iteration `iter`. */
int nst_driver_preview_due(const nst_run *run, int previous_iter, int iter);
int nst_driver_cancelled(const nst_run *run, nst_status *status, nst_error *err);
/* Steering made since the last look; returns 1 when the objective changed.
 * `style_piece` is the largest side a style picture may be given to the net
 * in one piece (the tile window when tiled). */
int nst_driver_apply_steering(nst_run *run, nst_stage *st, int style_piece, nst_status *status, nst_error *err);
/* The stage's objective at w x h with the current weights; style targets
 * made from the style pictures at the current scale, cut in pieces of at
 * most style_piece px.  Replaces the stage's objective; _free drops it. */
nst_status nst_driver_new_objective(nst_run *run, nst_stage *st, int height, int width, int style_piece,
                                    nst_error *err);
void nst_driver_free_objective(nst_stage *st);
/* The content target from a planar picture at the objective's size. */
nst_status nst_driver_set_content(nst_stage *st, const float *content, nst_error *err);
/* The stage's masks (when the run has any) at stage size, NULL where a
 * style has none; nst_driver_free_masks drops them. */
nst_status nst_driver_new_masks(const nst_run *run, nst_stage *st, nst_error *err);
void nst_driver_free_masks(nst_stage *st);
/* Gives the objective the window of the stage's masks at (x0, y0) (the
 * objective's size); nothing without masks. */
nst_status nst_driver_set_masks(const nst_run *run, nst_stage *st, int x0, int y0, nst_error *err);

/* One optimiser on n floats, the kind the params choose, minimising the
 * stage's objective and reporting to the run.  With a device objective
 * (st->gpu_objective, which must exist first and outlive the optimiser's
 * steps) it works on that objective's buffers: x lives on the device, the
 * step ignores the host x, and only scalars cross per evaluation.  Then
 * _load gives it the host x (the start of a stage or a tile's visit) and
 * _fetch copies its x back (previews, the end); both do nothing on the CPU,
 * where the step works on the host x itself.  _load comes after
 * nst_driver_set_content, which passes the content through the device
 * objective's picture buffer (Adam's x there). */
typedef struct nst_driver_optimizer {
    struct nst_lbfgs *lbfgs;
    struct nst_adam *adam;
    nst_run *run;
    const nst_stage *stage;
    int on_device;
} nst_driver_optimizer;
nst_status nst_driver_optimizer_init(nst_driver_optimizer *o, nst_run *run, const nst_stage *st, size_t n,
                                     int history, nst_error *err);
/* One step, global iteration `iter` of the run (what progress reports). */
nst_status nst_driver_optimizer_step(nst_driver_optimizer *o, float *x, int iter, int *converged, nst_error *err);
nst_status nst_driver_optimizer_load(nst_driver_optimizer *o, const float *x, nst_error *err);
nst_status nst_driver_optimizer_fetch(nst_driver_optimizer *o, float *x, nst_error *err);
double nst_driver_optimizer_value(const nst_driver_optimizer *o);
void nst_driver_optimizer_reset(nst_driver_optimizer *o);
void nst_driver_optimizer_free(nst_driver_optimizer *o);

#endif
