/* What the GPU tests share. */
#ifndef NST_TESTS_GPU_TEST_UTIL_H
#define NST_TESTS_GPU_TEST_UTIL_H

#include <stddef.h>

/* The device to test on: NST_TEST_GPU_DEVICE=N, else the one auto would
 * pick, else the first usable one (Mesa's lavapipe in CI); -1, after saying
 * why, when there is none. */
int gpu_test_pick_device(void);

/* |got - ref| / |ref| (the plain |got - ref| where ref is zero): the
 * GPU tests' measure of a whole tensor against the CPU's. */
double gpu_test_rel_norm_error(const float *got, const float *ref, size_t n);

/* NST_TEST_GPU_TIMING=1: the tests also time a few runs (a note for the
 * README, not a check). */
int gpu_test_timing(void);
/* A monotonic clock, in seconds. */
double gpu_test_seconds(void);

#endif
