/* Loading and saving pictures: every PNG colour type and bit depth (written
 * here with libpng, so the expected pixels are known exactly), JPEG in RGB,
 * grey and CMYK, sample pictures against pixels decoded by PIL, round trips,
 * rounding, and the error paths (missing, empty, not an image, truncated,
 * absurd header sizes, a FIFO, a folder), and loads bounded in bytes. */
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>

#include "nst/nst.h"
#include "test_util.h"

static char tmp_dir[] = "/tmp/nst-test-image-XXXXXX";

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int next;
    char *out = buf[next++ % 4];
    snprintf(out, sizeof buf[0], "%s/%s", tmp_dir, name);
    return out;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot create %s", path);
    if (f) {
        CHECK(fwrite(data, 1, n, f) == n, "short write to %s", path);
        fclose(f);
    }
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    unsigned char *data = malloc(size > 0 ? (size_t)size : 1);
    *n = fread(data, 1, (size_t)size, f);
    fclose(f);
    return data;
}

static int close_to(float a, float b, float tol)
{
    return fabsf(a - b) <= tol;
}

/* ---- synthetic PNGs ------------------------------------------------------- */

/* A sample that changes with x, y and channel and covers the whole range. */
static unsigned sample(int x, int y, int c, int bit_depth)
{
    unsigned levels = 1u << bit_depth;
    return (unsigned)(x * 37 + y * 101 + c * 59 + 11) % levels;
}

#define PALETTE_SIZE 16
static png_color palette_entry(int i)
{
    png_color c = {(png_byte)(i * 17), (png_byte)(255 - i * 17), (png_byte)((i * 50) % 256)};
    return c;
}

static int palette_index(int x, int y)
{
    return (x * 3 + y) % PALETTE_SIZE;
}

static int png_channels(int color_type)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1; /* palette: one index */
    }
}

static void put_sample(png_bytep row, int index, unsigned value, int bit_depth)
{
    if (bit_depth == 16) {
        row[2 * index] = (png_byte)(value >> 8);
        row[2 * index + 1] = (png_byte)value;
    } else if (bit_depth == 8) {
        row[index] = (png_byte)value;
    } else { /* packed, most significant bits first */
        int per_byte = 8 / bit_depth;
        int shift = 8 - bit_depth * (index % per_byte + 1);
        row[index / per_byte] |= (png_byte)(value << shift);
    }
}

static void write_synthetic_png(const char *path, int width, int height, int color_type, int bit_depth,
                                int interlace)
{
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_init_io(png, f);
    png_set_IHDR(png, info, width, height, bit_depth, color_type, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color colors[PALETTE_SIZE];
        png_byte alpha[4] = {0, 60, 120, 180}; /* a tRNS chunk, which must be dropped too */
        for (int i = 0; i < PALETTE_SIZE; i++)
            colors[i] = palette_entry(i);
        png_set_PLTE(png, info, colors, PALETTE_SIZE);
        png_set_tRNS(png, info, alpha, 4, NULL);
    }
    png_write_info(png, info);
    int channels = png_channels(color_type);
    size_t row_bytes = ((size_t)width * channels * bit_depth + 7) / 8;
    png_bytep data = calloc((size_t)height, row_bytes);
    png_bytep *rows = malloc((size_t)height * sizeof *rows);
    for (int y = 0; y < height; y++) {
        rows[y] = data + (size_t)y * row_bytes;
        for (int x = 0; x < width; x++)
            for (int c = 0; c < channels; c++) {
                unsigned v = color_type == PNG_COLOR_TYPE_PALETTE ? (unsigned)palette_index(x, y)
                                                                   : sample(x, y, c, bit_depth);
                put_sample(rows[y], x * channels + c, v, bit_depth);
            }
    }
    png_set_interlace_handling(png);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
    free(rows);
    free(data);
}

