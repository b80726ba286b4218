/* What the GPU tests share. */
#ifndef NST_TESTS_GPU_TEST_UTIL_H
#define NST_TESTS_GPU_TEST_UTIL_H

#include <stddef.h>
#include <stdio.h>

#include "nst/nst.h"

/* A GPU test program built without the Vulkan backend is a skip (77):
 *   #ifndef NST_HAVE_VULKAN
 *   GPU_TEST_SKIPPED_MAIN
 *   #else ... */
#define GPU_TEST_SKIPPED_MAIN                                                                                          \
    int main(void)                                                                                                     \
    {                                                                                                                  \
        printf("built without the Vulkan backend: skipped\n");                                                         \
        return 77;                                                                                                     \
    }

/* The device to test on: NST_TEST_GPU_DEVICE=N, else the one auto would
 * pick, else the first usable one (Mesa's lavapipe in CI); -1, after saying
 * why, when there is none. */
int gpu_test_pick_device(void);

/* |got - ref| / |ref| (the plain |got - ref| where ref is zero): the
 * GPU tests' measure of a whole tensor against the CPU's. */
double gpu_test_rel_norm_error(const float *got, const float *ref, size_t n);
/* The shared SqueezeNet 1.1 (test_model_file): NULL with *skipped set when
 * it is not there (the test then exits 77), NULL after a reported failure
 * when it does not load. */
nst_model *gpu_test_squeezenet(int *skipped);
/* |got - ref| / |ref| (|got - ref| where ref is zero), for one number. */
double gpu_test_rel(double got, double ref);

/* NST_TEST_GPU_TIMING=1: the tests also time a few runs (a note for the
 * README, not a check). */
int gpu_test_timing(void);
/* A monotonic clock, in seconds. */
double gpu_test_seconds(void);

#ifdef NST_HAVE_VULKAN
#include <stdint.h>

#include "gpu/net.h"
#include "nst/nst.h"

/* The device gpu_test_pick_device names, opened with `options` (NULL = the
 * defaults; force_staging must give staged buffers) and said ("device N:
 * name (kind), buffers mapped|staged"); NULL after a reported failure. */
nst_gpu *gpu_test_open(const nst_gpu_options *options);

/* A model of `kind` with random weights from `seed`: uniform, scaled by
 * each conv's fan-in so activations keep their size through the layers. */
nst_model *gpu_test_random_model(nst_model_kind kind, uint64_t seed);

/* The node indices of the named layers of `model`, in node order, into
 * used (room for all of them); returns how many. */
int gpu_test_layer_nodes(const nst_model *model, const char *const *names, int n_names, int *used);

/* The worst relative errors seen by gpu_test_check_net. */
typedef struct gpu_test_worst {
    double activation, gradient;
} gpu_test_worst;

/* The network of nodes 0..last on the device against nn/'s nst_net at
 * width x height with these options: every used node's activation after
 * forward, and the input gradient after backward from random gradients at
 * those nodes, each within relative norm `tolerance`; with check_repeat, a
 * second run gives the same bytes. */
void gpu_test_check_net(nst_gpu *gpu, const nst_model *model, int width, int height, int last,
                        const nst_net_options *options, int check_repeat, double tolerance, gpu_test_worst *worst);

/* The objective on the device against loss/'s nst_objective with these
 * params (layers and weights) and options: a random picture, the content
 * from another, the style blended from two more pictures of style_w x
 * style_h and turned (weights 1:3); the total and each term within relative
 * `tolerance`, the gradient within relative norm `tolerance`, the same
 * bytes from a second evaluation, and again after new weights. */
void gpu_test_check_objective(nst_gpu *gpu, const nst_model *model, const nst_params *params,
                              const nst_net_options *options, int width, int height, int style_w, int style_h,
                              double tolerance);
#endif

#endif
