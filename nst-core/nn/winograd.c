#include "nn/winograd.h"

#include <cblas.h>
#include <string.h>

#include "base/error.h"
#include "base/parallel.h"

enum {
    TILE = 4,         /* outputs per tile side */
    PATCH = 6,        /* inputs per tile side */
    POINTS = 36,      /* PATCH x PATCH transformed points: one GEMM each */
    /* Below, the GEMMs are too thin to beat im2col (SqueezeNet's 16-channel
     * fires).  At 64 channels Winograd is about as fast as im2col or a little
     * slower (one layer, best of 5: 64 ch at 224^2, 33 vs 27 ms; at 128 ch and
     * more it wins: 112^2, 19 vs 21 ms; 512 ch at 64^2, 66 vs 86 ms), but its
     * workspace is bounded while im2col's grows with the plane (VGG19's
     * conv1_2 at 512^2: 600 MB; peak RSS 866 vs 1413 MiB in bench/run.py). */
    MIN_CHANNELS = 32,
    /* Smaller planes keep im2col although Winograd is ~1.4x faster there too
     * (512 ch at 28^2: 12 vs 18 ms): its rounding (~1e-5 of a layer's largest
     * output against im2col's ~1e-7) flips ReLU and max-pool choices at
     * near-ties on such coarse planes often enough to move the image gradient
     * by ~1e-2 (tests/model's 48x80 VGGs against PyTorch), and the time at
     * stake there is a small part of an evaluation. */
    MIN_PIXELS = 64 * 64,
    SCRATCH_ROWS = 16
};

/* V and M of one worker's chunk together stay near this many floats (16 MB):
 * large enough for efficient GEMMs that repack U less often (8 MB was 5 %
 * slower on VGG19 at 512^2), small enough for the last-level cache. */
static const size_t chunk_budget_floats = (size_t)4 << 20;

/* ---- the 1-D transforms of F(4, 3) (points 0, +-1, +-2, infinity), on strided vectors ---- */

/* out[6] = G in[3] */
static void g_apply(const float *in, int is, float *out, int os)
{
    float g0 = in[0], g1 = in[is], g2 = in[2 * is];
    out[0] = g0 * 0.25f;
    out[os] = -(g0 + g1 + g2) * (1.0f / 6.0f);
    out[2 * os] = -(g0 - g1 + g2) * (1.0f / 6.0f);
    out[3 * os] = g0 * (1.0f / 24.0f) + g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
    out[4 * os] = g0 * (1.0f / 24.0f) - g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
    out[5 * os] = g2;
}

/* The other four transforms run element-wise along whole rows (one column
 * of tiles per element), so that the compiler vectorises them; they are
 * compiled for AVX2 and AVX-512 too and picked at load time.  Same rounding
 * in every clone: ISO C mode keeps a*b+c unfused. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define SANITIZED 1
#endif
#endif
/* Sanitizers instrument the clones' resolvers, which run before they start. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute) && !defined(SANITIZED)
#if __has_attribute(target_clones)
#define ROW_KERNEL __attribute__((target_clones("default", "avx2", "arch=x86-64-v4")))
#endif
#endif
#ifndef ROW_KERNEL
#define ROW_KERNEL
#endif

/* o_k[p] = (B^T d[p])_k, p < n */
ROW_KERNEL static void bt_rows(int n, const float *restrict d0, const float *restrict d1, const float *restrict d2,
                               const float *restrict d3, const float *restrict d4, const float *restrict d5,
                               float *restrict o0, float *restrict o1, float *restrict o2, float *restrict o3,
                               float *restrict o4, float *restrict o5)
{
    for (int p = 0; p < n; p++) {
        o0[p] = 4.0f * d0[p] - 5.0f * d2[p] + d4[p];
        o1[p] = -4.0f * (d1[p] + d2[p]) + d3[p] + d4[p];
        o2[p] = 4.0f * (d1[p] - d2[p]) - d3[p] + d4[p];
        o3[p] = 2.0f * (d3[p] - d1[p]) - d2[p] + d4[p];
        o4[p] = 2.0f * (d1[p] - d3[p]) - d2[p] + d4[p];
        o5[p] = 4.0f * d1[p] - 5.0f * d3[p] + d5[p];
    }
}

