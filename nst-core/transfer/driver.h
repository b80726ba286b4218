/* Internal to the driver: the transfer object shared by transfer.c (setup,
 * callbacks, steering, one whole stage), pyramid.c (stages), tiles.c (a stage
 * on overlapping tiles) and memory.c (the estimate and the plan). */
#ifndef NST_TRANSFER_DRIVER_H
#define NST_TRANSFER_DRIVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "loss/objective.h"
#include "nst/nst.h"

/* Values other threads may change while the driver runs. */
typedef struct steering {
    pthread_mutex_t lock;
    double content_weight, style_weight, tv_weight, style_scale;
    atomic_int generation; /* bumped on every change */
} steering;

/* Reflect padding inside and a reflected border around the picture keep the
 * edges as stylised as the middle (zero padding leaves a frame). */
#define NST_DRIVER_BORDER 16
/* Longest side of the first pyramid stage when params.min_scale_size is 0. */
#define NST_DEFAULT_MIN_SCALE 192
/* Optimiser iterations a tile gets per visit; L-BFGS restarts on each visit. */
#define NST_TILE_ITERATIONS 4
/* History of the per-visit L-BFGS: a visit is short, more would be unused. */
#define NST_TILE_LBFGS_HISTORY 8

struct nst_transfer {
    const nst_model *model;
    nst_params params;
    nst_image *content;
    nst_image *styles[NST_MAX_STYLES];
    double blend[NST_MAX_STYLES];
    int n_styles;

    nst_progress_fn progress_fn;
    void *progress_data;
    nst_preview_fn preview_fn;
    void *preview_data;
    int preview_every;

    atomic_int cancel;
    steering steer;

    /* State of one run. */
    nst_plan plan;
    nst_objective *objective;
    nst_image *stage_content; /* the content at the stage size, true colours */
    nst_image *stage_colors;  /* what the net sees: grey in luminance mode, else stage_content */
    nst_image *frame;         /* scratch for previews and the result, stage size */
    int width, height;        /* the stage's picture */
    int stage;
    int iter_base;            /* iterations of the stages before this one */
    int tile, tiles;
    double content_factor;    /* the stage's multiplier of alpha */
    double style_scale;       /* style scale the targets were made with */
    int seen_generation;
    int eval, iter;           /* iter counts over all stages */
    struct timespec start;
};

/* ---- transfer.c ---- */
/* Size of a style picture (width x height) given to the net at a stage whose
 * longest side is `longest`: scaled to longest x style_scale, but never so
 * small that the net cannot see it (SqueezeNet needs about 25 px to reach
 * fire5, VGG 16 px to reach relu5_1), so every scale the limits accept runs. */
void nst_driver_style_size(int width, int height, int longest, double style_scale, int *out_width,
                           int *out_height);
/* The function the optimisers minimise: one evaluation, reported. */
nst_status nst_driver_evaluate(const float *x, float *grad, double *value, void *user_data, nst_error *err);
/* Renders x (planar, size w x h) and hands it to the preview callback. */
void nst_driver_preview(nst_transfer *t, const float *x, double value);
/* Steering made since the last look; returns 1 when the objective changed.
 * `style_piece` is the largest side a style picture may be given to the net
 * in one piece (the tile window when tiled). */
int nst_driver_apply_steering(nst_transfer *t, int style_piece, nst_status *status, nst_error *err);
/* Objective at w x h with the stage's weights; style targets made from the
 * style pictures at the stage's scale, cut in pieces of at most style_piece px. */
nst_status nst_driver_new_objective(nst_transfer *t, int height, int width, int style_piece, nst_error *err);
nst_status nst_driver_set_style_targets(nst_transfer *t, double style_scale, int style_piece, nst_error *err);
/* One optimiser on n floats, the kind params choose. */
typedef struct nst_driver_optimizer {
    struct nst_lbfgs *lbfgs;
    struct nst_adam *adam;
} nst_driver_optimizer;
nst_status nst_driver_optimizer_init(nst_driver_optimizer *o, const nst_params *p, size_t n, int history,
                                     nst_error *err);
nst_status nst_driver_optimizer_step(nst_driver_optimizer *o, float *x, nst_transfer *t, int *converged,
                                     nst_error *err);
double nst_driver_optimizer_value(const nst_driver_optimizer *o);
void nst_driver_optimizer_reset(nst_driver_optimizer *o);
void nst_driver_optimizer_free(nst_driver_optimizer *o);
int nst_driver_cancelled(nst_transfer *t, nst_status *status, nst_error *err);
/* True when a preview is due after global iteration `iter`. */
int nst_driver_preview_due(const nst_transfer *t, int previous_iter, int iter);

/* ---- pyramid.c ---- */
/* Stage sizes and iterations of the plan (no memory decisions). */
void nst_pyramid_stages(const nst_params *p, int width, int height, nst_plan *plan);
/* Runs every stage of t->plan; *x (planar, final stage size) on success. */
nst_status nst_pyramid_run(nst_transfer *t, float **x, nst_error *err);

/* ---- tiles.c ---- */
/* Runs `iterations` on the stage picture x in rounds over a shifted tile grid. */
nst_status nst_tiles_run_stage(nst_transfer *t, float *x, int iterations, nst_error *err);
/* Tile grid of round `round` along one axis of `size` px: core starts and
 * the window (core plus margin, clamped inside) of each; returns the count.
 * Exposed for the seam test, which needs the borders. */
int nst_tiles_axis(int size, int window, int margin, int round, int axis, int *core_start, int *core_end,
                   int *window_start, int max_tiles);

/* ---- memory.c ---- */
/* Fills t->plan from the params, the pictures and the budget. */
nst_status nst_memory_plan(const nst_transfer *t, nst_plan *plan, nst_error *err);

#endif
