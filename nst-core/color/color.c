/* Colour preservation (Gatys, Bethge, Hertzmann, Shechtman 2016,
 * "Preserving color in neural artistic style transfer").
 *
 * Luminance mode: the optimisation runs on grey pictures (the style's luma
 * matched to the content's mean and deviation), then the content's chroma is
 * put back in YIQ.  Histogram mode: the style's RGB distribution is mapped
 * linearly so its mean and covariance equal the content's, then the
 * optimisation runs in colour as usual. */
#include "color/color.h"

#include <math.h>
#include <string.h>

#include "base/error.h"

/* Rec. 601 luma: the Y row of YIQ. */
static double luma(const float *p)
{
    return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
}

static float clamp_unit(double v)
{
    return v < 0.0 ? 0.0f : v > 1.0 ? 1.0f : (float)v;
}

static size_t pixel_count(const nst_image *image)
{
    return (size_t)image->width * (size_t)image->height;
}

void nst_color_to_luminance(nst_image *image)
{
    size_t n = pixel_count(image);
    for (size_t i = 0; i < n; i++) {
        float *p = image->rgb + 3 * i;
        p[0] = p[1] = p[2] = (float)luma(p);
    }
}

static void luma_mean_std(const nst_image *image, double *mean, double *std)
{
    size_t n = pixel_count(image);
    double sum = 0, sum_sq = 0;
    for (size_t i = 0; i < n; i++) {
        double y = luma(image->rgb + 3 * i);
        sum += y;
        sum_sq += y * y;
    }
    *mean = sum / (double)n;
    double var = sum_sq / (double)n - *mean * *mean;
    *std = var > 0 ? sqrt(var) : 0;
}

void nst_color_match_luminance(nst_image *image, const nst_image *reference)
{
    double mean, std, ref_mean, ref_std;
    luma_mean_std(image, &mean, &std);
    luma_mean_std(reference, &ref_mean, &ref_std);
    /* A flat picture has no contrast to scale: only shift it. */
    double gain = std > 1e-8 ? ref_std / std : 1.0;
    size_t n = pixel_count(image);
    for (size_t i = 0; i < n; i++) {
        float *p = image->rgb + 3 * i;
        p[0] = p[1] = p[2] = clamp_unit((luma(p) - mean) * gain + ref_mean);
    }
}

static int same_size(const nst_image *a, const nst_image *b)
{
    return a->width == b->width && a->height == b->height;
}

nst_status nst_color_keep_chroma(nst_image *stylised, const nst_image *content, nst_error *err)
{
    if (!stylised || !content)
        return nst_error_set(err, NST_ERR_INVALID, "keep chroma: NULL image");
    if (!same_size(stylised, content))
        return nst_error_set(err, NST_ERR_INVALID, "keep chroma: stylised %d x %d and content %d x %d differ in size",
                             stylised->width, stylised->height, content->width, content->height);
    /* The I and Q rows of the YIQ matrix each sum to zero, so the inverse
     * maps (dY, 0, 0) to (dY, dY, dY): replacing the content's Y by the
     * stylised Y while keeping I and Q is adding the Y difference to every
     * channel of the content. */
    size_t n = pixel_count(content);
    for (size_t i = 0; i < n; i++) {
        float *out = stylised->rgb + 3 * i;
        const float *c = content->rgb + 3 * i;
        double dy = luma(out) - luma(c);
        for (int k = 0; k < 3; k++)
            out[k] = clamp_unit(c[k] + dy);
    }
    return NST_OK;
}

/* ---- histogram matching --------------------------------------------------- */

typedef double mat3[3][3];

static void mean_covariance(const nst_image *image, double mean[3], mat3 cov)
{
    size_t n = pixel_count(image);
    double sum[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < 3; a++)
            sum[a] += image->rgb[3 * i + a];
    for (int a = 0; a < 3; a++)
        mean[a] = sum[a] / (double)n;
    mat3 acc = {{0}};
    for (size_t i = 0; i < n; i++) {
        const float *p = image->rgb + 3 * i;
        double d[3] = {p[0] - mean[0], p[1] - mean[1], p[2] - mean[2]};
        for (int a = 0; a < 3; a++)
            for (int b = a; b < 3; b++)
                acc[a][b] += d[a] * d[b];
    }
    for (int a = 0; a < 3; a++)
        for (int b = a; b < 3; b++)
            cov[a][b] = cov[b][a] = acc[a][b] / (double)n;
}

