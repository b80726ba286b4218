#version 450
#extension GL_GOOGLE_include_directive : require
// The ReLU's input gradient from its output y: mode 0 adds it to dx
// (nst_relu_backward), mode 1 overwrites (nst_relu_mask_gradient, where the
// output buffer may be dy itself).

layout(local_size_x = 256) in;

layout(push_constant) uniform Params {
    int count, mode;
} pc;

layout(std430, binding = 0) readonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) buffer DX { float dx[]; };

#include "common.glsl"

void main()
{
    int i = int(flat_index());
    if (i >= pc.count)
        return;
    float g = y[i] > 0.0 ? dy[i] : 0.0;
    dx[i] = pc.mode == 0 ? dx[i] + g : g;
}
