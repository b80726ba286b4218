#version 450
#extension GL_GOOGLE_include_directive : require
// C = alpha A B (+ C when accumulating) for strided A [M, K] and B [K, N]
// (a transpose is a swap of strides).  With splits > 1, workgroup z sums
// only k in [z k_chunk, (z + 1) k_chunk) and writes its partial product to
// c + z M N; reduce_splits adds the partials in order of z afterwards, so
// the result does not depend on scheduling.

layout(push_constant) uniform Params {
    int M, N, K;
    int a_sm, a_sk, b_sk, b_sn; // element strides
    int k_chunk, splits, accumulate;
    float alpha;
} pc;

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) buffer C { float c[]; };

#define A_K_FAST (pc.a_sk == 1)
#define B_K_FAST (pc.b_sk == 1)

float load_a(int m, int k) { return a[m * pc.a_sm + k * pc.a_sk]; }
float load_b(int k, int n) { return b[k * pc.b_sk + n * pc.b_sn]; }

#include "gemm_tile.glsl"

void main()
{
    int z = int(gl_WorkGroupID.z);
    int k_begin = z * pc.k_chunk;
    gemm_tile(pc.M, pc.N, k_begin, min(pc.K, k_begin + pc.k_chunk));
    for (int i = 0; i < 4; i++) {
        int m = tile_m(i);
        for (int j = 0; j < 4; j++) {
            int n = tile_n(j);
            if (m >= pc.M || n >= pc.N)
                continue;
            int at = m * pc.N + n;
            if (pc.splits > 1)
                c[z * pc.M * pc.N + at] = acc[i][j];
            else
                c[at] = pc.alpha * acc[i][j] + (pc.accumulate != 0 ? c[at] : 0.0);
        }
    }
}