static float expected_channel(int x, int y, int c, int color_type, int bit_depth)
{
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color p = palette_entry(palette_index(x, y));
        png_byte rgb[3] = {p.red, p.green, p.blue};
        return rgb[c] / 255.0f;
    }
    int grey = color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA;
    return (float)sample(x, y, grey ? 0 : c, bit_depth) / (float)((1u << bit_depth) - 1);
}

static void test_png_layouts(void)
{
    static const struct {
        const char *name;
        int color_type, bit_depth, interlace;
    } cases[] = {
        {"grey1", PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_NONE},
        {"grey4", PNG_COLOR_TYPE_GRAY, 4, PNG_INTERLACE_NONE},
        {"grey8", PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE},
        {"grey16", PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_NONE},
        {"grey_alpha8", PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE},
        {"grey_alpha16", PNG_COLOR_TYPE_GRAY_ALPHA, 16, PNG_INTERLACE_NONE},
        {"rgb8", PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE},
        {"rgb16", PNG_COLOR_TYPE_RGB, 16, PNG_INTERLACE_NONE},
        {"rgba8", PNG_COLOR_TYPE_RGB_ALPHA, 8, PNG_INTERLACE_NONE},
        {"rgba16", PNG_COLOR_TYPE_RGB_ALPHA, 16, PNG_INTERLACE_NONE},
        {"palette_trns", PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE},
        {"rgb8_adam7", PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7},
    };
    const int width = 23, height = 17; /* odd sizes: partial bytes, every Adam7 pass */
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s.png", cases[k].name);
        const char *path = tmp_path(name);
        write_synthetic_png(path, width, height, cases[k].color_type, cases[k].bit_depth, cases[k].interlace);
        nst_error err = {0};
        nst_image *image = nst_image_load(path, &err);
        CHECK(image != NULL, "%s: %s", cases[k].name, err.message);
        if (!image)
            continue;
        CHECK(image->width == width && image->height == height, "%s: %d x %d", cases[k].name, image->width,
              image->height);
        int mismatches = 0;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < 3; c++) {
                    float want = expected_channel(x, y, c, cases[k].color_type, cases[k].bit_depth);
                    float got = image->rgb[((size_t)y * width + x) * 3 + c];
                    if (!close_to(got, want, 1e-6f) && mismatches++ == 0)
                        test_report_detail("%s (%d,%d,%d): got %g want %g", cases[k].name, x, y, c, got, want);
                }
        CHECK(mismatches == 0, "%s: %d samples differ", cases[k].name, mismatches);
        nst_image_free(image);
    }
}

/* ---- sample pictures against PIL ----------------------------------------- */

/* Reference pixels read with /usr/bin/python3, Pillow 9.4 (libjpeg-turbo 2.1):
 *   np.asarray(PIL.Image.open(path).convert('RGB'))[y, x]
 * horse.png is RGBA (alpha dropped by both), camera.png grey, palette_color.png
 * a palette, checker_bilevel.png 1-bit grey. */
typedef struct reference_pixel {
    const char *path;
    int width, height, x, y;
    unsigned char rgb[3];
} reference_pixel;

#define SKIMAGE "/usr/lib/python3/dist-packages/skimage/data/"
#define STARRY "/usr/share/doc/opencv-doc/examples/data/starry_night.jpg"