/* o_k[p] = (B u[p])_k, the adjoint of bt_rows */
ROW_KERNEL static void b_rows(int n, const float *restrict u0, const float *restrict u1, const float *restrict u2,
                              const float *restrict u3, const float *restrict u4, const float *restrict u5,
                              float *restrict o0, float *restrict o1, float *restrict o2, float *restrict o3,
                              float *restrict o4, float *restrict o5)
{
    for (int p = 0; p < n; p++) {
        o0[p] = 4.0f * u0[p];
        o1[p] = 4.0f * (u2[p] - u1[p]) + 2.0f * (u4[p] - u3[p]) + 4.0f * u5[p];
        o2[p] = -5.0f * u0[p] - 4.0f * (u1[p] + u2[p]) - u3[p] - u4[p];
        o3[p] = u1[p] - u2[p] + 2.0f * (u3[p] - u4[p]) - 5.0f * u5[p];
        o4[p] = u0[p] + u1[p] + u2[p] + u3[p] + u4[p];
        o5[p] = u5[p];
    }
}

/* o_k[p] = (A^T m[p])_k */
ROW_KERNEL static void at_rows(int n, const float *restrict m0, const float *restrict m1, const float *restrict m2,
                               const float *restrict m3, const float *restrict m4, const float *restrict m5,
                               float *restrict o0, float *restrict o1, float *restrict o2, float *restrict o3)
{
    for (int p = 0; p < n; p++) {
        float s12 = m1[p] + m2[p], d12 = m1[p] - m2[p], s34 = m3[p] + m4[p], d34 = m3[p] - m4[p];
        o0[p] = m0[p] + s12 + s34;
        o1[p] = d12 + 2.0f * d34;
        o2[p] = s12 + 4.0f * s34;
        o3[p] = d12 + 8.0f * d34 + m5[p];
    }
}

/* o_k[p] = (A v[p])_k, the adjoint of at_rows */
ROW_KERNEL static void a_rows(int n, const float *restrict v0, const float *restrict v1, const float *restrict v2,
                              const float *restrict v3, float *restrict o0, float *restrict o1, float *restrict o2,
                              float *restrict o3, float *restrict o4, float *restrict o5)
{
    for (int p = 0; p < n; p++) {
        o0[p] = v0[p];
        o1[p] = v0[p] + v1[p] + v2[p] + v3[p];
        o2[p] = v0[p] - v1[p] + v2[p] - v3[p];
        o3[p] = v0[p] + 2.0f * v1[p] + 4.0f * v2[p] + 8.0f * v3[p];
        o4[p] = v0[p] - 2.0f * v1[p] + 4.0f * v2[p] - 8.0f * v3[p];
        o5[p] = v3[p];
    }
}

int nst_winograd_computes(const nst_conv_desc *d)
{
    return d->kernel_h == 3 && d->kernel_w == 3 && d->stride == 1 && d->pad <= 2;
}

int nst_winograd_applies(const nst_conv_desc *d, int in_h, int in_w)
{
    size_t out_h = (size_t)nst_conv_out_size(in_h, 3, 1, d->pad), out_w = (size_t)nst_conv_out_size(in_w, 3, 1, d->pad);
    return nst_winograd_computes(d) && d->in_channels >= MIN_CHANNELS && out_h * out_w >= MIN_PIXELS;
}

size_t nst_winograd_weight_floats(const nst_conv_desc *d)
{
    size_t pairs, total;
    if (!nst_size_mul((size_t)d->out_channels, (size_t)d->in_channels, &pairs) ||
        !nst_size_mul(pairs, POINTS, &total))
        return SIZE_MAX;
    return total;
}

/* U = G g G^T for every (out, in) pair: U[point][out][in]. */
void nst_winograd_transform_weights(const nst_conv_desc *d, const float *weight, float *u)
{
    size_t pairs = (size_t)d->out_channels * d->in_channels;
    for (size_t p = 0; p < pairs; p++) {
        float t[PATCH * 3], point[POINTS];
        for (int j = 0; j < 3; j++)
            g_apply(weight + 9 * p + j, 3, t + j, 3);
        for (int i = 0; i < PATCH; i++)
            g_apply(t + 3 * i, 1, point + PATCH * i, 1);
        for (int k = 0; k < POINTS; k++)
            u[k * pairs + p] = point[k];
    }
}

