/* The worker pool (nst-core/base/parallel.c) under what its header allows from
 * several threads at once: loops while another thread changes the worker
 * count, loops from two threads at once, loops started from inside a task,
 * and the worker count changed from inside a task.  Each scenario must finish
 * within DEADLINE seconds (a timed join: a deadlock fails with a message
 * instead of hanging until meson's timeout), and every loop must have run
 * each of its tasks exactly once, on a valid worker, by the time it returns. */
#define _GNU_SOURCE /* pthread_timedjoin_np */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/parallel.h"
#include "test_util.h"

enum { TASKS = 17, LOOPS = 20000, INNER_TASKS = 5, DEADLINE = 30 };

/* One loop's tally; `inside` counts tasks still running. */
typedef struct tally {
    atomic_int runs[TASKS];
    atomic_int inside, bad_worker;
} tally;

/* What a thread running loops found wrong (0: nothing). */
typedef struct loop_result {
    int loops_bad, first_bad_loop;
    char what[120];
} loop_result;

static void count_task(void *ctx, int task, int worker)
{
    tally *t = ctx;
    atomic_fetch_add(&t->inside, 1);
    if (worker < 0 || worker >= nst_parallel_max_workers())
        atomic_store(&t->bad_worker, 1);
    atomic_fetch_add(&t->runs[task], 1);
    atomic_fetch_sub(&t->inside, 1);
}

/* Checks a tally right after its loop returned. */
static void check_tally(tally *t, int loop, loop_result *r)
{
    int once = 1;
    for (int i = 0; i < TASKS; i++)
        once &= atomic_load(&t->runs[i]) == 1;
    const char *wrong = !once                       ? "a task did not run exactly once before the loop returned"
                        : atomic_load(&t->inside)   ? "a task was still running when the loop returned"
                        : atomic_load(&t->bad_worker) ? "a worker index out of range"
                                                      : NULL;
    if (wrong && r->loops_bad++ == 0) {
        r->first_bad_loop = loop;
        snprintf(r->what, sizeof r->what, "%s", wrong);
    }
}

static void run_loops(loop_result *r)
{
    static _Thread_local tally t;
    for (int loop = 0; loop < LOOPS; loop++) {
        memset(&t, 0, sizeof t);
        if (loop % 2)
            nst_parallel_for_alternating(TASKS, count_task, &t);
        else
            nst_parallel_for(TASKS, count_task, &t);
        check_tally(&t, loop, r);
    }
}

static void *loops_thread(void *arg)
{
    run_loops(arg);
    return NULL;
}

/* Changes the worker count (1, 2, .., max, 1, ..) until *stop. */
static void *worker_count_thread(void *arg)
{
    atomic_int *stop = arg;
    int max = nst_parallel_max_workers();
    for (int i = 0; !atomic_load(stop); i++)
        nst_parallel_set_workers(1 + i % max);
    nst_parallel_set_workers(0);
    return NULL;
}

static void report(const char *scenario, const loop_result *r)
{
    CHECK(r->loops_bad == 0, "%s: %d of %d loops wrong, first loop %d: %s", scenario, r->loops_bad, LOOPS,
          r->first_bad_loop, r->what);
}

/* The probe: one thread runs loops while another changes the count. */
static void loops_while_count_changes(void)
{
    loop_result r = {0};
    atomic_int stop = 0;
    pthread_t loops, count;
    pthread_create(&loops, NULL, loops_thread, &r);
    pthread_create(&count, NULL, worker_count_thread, &stop);
    pthread_join(loops, NULL);
    atomic_store(&stop, 1);
    pthread_join(count, NULL);
    report("loops while the worker count changes", &r);
}

/* Two threads run loops (they take turns), a third changes the count. */
static void loops_from_two_threads(void)
{
    loop_result r[2] = {{0}};
    atomic_int stop = 0;
    pthread_t loops[2], count;
    for (int i = 0; i < 2; i++)
        pthread_create(&loops[i], NULL, loops_thread, &r[i]);
    pthread_create(&count, NULL, worker_count_thread, &stop);
    for (int i = 0; i < 2; i++)
        pthread_join(loops[i], NULL);
    atomic_store(&stop, 1);
    pthread_join(count, NULL);
    report("loops from two threads, first", &r[0]);
    report("loops from two threads, second", &r[1]);
}

/* An outer loop whose tasks run inner loops and change the worker count. */
typedef struct nest {
    atomic_int inner_runs, wrong_worker, outer_runs;
} nest;

typedef struct inner_ctx {
    nest *n;
    int worker;
} inner_ctx;

static void inner_task(void *ctx, int task, int worker)
{
    inner_ctx *c = ctx;
    (void)task;
    atomic_fetch_add(&c->n->inner_runs, 1);
    if (worker != c->worker) /* the header promises the outer task's worker */
        atomic_store(&c->n->wrong_worker, 1);
}

static void outer_task(void *ctx, int task, int worker)
{
    inner_ctx c = {ctx, worker};
    nst_parallel_for(INNER_TASKS, inner_task, &c);
    nst_parallel_for_alternating(INNER_TASKS, inner_task, &c);
    if (task % 3 == 0)
        nst_parallel_set_workers(task % 2 ? 1 : 0);
    atomic_fetch_add(&c.n->outer_runs, 1);
}

static void nested_loops(void)
{
    static nest n;
    int loops = LOOPS / 10, wrong = 0;
    for (int loop = 0; loop < loops; loop++) {
        memset(&n, 0, sizeof n);
        nst_parallel_for(TASKS, outer_task, &n);
        wrong += atomic_load(&n.outer_runs) != TASKS || atomic_load(&n.inner_runs) != TASKS * 2 * INNER_TASKS ||
                 atomic_load(&n.wrong_worker);
    }
    nst_parallel_set_workers(0);
    CHECK(wrong == 0, "nested loops: %d of %d outer loops ran the wrong tasks or workers", wrong, loops);
}

typedef struct scenario {
    const char *name;
    void (*run)(void);
} scenario;

static void *scenario_thread(void *arg)
{
    ((const scenario *)arg)->run();
    return NULL;
}

/* Runs a scenario with a deadline; 0 when it hung (the caller must stop:
 * its threads still hold the pool). */
static int within_deadline(const scenario *s)
{
    pthread_t thread;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += DEADLINE;
    pthread_create(&thread, NULL, scenario_thread, (void *)s);
    int hung = pthread_timedjoin_np(thread, NULL, &deadline) != 0;
    CHECK(!hung, "%s: not finished after %d s, the pool deadlocked", s->name, DEADLINE);
    return !hung;
}

/* Optional argument: run only the scenarios whose name contains it. */
int main(int argc, char **argv)
{
    static const scenario scenarios[] = {
        {"loops while the worker count changes", loops_while_count_changes},
        {"loops from two threads", loops_from_two_threads},
        {"nested loops", nested_loops},
    };
    printf("%d workers at most\n", nst_parallel_max_workers());
    for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++)
        if ((argc < 2 || strstr(scenarios[i].name, argv[1])) && !within_deadline(&scenarios[i]))
            break;
    return test_finish("pool threads");
}
