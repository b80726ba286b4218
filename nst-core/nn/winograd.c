#include "nn/winograd.h"

#include <cblas.h>
#include <string.h>

#include "base/error.h"

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

/* V and M of one chunk together stay near this many floats (8 MB), inside the
 * last-level cache and large enough for efficient GEMMs. */
static const size_t chunk_budget_floats = (size_t)2 << 20;

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

/* out[6] = B^T in[6] */
static void bt_apply(const float *in, int is, float *out, int os)
{
    float d0 = in[0], d1 = in[is], d2 = in[2 * is], d3 = in[3 * is], d4 = in[4 * is], d5 = in[5 * is];
    out[0] = 4.0f * d0 - 5.0f * d2 + d4;
    out[os] = -4.0f * (d1 + d2) + d3 + d4;
    out[2 * os] = 4.0f * (d1 - d2) - d3 + d4;
    out[3 * os] = 2.0f * (d3 - d1) - d2 + d4;
    out[4 * os] = 2.0f * (d1 - d3) - d2 + d4;
    out[5 * os] = 4.0f * d1 - 5.0f * d3 + d5;
}

/* out[6] = B in[6], the adjoint of bt_apply */
static void b_apply(const float *in, int is, float *out, int os)
{
    float u0 = in[0], u1 = in[is], u2 = in[2 * is], u3 = in[3 * is], u4 = in[4 * is], u5 = in[5 * is];
    out[0] = 4.0f * u0;
    out[os] = 4.0f * (u2 - u1) + 2.0f * (u4 - u3) + 4.0f * u5;
    out[2 * os] = -5.0f * u0 - 4.0f * (u1 + u2) - u3 - u4;
    out[3 * os] = u1 - u2 + 2.0f * (u3 - u4) - 5.0f * u5;
    out[4 * os] = u0 + u1 + u2 + u3 + u4;
    out[5 * os] = u5;
}

/* out[4] = A^T in[6] */
static void at_apply(const float *in, int is, float *out, int os)
{
    float m0 = in[0], m1 = in[is], m2 = in[2 * is], m3 = in[3 * is], m4 = in[4 * is], m5 = in[5 * is];
    float s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
    out[0] = m0 + s12 + s34;
    out[os] = d12 + 2.0f * d34;
    out[2 * os] = s12 + 4.0f * s34;
    out[3 * os] = d12 + 8.0f * d34 + m5;
}