static const reference_pixel reference_pixels[] = {
    {STARRY, 752, 600, 376, 200, {111, 140, 206}},
    {STARRY, 752, 600, 250, 300, {145, 193, 145}},
    {STARRY, 752, 600, 600, 100, {151, 205, 155}},
    {STARRY, 752, 600, 700, 450, {106, 130, 96}},
    {STARRY, 752, 600, 10, 10, {123, 118, 86}},
    {SKIMAGE "chelsea.png", 451, 300, 225, 100, {186, 140, 106}},
    {SKIMAGE "chelsea.png", 451, 300, 150, 150, {146, 105, 61}},
    {SKIMAGE "chelsea.png", 451, 300, 449, 1, {45, 29, 13}},
    {SKIMAGE "chelsea.png", 451, 300, 90, 297, {188, 156, 143}},
    {SKIMAGE "astronaut.png", 512, 512, 256, 170, {213, 201, 201}},
    {SKIMAGE "astronaut.png", 512, 512, 170, 256, {42, 23, 13}},
    {SKIMAGE "astronaut.png", 512, 512, 510, 1, {124, 115, 108}},
    {SKIMAGE "astronaut.png", 512, 512, 102, 509, {138, 24, 12}},
    {SKIMAGE "coffee.png", 600, 400, 300, 133, {225, 135, 49}},
    {SKIMAGE "coffee.png", 600, 400, 200, 200, {144, 48, 23}},
    {SKIMAGE "coffee.png", 600, 400, 598, 1, {231, 185, 139}},
    {SKIMAGE "coffee.png", 600, 400, 120, 397, {244, 216, 184}},
    {SKIMAGE "horse.png", 400, 328, 200, 109, {0, 0, 0}},
    {SKIMAGE "horse.png", 400, 328, 398, 1, {255, 255, 255}},
    {SKIMAGE "camera.png", 512, 512, 256, 170, {218, 218, 218}},
    {SKIMAGE "camera.png", 512, 512, 170, 256, {27, 27, 27}},
    {SKIMAGE "camera.png", 512, 512, 102, 509, {126, 126, 126}},
    {SKIMAGE "palette_color.png", 10, 10, 5, 3, {153, 153, 51}},
    {SKIMAGE "palette_color.png", 10, 10, 3, 5, {102, 204, 0}},
    {SKIMAGE "palette_color.png", 10, 10, 8, 1, {102, 153, 102}},
    {SKIMAGE "checker_bilevel.png", 10, 10, 0, 0, {255, 255, 255}},
    {SKIMAGE "checker_bilevel.png", 10, 10, 3, 5, {0, 0, 0}},
};

static void test_reference_pixels(void)
{
    int skipped = 0;
    for (size_t k = 0; k < sizeof reference_pixels / sizeof reference_pixels[0]; k++) {
        const reference_pixel *ref = &reference_pixels[k];
        if (access(ref->path, R_OK) != 0) {
            skipped++;
            continue;
        }
        nst_error err = {0};
        nst_image *image = nst_image_load(ref->path, &err);
        CHECK(image != NULL, "%s", err.message);
        if (!image)
            continue;
        CHECK(image->width == ref->width && image->height == ref->height, "%s: %d x %d", ref->path,
              image->width, image->height);
        const float *p = image->rgb + ((size_t)ref->y * image->width + ref->x) * 3;
        for (int c = 0; c < 3; c++)
            CHECK(close_to(p[c] * 255.0f, ref->rgb[c], 1e-3f), "%s (%d,%d) channel %d: %g, PIL %d", ref->path,
                  ref->x, ref->y, c, p[c] * 255.0f, ref->rgb[c]);
        nst_image_free(image);
    }
    if (skipped)
        printf("reference pixels: %d skipped (sample pictures not installed)\n", skipped);
}

/* ---- round trips and rounding -------------------------------------------- */

static nst_image *random_image(int width, int height, uint64_t seed)
{
    nst_image *image = nst_image_new(width, height, NULL);
    test_fill_uniform(image->rgb, (size_t)width * height * 3, seed, 0.0f, 1.0f);
    return image;
}

static double mean_abs_diff(const nst_image *a, const nst_image *b)
{
    size_t n = (size_t)a->width * a->height * 3;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += fabs((double)a->rgb[i] - b->rgb[i]);
    return sum / (double)n;
}

