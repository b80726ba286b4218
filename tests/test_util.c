#include "test_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int test_failures = 0;
int test_checks = 0;

void test_report_failure(const char *file, int line, const char *cond)
{
    fprintf(stderr, "FAIL %s:%d: %s\n", file, line, cond);
}

void test_report_detail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("     ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int test_finish(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, test_checks - test_failures, test_failures);
    return test_failures ? 1 : 0;
}

uint64_t test_rand_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float test_rand_uniform(uint64_t *state, float lo, float hi)
{
    return lo + (hi - lo) * (float)((test_rand_u64(state) >> 40) / (double)(1ull << 24));
}

float *test_floats(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory (%zu floats)\n", n);
        exit(1);
    }
    return p;
}

void test_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++)
        x[i] = test_rand_uniform(&s, lo, hi);
}

double test_max_rel_error(const float *a, const float *ref, size_t n, double floor)
{
    double max_diff = 0, max_ref = floor;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)ref[i]);
        if (!(d <= max_diff)) /* NaN counts as an infinite error */
            max_diff = isnan(d) ? INFINITY : d;
        if (fabs(ref[i]) > max_ref)
            max_ref = fabs(ref[i]);
    }
    return max_diff / max_ref;
}

static const char *env_path(const char *var, const char *fallback, const char *relative)
{
    static char buf[4096];
    const char *root = getenv(var);
    if (!root || !*root)
        root = fallback;
    const char *colon = root; /* NST_MODEL_PATH may hold several folders: use the first */
    int len = 0;
    while (colon[len] && colon[len] != ':')
        len++;
    snprintf(buf, sizeof buf, "%.*s/%s", len, root, relative);
    return buf;
}

const char *test_model_file(const char *relative)
{
    return env_path("NST_MODEL_PATH", "../shared/models", relative);
}

const char *test_source_file(const char *relative)
{
    return env_path("NST_TEST_SOURCE_ROOT", ".", relative);
}