/* Cyclic Jacobi for a symmetric 3x3: s = V diag(values) V^T.  Converges
 * quadratically; a handful of sweeps reaches double precision. */
static void symmetric_eigen(const mat3 s, double values[3], mat3 vectors)
{
    mat3 a;
    memcpy(a, s, sizeof a);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            vectors[i][j] = i == j;
    for (int sweep = 0; sweep < 50; sweep++) {
        double off = fabs(a[0][1]) + fabs(a[0][2]) + fabs(a[1][2]);
        double scale = fabs(a[0][0]) + fabs(a[1][1]) + fabs(a[2][2]);
        if (off <= 1e-300 || off <= 1e-15 * scale)
            break;
        for (int p = 0; p < 2; p++) {
            for (int q = p + 1; q < 3; q++) {
                if (a[p][q] == 0.0)
                    continue;
                double theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), sn = t * c;
                for (int k = 0; k < 3; k++) { /* a = a J */
                    double akp = a[k][p], akq = a[k][q];
                    a[k][p] = c * akp - sn * akq;
                    a[k][q] = sn * akp + c * akq;
                }
                for (int k = 0; k < 3; k++) { /* a = J^T a */
                    double apk = a[p][k], aqk = a[q][k];
                    a[p][k] = c * apk - sn * aqk;
                    a[q][k] = sn * apk + c * aqk;
                }
                for (int k = 0; k < 3; k++) {
                    double vkp = vectors[k][p], vkq = vectors[k][q];
                    vectors[k][p] = c * vkp - sn * vkq;
                    vectors[k][q] = sn * vkp + c * vkq;
                }
            }
        }
    }
    for (int i = 0; i < 3; i++)
        values[i] = a[i][i];
}

/* V diag(values^power) V^T of a covariance regularised by eps on the diagonal. */
static void covariance_power(const mat3 cov, double power, mat3 out)
{
    const double eps = 1e-5;
    mat3 reg;
    memcpy(reg, cov, sizeof reg);
    for (int i = 0; i < 3; i++)
        reg[i][i] += eps;
    double values[3];
    mat3 v;
    symmetric_eigen(reg, values, v);
    for (int i = 0; i < 3; i++)
        values[i] = pow(values[i] > eps ? values[i] : eps, power);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double sum = 0;
            for (int k = 0; k < 3; k++)
                sum += v[i][k] * values[k] * v[j][k];
            out[i][j] = sum;
        }
}

nst_status nst_color_match_histogram(nst_image *style, const nst_image *content, nst_error *err)
{
    if (!style || !content)
        return nst_error_set(err, NST_ERR_INVALID, "histogram match: NULL image");
    double style_mean[3], content_mean[3];
    mat3 style_cov, content_cov, content_root, style_inv_root, map;
    mean_covariance(style, style_mean, style_cov);
    mean_covariance(content, content_mean, content_cov);
    /* map = Cc^(1/2) Cs^(-1/2): then map Cs map^T = Cc (symmetric roots). */
    covariance_power(content_cov, 0.5, content_root);
    covariance_power(style_cov, -0.5, style_inv_root);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double sum = 0;
            for (int k = 0; k < 3; k++)
                sum += content_root[i][k] * style_inv_root[k][j];
            map[i][j] = sum;
        }
    size_t n = pixel_count(style);
    for (size_t i = 0; i < n; i++) {
        float *p = style->rgb + 3 * i;
        double d[3] = {p[0] - style_mean[0], p[1] - style_mean[1], p[2] - style_mean[2]};
        for (int a = 0; a < 3; a++)
            p[a] = clamp_unit(map[a][0] * d[0] + map[a][1] * d[1] + map[a][2] * d[2] + content_mean[a]);
    }
    return NST_OK;
}
