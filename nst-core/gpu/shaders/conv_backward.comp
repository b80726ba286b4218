#version 450
#extension GL_GOOGLE_include_directive : require
// Input gradient of a convolution as an implicit GEMM, accumulated:
// dx[c, q] += sum_k w[oc, c, ki, kj] g[k, q], k = (oc, ki, kj), where g sums
// dy over every output position whose tap (ki, kj) reads input pixel q:
// the pixel itself and, with reflect or replicate padding, the padded
// positions that copy it.  Gathering instead of scattering keeps a fixed
// order (no atomics) and needs no column buffer.  dy is read from
// dy_offset on; with flag 4 it counts only where y (the output of the ReLU
// fused into the forward, at the same offset) is positive: the ReLU's
// backward folded into the load, as nn/ masks the gradient in place.

layout(push_constant) uniform Params {
    int in_c, in_h, in_w, out_c, out_h, out_w;
    int kh, kw, stride, pad, pad_mode, flags; // flags: 4 ReLU mask
    int dy_offset;
} pc;

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) buffer DX { float dx[]; };
layout(std430, binding = 3) readonly buffer Y { float y[]; };

#include "common.glsl"

#define A_K_FAST true
#define B_K_FAST false

float load_a(int m, int k)
{
    int taps = pc.kh * pc.kw;
    int oc = k / taps, r = k - oc * taps;
    return w[(oc * pc.in_c + m) * taps + r];
}

// Candidate a of the padded coordinates that read input coordinate i:
// a = 0 is i itself, 1..pad the ones before the edge, pad+1..2 pad after.
int candidate(int a, int i, int len)
{
    if (a == 0)
        return i;
    return a <= pc.pad ? -a : len - 1 + (a - pc.pad);
}

// Output index whose tap t reads padded coordinate q, or -1.
int output_of(int q, int t, int out_len)
{
    int s = q + pc.pad - t;
    if (s < 0 || s % pc.stride != 0)
        return -1;
    s /= pc.stride;
    return s < out_len ? s : -1;
}

float load_b(int k, int n)
{
    int taps = pc.kh * pc.kw;
    int oc = k / taps, r = k - oc * taps;
    int ki = r / pc.kw, kj = r - ki * pc.kw;
    int iy = n / pc.in_w, ix = n - iy * pc.in_w;
    int reach = pc.pad_mode == 0 ? 1 : 1 + 2 * pc.pad;
    float sum = 0.0;
    for (int a = 0; a < reach; a++) {
        int qy = candidate(a, iy, pc.in_h);
        if (a > 0 && padded_source(qy, pc.in_h, pc.pad_mode) != iy)
            continue;
        int oy = output_of(qy, ki, pc.out_h);
        if (oy < 0)
            continue;
        for (int b = 0; b < reach; b++) {
            int qx = candidate(b, ix, pc.in_w);
            if (b > 0 && padded_source(qx, pc.in_w, pc.pad_mode) != ix)
                continue;
            int ox = output_of(qx, kj, pc.out_w);
            if (ox < 0)
                continue;
            int o = pc.dy_offset + (oc * pc.out_h + oy) * pc.out_w + ox;
            // !(y <= 0) keeps a NaN's gradient, as nst_relu_mask_gradient does.
            if ((pc.flags & 4) == 0 || !(y[o] <= 0.0))
                sum += dy[o];
        }
    }
    return sum;
}

#include "gemm_tile.glsl"

void main()
{
    int pixels = pc.in_h * pc.in_w;
    gemm_tile(pc.in_c, pixels, 0, pc.out_c * pc.kh * pc.kw);
    for (int i = 0; i < 4; i++) {
        int m = tile_m(i);
        for (int j = 0; j < 4; j++) {
            int n = tile_n(j);
            if (m < pc.in_c && n < pixels)
                dx[m * pixels + n] += acc[i][j];
        }
    }
}
