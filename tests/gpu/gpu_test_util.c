/* What the GPU tests share (gpu_test_util.h). */
#include "gpu_test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nst/nst.h"

int gpu_test_pick_device(void)
{
    const char *env = getenv("NST_TEST_GPU_DEVICE");
    if (env && *env)
        return atoi(env);
    nst_device_info devices[NST_MAX_DEVICES];
    int count = 0;
    nst_error err = {0};
    if (nst_device_list(devices, NST_MAX_DEVICES, &count, &err) != NST_OK) {
        printf("FAIL: listing Vulkan devices: %s\n", err.message);
        return -1;
    }
    int pick = nst_device_auto_pick(devices, count);
    for (int i = 0; i < count && pick < 0; i++)
        if (devices[i].usable)
            pick = i;
    if (pick < 0)
        printf("FAIL: built with Vulkan but no usable device (install mesa-vulkan-drivers for lavapipe)\n");
    return pick;
}

int gpu_test_timing(void)
{
    const char *env = getenv("NST_TEST_GPU_TIMING");
    return env && strcmp(env, "1") == 0;
}

double gpu_test_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

double gpu_test_rel_norm_error(const float *got, const float *ref, size_t n)
{
    double diff = 0, norm = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - ref[i];
        diff += d * d;
        norm += (double)ref[i] * ref[i];
    }
    return norm > 0 ? sqrt(diff / norm) : sqrt(diff);
}
