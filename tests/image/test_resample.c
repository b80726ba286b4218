/* nst_image_resize (and its unclamped twin for signed data) and
 * nst_image_fit_size. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "image/image.h"
#include "nst/nst.h"
#include "test_util.h"

static nst_image *new_image(int width, int height)
{
    nst_error err = {0};
    nst_image *image = nst_image_new(width, height, &err);
    CHECK(image != NULL, "%s", err.message);
    return image;
}

static float *pixel(const nst_image *image, int x, int y)
{
    return image->rgb + ((size_t)y * image->width + x) * 3;
}

static nst_image *resize(const nst_image *image, int width, int height)
{
    nst_error err = {0};
    nst_image *out = nst_image_resize(image, width, height, &err);
    CHECK(out && out->width == width && out->height == height, "resize to %d x %d: %s", width, height,
          err.message);
    return out;
}

static double max_diff(const nst_image *a, const nst_image *b)
{
    double worst = 0;
    for (size_t i = 0; i < (size_t)a->width * a->height * 3; i++)
        worst = fmax(worst, fabs((double)a->rgb[i] - b->rgb[i]));
    return worst;
}

static double channel_mean(const nst_image *image, int c)
{
    double sum = 0;
    for (int y = 0; y < image->height; y++)
        for (int x = 0; x < image->width; x++)
            sum += pixel(image, x, y)[c];
    return sum / ((double)image->width * image->height);
}

static void test_constant_stays_constant(void)
{
    static const int sizes[][2] = {{40, 30}, {13, 7}, {97, 61}, {40, 61}, {13, 30}, {1, 1}, {200, 3}};
    nst_image *image = new_image(40, 30);
    const float colour[3] = {0.2f, 0.55f, 0.9f};
    for (size_t i = 0; i < 40 * 30; i++)
        memcpy(image->rgb + 3 * i, colour, sizeof colour);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        nst_image *out = resize(image, sizes[k][0], sizes[k][1]);
        double worst = 0;
        for (size_t i = 0; out && i < (size_t)out->width * out->height; i++)
            for (int c = 0; c < 3; c++)
                worst = fmax(worst, fabs(out->rgb[3 * i + c] - colour[c]));
        CHECK(worst < 1e-6, "constant image resized to %d x %d drifts by %g", sizes[k][0], sizes[k][1], worst);
        nst_image_free(out);
    }
    nst_image_free(image);
}

static void test_halving_is_2x2_mean(void)
{
    nst_image *image = new_image(34, 22);
    test_fill_uniform(image->rgb, 34 * 22 * 3, 3, 0.0f, 1.0f);
    nst_image *out = resize(image, 17, 11);
    double worst = 0;
    for (int y = 0; out && y < 11; y++)
        for (int x = 0; x < 17; x++)
            for (int c = 0; c < 3; c++) {
                double mean = (pixel(image, 2 * x, 2 * y)[c] + pixel(image, 2 * x + 1, 2 * y)[c] +
                               pixel(image, 2 * x, 2 * y + 1)[c] + pixel(image, 2 * x + 1, 2 * y + 1)[c]) /
                              4.0;
                worst = fmax(worst, fabs(pixel(out, x, y)[c] - mean));
            }
    CHECK(worst < 1e-6, "halving differs from the 2x2 mean by %g", worst);
    nst_image_free(out);
    nst_image_free(image);
}

/* Area averaging gives every source pixel the same total weight, so any
 * shrink keeps the mean colour, even by awkward factors. */
static void test_shrink_keeps_mean(void)
{
    nst_image *image = new_image(101, 67);
    test_fill_uniform(image->rgb, 101 * 67 * 3, 4, 0.0f, 1.0f);
    nst_image *out = resize(image, 29, 40);
    for (int c = 0; out && c < 3; c++)
        CHECK(fabs(channel_mean(out, c) - channel_mean(image, c)) < 1e-5, "channel %d mean %g -> %g", c,
              channel_mean(image, c), channel_mean(out, c));
    nst_image_free(out);
    nst_image_free(image);
}

/* Keys' cubic reproduces straight lines: enlarging a ramp gives the ramp at
 * the output pixel centres, away from the clamped borders. */
