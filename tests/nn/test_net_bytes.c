/* nst_net_bytes against what nst_net_new really allocates (malloc and calloc
 * are wrapped here and counted while a net is built), for the shipped
 * SqueezeNet at several sizes, cut points and options; and the memory plan
 * against the plan that keeps every named node: the same gradient, byte for
 * byte, with less memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/net.h"
#include "test_util.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);

static int counting;
static size_t counted;

void *malloc(size_t size)
{
    if (counting)
        counted += size;
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size)
{
    if (counting)
        counted += count * size;
    return __libc_calloc(count, size);
}

static size_t bytes_allocated_by_net_new(const nst_model *model, int h, int w, int last,
                                         const nst_net_options *options, nst_net **out)
{
    nst_error err = {0};
    counted = 0;
    counting = 1;
    *out = nst_net_new(model, h, w, last, options, &err);
    counting = 0;
    CHECK(*out != NULL, "nst_net_new %dx%d: %s", w, h, err.message);
    return counted;
}

/* Forward + backward of sum(a * r) over the used nodes' activations a (r fixed random). */
static void gradient_of(nst_net *net, const int *used, int n_used, const float *input, float *grad)
{
    nst_error err = {0};
    CHECK(nst_net_forward(net, input, NULL, &err) == NST_OK, "forward: %s", err.message);
    nst_net_zero_gradients(net);
    for (int k = 0; k < n_used; k++) {
        int c, h, w;
        nst_net_activation(net, used[k], &c, &h, &w);
        float *g = nst_net_gradient(net, used[k]);
        size_t count = (size_t)c * h * w;
        float *r = malloc(count * sizeof *r);
        test_fill_uniform(r, count, 7 + (uint64_t)k, -1.0f, 1.0f);
        for (size_t i = 0; i < count; i++)
            g[i] += r[i];
        free(r);
    }
    CHECK(nst_net_backward(net, grad, NULL, &err) == NST_OK, "backward: %s", err.message);
}

int main(void)
{
    nst_error err = {0};
    nst_model *model = nst_model_from_source(NST_MODEL_SQUEEZENET11, test_model_file("squeezenet1.1/weights"), &err);
    CHECK(model != NULL, "SqueezeNet: %s", err.message);
    if (!model)
        return test_finish("net_bytes");
    int fire5 = nst_model_find_layer(model, "fire5"), fire3 = nst_model_find_layer(model, "fire3");
    int conv1 = nst_model_find_layer(model, "conv1"), fire2 = nst_model_find_layer(model, "fire2");
    int fire4 = nst_model_find_layer(model, "fire4");
    int used[] = {conv1, fire2, fire3, fire4, fire5};
    nst_net_options plain = {.pooling = NST_POOL_MAX, .padding = NST_PAD_ZERO};
    nst_net_options reflect = {.pooling = NST_POOL_MAX, .padding = NST_PAD_REFLECT};
    nst_net_options planned = {.pooling = NST_POOL_MAX, .padding = NST_PAD_ZERO, .used_nodes = used, .n_used_nodes = 5};

    const struct {
        int h, w, last;
        const nst_net_options *options;
    } cases[] = {
        {224, 224, -1, &plain}, {256, 256, -1, &planned}, {300, 200, -1, &reflect},
        {97, 131, -1, &planned}, {512, 512, -1, &planned}, {64, 64, 0, &plain},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int last = cases[i].last < 0 ? fire5 : fire3;
        size_t predicted = nst_net_bytes(model, cases[i].h, cases[i].w, last, cases[i].options);
        nst_net *net;
        size_t real = bytes_allocated_by_net_new(model, cases[i].h, cases[i].w, last, cases[i].options, &net);
        CHECK(predicted == real, "case %zu (%dx%d): nst_net_bytes %zu, nst_net_new allocated %zu", i, cases[i].w,
              cases[i].h, predicted, real);
        nst_net_free(net);
    }
    CHECK(nst_net_bytes(model, 8, 8, fire5, &plain) == 0, "a picture too small must give 0 bytes");
    CHECK(nst_net_bytes(model, 64, 64, 9999, &plain) == 0, "a bad layer index must give 0 bytes");

    /* The plan for five used layers against keeping every named node (and so
     * no shared gradients for them): same bytes out, fewer bytes held. */
    const int h = 160, w = 192;
    size_t n_in = (size_t)3 * h * w;
    float *input = malloc(n_in * sizeof *input), *g_plain = malloc(n_in * sizeof *input),
          *g_planned = malloc(n_in * sizeof *input);
    test_fill_uniform(input, n_in, 3, -2.0f, 2.0f);
    nst_net *a = nst_net_new(model, h, w, fire5, &plain, &err), *b = nst_net_new(model, h, w, fire5, &planned, &err);
    CHECK(a && b, "nets: %s", err.message);
    if (a && b) {
        gradient_of(a, used, 5, input, g_plain);
        gradient_of(b, used, 5, input, g_planned);
        CHECK(memcmp(g_plain, g_planned, n_in * sizeof *input) == 0, "the memory plan changed the gradient");
        gradient_of(b, used, 5, input, g_planned); /* again: shared buffers start clean each time */
        CHECK(memcmp(g_plain, g_planned, n_in * sizeof *input) == 0, "a second backward differs");
        size_t bytes_plain = nst_net_bytes(model, h, w, fire5, &plain);
        size_t bytes_planned = nst_net_bytes(model, h, w, fire5, &planned);
        CHECK(bytes_planned < bytes_plain, "the plan should hold less: %zu vs %zu", bytes_planned, bytes_plain);
        printf("SqueezeNet to fire5 at %dx%d: %zu bytes keeping named nodes, %zu with the plan\n", w, h, bytes_plain,
               bytes_planned);
    }
    nst_net_free(a);
    nst_net_free(b);
    free(input), free(g_plain), free(g_planned);
    nst_model_free(model);
    return test_finish("net_bytes");
}
