#version 450
#extension GL_GOOGLE_include_directive : require
// Average pooling without padding, floor mode (nn/layers.c
// nst_avgpool_forward): the window summed row by row, then times
// 1 / kernel^2, in the CPU's order.

layout(local_size_x = 256) in;

layout(push_constant) uniform Params {
    int planes, in_h, in_w, out_h, out_w, kernel, stride;
} pc;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };

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
    float sum = 0.0;
    for (int ky = 0; ky < pc.kernel; ky++)
        for (int kx = 0; kx < pc.kernel; kx++)
            sum += x[base + (top + ky) * pc.in_w + left + kx];
    y[o] = sum * (1.0 / float(pc.kernel * pc.kernel));
}
