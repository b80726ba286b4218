#version 450
#extension GL_GOOGLE_include_directive : require
// out[c, p] = a[c, p] m[mask_offset + p] for A [channels, pixels]: the
// activations seen through a region's mask (guided Grams).  out may be a
// itself (A . M, then A . M^2 for the gradient).

layout(local_size_x = 256) in;

layout(push_constant) uniform Params {
    int channels, pixels, mask_offset;
} pc;

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer M { float m[]; };
layout(std430, binding = 2) buffer OUT { float outv[]; };

#include "common.glsl"

void main()
{
    int i = int(flat_index());
    if (i >= pc.channels * pc.pixels)
        return;
    outv[i] = a[i] * m[pc.mask_offset + i % pc.pixels];
}
