#version 450
#extension GL_GOOGLE_include_directive : require
// out[i] = alpha sum_z part[z count + i] (+ out[i]), z in increasing order.

layout(local_size_x = 256) in;

layout(push_constant) uniform Params {
    int count, splits, accumulate;
    float alpha;
} pc;

layout(std430, binding = 0) readonly buffer Part { float part[]; };
layout(std430, binding = 1) buffer Out { float outv[]; };

#include "common.glsl"

void main()
{
    int i = int(flat_index());
    if (i >= pc.count)
        return;
    float sum = 0.0;
    for (int z = 0; z < pc.splits; z++)
        sum += part[z * pc.count + i];
    outv[i] = pc.alpha * sum + (pc.accumulate != 0 ? outv[i] : 0.0);
}
