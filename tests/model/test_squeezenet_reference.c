/* SqueezeNet 1.1 forward pass against the reference logits shipped with the
 * shared weights (webnn-polyfill's test_data_set_{0,1,2}, produced by the
 * ONNX model zoo network; see the shared README): the inputs are fed as they
 * are (not normalised), the 13x13 output of conv10 (1x1 conv + ReLU) is
 * averaged and compared with output_0.npy. */
#include <stdio.h>
#include <stdlib.h>

#include "model_test_util.h"
#include "test_util.h"

#define INPUT_SIZE 224
#define CLASSES 1000
/* The README measures 4e-7 for a float32 forward; 1e-4 leaves room for other
 * summation orders (Winograd, blocked GEMM) but not for a wrong layer. */
#define LOGITS_TOLERANCE 1e-4

static void check_case(nst_net *net, int conv10, int index)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", test_model_file("squeezenet1.1"));
    char input_name[64], output_name[64];
    snprintf(input_name, sizeof input_name, "test_data_set_%d/input_0.npy", index);
    snprintf(output_name, sizeof output_name, "test_data_set_%d/output_0.npy", index);
    nst_array input = load_reference(dir, input_name, 3 * INPUT_SIZE * INPUT_SIZE);
    nst_array logits = load_reference(dir, output_name, CLASSES);
    nst_error err = {0};
    if (input.data && logits.data) {
        nst_status st = nst_net_forward(net, input.data, NULL, &err);
        CHECK(st == NST_OK, "forward on %s: %s", input_name, err.message);
        int c = 0, h = 0, w = 0;
        const float *out = nst_net_activation(net, conv10, &c, &h, &w);
        int shape_ok = st == NST_OK && out && c == CLASSES && h == 13 && w == 13;
        CHECK(shape_ok, "conv10 is [%d,%d,%d], expected [1000,13,13]", c, h, w);
        if (shape_ok) {
            float mean[CLASSES];
            for (int k = 0; k < CLASSES; k++) {
                double sum = 0;
                for (int i = 0; i < h * w; i++)
                    sum += out[(size_t)k * h * w + i];
                mean[k] = (float)(sum / (h * w));
            }
            check_rel_error(output_name, mean, &logits, CLASSES, LOGITS_TOLERANCE);
        }
    }
    nst_array_clear(&input);
    nst_array_clear(&logits);
}

int main(void)
{
    nst_error err = {0};
    nst_model *model = nst_model_load(NST_MODEL_SQUEEZENET11, test_model_file("squeezenet1.1"), &err);
    CHECK(model, "loading SqueezeNet from %s: %s", test_model_file("squeezenet1.1"), err.message);
    if (!model)
        return test_finish("squeezenet_reference");

    int conv10 = nst_model_find_layer(model, "conv10");
    CHECK(conv10 >= 0, "SqueezeNet has no layer named conv10");
    nst_net_options options = {.pooling = NST_POOL_MAX, .padding = NST_PAD_ZERO};
    nst_net *net = conv10 >= 0 ? nst_net_new(model, INPUT_SIZE, INPUT_SIZE, conv10, &options, &err) : NULL;
    CHECK(conv10 < 0 || net, "nst_net_new 224x224: %s", err.message);
    if (net)
        for (int i = 0; i < 3; i++)
            check_case(net, conv10, i);

    nst_net_free(net);
    nst_model_free(model);
    return test_finish("squeezenet_reference");
}
