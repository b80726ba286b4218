/* A stage on overlapping tiles, for pictures whose network does not fit.
 *
 * One objective at the tile window's size serves every tile: its style Grams
 * are made once per stage from the whole style picture (in pieces, each
 * weighted by its area, so they add up to the whole picture's Gram), its
 * content target is set from the tile's window at each visit.  Tiles progress
 * together in rounds: each round gives every tile a few iterations of a
 * freshly started optimiser (L-BFGS state per tile would cost as much as the
 * picture times the history).  Seams are avoided twice: a tile writes back
 * with a weight that is 1 on its core and falls linearly to 0 across the
 * margin (where the window's edge sees only a reflected border), and the grid
 * moves every round, so no border stays in one place. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "loss/objective.h"
#include "transfer/driver.h"
#include "transfer/tiles.h"

#define MAX_TILES_PER_AXIS 1024
/* Optimiser iterations a tile gets per visit; L-BFGS restarts on each visit. */
#define TILE_ITERATIONS 4
/* History of the per-visit L-BFGS: a visit is short, more would be unused. */
#define TILE_LBFGS_HISTORY 8

int nst_tiles_lbfgs_history(const nst_params *p)
{
    return p->lbfgs_history < TILE_LBFGS_HISTORY ? p->lbfgs_history : TILE_LBFGS_HISTORY;
}

int nst_tiles_axis(int size, int window, int margin, int round, int axis, int *core_start, int *core_end,
                   int *window_start, int max_tiles)
{
    if (window >= size) {
        core_start[0] = 0;
        core_end[0] = size;
        window_start[0] = 0;
        return 1;
    }
    int core = window - 2 * margin;
    if (core < 1)
        core = 1;
    /* Golden-ratio steps spread the grid's origin evenly over the rounds;
     * the two axes are out of phase. */
    double phase = fmod((round + 1) * 0.6180339887 + axis * 0.5, 1.0);
    int offset = (int)(phase * core);
    int n = 0, start = 0, end = offset > 0 ? offset : core;
    while (start < size && n < max_tiles) {
        if (end > size)
            end = size;
        int ws = (start + end) / 2 - window / 2;
        if (ws < 0)
            ws = 0;
        if (ws > size - window)
            ws = size - window;
        core_start[n] = start;
        core_end[n] = end;
        window_start[n] = ws;
        n++;
        start = end;
        end = start + core;
    }
    return n;
}

/* Write-back weight along one axis at picture position q for a core
 * [a, b): 1 inside, falling to 0 over `margin` px outside. */
static float axis_weight(int q, int a, int b, int margin)
{
    int d = q < a ? a - q : q >= b ? q - b + 1 : 0;
    if (d == 0)
        return 1.0f;
    if (margin <= 0 || d >= margin)
        return 0.0f;
    return 1.0f - (float)d / (float)margin;
}

typedef struct tile {
    int x0, y0;          /* window origin in the stage picture */
    int cx0, cx1, cy0, cy1; /* core */
} tile;

typedef struct tile_work {
    int ww, wh;           /* window size */
    int margin;
    float *x;             /* the window of the picture, planar */
    float *content;       /* the window of the content, planar */
    nst_driver_optimizer opt;
} tile_work;

/* window <-> picture, planar [3, H, W] both. */
static void copy_window(const float *picture, int width, int height, const tile *tl, int ww, int wh, float *out)
{
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < wh; y++)
            memcpy(out + ((size_t)c * wh + y) * ww,
                   picture + ((size_t)c * height + tl->y0 + y) * width + tl->x0, (size_t)ww * sizeof(float));
}

/* The window of an interleaved picture, planar. */
static void copy_image_window(const nst_image *image, const tile *tl, int ww, int wh, float *out)
{
    size_t plane = (size_t)ww * wh;
    for (int y = 0; y < wh; y++)
        for (int i = 0; i < ww; i++)
            for (int c = 0; c < 3; c++)
                out[c * plane + (size_t)y * ww + i] =
                    image->rgb[3 * ((size_t)(tl->y0 + y) * image->width + tl->x0 + i) + c];
}

static void blend_window(float *picture, int width, int height, const tile *tl, const tile_work *w)
{
    for (int y = 0; y < w->wh; y++) {
        float wy = axis_weight(tl->y0 + y, tl->cy0, tl->cy1, w->margin);
        if (wy == 0.0f)
            continue;
        for (int i = 0; i < w->ww; i++) {
            float a = wy * axis_weight(tl->x0 + i, tl->cx0, tl->cx1, w->margin);
            if (a == 0.0f)
                continue;
            for (int c = 0; c < 3; c++) {
                float *p = picture + ((size_t)c * height + tl->y0 + y) * width + tl->x0 + i;
                *p += a * (w->x[((size_t)c * w->wh + y) * w->ww + i] - *p);
            }
        }
    }
}

/* One visit of the stage's current tile: `steps` iterations on its window,
 * then the blend back.  *iter is the global iteration reached. */