/* ---- tiling: 4x4 output tiles, chunks of whole tile rows, one chunk per task ---- */

typedef struct tiling {
    int in_h, in_w, out_h, out_w, pad, in_c, out_c;
    nst_padding mode;
    int tiles_w, tile_rows;
    int n_chunks;   /* chunk i holds tile rows nst_parallel_range(tile_rows, n_chunks, i) */
    int chunk;      /* most tiles in a chunk: the row length of V and M */
    int row_floats; /* length of one scratch row: TILE * tiles_w + 2 */
    size_t worker_floats; /* one worker's V, M and scratch rows */
} tiling;

static tiling tiling_for(const nst_conv_desc *d, int in_h, int in_w)
{
    tiling t;
    t.in_h = in_h, t.in_w = in_w, t.pad = d->pad, t.mode = d->pad_mode;
    t.in_c = d->in_channels, t.out_c = d->out_channels;
    t.out_h = nst_conv_out_size(in_h, 3, 1, d->pad);
    t.out_w = nst_conv_out_size(in_w, 3, 1, d->pad);
    t.tiles_w = (t.out_w + TILE - 1) / TILE;
    t.tile_rows = (t.out_h + TILE - 1) / TILE;
    size_t per_row = (size_t)POINTS * ((size_t)t.in_c + t.out_c) * (size_t)(t.tiles_w > 0 ? t.tiles_w : 1);
    /* at least one tile row per chunk; the backward alternates */
    t.n_chunks = nst_parallel_blocks(t.tile_rows, chunk_budget_floats / per_row, t.tile_rows);
    t.chunk = (t.tile_rows + t.n_chunks - 1) / t.n_chunks * t.tiles_w;
    t.row_floats = TILE * t.tiles_w + 2;
    t.worker_floats = (size_t)POINTS * ((size_t)t.in_c + t.out_c) * (size_t)t.chunk +
                      (size_t)SCRATCH_ROWS * (size_t)t.row_floats;
    return t;
}

size_t nst_winograd_workspace_floats(const nst_conv_desc *d, int in_h, int in_w)
{
    tiling t = tiling_for(d, in_h, in_w);
    size_t total;
    /* tiling_for's products are bounded by the chunk budget and the picture's width */
    if (!nst_size_mul(t.worker_floats, (size_t)nst_parallel_max_workers(), &total))
        return SIZE_MAX;
    return total;
}

/* Row (point, channel) of the per-point matrices [36][channels][chunk]. */
static float *point_row(float *base, int point, int channels, int channel, const tiling *t)
{
    return base + ((size_t)point * channels + channel) * t->chunk;
}

/* dst[0 .. len) = row y of the plane padded by `pad` with `mode`:
 * dst[p] = plane[y][p - pad], zero past the padded picture (those columns
 * and rows only feed outputs that are cut off). */
static void load_padded_row(const float *plane, int h, int w, int y, int pad, nst_padding mode, int len, float *dst)
{
    memset(dst, 0, (size_t)len * sizeof *dst);
    int sy = y >= -pad && y < h + pad ? nst_padded_source(y, h, mode) : -1;
    if (sy < 0)
        return;
    const float *src = plane + (size_t)sy * w;
    int n = w < len - pad ? w : len - pad;
    if (n > 0)
        memcpy(dst + pad, src, (size_t)n * sizeof *dst);
    if (mode == NST_PAD_ZERO)
        return;
    for (int p = 0; p < pad && p < len; p++)
        dst[p] = src[nst_padded_source(p - pad, w, mode)];
    for (int p = w + pad; p < w + 2 * pad && p < len; p++)
        dst[p] = src[nst_padded_source(p - pad, w, mode)];
}

/* The adjoint of load_padded_row: row y of the plane += src folded back. */
static void add_padded_row(float *plane, int h, int w, int y, int pad, nst_padding mode, int len, const float *src)
{
    int sy = y >= -pad && y < h + pad ? nst_padded_source(y, h, mode) : -1;
    if (sy < 0)
        return;
    float *dst = plane + (size_t)sy * w;
    int hi = w + pad < len ? w + pad : len;
    for (int p = pad; p < hi; p++)
        dst[p - pad] += src[p];
    if (mode == NST_PAD_ZERO)
        return;
    for (int p = 0; p < pad && p < len; p++)
        dst[nst_padded_source(p - pad, w, mode)] += src[p];
    for (int p = w + pad; p < w + 2 * pad && p < len; p++)
        dst[nst_padded_source(p - pad, w, mode)] += src[p];
}

