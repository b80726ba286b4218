#version 450
#extension GL_GOOGLE_include_directive : require
// Convolution as an implicit GEMM: y[oc, p] = sum_k w[oc, k] col[k, p] with
// k = (c, ki, kj) and col read from x through the padding, never stored.
// Epilogue: + bias, then ReLU (flags), as nn/ runs conv then ReLU.  y is
// written from y_offset on: a fire module's expands write straight into
// their parts of the concatenated output.

layout(push_constant) uniform Params {
    int in_c, in_h, in_w, out_c, out_h, out_w;
    int kh, kw, stride, pad, pad_mode, flags; // flags: 1 bias, 2 ReLU
    int y_offset;
} pc;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };

#include "common.glsl"

#define A_K_FAST true
#define B_K_FAST false

float load_a(int m, int k) { return w[m * (pc.in_c * pc.kh * pc.kw) + k]; }

float load_b(int k, int n)
{
    int taps = pc.kh * pc.kw;
    int c = k / taps, r = k - c * taps;
    int ki = r / pc.kw, kj = r - ki * pc.kw;
    int oy = n / pc.out_w, ox = n - oy * pc.out_w;
    int iy = padded_source(oy * pc.stride - pc.pad + ki, pc.in_h, pc.pad_mode);
    int ix = padded_source(ox * pc.stride - pc.pad + kj, pc.in_w, pc.pad_mode);
    return (iy < 0 || ix < 0) ? 0.0 : x[(c * pc.in_h + iy) * pc.in_w + ix];
}

#include "gemm_tile.glsl"

void main()
{
    int pixels = pc.out_h * pc.out_w;
    gemm_tile(pc.out_c, pixels, 0, pc.in_c * pc.kh * pc.kw);
    for (int i = 0; i < 4; i++) {
        int m = tile_m(i);
        if (m >= pc.out_c)
            continue;
        float b = (pc.flags & 1) != 0 ? bias[m] : 0.0;
        for (int j = 0; j < 4; j++) {
            int n = tile_n(j);
            if (n >= pixels)
                continue;
            float v = acc[i][j] + b;
            // v < 0 ? 0 : v lets NaN through, as nn/ does.
            y[pc.y_offset + m * pixels + n] = ((pc.flags & 2) != 0 && v < 0.0) ? 0.0 : v;
        }
    }
}
