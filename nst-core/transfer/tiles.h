/* Internal to the driver: a stage on overlapping tiles, run by pyramid.c
 * and sized by memory.c. */
#ifndef NST_TRANSFER_TILES_H
#define NST_TRANSFER_TILES_H

#include "nst/nst.h"
#include "transfer/driver.h"

/* Runs `iterations` on the stage picture x in rounds over a shifted tile grid. */
nst_status nst_tiles_run_stage(nst_run *run, nst_stage *st, float *x, int iterations, nst_error *err);
/* History of the per-visit L-BFGS: a visit is short, more would be unused. */
int nst_tiles_lbfgs_history(const nst_params *p);
/* Tile grid of round `round` along one axis of `size` px: core starts and
 * the window (core plus margin, clamped inside) of each; returns the count.
 * Exposed for the seam test, which needs the borders. */
int nst_tiles_axis(int size, int window, int margin, int round, int axis, int *core_start, int *core_end,
                   int *window_start, int max_tiles);

#endif