static void test_round_trips(void)
{
    nst_error err = {0};
    nst_image *random = random_image(37, 29, 1);
    CHECK(nst_image_save(random, tmp_path("random.png"), &err) == NST_OK, "%s", err.message);
    nst_image *back = nst_image_load(tmp_path("random.png"), &err);
    CHECK(back && back->width == 37 && back->height == 29, "%s", err.message);
    if (back) {
        float worst = 0;
        for (size_t i = 0; i < 37 * 29 * 3; i++)
            worst = fmaxf(worst, fabsf(back->rgb[i] - random->rgb[i]));
        CHECK(worst <= 0.5f / 255.0f + 1e-6f, "8-bit PNG quantisation error %g", worst);
    }
    nst_image_free(back);
    nst_image_free(random);

    /* A decoded 8-bit PNG saved again must come back bit for bit. */
    const char *chelsea = SKIMAGE "chelsea.png";
    nst_image *original = access(chelsea, R_OK) == 0 ? nst_image_load(chelsea, &err) : NULL;
    if (original) {
        CHECK(nst_image_save(original, tmp_path("chelsea.png"), &err) == NST_OK, "%s", err.message);
        back = nst_image_load(tmp_path("chelsea.png"), &err);
        CHECK(back && memcmp(back->rgb, original->rgb, (size_t)451 * 300 * 3 * sizeof(float)) == 0,
              "chelsea PNG round trip is not exact");
        nst_image_free(back);
        nst_image_free(original);
    }
    original = access(STARRY, R_OK) == 0 ? nst_image_load(STARRY, &err) : NULL;
    if (original) {
        CHECK(nst_image_save(original, tmp_path("starry.JPG"), &err) == NST_OK, "%s", err.message);
        back = nst_image_load(tmp_path("starry.JPG"), &err);
        CHECK(back && back->width == 752 && back->height == 600, "%s", err.message);
        /* Quality 95 without chroma subsampling: about 1 level of 255 on average. */
        if (back)
            CHECK(mean_abs_diff(back, original) < 2.0 / 255.0, "JPEG round trip mean error %g",
                  mean_abs_diff(back, original));
        nst_image_free(back);
        nst_image_free(original);
    }
}

static void test_rounding(void)
{
    static const float values[] = {0.0f, 1.0f, 100.4f / 255, 100.6f / 255, -0.2f, 1.5f, NAN, 254.49f / 255};
    static const unsigned char expected[] = {0, 255, 100, 101, 0, 255, 0, 254};
    const int n = (int)(sizeof values / sizeof values[0]);
    nst_image *image = nst_image_new(n, 1, NULL);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 3; c++)
            image->rgb[3 * i + c] = values[i];
    nst_error err = {0};
    CHECK(nst_image_save(image, tmp_path("rounding.png"), &err) == NST_OK, "%s", err.message);
    nst_image *back = nst_image_load(tmp_path("rounding.png"), &err);
    CHECK(back != NULL, "%s", err.message);
    for (int i = 0; back && i < n; i++)
        CHECK(close_to(back->rgb[3 * i] * 255.0f, expected[i], 1e-3f), "value %g saved as %g, want %d", values[i],
              back->rgb[3 * i] * 255.0f, expected[i]);
    nst_image_free(back);
    nst_image_free(image);
}

/* ---- JPEG colour spaces --------------------------------------------------- */

/* A size x size JPEG in `space` (1, 3 or 4 components) of one colour
 * `flat`, or of noise when `flat` is NULL; progressive or baseline. */
