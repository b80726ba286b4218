/* Colour preservation: luminance (YIQ) and histogram (mean + covariance). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "color/color.h"
#include "test_util.h"

/* The NTSC YIQ matrix, written out independently of color.c, which uses a
 * shortcut (adding the luma difference) instead of the matrix and its inverse. */
static void to_yiq(const float *rgb, double yiq[3])
{
    yiq[0] = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
    yiq[1] = 0.595716 * rgb[0] - 0.274453 * rgb[1] - 0.321263 * rgb[2];
    yiq[2] = 0.211456 * rgb[0] - 0.522591 * rgb[1] + 0.311135 * rgb[2];
}

static nst_image *random_image(int width, int height, uint64_t seed, float lo, float hi)
{
    nst_image *image = nst_image_new(width, height, NULL);
    test_fill_uniform(image->rgb, (size_t)width * height * 3, seed, lo, hi);
    return image;
}

static size_t pixels(const nst_image *image)
{
    return (size_t)image->width * image->height;
}

static void test_to_luminance(void)
{
    nst_image *image = nst_image_new(3, 1, NULL);
    for (int i = 0; i < 3; i++)
        image->rgb[3 * i + i] = 1.0f; /* pure red, green, blue */
    nst_color_to_luminance(image);
    const double luma[3] = {0.299, 0.587, 0.114};
    for (int i = 0; i < 3; i++)
        for (int c = 0; c < 3; c++)
            CHECK(fabs(image->rgb[3 * i + c] - luma[i]) < 1e-6, "primary %d channel %d: %g", i, c,
                  image->rgb[3 * i + c]);
    nst_image_free(image);
}

static void luma_stats(const nst_image *image, double *mean, double *std)
{
    double sum = 0, sum_sq = 0;
    for (size_t i = 0; i < pixels(image); i++) {
        double yiq[3];
        to_yiq(image->rgb + 3 * i, yiq);
        sum += yiq[0];
        sum_sq += yiq[0] * yiq[0];
    }
    *mean = sum / pixels(image);
    *std = sqrt(sum_sq / pixels(image) - *mean * *mean);
}

static void test_match_luminance(void)
{
    nst_image *grey = random_image(40, 30, 11, 0.0f, 1.0f);
    nst_color_to_luminance(grey);
    nst_image *reference = random_image(25, 35, 12, 0.3f, 0.7f); /* narrower: no clipping after the match */
    nst_color_match_luminance(grey, reference);
    double mean, std, ref_mean, ref_std;
    luma_stats(grey, &mean, &std);
    luma_stats(reference, &ref_mean, &ref_std);
    CHECK(fabs(mean - ref_mean) < 1e-5 && fabs(std - ref_std) < 1e-5, "mean %g std %g, reference %g %g", mean, std,
          ref_mean, ref_std);
    int still_grey = 1;
    for (size_t i = 0; i < pixels(grey); i++)
        still_grey &= grey->rgb[3 * i] == grey->rgb[3 * i + 1] && grey->rgb[3 * i] == grey->rgb[3 * i + 2];
    CHECK(still_grey, "match_luminance left colour in the picture");
    nst_image_free(reference);
    nst_image_free(grey);
}

static void test_keep_chroma(void)
{
    /* Ranges chosen so content + (Ys - Yc) stays in [0,1]: no clamping. */
    nst_image *content = random_image(33, 21, 21, 0.3f, 0.7f);
    nst_image *stylised = random_image(33, 21, 22, 0.4f, 0.6f);
    nst_color_to_luminance(stylised);
    nst_image *grey = nst_image_copy(stylised, NULL);
    nst_error err = {0};
    CHECK(nst_color_keep_chroma(stylised, content, &err) == NST_OK, "%s", err.message);
    double worst_y = 0, worst_iq = 0;
    for (size_t i = 0; i < pixels(content); i++) {
        double out[3], want_chroma[3], want_luma[3];
        to_yiq(stylised->rgb + 3 * i, out);
        to_yiq(content->rgb + 3 * i, want_chroma);
        to_yiq(grey->rgb + 3 * i, want_luma);
        worst_y = fmax(worst_y, fabs(out[0] - want_luma[0]));
        worst_iq = fmax(worst_iq, fmax(fabs(out[1] - want_chroma[1]), fabs(out[2] - want_chroma[2])));
    }
    CHECK(worst_y < 1e-5, "luma of the result is off the stylised luma by %g", worst_y);
    CHECK(worst_iq < 1e-5, "I/Q of the result are off the content's by %g", worst_iq);

    nst_image *small = nst_image_new(3, 3, NULL);
    CHECK(nst_color_keep_chroma(small, content, &err) == NST_ERR_INVALID, "size mismatch accepted");
    nst_image_free(small);
    nst_image_free(grey);
    nst_image_free(stylised);
    nst_image_free(content);
}

