/* nst_image_fill_transparent: hidden colours count for nothing, visible ones stay. */
#include <math.h>
#include <stdlib.h>

#include "nst/nst.h"
#include "test_util.h"

#define W 37
#define H 23

/* A random picture whose right part (x >= 20) is transparent with `hidden`
 * underneath, and one half-transparent pixel at (5, 5). */
static nst_image *picture(const float hidden[3], float *alpha)
{
    nst_image *image = nst_image_new(W, H, NULL);
    test_fill_uniform(image->rgb, (size_t)W * H * 3, 7, 0.0f, 1.0f);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            size_t i = (size_t)y * W + x;
            alpha[i] = x >= 20 ? 0.0f : 1.0f;
            for (int c = 0; c < 3 && x >= 20; c++)
                image->rgb[3 * i + c] = hidden[c];
        }
    alpha[5 * W + 5] = 0.5f;
    return image;
}

static void test_hidden_colours_do_not_count(void)
{
    float alpha[W * H];
    const float red[3] = {1, 0, 0}, green[3] = {0, 1, 0};
    nst_image *a = picture(red, alpha);
    nst_image *b = picture(green, alpha);
    nst_image *original = nst_image_copy(a, NULL);
    nst_error err = {0};
    CHECK(nst_image_fill_transparent(a, alpha, &err) == NST_OK, "%s", err.message);
    CHECK(nst_image_fill_transparent(b, alpha, &err) == NST_OK, "%s", err.message);
    int same = 1, opaque_kept = 1, in_range = 1;
    for (size_t i = 0; i < (size_t)W * H; i++)
        for (int c = 0; c < 3; c++) {
            same &= a->rgb[3 * i + c] == b->rgb[3 * i + c];
            if (alpha[i] == 1.0f)
                opaque_kept &= a->rgb[3 * i + c] == original->rgb[3 * i + c];
            in_range &= a->rgb[3 * i + c] >= 0.0f && a->rgb[3 * i + c] <= 1.0f;
        }
    CHECK(same, "the hidden colour changed the filled picture");
    CHECK(opaque_kept, "an opaque pixel changed");
    CHECK(in_range, "a filled colour left [0,1]");
    /* Far from the visible part the fill is no longer the hidden red. */
    const float *far = a->rgb + 3 * ((size_t)10 * W + 36);
    CHECK(far[0] < 0.9f, "the transparent corner kept its hidden red: %g", far[0]);
    /* The half-transparent pixel is half its colour, half its surroundings. */
    const float *half = a->rgb + 3 * ((size_t)5 * W + 5);
    const float *own = original->rgb + 3 * ((size_t)5 * W + 5);
    CHECK(fabsf(half[0] - own[0]) > 1e-4f || fabsf(half[1] - own[1]) > 1e-4f, "the half-visible pixel was kept");
    nst_image_free(a);
    nst_image_free(b);
    nst_image_free(original);
}

static void test_surrounded_hole_takes_the_surroundings(void)
{
    nst_image *image = nst_image_new(16, 16, NULL);
    float alpha[16 * 16];
    for (size_t i = 0; i < 16 * 16; i++) {
        int x = (int)(i % 16), y = (int)(i / 16);
        int hole = x >= 4 && x < 12 && y >= 4 && y < 12;
        alpha[i] = hole ? 0.0f : 1.0f;
        image->rgb[3 * i + 0] = hole ? 1.0f : 0.2f;
        image->rgb[3 * i + 1] = hole ? 0.0f : 0.4f;
        image->rgb[3 * i + 2] = hole ? 1.0f : 0.6f;
    }
    nst_error err = {0};
    CHECK(nst_image_fill_transparent(image, alpha, &err) == NST_OK, "%s", err.message);
    const float want[3] = {0.2f, 0.4f, 0.6f};
    for (size_t i = 0; i < 16 * 16; i++)
        for (int c = 0; c < 3; c++)
            CHECK(fabsf(image->rgb[3 * i + c] - want[c]) < 1e-5f, "pixel %zu channel %d: %g", i, c,
                  image->rgb[3 * i + c]);
    nst_image_free(image);
}

static void test_all_transparent_and_bad_arguments(void)
{
    nst_image *image = nst_image_new(5, 3, NULL);
    test_fill_uniform(image->rgb, 5 * 3 * 3, 3, 0.0f, 1.0f);
    nst_image *original = nst_image_copy(image, NULL);
    float alpha[15] = {0};
    nst_error err = {0};
    CHECK(nst_image_fill_transparent(image, alpha, &err) == NST_OK, "%s", err.message);
    int kept = 1;
    for (size_t i = 0; i < 45; i++)
        kept &= image->rgb[i] == original->rgb[i];
    CHECK(kept, "an image with nothing visible changed");
    CHECK(nst_image_fill_transparent(image, NULL, &err) == NST_ERR_INVALID, "no alpha accepted");
    CHECK(nst_image_fill_transparent(NULL, alpha, &err) == NST_ERR_INVALID, "no image accepted");
    nst_image_free(image);
    nst_image_free(original);
}

int main(void)
{
    test_hidden_colours_do_not_count();
    test_surrounded_hole_takes_the_surroundings();
    test_all_transparent_and_bad_arguments();
    return test_finish("alpha");
}
