#version 450
#extension GL_GOOGLE_include_directive : require
// sums[slot] = the sum of partials[offset, offset + count), by one workgroup:
// each invocation sums a strided share in order, then a fixed tree.

layout(local_size_x = 256) in;

layout(push_constant) uniform Params {
    int offset, count, slot;
} pc;

layout(std430, binding = 0) readonly buffer P { float partials[]; };
layout(std430, binding = 1) buffer S { float sums[]; };

#include "group_sum.glsl"

void main()
{
    float v = 0.0;
    for (int i = int(gl_LocalInvocationID.x); i < pc.count; i += 256)
        v += partials[pc.offset + i];
    float s = group_sum(v);
    if (gl_LocalInvocationID.x == 0)
        sums[pc.slot] = s;
}