static nst_status visit_tile(nst_run *run, nst_stage *st, float *picture, const tile *tl, tile_work *w,
                             int round_base, int steps, int *iter, nst_error *err)
{
    copy_image_window(st->colors, tl, w->ww, w->wh, w->content);
    nst_status s = nst_driver_set_content(st, w->content, err);
    if (s == NST_OK)
        s = nst_driver_set_masks(run, st, tl->x0, tl->y0, err);
    if (s != NST_OK)
        return s;
    copy_window(picture, st->width, st->height, tl, w->ww, w->wh, w->x);
    nst_driver_optimizer_reset(&w->opt);
    s = nst_driver_optimizer_load(&w->opt, w->x, err);
    if (s != NST_OK)
        return s;
    int piece = w->ww > w->wh ? w->ww : w->wh;
    for (int k = 1; k <= steps; k++) {
        if (nst_driver_cancelled(run, &s, err))
            return s;
        if (nst_driver_apply_steering(run, st, piece, &s, err))
            nst_driver_optimizer_reset(&w->opt);
        if (s != NST_OK)
            return s;
        /* The stage's iterations advance by `steps` per round, shared by its tiles. */
        *iter = st->iter_base + round_base + (int)((long long)(st->tile * steps + k) / st->tiles);
        int converged = 0;
        s = nst_driver_optimizer_step(&w->opt, w->x, *iter, &converged, err);
        if (s != NST_OK)
            return s;
        if (converged)
            break;
    }
    s = nst_driver_optimizer_fetch(&w->opt, w->x, err); /* the window comes back to be blended */
    if (s == NST_OK)
        blend_window(picture, st->width, st->height, tl, w);
    return s;
}

static void tile_work_free(tile_work *w)
{
    free(w->x);
    free(w->content);
    nst_driver_optimizer_free(&w->opt);
}

nst_status nst_tiles_run_stage(nst_run *run, nst_stage *st, float *x, int iterations, nst_error *err)
{
    const nst_plan *plan = run->plan;
    tile_work w = {0};
    w.ww = plan->tile_width < st->width ? plan->tile_width : st->width;
    w.wh = plan->tile_height < st->height ? plan->tile_height : st->height;
    w.margin = plan->tile_margin;
    size_t n = (size_t)3 * w.ww * w.wh;
    int piece = w.ww > w.wh ? w.ww : w.wh;
    int *axes = nst_alloc_zero(6 * MAX_TILES_PER_AXIS, sizeof(int), "the tile grid", err);
    w.x = nst_alloc(n * sizeof(float), "a tile", err);
    w.content = nst_alloc(n * sizeof(float), "a tile's content", err);
    nst_status s = axes && w.x && w.content ? NST_OK : NST_ERR_NOMEM;
    /* The objective first: on a device the optimiser works on its buffers. */
    if (s == NST_OK)
        s = nst_driver_new_objective(run, st, w.wh, w.ww, piece, err);
    if (s == NST_OK)
        s = nst_driver_optimizer_init(&w.opt, run, st, n, nst_tiles_lbfgs_history(&run->transfer->params), err);

    int *xs = axes, *xe = axes + MAX_TILES_PER_AXIS, *xw = axes + 2 * MAX_TILES_PER_AXIS;
    int *ys = axes + 3 * MAX_TILES_PER_AXIS, *ye = axes + 4 * MAX_TILES_PER_AXIS,
        *yw = axes + 5 * MAX_TILES_PER_AXIS;
    int rounds = (iterations + TILE_ITERATIONS - 1) / TILE_ITERATIONS;
    int iter = st->iter_base;
    for (int r = 0; r < rounds && s == NST_OK; r++) {
        int steps = iterations - r * TILE_ITERATIONS;
        if (steps > TILE_ITERATIONS)
            steps = TILE_ITERATIONS;
        int nx = nst_tiles_axis(st->width, w.ww, w.margin, r, 0, xs, xe, xw, MAX_TILES_PER_AXIS);
        int ny = nst_tiles_axis(st->height, w.wh, w.margin, r, 1, ys, ye, yw, MAX_TILES_PER_AXIS);
        st->tiles = nx * ny;
        for (int j = 0; j < ny && s == NST_OK; j++) {
            for (int i = 0; i < nx && s == NST_OK; i++) {
                tile tl = {xw[i], yw[j], xs[i], xe[i], ys[j], ye[j]};
                int before = iter;
                st->tile = j * nx + i;
                s = visit_tile(run, st, x, &tl, &w, r * TILE_ITERATIONS, steps, &iter, err);
                /* The preview shows the tiles filling in. */
                if (s == NST_OK && nst_driver_preview_due(run, before, iter))
                    nst_driver_preview(run, st, x, nst_driver_optimizer_value(&w.opt));
            }
        }
    }
    if (s == NST_OK && iterations == 0) {
        double value;
        tile whole = {0, 0, 0, w.ww, 0, w.wh};
        copy_image_window(st->colors, &whole, w.ww, w.wh, w.content);
        s = nst_driver_set_content(st, w.content, err);
        copy_window(x, st->width, st->height, &whole, w.ww, w.wh, w.x);
        if (s == NST_OK)
            s = nst_driver_evaluate(run, st, w.x, NULL, &value, err);
    }
    if (s == NST_OK && iterations > 0)
        nst_driver_preview(run, st, x, nst_driver_optimizer_value(&w.opt));
    free(axes);
    tile_work_free(&w);
    return s;
}
