#version 450
#extension GL_GOOGLE_include_directive : require
// dx += dy / kernel^2 of every window holding the pixel (nn/layers.c
// nst_avgpool_backward), gathered per input pixel in increasing output
// order as the CPU adds them, with no atomics.  Pixels past the last
// window (floor mode) get nothing.

layout(local_size_x = 256) in;

layout(push_constant) uniform Params {
    int planes, in_h, in_w, out_h, out_w, kernel, stride;
} pc;

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) buffer DX { float dx[]; };

#include "common.glsl"
#include "pool_windows.glsl"

void main()
{
    int q = int(flat_index());
    int in_plane = pc.in_h * pc.in_w;
    if (q >= pc.planes * in_plane)
        return;
    int p = q / in_plane, r = q - p * in_plane;
    int iy = r / pc.in_w, ix = r - iy * pc.in_w;
    int y0, y1, x0, x1;
    windows_of(iy, pc.out_h, y0, y1);
    windows_of(ix, pc.out_w, x0, x1);
    int base = p * pc.out_h * pc.out_w;
    float scale = 1.0 / float(pc.kernel * pc.kernel);
    float g = dx[q];
    for (int oy = y0; oy <= y1; oy++)
        for (int ox = x0; ox <= x1; ox++)
            g += dy[base + oy * pc.out_w + ox] * scale;
    dx[q] = g;
}
