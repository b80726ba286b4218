#include "base/parallel.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

enum { MAX_WORKERS = 64 };

/* Helpers sleep on `start` between loops and count themselves out on `done`.
 * A loop is published by bumping `generation` under the lock, together with
 * the helpers it counts on (`participants`): a helper decides whether to take
 * part from that, never from `workers`, which another thread may change while
 * the loop is being published (a helper counted in `busy` that then saw fewer
 * workers slept through its loop, and the loop waited for it forever). */
static struct {
    pthread_mutex_t loop; /* one loop at a time, whoever calls */
    pthread_mutex_t lock;
    pthread_cond_t start, done;
    int max_workers; /* 0 until first asked */
    int workers;     /* used by the next loop */
    int helpers;     /* threads started so far (workers 1 .. helpers) */
    unsigned long generation;
    int busy;        /* helpers still inside the current loop */
    /* the current loop */
    int participants; /* workers 1 .. participants take part */
    nst_parallel_fn fn;
    void *ctx;
    int n_tasks, stride, first;
    atomic_int next;
} pool = {
    .loop = PTHREAD_MUTEX_INITIALIZER,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .start = PTHREAD_COND_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
    .stride = 1,
};

static void init_locked(void)
{
    if (pool.max_workers > 0)
        return;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    pool.max_workers = cores < 1 ? 1 : cores > MAX_WORKERS ? MAX_WORKERS : (int)cores;
    pool.workers = pool.max_workers;
    openblas_set_num_threads(1); /* see parallel.h */
}

/* A pool setting, read under the lock once the pool is initialised. */
static int read_setting(const int *setting)
{
    pthread_mutex_lock(&pool.lock);
    init_locked();
    int n = *setting;
    pthread_mutex_unlock(&pool.lock);
    return n;
}

int nst_parallel_max_workers(void)
{
    return read_setting(&pool.max_workers);
}

void nst_parallel_set_workers(int workers)
{
    pthread_mutex_lock(&pool.lock);
    init_locked();
    pool.workers = workers < 1 || workers > pool.max_workers ? pool.max_workers : workers;
    pthread_mutex_unlock(&pool.lock);
}

int nst_parallel_workers(void)
{
    return read_setting(&pool.workers);
}

int nst_parallel_blocks(int rows, size_t budget_rows, int max_blocks)
{
    size_t rounding = 2 * (size_t)nst_parallel_max_workers(), budget = budget_rows > 0 ? budget_rows : 1;
    size_t needed = rows > 0 ? ((size_t)rows + budget - 1) / budget : 1;
    size_t blocks = (needed + rounding - 1) / rounding * rounding;
    return blocks < (size_t)max_blocks ? (int)blocks : (max_blocks > 0 ? max_blocks : 1);
}

void nst_parallel_range(int n, int parts, int i, int *begin, int *end)
{
    *begin = (int)((long long)n * i / parts);
    *end = (int)((long long)n * (i + 1) / parts);
}

/* The worker index of this thread while it runs tasks, -1 outside a loop. */
static _Thread_local int current_worker = -1;

static void run_tasks(int worker)
{
    for (;;) {
        int k = atomic_fetch_add(&pool.next, 1);
        int task = pool.first + k * pool.stride;
        if (task >= pool.n_tasks)
            return;
        pool.fn(pool.ctx, task, worker);
    }
}

static void *helper_main(void *arg)
{
    int worker = (int)(long)arg;
    current_worker = worker; /* a helper only ever runs tasks */
    /* Started by a loop before it is published (generation >= 1), which
     * counts on it: the first generation it sees is its own. */
    unsigned long seen = 0;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (pool.generation == seen) /* also absorbs spurious wakeups */
            pthread_cond_wait(&pool.start, &pool.lock);
        seen = pool.generation;
        if (worker > pool.participants)
            continue; /* not counted in this loop's `busy` */
        pthread_mutex_unlock(&pool.lock);
        run_tasks(worker);
        pthread_mutex_lock(&pool.lock);
        if (--pool.busy == 0)
            pthread_cond_signal(&pool.done);
    }
    return NULL;
}

/* Starts helpers up to workers - 1; returns how many are running. */
static int start_helpers_locked(void)
{
    while (pool.helpers < pool.workers - 1) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attr, helper_main, (void *)(long)(pool.helpers + 1));
        pthread_attr_destroy(&attr);
        if (failed)
            break; /* fewer threads only make the loops slower */
        pool.helpers++;
    }
    return pool.helpers < pool.workers - 1 ? pool.helpers : pool.workers - 1;
}

static void run_strided(int n_tasks, int first, int stride, nst_parallel_fn fn, void *ctx)
{
    if (current_worker >= 0) {
        /* A loop from inside a task: the pool is busy with the outer loop
         * (whose caller holds `loop`), so this thread runs it alone, as the
         * worker it already is: no other thread uses that worker's scratch. */
        for (int task = first; task < n_tasks; task += stride)
            fn(ctx, task, current_worker);
        return;
    }
    pthread_mutex_lock(&pool.loop);
    pthread_mutex_lock(&pool.lock);
    init_locked();
    int helpers = pool.workers > 1 && n_tasks - first > stride ? start_helpers_locked() : 0;
    pool.fn = fn, pool.ctx = ctx, pool.n_tasks = n_tasks, pool.first = first, pool.stride = stride;
    atomic_store(&pool.next, 0);
    if (helpers > 0) {
        pool.participants = pool.busy = helpers;
        pool.generation++;
        pthread_cond_broadcast(&pool.start);
    }
    pthread_mutex_unlock(&pool.lock);

    current_worker = 0;
    run_tasks(0);
    current_worker = -1;

    pthread_mutex_lock(&pool.lock);
    while (pool.busy > 0)
        pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
    pthread_mutex_unlock(&pool.loop);
}

void nst_parallel_for(int n_tasks, nst_parallel_fn fn, void *ctx)
{
    run_strided(n_tasks, 0, 1, fn, ctx);
}

void nst_parallel_for_alternating(int n_tasks, nst_parallel_fn fn, void *ctx)
{
    run_strided(n_tasks, 0, 2, fn, ctx);
    run_strided(n_tasks, 1, 2, fn, ctx);
}
