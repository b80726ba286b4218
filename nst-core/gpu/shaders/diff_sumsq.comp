#version 450
#extension GL_GOOGLE_include_directive : require
// d = a - b over count elements: out = scale d (added to out when
// accumulate), and each workgroup's sum of d^2 in partials[offset + group]
// (summed by sum_partials.comp: no float atomics, the same bytes every run).
// out may be a itself (a Gram turned into G - S in place).

layout(local_size_x = 256) in;

layout(push_constant) uniform Params {
    int count, accumulate, partial_offset, n_partials;
    float scale;
} pc;

layout(std430, binding = 0) buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) buffer OUT { float outv[]; };
layout(std430, binding = 3) buffer P { float partials[]; };

#include "common.glsl"
#include "group_sum.glsl"

void main()
{
    int i = int(flat_index());
    float d = 0.0;
    if (i < pc.count) {
        d = a[i] - b[i];
        float g = pc.scale * d;
        outv[i] = pc.accumulate != 0 ? outv[i] + g : g;
    }
    float s = group_sum(d * d);
    uint g = group_index();
    if (gl_LocalInvocationID.x == 0 && g < uint(pc.n_partials))
        partials[pc.partial_offset + int(g)] = s;
}
