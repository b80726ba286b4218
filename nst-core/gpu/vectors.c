/* The optimisers' vector passes on the device (gpu/vectors.h). */
#include "gpu/vectors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/kernels.h"

/* shaders/optim_vectors.comp's own ops: resetting the results, and the
 * two-loop's pieces the HISTORY passes are made of. */
enum { OP_INIT = 0, OP_HISTORY_START = 13, OP_PAIR_COEF = 14, OP_PAIR_AXPY = 15, OP_SCALE_GAMMA = 16 };
/* The results buffer: three float sums, then the first non-finite index,
 * the largest |g|'s bits and the count, the pairs used; then gamma and
 * two words (rho, s.q) per pair, which stay on the device. */
enum { SLOT_FIRST_BAD = 3, SLOT_LARGEST = 4, SLOT_MOVED = 5, SLOT_USED = 6, RESULT_WORDS = 7, SLOT_PAIRS = 8 };
/* The longest pass: HISTORY_FIRST's dots, three sums, coefficients, axpy. */
#define MAX_LAUNCHES 6

/* A pass's sequence, kept for the next pass of the same op on the same
 * buffers: only its push constants change, so no descriptor set is
 * allocated once the optimiser has been through its first steps. */
typedef struct cached_pass {
    int op, use_mask, with_result, slot;
    nst_gpu_buffer *buffers[5];
    nst_gpu_seq *seq;
} cached_pass;

struct nst_gpu_vectors {
    nst_gpu *gpu;
    size_t n;
    float lower, upper;
    size_t groups;
    nst_gpu_buffer *held, *partials, *results;
    nst_gpu_seq *seq; /* for passes the cache has no room for */
    cached_pass *cache;
    int cached, capacity;
};

typedef struct vec_push {
    int32_t count, op, use_mask, n_groups;
    float lower, upper, p[5];
} vec_push;

nst_gpu_vectors *nst_gpu_vectors_new(nst_gpu *gpu, size_t n, float lower, float upper, int pairs, int max_passes,
                                     nst_error *err)
{
    nst_gpu_vectors *v = nst_alloc_zero(1, sizeof *v, "the GPU optimiser's scratch", err);
    if (!v)
        return NULL;
    *v = (nst_gpu_vectors){.gpu = gpu, .n = n, .lower = lower, .upper = upper, .groups = nst_gpu_partials(n)};
    v->held = nst_gpu_buffer_new(gpu, n * sizeof(uint32_t), err);
    v->partials = v->held ? nst_gpu_buffer_new(gpu, 3 * v->groups * sizeof(float), err) : NULL;
    size_t words = SLOT_PAIRS + 2 * (size_t)(pairs > 0 ? pairs : 0);
    v->results = v->partials ? nst_gpu_buffer_new_readback(gpu, words * sizeof(uint32_t), err) : NULL;
    v->seq = v->results ? nst_gpu_seq_new(gpu, MAX_LAUNCHES, err) : NULL;
    v->capacity = max_passes > 0 ? max_passes : 0;
    v->cache = v->seq && v->capacity ? nst_alloc_zero((size_t)v->capacity, sizeof *v->cache, "GPU passes", err) : NULL;
    if (!v->seq || (v->capacity && !v->cache)) {
        nst_gpu_vectors_free(v);
        return NULL;
    }
    return v;
}

void nst_gpu_vectors_free(nst_gpu_vectors *v)
{
    if (!v)
        return;
    nst_gpu_seq_free(v->seq);
    for (int k = 0; k < v->cached; k++)
        nst_gpu_seq_free(v->cache[k].seq);
    free(v->cache);
    nst_gpu_buffer_free(v->gpu, v->held);
    nst_gpu_buffer_free(v->gpu, v->partials);
    nst_gpu_buffer_free(v->gpu, v->results);
    free(v);
}

static int has_sums(nst_gpu_vec_op op)
{
    return op == NST_GPU_VEC_DOTS || op == NST_GPU_VEC_PROJECT_TRIAL || op == NST_GPU_VEC_DIFF_DOTS;
}

/* A pass made of several shader ops, each with its own constants. */
static int is_history_pair(nst_gpu_vec_op op)
{
    return op == NST_GPU_VEC_HISTORY_FIRST || op == NST_GPU_VEC_HISTORY_SECOND;
}

/* The shader's op for the single-launch passes. */
static int shader_op(nst_gpu_vec_op op)
{
    if (op == NST_GPU_VEC_HISTORY_START)
        return OP_HISTORY_START;
    return op == NST_GPU_VEC_HISTORY_GAMMA ? OP_SCALE_GAMMA : (int)op;
}

static vec_push push_for(const nst_gpu_vectors *v, int op, const nst_gpu_vec_args *args)
{
    vec_push pc = {(int32_t)v->n, op, args->use_mask, (int32_t)v->groups, v->lower, v->upper, {0}};
    if (op != OP_INIT)
        memcpy(pc.p, args->p, sizeof pc.p);
    return pc;
}

static nst_status append_pass(nst_gpu_vectors *v, nst_gpu_seq *seq, int op, const nst_gpu_vec_args *args,
                              nst_error *err)
{
    nst_gpu_buffer *any = args->out ? args->out : args->a;
    nst_gpu_buffer *const buffers[8] = {any,
                                        args->a ? args->a : any,
                                        args->b ? args->b : any,
                                        args->c ? args->c : any,
                                        args->d ? args->d : any,
                                        v->held,
                                        v->partials,
                                        v->results};
    vec_push pc = push_for(v, op, args);
    size_t count = op == OP_INIT || op == OP_PAIR_COEF ? 1 : v->n;
    return nst_gpu_optim_vectors(seq, count, buffers, &pc, sizeof pc, err);
}

