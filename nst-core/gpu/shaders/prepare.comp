#version 450
#extension GL_GOOGLE_include_directive : require
// The objective's input from the picture [3, h, w] in [0,1]: the reflected
// border of b px, then the ImageNet normalisation (x - mean) / std, into
// [3, h + 2b, w + 2b] (mode 0).  Mode 1 is its adjoint: the picture's
// gradient from the input's, each pixel summing the padded positions that
// read it (times 1/std) itself, in a fixed order: no atomics.

layout(local_size_x = 256) in;

layout(push_constant) uniform Params {
    int h, w, b, mode;
    float mean0, mean1, mean2;
    float inv_std0, inv_std1, inv_std2;
} pc;

layout(std430, binding = 0) readonly buffer SRC { float src[]; };
layout(std430, binding = 1) writeonly buffer DST { float dst[]; };

#include "common.glsl"

// The padded positions p in [0, padded) with padded_source(p - b, len, reflect) == i:
// those with p - b = +-i modulo the reflection's period.
int gather_row(int i, int len, int padded, out int rows[8])
{
    int n = 0;
    if (len == 1) { // every position reads the only one
        for (int p = 0; p < padded && n < 8; p++)
            rows[n++] = p;
        return n;
    }
    int period = 2 * (len - 1);
    for (int sign = 0; sign < 2; sign++) {
        if (sign == 1 && (i == 0 || i == len - 1))
            break; // -i is i modulo the period
        int first = ((pc.b + (sign == 0 ? i : -i)) % period + period) % period;
        for (int p = first; p < padded && n < 8; p += period)
            rows[n++] = p;
    }
    return n;
}

void main()
{
    int i = int(flat_index());
    int ph = pc.h + 2 * pc.b, pw = pc.w + 2 * pc.b;
    if (pc.mode == 0) {
        if (i >= 3 * ph * pw)
            return;
        int c = i / (ph * pw), r = i % (ph * pw);
        int y = padded_source(r / pw - pc.b, pc.h, 1), x = padded_source(r % pw - pc.b, pc.w, 1);
        float mean = c == 0 ? pc.mean0 : c == 1 ? pc.mean1 : pc.mean2;
        float inv_std = c == 0 ? pc.inv_std0 : c == 1 ? pc.inv_std1 : pc.inv_std2;
        dst[i] = (src[(c * pc.h + y) * pc.w + x] - mean) * inv_std;
        return;
    }
    if (i >= 3 * pc.h * pc.w)
        return;
    int c = i / (pc.h * pc.w), r = i % (pc.h * pc.w);
    int rows[8], cols[8];
    int nr = gather_row(r / pc.w, pc.h, ph, rows), nc = gather_row(r % pc.w, pc.w, pw, cols);
    float inv_std = c == 0 ? pc.inv_std0 : c == 1 ? pc.inv_std1 : pc.inv_std2;
    float sum = 0.0;
    for (int a = 0; a < nr; a++)
        for (int k = 0; k < nc; k++)
            sum += src[(c * ph + rows[a]) * pw + cols[k]] * inv_std;
    dst[i] = sum;
}
