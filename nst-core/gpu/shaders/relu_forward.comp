#version 450
#extension GL_GOOGLE_include_directive : require
// y = max(x, 0) into its own buffer (nst_relu_forward), for a ReLU that
// cannot run inside its conv; `x < 0 ? 0 : x` lets NaN through as the CPU does.

layout(local_size_x = 256) in;

layout(push_constant) uniform Params {
    int count;
} pc;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };

#include "common.glsl"

void main()
{
    int i = int(flat_index());
    if (i >= pc.count)
        return;
    float v = x[i];
    y[i] = v < 0.0 ? 0.0 : v;
}