/* phase[q][tx] = row[TILE * tx + q] for tx <= tiles_w: the tile columns of
 * a row as TILE separate rows (the last entry is the next tile's start). */
static void split_phases(const tiling *t, const float *row, float *phase)
{
    int n = t->tiles_w + 1;
    for (int tx = 0; tx < t->tiles_w; tx++)
        for (int q = 0; q < TILE; q++)
            phase[q * n + tx] = row[TILE * tx + q];
    for (int q = 0; q < TILE; q++)
        phase[q * n + t->tiles_w] = q < PATCH - TILE ? row[TILE * t->tiles_w + q] : 0.0f;
}

/* Row j of the per-point matrices for patch row i (point 6 i + j). */
static float *point_of(float *row, size_t point_stride, int i, int j)
{
    return row + (size_t)(PATCH * i + j) * point_stride;
}

/* V = B^T d B for one channel and tile row: down the columns of six padded
 * rows at once, then across the tiles of each. */
static void input_transform_row(const tiling *t, const float *plane, int ty, float *rows, float *v_row,
                                size_t point_stride)
{
    int len = t->row_floats, tw = t->tiles_w, n = tw + 1;
    float *r = rows, *c = rows + PATCH * len, *ph = rows + 2 * PATCH * len;
    for (int k = 0; k < PATCH; k++)
        load_padded_row(plane, t->in_h, t->in_w, TILE * ty - t->pad + k, t->pad, t->mode, len, r + k * len);
    bt_rows(len, r, r + len, r + 2 * len, r + 3 * len, r + 4 * len, r + 5 * len, c, c + len, c + 2 * len,
            c + 3 * len, c + 4 * len, c + 5 * len);
    for (int i = 0; i < PATCH; i++) {
        split_phases(t, c + i * len, ph);
        /* patch column j of tile tx is phase j % 4 at tx + j / 4 */
        bt_rows(tw, ph, ph + n, ph + 2 * n, ph + 3 * n, ph + 1, ph + n + 1, point_of(v_row, point_stride, i, 0),
                point_of(v_row, point_stride, i, 1), point_of(v_row, point_stride, i, 2),
                point_of(v_row, point_stride, i, 3), point_of(v_row, point_stride, i, 4),
                point_of(v_row, point_stride, i, 5));
    }
}

/* out[TILE * tx + q] = phase[q][tx]: TILE rows of tiles_w back into one row. */
static void join_phases(const tiling *t, const float *phase, float *out)
{
    for (int tx = 0; tx < t->tiles_w; tx++)
        for (int q = 0; q < TILE; q++)
            out[TILE * tx + q] = phase[q * t->tiles_w + tx];
}

/* Y = A^T m A for one output channel and tile row, plus bias, optionally
 * ReLU, into y rows 4 ty ... 4 ty + 3: down the patch columns (six points
 * at a time), then across. */
static void output_transform_row(const tiling *t, float *m_row, size_t point_stride, int ty, float bias, int relu,
                                 float *plane, float *rows)
{
    int tw = t->tiles_w;
    float *half = rows;                      /* half[oy][j] rows of tw: 24 */
    float *quad = half + TILE * PATCH * tw;  /* quad[ox] rows of tw: 4 */
    float *out = quad + TILE * tw;           /* one output row of TILE * tw */
    for (int j = 0; j < PATCH; j++)
        at_rows(tw, point_of(m_row, point_stride, 0, j), point_of(m_row, point_stride, 1, j),
                point_of(m_row, point_stride, 2, j), point_of(m_row, point_stride, 3, j),
                point_of(m_row, point_stride, 4, j), point_of(m_row, point_stride, 5, j), half + j * tw,
                half + (PATCH + j) * tw, half + (2 * PATCH + j) * tw, half + (3 * PATCH + j) * tw);
    for (int oy = 0; oy < TILE && TILE * ty + oy < t->out_h; oy++) {
        const float *h = half + oy * PATCH * tw;
        at_rows(tw, h, h + tw, h + 2 * tw, h + 3 * tw, h + 4 * tw, h + 5 * tw, quad, quad + tw, quad + 2 * tw,
                quad + 3 * tw);
        join_phases(t, quad, out);
        float *y = plane + (size_t)(TILE * ty + oy) * t->out_w;
        for (int ox = 0; ox < t->out_w; ox++) {
            float value = out[ox] + bias;
            /* `< 0 ? 0 :` keeps NaN, as nst_relu_forward does */
            y[ox] = relu && value < 0.0f ? 0.0f : value;
        }
    }
}

