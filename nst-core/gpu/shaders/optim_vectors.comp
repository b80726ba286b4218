#version 450
#extension GL_GOOGLE_include_directive : require
// The optimisers' vector work (gpu/vectors.h): one element-wise pass per
// launch, chosen by pc.op.  Sums leave one partial per workgroup and sum
// (k of 3) at partials[k * n_groups + group], added by sum_partials.comp in
// a fixed order; the first non-finite index, the largest |g| (as the bits of
// a non-negative float, which order like the floats) and a count use
// integer atomics, which give the same result in any order.
//
// The L-BFGS two-loop recursion runs here whole, without the host: each
// pair's coefficients are computed on the device from the sums just made
// (PAIR_COEF) and kept in the results buffer for the passes after it.

layout(local_size_x = 256) in;

layout(push_constant) uniform Params {
    int count, op, use_mask, n_groups;
    float lower, upper, p0, p1, p2, p3, p4;
} pc;

layout(std430, binding = 0) buffer OUT { float outv[]; };
layout(std430, binding = 1) buffer A { float a[]; };
layout(std430, binding = 2) buffer B { float b[]; };
layout(std430, binding = 3) buffer C { float c[]; };
layout(std430, binding = 4) buffer D { float d[]; };
layout(std430, binding = 5) buffer HELD { uint held[]; };
layout(std430, binding = 6) buffer P { float partials[]; };
layout(std430, binding = 7) buffer R { uint results[]; };

#include "common.glsl"
#include "group_sum.glsl"

// The op codes of gpu/vectors.c.
const int OP_INIT = 0, OP_NONFINITE = 1, OP_PROJECT = 2, OP_COPY = 3, OP_STEEPEST = 4, OP_DOTS = 5,
          OP_AXPY = 6, OP_SCALE = 7, OP_PROJECT_TRIAL = 8, OP_DIFF_DOTS = 9, OP_SUB = 10, OP_ADAM = 11,
          OP_ZERO = 12, OP_HISTORY_START = 13, OP_PAIR_COEF = 14, OP_PAIR_AXPY = 15, OP_SCALE_GAMMA = 16;
// results: three sums, the first non-finite index, the largest |g|, the
// moved count; then the two-loop's pairs used and gamma, and per pair
// slot k its rho and s.q (as float bits).
const uint SLOT_FIRST_BAD = 3, SLOT_LARGEST = 4, SLOT_MOVED = 5, SLOT_USED = 6, SLOT_GAMMA = 7, SLOT_PAIRS = 8;

bool finite(float v)
{
    return !isnan(v) && !isinf(v);
}

float box(float v)
{
    return min(max(v, pc.lower), pc.upper);
}

float result_float(uint slot)
{
    return uintBitsToFloat(results[slot]);
}

// PAIR_COEF, one invocation: pair k's rho = 1 / s.y and s.q from sums
// 0..2, or rho = 0 (skipped) when its curvature on the free variables is
// not positive (s.y <= eps y.y); the first pair used gives gamma = s.y /
// y.y.  lbfgs.c's two_loop_direction is the reference.
void pair_coefficients(uint k, float eps)
{
    float sy = result_float(0u), yy = result_float(1u), sq = result_float(2u);
    float rho = 0.0;
    if (sy > eps * yy && finite(sy) && finite(yy)) {
        rho = 1.0 / sy;
        if (results[SLOT_USED] == 0u)
            results[SLOT_GAMMA] = floatBitsToUint(sy / yy);
        results[SLOT_USED] += 1u;
    }
    results[SLOT_PAIRS + 2u * k] = floatBitsToUint(rho);
    results[SLOT_PAIRS + 2u * k + 1u] = floatBitsToUint(sq);
}