/* The sums of the DOTS pass just appended into the results' slots 0..2. */
static nst_status append_sums(nst_gpu_vectors *v, nst_gpu_seq *seq, nst_error *err)
{
    nst_status s = NST_OK;
    for (int k = 0; k < 3 && s == NST_OK; k++)
        s = nst_gpu_sum_partials(seq, v->partials, (size_t)k * v->groups, v->groups, v->results, k, err);
    return s;
}

/* HISTORY_FIRST and _SECOND: the pair's dot products, summed on the
 * device, and the update of q by coefficients the device computes. */
static nst_status append_history_pair(nst_gpu_vectors *v, nst_gpu_seq *seq, nst_gpu_vec_op op,
                                      const nst_gpu_vec_args *args, nst_error *err)
{
    int first = op == NST_GPU_VEC_HISTORY_FIRST;
    nst_gpu_buffer *q = args->out, *s_vec = args->a, *y = args->b;
    /* first: s.y, y.y, s.q on the free; second: y.q (the third sum) */
    nst_gpu_vec_args dots = {q, first ? s_vec : y, y, NULL, NULL, first, {0}, 0};
    nst_gpu_vec_args coef = {q, NULL, NULL, NULL, NULL, 0, {(float)args->slot, args->p[0]}, 0};
    nst_gpu_vec_args axpy = {q, first ? y : s_vec, NULL, NULL, NULL, 1, {(float)args->slot, first ? 0.0f : 1.0f}, 0};
    nst_status s = append_pass(v, seq, NST_GPU_VEC_DOTS, &dots, err);
    if (s == NST_OK)
        s = append_sums(v, seq, err);
    if (s == NST_OK && first)
        s = append_pass(v, seq, OP_PAIR_COEF, &coef, err);
    return s == NST_OK ? append_pass(v, seq, OP_PAIR_AXPY, &axpy, err) : s;
}

/* Records the whole pass into seq: INIT (with a result), the pass, the sums. */
static nst_status record_pass(nst_gpu_vectors *v, nst_gpu_seq *seq, nst_gpu_vec_op op, const nst_gpu_vec_args *args,
                              int with_result, nst_error *err)
{
    nst_status s = nst_gpu_seq_clear(seq, err);
    if (s == NST_OK && with_result)
        s = append_pass(v, seq, OP_INIT, args, err);
    if (s == NST_OK && is_history_pair(op))
        return append_history_pair(v, seq, op, args, err);
    if (s == NST_OK)
        s = append_pass(v, seq, shader_op(op), args, err);
    if (s == NST_OK && with_result && has_sums(op))
        s = append_sums(v, seq, err);
    return s;
}

/* The sequence for this pass: a cached one with new push constants, a new
 * cached one, or (the cache full) the spare one recorded again. */
static nst_status sequence_for(nst_gpu_vectors *v, nst_gpu_vec_op op, const nst_gpu_vec_args *args, int with_result,
                               nst_gpu_seq **seq, nst_error *err)
{
    nst_gpu_buffer *key[5] = {args->out, args->a, args->b, args->c, args->d};
    for (int k = 0; k < v->cached; k++) {
        cached_pass *c = &v->cache[k];
        if (c->op == (int)op && c->use_mask == args->use_mask && c->with_result == with_result &&
            c->slot == args->slot && memcmp(c->buffers, key, sizeof key) == 0) {
            *seq = c->seq;
            if (is_history_pair(op)) /* its constants are its key's */
                return NST_OK;
            vec_push pc = push_for(v, shader_op(op), args);
            return nst_gpu_seq_set_push(c->seq, with_result ? 1 : 0, &pc, sizeof pc, err);
        }
    }
    nst_gpu_seq *fresh = v->cached < v->capacity ? nst_gpu_seq_new(v->gpu, MAX_LAUNCHES, err) : NULL;
    *seq = fresh ? fresh : v->seq;
    nst_status s = record_pass(v, *seq, op, args, with_result, err);
    if (fresh && s == NST_OK)
        v->cache[v->cached++] = (cached_pass){
            (int)op, args->use_mask, with_result, args->slot, {key[0], key[1], key[2], key[3], key[4]}, fresh};
    else if (fresh)
        nst_gpu_seq_free(fresh);
    return s;
}

nst_status nst_gpu_vectors_run(nst_gpu_vectors *v, nst_gpu_vec_op op, const nst_gpu_vec_args *args,
                               nst_gpu_vec_result *result, nst_error *err)
{
    nst_gpu_seq *seq = NULL;
    nst_status s = sequence_for(v, op, args, result != NULL, &seq, err);
    if (s == NST_OK && !result)
        return nst_gpu_seq_queue(seq, err); /* nothing to wait for: it runs with the next pass that reads */
    if (s == NST_OK)
        s = nst_gpu_seq_run(seq, err);
    if (s != NST_OK)
        return s;
    uint32_t words[RESULT_WORDS];
    s = nst_gpu_buffer_read(v->gpu, v->results, 0, words, sizeof words, err);
    if (s != NST_OK)
        return s;
    for (int k = 0; k < 3; k++) {
        float sum;
        memcpy(&sum, &words[k], sizeof sum);
        result->sums[k] = has_sums(op) ? sum : 0.0;
    }
    float largest;
    memcpy(&largest, &words[SLOT_LARGEST], sizeof largest);
    result->largest = largest;
    result->first_bad = words[SLOT_FIRST_BAD] == UINT32_MAX ? v->n : words[SLOT_FIRST_BAD];
    result->moved = words[SLOT_MOVED];
    result->used = (int)words[SLOT_USED];
    return NST_OK;
}
