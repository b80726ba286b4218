/* Internal to the driver: the memory plan, made by transfer.c before a run
 * (and for nst_transfer_plan). */
#ifndef NST_TRANSFER_MEMORY_H
#define NST_TRANSFER_MEMORY_H

#include "nst/nst.h"
#include "transfer/transfer.h"

/* Fills the plan of t, which has its content, at the working size
 * width x height, from the params, the pictures and the budget; with a
 * device (NULL = the CPU), within its memory too. */
nst_status nst_memory_plan(const nst_transfer *t, int width, int height, const nst_device_info *device,
                           nst_plan *plan, nst_error *err);

#endif
