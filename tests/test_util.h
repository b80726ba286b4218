/* A tiny test harness: CHECK() records failures and keeps going; a test
 * program returns test_finish() so meson sees a non-zero exit on failure. */
#ifndef NST_TEST_UTIL_H
#define NST_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

extern int test_failures;
extern int test_checks;

#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        test_checks++;                                                                         \
        if (!(cond)) {                                                                         \
            test_failures++;                                                                   \
            test_report_failure(__FILE__, __LINE__, #cond);                                    \
            test_report_detail(__VA_ARGS__);                                                   \
        }                                                                                      \
    } while (0)

void test_report_failure(const char *file, int line, const char *cond);
void test_report_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "N passed, M failed" and returns the exit code. */
int test_finish(const char *name);

/* Deterministic pseudo-random numbers (splitmix64) for test data. */
uint64_t test_rand_u64(uint64_t *state);
float test_rand_uniform(uint64_t *state, float lo, float hi);
void test_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi);

/* n zeroed floats (at least one); exits the test when memory runs out. */
float *test_floats(size_t n);

/* max |a-b| / max(max |b|, floor): relative error against a reference. */
double test_max_rel_error(const float *a, const float *ref, size_t n, double floor);

/* Path of a file under the shared models folder ($NST_MODEL_PATH), static buffer. */
const char *test_model_file(const char *relative);
/* Path under the source root ($NST_TEST_SOURCE_ROOT), static buffer. */
const char *test_source_file(const char *relative);

#endif