/* out[6] = A in[4], the adjoint of at_apply */
static void a_apply(const float *in, int is, float *out, int os)
{
    float v0 = in[0], v1 = in[is], v2 = in[2 * is], v3 = in[3 * is];
    out[0] = v0;
    out[os] = v0 + v1 + v2 + v3;
    out[2 * os] = v0 - v1 + v2 - v3;
    out[3 * os] = v0 + 2.0f * v1 + 4.0f * v2 + 8.0f * v3;
    out[4 * os] = v0 - 2.0f * v1 + 4.0f * v2 - 8.0f * v3;
    out[5 * os] = v3;
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

/* ---- tiling: 4x4 output tiles, chunks of whole tile rows ---- */

typedef struct tiling {
    int in_h, in_w, out_h, out_w, pad, in_c, out_c;
    nst_padding mode;
    int tiles_w, tile_rows;
    int rows_per_chunk;
    int chunk;      /* tiles per chunk: the GEMMs' N and the row length of V and M */
    int row_floats; /* length of one scratch row: TILE * tiles_w + 2 */
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
    size_t rows = chunk_budget_floats / per_row;
    if (rows < 1)
        rows = 1;
    t.rows_per_chunk = rows < (size_t)t.tile_rows ? (int)rows : t.tile_rows;
    t.chunk = t.rows_per_chunk * t.tiles_w;
    t.row_floats = TILE * t.tiles_w + 2;
    return t;
}

size_t nst_winograd_workspace_floats(const nst_conv_desc *d, int in_h, int in_w)
{
    tiling t = tiling_for(d, in_h, in_w);
    size_t matrices, scratch;
    if (!nst_size_mul((size_t)POINTS * ((size_t)t.in_c + t.out_c), (size_t)t.chunk, &matrices) ||
        !nst_size_mul(SCRATCH_ROWS, (size_t)t.row_floats, &scratch) || matrices + scratch < matrices)
        return SIZE_MAX;
    return matrices + scratch;
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

/* V = B^T d B for one channel and tile row: down the columns of six padded
 * rows at once, then across each tile. */
static void input_transform_row(const tiling *t, const float *plane, int ty, float *rows, float *v_row,
                                size_t point_stride)
{
    int len = t->row_floats;
    float *r = rows, *c = rows + PATCH * len;
    for (int k = 0; k < PATCH; k++)
        load_padded_row(plane, t->in_h, t->in_w, TILE * ty - t->pad + k, t->pad, t->mode, len, r + k * len);
    for (int p = 0; p < len; p++)
        bt_apply(r + p, len, c + p, len);
    for (int i = 0; i < PATCH; i++) {
        float *v = v_row + (size_t)(PATCH * i) * point_stride;
        for (int tx = 0; tx < t->tiles_w; tx++)
            bt_apply(c + i * len + TILE * tx, 1, v + tx, (int)point_stride);
    }
}

/* Y = A^T m A for one output channel and tile row, plus bias, optionally
 * ReLU, into y rows 4 ty ... 4 ty + 3. */
static void output_transform_row(const tiling *t, const float *m_row, size_t point_stride, int ty, float bias,
                                 int relu, float *plane, float *rows)
{
    int len = t->row_floats;
    float *out = rows; /* out[oy][TILE * tx + ox] */
    for (int tx = 0; tx < t->tiles_w; tx++) {
        float m[POINTS], half[TILE * PATCH];
        for (int k = 0; k < POINTS; k++)
            m[k] = m_row[(size_t)k * point_stride + tx];
        for (int j = 0; j < PATCH; j++)
            at_apply(m + j, PATCH, half + j, PATCH);
        for (int oy = 0; oy < TILE; oy++)
            at_apply(half + PATCH * oy, 1, out + oy * len + TILE * tx, 1);
    }
    for (int oy = 0; oy < TILE && TILE * ty + oy < t->out_h; oy++) {
        float *y = plane + (size_t)(TILE * ty + oy) * t->out_w;
        const float *o = out + oy * len;
        for (int ox = 0; ox < t->out_w; ox++) {
            float value = o[ox] + bias;
            /* `< 0 ? 0 :` keeps NaN, as nst_relu_forward does */
            y[ox] = relu && value < 0.0f ? 0.0f : value;
        }
    }
}

/* dm = A dy A^T for one output channel and tile row (dy is zero past the picture). */
static void gradient_transform_row(const tiling *t, const float *plane, int ty, float *rows, float *m_row,
                                   size_t point_stride)
{
    int len = t->row_floats;
    float *d = rows, *u = rows + TILE * len;
    for (int k = 0; k < TILE; k++)
        load_padded_row(plane, t->out_h, t->out_w, TILE * ty + k, 0, NST_PAD_ZERO, len, d + k * len);
    for (int p = 0; p < len; p++)
        a_apply(d + p, len, u + p, len);
    for (int i = 0; i < PATCH; i++) {
        float *m = m_row + (size_t)(PATCH * i) * point_stride;
        for (int tx = 0; tx < t->tiles_w; tx++)
            a_apply(u + i * len + TILE * tx, 1, m + tx, (int)point_stride);
    }
}

/* dx += B dv B^T for one input channel and tile row: across each tile into
 * six padded rows (neighbouring tiles overlap by two columns), then down the
 * columns into dx rows 4 ty - pad ... + 5. */
static void input_gradient_row(const tiling *t, const float *v_row, size_t point_stride, int ty, float *plane,
                               float *rows)
{
    int len = t->row_floats;
    float *e = rows, *col = rows + PATCH * len;
    memset(e, 0, (size_t)PATCH * len * sizeof *e);
    for (int i = 0; i < PATCH; i++) {
        const float *v = v_row + (size_t)(PATCH * i) * point_stride;
        float *ei = e + i * len;
        for (int tx = 0; tx < t->tiles_w; tx++) {
            float in[PATCH], out[PATCH];
            for (int j = 0; j < PATCH; j++)
                in[j] = v[(size_t)j * point_stride + tx];
            b_apply(in, 1, out, 1);
            for (int j = 0; j < PATCH; j++)
                ei[TILE * tx + j] += out[j];
        }
    }
    for (int p = 0; p < len; p++)
        b_apply(e + p, len, col + p, len);
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

static void output_row(const tiling *t, const pass *p, int channel, const float *row, size_t stride, int ty,
                       float *plane, float *rows)
{
    if (p->backward)
        input_gradient_row(t, row, stride, ty, plane, rows);
    else
        output_transform_row(t, row, stride, ty, p->bias ? p->bias[channel] : 0.0f, p->relu, plane, rows);
}

static void run_pass(const nst_conv_desc *d, int in_h, int in_w, const float *u, float *workspace, const pass *p)
{
    tiling t = tiling_for(d, in_h, in_w);
    int src_c = p->backward ? t.out_c : t.in_c, dst_c = p->backward ? t.in_c : t.out_c;
    size_t src_plane = p->backward ? (size_t)t.out_h * t.out_w : (size_t)in_h * in_w;
    size_t dst_plane = p->backward ? (size_t)in_h * in_w : (size_t)t.out_h * t.out_w;
    float *a = workspace, *b = a + (size_t)POINTS * src_c * t.chunk, *rows = b + (size_t)POINTS * dst_c * t.chunk;
    size_t pairs = (size_t)t.in_c * t.out_c, a_stride = (size_t)src_c * t.chunk, b_stride = (size_t)dst_c * t.chunk;
    for (int first = 0; first < t.tile_rows; first += t.rows_per_chunk) {
        int n_rows = t.tile_rows - first < t.rows_per_chunk ? t.tile_rows - first : t.rows_per_chunk;
        int n = n_rows * t.tiles_w;
        for (int c = 0; c < src_c; c++)
            for (int r = 0; r < n_rows; r++) {
                float *row = point_row(a, 0, src_c, c, &t) + r * t.tiles_w;
                if (p->backward)
                    gradient_transform_row(&t, p->src + c * src_plane, first + r, rows, row, a_stride);
                else
                    input_transform_row(&t, p->src + c * src_plane, first + r, rows, row, a_stride);
            }
        /* U[point] is [out_c][in_c]; the backward multiplies by its transpose. */
        for (int k = 0; k < POINTS; k++)
            cblas_sgemm(CblasRowMajor, p->backward ? CblasTrans : CblasNoTrans, CblasNoTrans, dst_c, n, src_c, 1.0f,
                        u + k * pairs, t.in_c, point_row(a, k, src_c, 0, &t), t.chunk, 0.0f,
                        point_row(b, k, dst_c, 0, &t), t.chunk);
        for (int c = 0; c < dst_c; c++)
            for (int r = 0; r < n_rows; r++)
                output_row(&t, p, c, point_row(b, 0, dst_c, c, &t) + r * t.tiles_w, b_stride, first + r,
                           p->dst + c * dst_plane, rows);
    }
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