static void write_test_jpeg(const char *path, int size, J_COLOR_SPACE space, int components, int quality,
                            int progressive, const unsigned char *flat)
{
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    FILE *f = fopen(path, "wb");
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = cinfo.image_height = (JDIMENSION)size;
    cinfo.input_components = components;
    cinfo.in_color_space = space;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    if (progressive)
        jpeg_simple_progression(&cinfo);
    jpeg_start_compress(&cinfo, TRUE);
    unsigned char *row = malloc((size_t)size * (size_t)components);
    uint64_t state = 5;
    while (cinfo.next_scanline < cinfo.image_height) {
        for (int i = 0; i < size * components; i++)
            row[i] = flat ? flat[i % components] : (unsigned char)test_rand_u64(&state);
        JSAMPROW rows[1] = {row};
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    fclose(f);
    free(row);
}

/* A flat 16 x 16 JPEG at quality 100 of one colour; flat blocks survive the
 * DCT almost exactly. */
static void write_flat_jpeg(const char *path, J_COLOR_SPACE space, int components, const unsigned char *value)
{
    write_test_jpeg(path, 16, space, components, 100, 0, value);
}

static void check_flat(const char *what, const nst_image *image, const float want[3], float tol)
{
    CHECK(image && image->width == 16 && image->height == 16, "%s did not load", what);
    for (int i = 0; image && i < 16 * 16; i++)
        for (int c = 0; c < 3; c++)
            if (!close_to(image->rgb[3 * i + c], want[c], tol)) {
                CHECK(0, "%s pixel %d channel %d: %g, want %g", what, i, c, image->rgb[3 * i + c], want[c]);
                return;
            }
}

static void test_jpeg_color_spaces(void)
{
    nst_error err = {0};
    const unsigned char grey = 90;
    write_flat_jpeg(tmp_path("grey.jpg"), JCS_GRAYSCALE, 1, &grey);
    nst_image *image = nst_image_load(tmp_path("grey.jpg"), &err);
    const float grey_want[3] = {90 / 255.0f, 90 / 255.0f, 90 / 255.0f};
    check_flat("grey JPEG", image, grey_want, 1.5f / 255);
    nst_image_free(image);

    /* libjpeg writes CMYK with an Adobe marker; like Photoshop, the stored
     * values are 255 - ink.  Ink c=0.2 m=0.6 y=0 k=0.5 -> RGB (1-ink)(1-k). */
    const float ink[4] = {0.2f, 0.6f, 0.0f, 0.5f};
    unsigned char stored[4];
    for (int c = 0; c < 4; c++)
        stored[c] = (unsigned char)lrintf(255 * (1 - ink[c]));
    write_flat_jpeg(tmp_path("cmyk.jpg"), JCS_CMYK, 4, stored);
    image = nst_image_load(tmp_path("cmyk.jpg"), &err);
    CHECK(image != NULL, "CMYK JPEG: %s", err.message);
    float cmyk_want[3];
    for (int c = 0; c < 3; c++)
        cmyk_want[c] = (1 - ink[c]) * (1 - ink[3]);
    check_flat("CMYK JPEG", image, cmyk_want, 3.0f / 255);
    nst_image_free(image);
}

/* ---- errors --------------------------------------------------------------- */

static void expect_load_error(const char *what, const char *path, nst_status code, const char *fragment)
{
    nst_error err = {0};
    nst_image *image = nst_image_load(path, &err);
    CHECK(image == NULL, "%s: loaded", what);
    nst_image_free(image);
    CHECK(err.code == code, "%s: code %s, want %s (%s)", what, nst_status_name(err.code), nst_status_name(code),
          err.message);
    CHECK(strstr(err.message, path) != NULL, "%s: message does not name the file: %s", what, err.message);
    CHECK(strstr(err.message, fragment) != NULL, "%s: message lacks '%s': %s", what, fragment, err.message);
}

static void truncate_copy(const char *from, const char *to, size_t keep)
{
    size_t n = 0;
    unsigned char *data = read_bytes(from, &n);
    CHECK(data && n > keep, "%s too small to truncate", from);
    if (data)
        write_bytes(to, data, keep < n ? keep : n);
    free(data);
}

/* Signature + IHDR claiming width x height + an empty IDAT, written by libpng
 * (so the CRCs are right): only the size check can reject it. */
static void write_png_header_only(const char *path, png_uint_32 width, png_uint_32 height)
{
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_init_io(png, f);
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX); /* libpng's writer stops at 10^6 px a side */
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    static const png_byte no_data[1] = {0};
    png_write_chunk(png, (png_const_bytep) "IDAT", no_data, 0);
    png_write_flush(png);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

/* A real JPEG whose SOF0 header is patched to claim 65500 x 65500. */
static void write_huge_jpeg_header(const char *small_jpeg, const char *path)
{
    size_t n = 0;
    unsigned char *data = read_bytes(small_jpeg, &n);
    int patched = 0;
    for (size_t i = 2; data && i + 9 < n && !patched; i++)
        if (data[i] == 0xff && data[i + 1] == 0xc0) {
            data[i + 5] = data[i + 7] = 0xff; /* height, width: 0xffdc = 65500 */
            data[i + 6] = data[i + 8] = 0xdc;
            patched = 1;
        }
    CHECK(patched, "no SOF0 marker in %s", small_jpeg);
    if (data)
        write_bytes(path, data, n);
    free(data);
}

static void test_load_errors(void)
{
    expect_load_error("missing file", tmp_path("does-not-exist.png"), NST_ERR_NOT_FOUND, "cannot open");
    expect_load_error("folder", tmp_dir, NST_ERR_IO, "is a folder");
    /* Opening a FIFO for reading waits for a writer: forever, before the
     * check.  The alarm turns a hang into a failure. */
    CHECK(mkfifo(tmp_path("fifo.png"), 0600) == 0, "mkfifo");
    alarm(10);
    expect_load_error("FIFO", tmp_path("fifo.png"), NST_ERR_IO, "special file");
    alarm(0);
    write_bytes(tmp_path("empty.png"), "", 0);
    expect_load_error("empty file", tmp_path("empty.png"), NST_ERR_FORMAT, "empty");
    const char text[] = "this is not a picture\n";
    write_bytes(tmp_path("text.png"), text, sizeof text - 1);
    expect_load_error("text named .png", tmp_path("text.png"), NST_ERR_FORMAT, "not a PNG or JPEG");

    nst_image *noise = random_image(96, 80, 7); /* noise does not compress: bytes spread over the file */
    nst_error err = {0};
    CHECK(nst_image_save(noise, tmp_path("noise.png"), &err) == NST_OK, "%s", err.message);
    CHECK(nst_image_save(noise, tmp_path("noise.jpg"), &err) == NST_OK, "%s", err.message);
    nst_image_free(noise);
    size_t png_size = 0, jpg_size = 0;
    free(read_bytes(tmp_path("noise.png"), &png_size));
    free(read_bytes(tmp_path("noise.jpg"), &jpg_size));
    truncate_copy(tmp_path("noise.png"), tmp_path("half.png"), png_size / 2);
    expect_load_error("PNG cut in half", tmp_path("half.png"), NST_ERR_FORMAT, "truncated or corrupt PNG");
    truncate_copy(tmp_path("noise.png"), tmp_path("head.png"), 20);
    expect_load_error("PNG cut in its header", tmp_path("head.png"), NST_ERR_FORMAT, "truncated or corrupt PNG");
    truncate_copy(tmp_path("noise.jpg"), tmp_path("half.jpg"), jpg_size / 2);
    expect_load_error("JPEG cut in half", tmp_path("half.jpg"), NST_ERR_FORMAT, "truncated or corrupt JPEG");
    truncate_copy(tmp_path("noise.jpg"), tmp_path("head.jpg"), 40);
    expect_load_error("JPEG cut in its header", tmp_path("head.jpg"), NST_ERR_FORMAT,
                      "truncated or corrupt JPEG");

    /* 10^10 pixels would be 120 GB of floats: must be refused at the header. */
    write_png_header_only(tmp_path("huge.png"), 100000, 100000);
    clock_t start = clock();
    expect_load_error("PNG claiming 100000 x 100000", tmp_path("huge.png"), NST_ERR_NOMEM, "too large");
    write_huge_jpeg_header(tmp_path("noise.jpg"), tmp_path("huge.jpg"));
    expect_load_error("JPEG claiming 65500 x 65500", tmp_path("huge.jpg"), NST_ERR_NOMEM, "too large");
    double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
    CHECK(seconds < 0.5, "refusing huge headers took %.2f s", seconds);
}

/* Bytes that loading `path` needs, read from the message of a load bounded to 0 bytes. */
static double needed_mib(const char *path)
{
    nst_error err = {0};
    nst_image *image = nst_image_load_bounded(path, 0, &err);
    nst_image_free(image);
    const char *need = strstr(err.message, "would need ");
    double amount = 0;
    char unit[8] = "";
    if (!image && need && sscanf(need, "would need %lf %7s", &amount, unit) == 2)
        return strcmp(unit, "GiB") == 0 ? amount * 1024 : amount;
    CHECK(0, "%s: no amount in \"%s\"", path, err.message);
    return 0;
}

static void expect_bounded_refusal(const char *what, const char *path, size_t max_bytes, const char *size_text,
                                   const char *limit_text)
{
    nst_error err = {0};
    clock_t start = clock();
    nst_image *image = nst_image_load_bounded(path, max_bytes, &err);
    double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
    CHECK(image == NULL, "%s: loaded", what);
    nst_image_free(image);
    CHECK(err.code == NST_ERR_NOMEM, "%s: code %s (%s)", what, nst_status_name(err.code), err.message);
    const char *fragments[] = {path, size_text, "would need", limit_text, "allowed"};
    for (size_t i = 0; i < sizeof fragments / sizeof fragments[0]; i++)
        CHECK(strstr(err.message, fragments[i]) != NULL, "%s: message lacks '%s': %s", what, fragments[i],
              err.message);
    CHECK(!strstr(err.message, "--"), "%s: an engine message names a command-line flag: %s", what, err.message);
    CHECK(seconds < 0.5, "%s: refusing took %.2f s", what, seconds);
}

static void test_bounded_loads(void)
{
    /* 2^28 px is within nst_image_load's limit: 3 GiB of floats in a file of a few dozen bytes. */
    write_png_header_only(tmp_path("declares-2^28.png"), 16384, 16384);
    expect_bounded_refusal("PNG declaring 16384 x 16384", tmp_path("declares-2^28.png"), (size_t)256 << 20,
                           "16384 x 16384", "256 MiB");
    write_png_header_only(tmp_path("wide.png"), 1u << 28, 1); /* libpng's own rows would be 1.5 GiB */
    expect_bounded_refusal("PNG declaring 268435456 x 1", tmp_path("wide.png"), (size_t)1 << 30, "268435456 x 1",
                           "1.0 GiB");
    write_huge_jpeg_header(tmp_path("noise.jpg"), tmp_path("huge.jpg"));
    size_t n = 0;
    unsigned char *data = read_bytes(tmp_path("huge.jpg"), &n);
    for (size_t i = 2; data && i + 9 < n; i++) /* 65500 -> 16000 = 0x3e80: within 2^28 px */
        if (data[i] == 0xff && data[i + 1] == 0xc0) {
            data[i + 5] = data[i + 7] = 0x3e;
            data[i + 6] = data[i + 8] = 0x80;
            break;
        }
    if (data)
        write_bytes(tmp_path("declares-16000.jpg"), data, n);
    free(data);
    expect_bounded_refusal("JPEG declaring 16000 x 16000", tmp_path("declares-16000.jpg"), (size_t)512 << 20,
                           "16000 x 16000", "512 MiB");

    /* A real picture loads within a bound just above its need and is refused just below. */
    nst_image *noise = random_image(600, 400, 9);
    nst_error err = {0};
    CHECK(nst_image_save(noise, tmp_path("noise600.png"), &err) == NST_OK, "%s", err.message);
    nst_image_free(noise);
    double need = needed_mib(tmp_path("noise600.png"));
    CHECK(need >= 600.0 * 400 * 12 / (1 << 20), "600 x 400 PNG needs %.1f MiB", need);
    nst_image *image = nst_image_load_bounded(tmp_path("noise600.png"), (size_t)((need + 1) * (1 << 20)), &err);
    CHECK(image && image->width == 600, "within its bound: %s", err.message);
    nst_image_free(image);
    image = nst_image_load_bounded(tmp_path("noise600.png"), (size_t)600 * 400 * 12, &err);
    CHECK(!image && err.code == NST_ERR_NOMEM, "below its bound: %s", err.message);
    nst_image_free(image);
    image = nst_image_load_bounded(tmp_path("noise600.png"), SIZE_MAX, &err);
    CHECK(image != NULL, "SIZE_MAX: %s", err.message);
    nst_image_free(image);

    /* A progressive JPEG holds every DCT coefficient while decoding: 0.75 MiB more at 512 x 512 in 4:2:0. */
    write_test_jpeg(tmp_path("baseline.jpg"), 512, JCS_RGB, 3, 75, 0, NULL);
    write_test_jpeg(tmp_path("progressive.jpg"), 512, JCS_RGB, 3, 75, 1, NULL);
    double baseline = needed_mib(tmp_path("baseline.jpg")), progressive = needed_mib(tmp_path("progressive.jpg"));
    CHECK(progressive >= baseline + 0.7, "progressive %.1f MiB vs baseline %.1f MiB", progressive, baseline);
    size_t between = (size_t)4 << 20;
    image = nst_image_load_bounded(tmp_path("baseline.jpg"), between, &err);
    CHECK(image != NULL, "baseline JPEG within 4 MiB: %s", err.message);
    nst_image_free(image);
    image = nst_image_load_bounded(tmp_path("progressive.jpg"), between, &err);
    CHECK(!image && err.code == NST_ERR_NOMEM, "progressive JPEG within 4 MiB: %s", err.message);
    nst_image_free(image);
    image = nst_image_load(tmp_path("progressive.jpg"), &err);
    CHECK(image && image->width == 512, "progressive JPEG: %s", err.message);
    nst_image_free(image);
}

static void test_new_and_save_errors(void)
{
    nst_error err = {0};
    CHECK(nst_image_new(0, 5, &err) == NULL && err.code == NST_ERR_INVALID, "0 x 5 image: %s", err.message);
    CHECK(nst_image_new(1 << 15, 1 << 15, &err) == NULL && err.code == NST_ERR_NOMEM, "2^30 px image: %s",
          err.message);
    nst_image *image = nst_image_new(4, 3, &err);
    CHECK(image != NULL, "%s", err.message);
    nst_image *copy = nst_image_copy(image, &err);
    CHECK(copy && copy != image && copy->rgb != image->rgb && copy->width == 4, "copy: %s", err.message);
    nst_image_free(copy);
    CHECK(nst_image_save(image, tmp_path("picture.bmp"), &err) == NST_ERR_INVALID &&
              strstr(err.message, "picture.bmp"),
          "unknown extension: %s", err.message);
    const char *unwritable = "/nonexistent-folder/out.png";
    CHECK(nst_image_save(image, unwritable, &err) == NST_ERR_IO && strstr(err.message, unwritable),
          "unwritable path: %s", err.message);
    nst_image_free(image);
    nst_image_free(NULL); /* must be a no-op */
}

static void remove_tmp_dir(void)
{
    char command[600];
    snprintf(command, sizeof command, "rm -rf '%s'", tmp_dir);
    if (system(command) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_dir);
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_png_layouts();
    test_reference_pixels();
    test_round_trips();
    test_rounding();
    test_jpeg_color_spaces();
    test_load_errors();
    test_bounded_loads();
    test_new_and_save_errors();
    remove_tmp_dir();
    return test_finish("image_io");
}
