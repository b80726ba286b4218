#version 450
#extension GL_GOOGLE_include_directive : require
// Total variation of the picture [3, h, w]: each workgroup's sums of the
// squared horizontal and vertical differences (partials[offset + group] and
// partials[offset + n_partials + group]), and grad += gh d(sum h)/dx/2 +
// gv d(sum v)/dx/2 per pixel from its own neighbours: no atomics.

layout(local_size_x = 256) in;

layout(push_constant) uniform Params {
    int h, w, partial_offset, n_partials;
    float gh, gv;
} pc;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer G { float grad[]; };
layout(std430, binding = 2) buffer P { float partials[]; };

#include "common.glsl"
#include "group_sum.glsl"

void main()
{
    int i = int(flat_index());
    float sh = 0.0, sv = 0.0;
    if (i < 3 * pc.h * pc.w) {
        int r = i % (pc.h * pc.w), y = r / pc.w, col = r % pc.w;
        float right = col + 1 < pc.w ? x[i + 1] - x[i] : 0.0;
        float left = col > 0 ? x[i] - x[i - 1] : 0.0;
        float down = y + 1 < pc.h ? x[i + pc.w] - x[i] : 0.0;
        float up = y > 0 ? x[i] - x[i - pc.w] : 0.0;
        sh = right * right;
        sv = down * down;
        grad[i] += pc.gh * (left - right) + pc.gv * (up - down);
    }
    float th = group_sum(sh);
    float tv = group_sum(sv);
    uint g = group_index();
    if (gl_LocalInvocationID.x == 0 && g < uint(pc.n_partials)) {
        partials[pc.partial_offset + int(g)] = th;
        partials[pc.partial_offset + pc.n_partials + int(g)] = tv;
    }
}
