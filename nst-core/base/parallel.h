/* The engine's worker threads: one process-wide pool that runs the hot loops
 * (convolutions, Gram matrices) on every core.
 *
 * From the first call into this module on, OpenBLAS runs one thread: each
 * worker calls it on its own block.  Two thread pools on the same cores fight: OpenBLAS's
 * idle threads spin for ~0.1 s after each call, which stalls any loop of ours
 * that runs between its GEMMs (bench/run.py measured a third of VGG19's
 * evaluation lost that way).
 *
 * Tasks of one nst_parallel_for run in any order on any worker; `worker`
 * (0 .. nst_parallel_max_workers() - 1) picks the caller-owned scratch a task
 * may use.
 *
 * Every function here may be called from any thread at any time, tasks
 * included (tests/nn/test_pool_threads.c):
 * - loops from several threads take turns: one runs, the others wait;
 * - a loop started from inside a task runs all its tasks on that task's
 *   thread, in order, with that task's `worker`;
 * - a worker count set while a loop runs applies from the next loop on.
 * The one thing that deadlocks: a task that waits for another thread which
 * is itself starting a loop (that loop waits for the task's loop to end). */
#ifndef NST_BASE_PARALLEL_H
#define NST_BASE_PARALLEL_H

#include <stddef.h>

typedef void (*nst_parallel_fn)(void *ctx, int task, int worker);

/* Upper bound on workers for this process (its online cores, at most 64):
 * size per-worker scratch with it. */
int nst_parallel_max_workers(void);

/* Workers the loops started from now on use: 1 .. max; 0 or less means max. */
void nst_parallel_set_workers(int workers);
int nst_parallel_workers(void);

/* Runs fn(ctx, task, worker) for task = 0 .. n_tasks - 1 and returns when all
 * have finished.  The calling thread is worker 0. */
void nst_parallel_for(int n_tasks, nst_parallel_fn fn, void *ctx);

/* Runs tasks 0, 2, 4, ... and then 1, 3, 5, ...: for blocks whose writes
 * overlap only their neighbours' (the input gradient of a convolution). */
void nst_parallel_for_alternating(int n_tasks, nst_parallel_fn fn, void *ctx);

/* How many blocks to cut `rows` rows into for a loop that may alternate:
 * enough that none exceeds budget_rows (>= 1), rounded up to a multiple of
 * 2 x nst_parallel_max_workers() so every worker is busy in both halves,
 * and at most max_blocks (at least one block).  It depends on the machine,
 * not on the workers asked for, so workspace sizes derived from it do not
 * change when --threads does. */
int nst_parallel_blocks(int rows, size_t budget_rows, int max_blocks);

/* Splits n items into `parts` near-equal ranges: [*begin, *end) of part i. */
void nst_parallel_range(int n, int parts, int i, int *begin, int *end);

#endif