static void test_enlarge_reproduces_ramp(void)
{
    const int w = 20, h = 5, out_w = 53;
    nst_image *image = new_image(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                pixel(image, x, y)[c] = 0.1f + 0.04f * x;
    nst_image *out = resize(image, out_w, h);
    double worst = 0;
    for (int x = 0; out && x < out_w; x++) {
        double source_x = (x + 0.5) * w / out_w - 0.5;
        if (source_x < 1 || source_x > w - 2)
            continue;
        worst = fmax(worst, fabs(pixel(out, x, 2)[1] - (0.1 + 0.04 * source_x)));
    }
    CHECK(worst < 1e-5, "ramp enlarged with error %g", worst);
    nst_image_free(out);
    nst_image_free(image);
}

static void test_enlarge_then_shrink(void)
{
    const int w = 48, h = 36;
    nst_image *image = new_image(w, h);
    for (int y = 0; y < h; y++) /* smooth: a few cycles across the picture */
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                pixel(image, x, y)[c] = 0.5f + 0.3f * sinf(0.2f * x + 0.7f * c) * cosf(0.15f * y);
    nst_image *big = resize(image, 2 * w + 7, 3 * h);
    nst_image *back = big ? resize(big, w, h) : NULL;
    if (back)
        CHECK(max_diff(back, image) < 0.01, "enlarge + shrink differs by %g", max_diff(back, image));
    nst_image_free(back);
    nst_image_free(big);
    nst_image_free(image);
}

static void test_enlarge_stays_in_range(void)
{
    nst_image *image = new_image(8, 8); /* a hard checkerboard makes the cubic overshoot */
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
            for (int c = 0; c < 3; c++)
                pixel(image, x, y)[c] = (float)((x + y) % 2);
    nst_image *out = resize(image, 27, 31);
    int outside = 0;
    for (size_t i = 0; out && i < 27 * 31 * 3; i++)
        outside += !(out->rgb[i] >= 0.0f && out->rgb[i] <= 1.0f);
    CHECK(outside == 0, "%d samples outside [0,1] after enlarging", outside);
    nst_image_free(out);
    nst_image_free(image);
}

/* Signed data (the pyramid resamples picture differences and gradients):
 * a negative ramp is reproduced, and the checkerboard's overshoot is kept,
 * the clamped resize's values where that one is inside [0,1]. */
static void test_unclamped_keeps_signed_values(void)
{
    nst_error err = {0};
    const int w = 20, h = 5, out_w = 53;
    nst_image *ramp = new_image(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                pixel(ramp, x, y)[c] = -2.0f + 0.3f * x;
    nst_image *out = nst_image_resize_unclamped(ramp, out_w, h, &err);
    CHECK(out != NULL, "%s", err.message);
    double worst = 0;
    for (int x = 0; out && x < out_w; x++) {
        double source_x = (x + 0.5) * w / out_w - 0.5;
        if (source_x >= 1 && source_x <= w - 2)
            worst = fmax(worst, fabs(pixel(out, x, 2)[0] - (-2.0 + 0.3 * source_x)));
    }
    CHECK(worst < 1e-5, "signed ramp enlarged with error %g", worst);
    nst_image_free(out);
    nst_image_free(ramp);

    nst_image *board = new_image(8, 8);
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
            for (int c = 0; c < 3; c++)
                pixel(board, x, y)[c] = (float)((x + y) % 2);
    nst_image *free_board = nst_image_resize_unclamped(board, 27, 31, &err);
    nst_image *clamped = resize(board, 27, 31);
    int outside = 0, differ = 0;
    for (size_t i = 0; free_board && clamped && i < 27 * 31 * 3; i++) {
        float v = free_board->rgb[i];
        outside += !(v >= 0.0f && v <= 1.0f);
        differ += v >= 0.0f && v <= 1.0f && v != clamped->rgb[i];
    }
    CHECK(outside > 0, "the unclamped resize clamped the overshoot");
    CHECK(differ == 0, "%d samples inside [0,1] differ from the clamped resize", differ);
    nst_image_free(clamped);
    nst_image_free(free_board);
    nst_image_free(board);
}

static void test_identity_is_exact(void)
{
    nst_image *image = new_image(31, 17);
    test_fill_uniform(image->rgb, 31 * 17 * 3, 5, -0.5f, 1.5f); /* out of range values stay untouched too */
    nst_image *out = resize(image, 31, 17);
    CHECK(out && out != image && memcmp(out->rgb, image->rgb, 31 * 17 * 3 * sizeof(float)) == 0,
          "same-size resize is not an exact copy");
    nst_image_free(out);
    nst_image_free(image);
}

static void test_resize_errors(void)
{
    nst_image *image = new_image(4, 4);
    nst_error err = {0};
    CHECK(nst_image_resize(image, 0, 4, &err) == NULL && err.code == NST_ERR_INVALID, "resize to 0 x 4: %s",
          err.message);
    CHECK(nst_image_resize(NULL, 4, 4, &err) == NULL && err.code == NST_ERR_INVALID, "resize NULL");
    nst_image_free(image);
}

static void test_fit_size(void)
{
    static const struct {
        int w, h, longest, want_w, want_h;
    } cases[] = {
        {451, 300, 256, 256, 170}, /* 170.29 */
        {300, 451, 256, 170, 256},
        {512, 512, 300, 300, 300},
        {3, 2, 5, 5, 3},   /* 3.33 */
        {2, 3, 7, 5, 7},   /* 4.67 */
        {4, 1, 2, 2, 1},   /* 0.5 rounds up */
        {10000, 1, 100, 100, 1}, /* never below 1 px */
        {600, 400, 1200, 1200, 800},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int w = 0, h = 0;
        nst_image_fit_size(cases[k].w, cases[k].h, cases[k].longest, &w, &h);
        CHECK(w == cases[k].want_w && h == cases[k].want_h, "fit %d x %d in %d: %d x %d, want %d x %d",
              cases[k].w, cases[k].h, cases[k].longest, w, h, cases[k].want_w, cases[k].want_h);
    }
}

int main(void)
{
    test_constant_stays_constant();
    test_halving_is_2x2_mean();
    test_shrink_keeps_mean();
    test_enlarge_reproduces_ramp();
    test_enlarge_then_shrink();
    test_enlarge_stays_in_range();
    test_unclamped_keeps_signed_values();
    test_identity_is_exact();
    test_resize_errors();
    test_fit_size();
    return test_finish("resample");
}
