#version 450
#extension GL_GOOGLE_include_directive : require
// Max pooling without padding, floor mode (nn/layers.c): each output takes
// the first maximum of its window scanning row by row (a NaN counts as a
// maximum) and records its offset within the input plane for the backward.

layout(local_size_x = 256) in;

layout(push_constant) uniform Params {
    int planes, in_h, in_w, out_h, out_w, kernel, stride;
} pc;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(std430, binding = 2) writeonly buffer Argmax { uint argmax[]; };

#include "common.glsl"

void main()
{
    int o = int(flat_index());
    int out_plane = pc.out_h * pc.out_w;
    if (o >= pc.planes * out_plane)
        return;
    int p = o / out_plane, r = o - p * out_plane;
    int top = (r / pc.out_w) * pc.stride, left = (r % pc.out_w) * pc.stride;
    int base = p * pc.in_h * pc.in_w;
    int best = top * pc.in_w + left;
    float best_value = x[base + best];
    for (int ky = 0; ky < pc.kernel; ky++) {
        for (int kx = 0; kx < pc.kernel; kx++) {
            int at = (top + ky) * pc.in_w + left + kx;
            float v = x[base + at];
            if (v > best_value || isnan(v)) {
                best_value = v;
                best = at;
            }
        }
    }
    y[o] = best_value;
    argmax[o] = uint(best);
}
