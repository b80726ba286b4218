/* Internal to the driver: the multi-scale pyramid, called by transfer.c
 * (the run) and memory.c (the stage sizes). */
#ifndef NST_TRANSFER_PYRAMID_H
#define NST_TRANSFER_PYRAMID_H

#include "nst/nst.h"
#include "transfer/driver.h"

/* Stage sizes and iterations of the plan (no memory decisions). */
void nst_pyramid_stages(const nst_params *p, int width, int height, nst_plan *plan);
/* Runs every stage of run->plan; *result is the picture at the final
 * stage's size, the caller's to free. */
nst_status nst_pyramid_run(nst_run *run, nst_image **result, nst_error *err);

#endif