static void mean_cov(const nst_image *image, double mean[3], double cov[3][3])
{
    size_t n = pixels(image);
    memset(mean, 0, 3 * sizeof *mean);
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < 3; a++)
            mean[a] += image->rgb[3 * i + a] / (double)n;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double sum = 0;
            for (size_t i = 0; i < n; i++)
                sum += (image->rgb[3 * i + a] - mean[a]) * (image->rgb[3 * i + b] - mean[b]);
            cov[a][b] = sum / (double)n;
        }
}

/* Pixels = centre + mix * uniform noise: a correlated colour cloud. */
static nst_image *correlated_image(int width, int height, uint64_t seed, const double centre[3],
                                   const double mix[3][3])
{
    nst_image *image = random_image(width, height, seed, -0.5f, 0.5f);
    for (size_t i = 0; i < pixels(image); i++) {
        float *p = image->rgb + 3 * i;
        double u[3] = {p[0], p[1], p[2]};
        for (int a = 0; a < 3; a++)
            p[a] = (float)(centre[a] + mix[a][0] * u[0] + mix[a][1] * u[1] + mix[a][2] * u[2]);
    }
    return image;
}

static void test_match_histogram(void)
{
    const double content_centre[3] = {0.55, 0.45, 0.35};
    const double content_mix[3][3] = {{0.20, 0.05, 0.00}, {0.10, 0.15, 0.02}, {0.00, 0.08, 0.12}};
    const double style_centre[3] = {0.3, 0.6, 0.5};
    const double style_mix[3][3] = {{0.50, 0.00, 0.20}, {-0.10, 0.40, 0.00}, {0.05, 0.30, 0.25}};
    nst_image *content = correlated_image(60, 50, 31, content_centre, content_mix);
    nst_image *style = correlated_image(45, 70, 32, style_centre, style_mix);
    nst_error err = {0};
    CHECK(nst_color_match_histogram(style, content, &err) == NST_OK, "%s", err.message);
    double cm[3], cc[3][3], sm[3], sc[3][3];
    mean_cov(content, cm, cc);
    mean_cov(style, sm, sc);
    double worst = 0;
    for (int a = 0; a < 3; a++) {
        worst = fmax(worst, fabs(sm[a] - cm[a]));
        for (int b = 0; b < 3; b++)
            worst = fmax(worst, fabs(sc[a][b] - cc[a][b]));
    }
    CHECK(worst < 1e-3, "style mean/covariance differ from the content's by %g", worst);
    /* Relative check of the covariance: the entries themselves are ~1e-3..1e-2. */
    double worst_rel = 0;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            worst_rel = fmax(worst_rel, fabs(sc[a][b] - cc[a][b]) / cc[a][a]);
    CHECK(worst_rel < 0.01, "covariance relative error %g", worst_rel);
    nst_image_free(style);
    nst_image_free(content);
}

/* A grey style has a rank-1 covariance: the eps regularisation must keep
 * the map finite, and clamping keeps it in [0,1]. */
static void test_match_histogram_degenerate(void)
{
    nst_image *style = random_image(20, 20, 41, 0.0f, 1.0f);
    nst_color_to_luminance(style);
    nst_image *content = random_image(20, 20, 42, 0.0f, 1.0f);
    nst_image *flat = nst_image_new(20, 20, NULL); /* all black: zero covariance */
    nst_error err = {0};
    CHECK(nst_color_match_histogram(style, content, &err) == NST_OK, "%s", err.message);
    CHECK(nst_color_match_histogram(flat, content, &err) == NST_OK, "%s", err.message);
    int bad = 0;
    for (size_t i = 0; i < pixels(style) * 3; i++) {
        bad += !(style->rgb[i] >= 0.0f && style->rgb[i] <= 1.0f);
        bad += !(flat->rgb[i] >= 0.0f && flat->rgb[i] <= 1.0f);
    }
    CHECK(bad == 0, "%d samples NaN or outside [0,1]", bad);
    double fm[3], fc[3][3], cm[3], cc[3][3];
    mean_cov(flat, fm, fc);
    mean_cov(content, cm, cc);
    CHECK(fabs(fm[0] - cm[0]) < 1e-5, "flat style did not move to the content mean: %g vs %g", fm[0], cm[0]);
    nst_image_free(flat);
    nst_image_free(content);
    nst_image_free(style);
}

int main(void)
{
    test_to_luminance();
    test_match_luminance();
    test_keep_chroma();
    test_match_histogram();
    test_match_histogram_degenerate();
    return test_finish("color");
}