/* dm = A dy A^T for one output channel and tile row (dy is zero past the picture). */
static void gradient_transform_row(const tiling *t, const float *plane, int ty, float *rows, float *m_row,
                                   size_t point_stride)
{
    int len = t->row_floats, tw = t->tiles_w, n = tw + 1;
    float *d = rows, *u = rows + TILE * len, *ph = u + PATCH * len;
    for (int k = 0; k < TILE; k++)
        load_padded_row(plane, t->out_h, t->out_w, TILE * ty + k, 0, NST_PAD_ZERO, len, d + k * len);
    a_rows(len, d, d + len, d + 2 * len, d + 3 * len, u, u + len, u + 2 * len, u + 3 * len, u + 4 * len,
           u + 5 * len);
    for (int i = 0; i < PATCH; i++) {
        split_phases(t, u + i * len, ph);
        a_rows(tw, ph, ph + n, ph + 2 * n, ph + 3 * n, point_of(m_row, point_stride, i, 0),
               point_of(m_row, point_stride, i, 1), point_of(m_row, point_stride, i, 2),
               point_of(m_row, point_stride, i, 3), point_of(m_row, point_stride, i, 4),
               point_of(m_row, point_stride, i, 5));
    }
}

/* dx += B dv B^T for one input channel and tile row: across the tiles into
 * six padded rows (neighbouring patches overlap by two columns), then down
 * the columns into dx rows 4 ty - pad ... + 5. */
static void input_gradient_row(const tiling *t, float *v_row, size_t point_stride, int ty, float *plane,
                               float *rows)
{
    int len = t->row_floats, tw = t->tiles_w;
    float *e = rows, *col = rows + PATCH * len, *o = rows + 2 * PATCH * len; /* o: six rows of tw */
    for (int i = 0; i < PATCH; i++) {
        b_rows(tw, point_of(v_row, point_stride, i, 0), point_of(v_row, point_stride, i, 1),
               point_of(v_row, point_stride, i, 2), point_of(v_row, point_stride, i, 3),
               point_of(v_row, point_stride, i, 4), point_of(v_row, point_stride, i, 5), o, o + tw, o + 2 * tw,
               o + 3 * tw, o + 4 * tw, o + 5 * tw);
        /* patch column j of tile tx lands at TILE * tx + j: columns 4 and 5
         * of a tile add onto columns 0 and 1 of the next */
        float *ei = e + i * len;
        for (int tx = 0; tx < tw; tx++)
            for (int q = 0; q < TILE; q++)
                ei[TILE * tx + q] = o[q * tw + tx] + (q < PATCH - TILE && tx > 0 ? o[(q + TILE) * tw + tx - 1] : 0.0f);
        for (int q = 0; q < PATCH - TILE; q++)
            ei[TILE * tw + q] = tw > 0 ? o[(q + TILE) * tw + tw - 1] : 0.0f;
    }
    b_rows(len, e, e + len, e + 2 * len, e + 3 * len, e + 4 * len, e + 5 * len, col, col + len, col + 2 * len,
           col + 3 * len, col + 4 * len, col + 5 * len);
    for (int k = 0; k < PATCH; k++)
        add_padded_row(plane, t->in_h, t->in_w, TILE * ty - t->pad + k, t->pad, t->mode, len, col + k * len);
}

/* One pass: a row transform from `src` planes into the per-point matrices
 * (one GEMM operand), the 36 GEMMs, a row transform of the result into `dst`
 * planes.  Forward: x -> V, M = U V, M -> y.  Backward: dy -> dM,
 * dV = U^T dM, dV -> dx. */