void main()
{
    int i = int(flat_index());
    bool inside = i < pc.count;
    bool free_var = inside && (pc.use_mask == 0 || held[i] == 0u);
    float s0 = 0.0, s1 = 0.0, s2 = 0.0;
    if (pc.op == OP_INIT) {
        if (i == 0) {
            results[SLOT_FIRST_BAD] = 0xffffffffu;
            results[SLOT_LARGEST] = 0u;
            results[SLOT_MOVED] = 0u;
        }
        return;
    }
    if (pc.op == OP_PAIR_COEF) { // p0 = k, p1 = eps
        if (i == 0)
            pair_coefficients(uint(pc.p0), pc.p1);
        return;
    }
    if (pc.op == OP_HISTORY_START && i == 0) {
        results[SLOT_USED] = 0u;
        results[SLOT_GAMMA] = floatBitsToUint(1.0);
    }
    if (inside) {
        if (pc.op == OP_NONFINITE) {
            if (!finite(a[i]))
                atomicMin(results[SLOT_FIRST_BAD], uint(i));
        } else if (pc.op == OP_PROJECT) {
            outv[i] = box(a[i]);
        } else if (pc.op == OP_COPY) {
            outv[i] = a[i];
        } else if (pc.op == OP_STEEPEST) { // a = x, b = g
            float x = a[i], g = b[i];
            bool h = (x <= pc.lower && g > 0.0) || (x >= pc.upper && g < 0.0);
            held[i] = h ? 1u : 0u;
            outv[i] = h ? 0.0 : -g;
            if (!h)
                atomicMax(results[SLOT_LARGEST], floatBitsToUint(abs(g)));
        } else if (pc.op == OP_DOTS) { // s = a, y = b, q = out
            if (free_var) {
                s0 = a[i] * b[i];
                s1 = b[i] * b[i];
                s2 = a[i] * outv[i];
            }
        } else if (pc.op == OP_AXPY) {
            if (free_var)
                outv[i] = outv[i] + pc.p0 * a[i];
        } else if (pc.op == OP_SCALE) {
            outv[i] = pc.p0 * outv[i];
        } else if (pc.op == OP_PROJECT_TRIAL) { // x = a, dir = b, g = c
            float x = a[i];
            float v = box(x + pc.p0 * b[i]);
            outv[i] = v;
            if (v != x) {
                atomicAdd(results[SLOT_MOVED], 1u);
                s0 = c[i] * (v - x);
            }
        } else if (pc.op == OP_DIFF_DOTS) { // s = a - b, y = c - d
            float s = a[i] - b[i], y = c[i] - d[i];
            s0 = s * y;
            s1 = y * y;
        } else if (pc.op == OP_SUB) {
            outv[i] = a[i] - b[i];
        } else if (pc.op == OP_ADAM) { // x = out, g = a, m = c, v = d; p0..p4: beta1, beta2, eps, step, root_bias2
            float g = a[i];
            float m = pc.p0 * c[i] + (1.0 - pc.p0) * g;
            float v = pc.p1 * d[i] + (1.0 - pc.p1) * g * g;
            c[i] = m;
            d[i] = v;
            outv[i] = box(outv[i] - pc.p3 * m / (sqrt(v) / pc.p4 + pc.p2));
        } else if (pc.op == OP_ZERO) {
            outv[i] = 0.0;
        } else if (pc.op == OP_HISTORY_START) { // q = g from dir = -g
            outv[i] = -outv[i];
        } else if (pc.op == OP_PAIR_AXPY) { // p0 = k; p1 = 0: q -= alpha a, 1: q += (alpha - rho y.q) a
            // with alpha = rho s.q; the second as rho (s.q - y.q), where
            // float loses less to the cancellation
            uint k = uint(pc.p0);
            float rho = result_float(SLOT_PAIRS + 2u * k), sq = result_float(SLOT_PAIRS + 2u * k + 1u);
            float coef = pc.p1 == 0.0 ? -(rho * sq) : rho * (sq - result_float(2u));
            if (rho != 0.0 && free_var)
                outv[i] = outv[i] + coef * a[i];
        } else if (pc.op == OP_SCALE_GAMMA) {
            outv[i] = result_float(SLOT_GAMMA) * outv[i];
        }
    }
    if (pc.op == OP_DOTS || pc.op == OP_PROJECT_TRIAL || pc.op == OP_DIFF_DOTS) {
        uint g = group_index();
        float t0 = group_sum(s0);
        float t1 = group_sum(s1);
        float t2 = group_sum(s2);
        if (gl_LocalInvocationID.x == 0 && g < uint(pc.n_groups)) {
            partials[g] = t0;
            partials[uint(pc.n_groups) + g] = t1;
            partials[2u * uint(pc.n_groups) + g] = t2;
        }
    }
}
