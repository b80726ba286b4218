#version 450
#extension GL_GOOGLE_include_directive : require
// x[i] = 0: a gradient buffer cleared before the backward kernels, which all
// add into theirs.

layout(local_size_x = 256) in;

layout(push_constant) uniform Params {
    int count;
} pc;

layout(std430, binding = 0) writeonly buffer X { float x[]; };

#include "common.glsl"

void main()
{
    int i = int(flat_index());
    if (i < pc.count)
        x[i] = 0.0;
}