typedef struct pass {
    int backward;
    const float *src;
    float *dst;
    const float *bias; /* forward only */
    int relu;          /* forward only */
} pass;

static void output_row(const tiling *t, const pass *p, int channel, float *row, size_t stride, int ty,
                       float *plane, float *rows)
{
    if (p->backward)
        input_gradient_row(t, row, stride, ty, plane, rows);
    else
        output_transform_row(t, row, stride, ty, p->bias ? p->bias[channel] : 0.0f, p->relu, plane, rows);
}

typedef struct pass_job {
    tiling t;
    const float *u;
    float *workspace;
    const pass *p;
} pass_job;

/* One chunk of tile rows on one worker's V, M and scratch rows. */
static void run_chunk(void *ctx, int chunk, int worker)
{
    const pass_job *job = ctx;
    const tiling *t = &job->t;
    const pass *p = job->p;
    int first, last;
    nst_parallel_range(t->tile_rows, t->n_chunks, chunk, &first, &last);
    int n_rows = last - first, n = n_rows * t->tiles_w;
    if (n == 0)
        return;
    int src_c = p->backward ? t->out_c : t->in_c, dst_c = p->backward ? t->in_c : t->out_c;
    size_t src_plane = p->backward ? (size_t)t->out_h * t->out_w : (size_t)t->in_h * t->in_w;
    size_t dst_plane = p->backward ? (size_t)t->in_h * t->in_w : (size_t)t->out_h * t->out_w;
    float *a = job->workspace + (size_t)worker * t->worker_floats;
    float *b = a + (size_t)POINTS * src_c * t->chunk, *rows = b + (size_t)POINTS * dst_c * t->chunk;
    size_t pairs = (size_t)t->in_c * t->out_c, a_stride = (size_t)src_c * t->chunk,
           b_stride = (size_t)dst_c * t->chunk;
    for (int c = 0; c < src_c; c++)
        for (int r = 0; r < n_rows; r++) {
            float *row = point_row(a, 0, src_c, c, t) + r * t->tiles_w;
            if (p->backward)
                gradient_transform_row(t, p->src + c * src_plane, first + r, rows, row, a_stride);
            else
                input_transform_row(t, p->src + c * src_plane, first + r, rows, row, a_stride);
        }
    /* U[point] is [out_c][in_c]; the backward multiplies by its transpose. */
    for (int k = 0; k < POINTS; k++)
        cblas_sgemm(CblasRowMajor, p->backward ? CblasTrans : CblasNoTrans, CblasNoTrans, dst_c, n, src_c, 1.0f,
                    job->u + k * pairs, t->in_c, point_row(a, k, src_c, 0, t), t->chunk, 0.0f,
                    point_row(b, k, dst_c, 0, t), t->chunk);
    for (int c = 0; c < dst_c; c++)
        for (int r = 0; r < n_rows; r++)
            output_row(t, p, c, point_row(b, 0, dst_c, c, t) + r * t->tiles_w, b_stride, first + r,
                       p->dst + c * dst_plane, rows);
}

static void run_pass(const nst_conv_desc *d, int in_h, int in_w, const float *u, float *workspace, const pass *p)
{
    pass_job job = {tiling_for(d, in_h, in_w), u, workspace, p};
    /* Forward chunks write disjoint output rows; backward ones add into
     * input rows shared with their neighbours (patches overlap by two), so
     * even and odd chunks take turns. */
    if (p->backward)
        nst_parallel_for_alternating(job.t.n_chunks, run_chunk, &job);
    else
        nst_parallel_for(job.t.n_chunks, run_chunk, &job);
}

void nst_winograd_forward(const nst_conv_desc *d, int in_h, int in_w, const float *x, const float *u,
                          const float *bias, int relu, float *y, float *workspace)
{
    pass p = {0, x, y, bias, relu};
    run_pass(d, in_h, in_w, u, workspace, &p);
}

void nst_winograd_backward_input(const nst_conv_desc *d, int in_h, int in_w, const float *dy, const float *u,
                                 float *dx, float *workspace)
{
    pass p = {1, dy, dx, NULL, 0};
    run_pass(d, in_h, in_w, u, workspace, &p);
}
