/* Pictures in and out: PNG through libpng, JPEG through libjpeg(-turbo).
 *
 * Both libraries report fatal errors by calling a handler that must not
 * return; ours longjmp back to the loader, which frees what it holds and
 * returns an nst_error naming the file.  Header sizes are checked against
 * NST_IMAGE_MAX_PIXELS before any pixel buffer is allocated, so a forged
 * header cannot make us allocate gigabytes.  Alpha is dropped (not composited):
 * style transfer works on the colour channels, and the GIMP plug-in keeps the
 * layer's own alpha. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h> /* after jpeglib.h: the message codes */
#include <png.h>

#include "base/error.h"
#include "nst/nst.h"

/* 2^28 px (16384 x 16384) = 3 GiB of float RGB: far beyond what the
 * optimisation can handle, yet small enough that every size product below
 * stays far from overflow. */
#define NST_IMAGE_MAX_PIXELS ((size_t)1 << 28)
#define JPEG_SAVE_QUALITY 95

static nst_status check_dimensions(const char *what, size_t width, size_t height, nst_error *err)
{
    if (width == 0 || height == 0)
        return nst_error_set(err, NST_ERR_FORMAT, "%s: image has no pixels (%zu x %zu)", what, width, height);
    size_t pixels;
    if (!nst_size_mul(width, height, &pixels) || pixels > NST_IMAGE_MAX_PIXELS)
        return nst_error_set(err, NST_ERR_NOMEM,
                             "%s: image of %zu x %zu pixels is too large (the limit is %zu pixels)", what,
                             width, height, NST_IMAGE_MAX_PIXELS);
    return NST_OK;
}

nst_image *nst_image_new(int width, int height, nst_error *err)
{
    if (width <= 0 || height <= 0) {
        nst_error_set(err, NST_ERR_INVALID, "image size %d x %d is not positive", width, height);
        return NULL;
    }
    if (check_dimensions("new image", (size_t)width, (size_t)height, err) != NST_OK)
        return NULL;
    nst_image *image = nst_alloc(sizeof *image, "an image", err);
    if (!image)
        return NULL;
    image->width = width;
    image->height = height;
    image->rgb = nst_alloc_zero((size_t)width * (size_t)height * 3, sizeof(float), "image pixels", err);
    if (!image->rgb) {
        free(image);
        return NULL;
    }
    return image;
}

void nst_image_free(nst_image *image)
{
    if (!image)
        return;
    free(image->rgb);
    free(image);
}

static size_t image_floats(const nst_image *image)
{
    return (size_t)image->width * (size_t)image->height * 3;
}

nst_image *nst_image_copy(const nst_image *image, nst_error *err)
{
    if (!image || !image->rgb) {
        nst_error_set(err, NST_ERR_INVALID, "cannot copy a NULL image");
        return NULL;
    }
    nst_image *copy = nst_image_new(image->width, image->height, err);
    if (copy)
        memcpy(copy->rgb, image->rgb, image_floats(image) * sizeof(float));
    return copy;
}

static unsigned char float_to_byte(float value)
{
    float scaled = value * 255.0f + 0.5f;
    if (!(scaled > 0.0f)) /* NaN lands here too */
        return 0;
    if (scaled >= 255.0f)
        return 255;
    return (unsigned char)scaled;
}

static void float_row_to_bytes(const float *rgb, int width, unsigned char *out)
{
    for (size_t i = 0; i < (size_t)width * 3; i++)
        out[i] = float_to_byte(rgb[i]);
}

/* ---- PNG ------------------------------------------------------------------ */

typedef struct png_context {
    jmp_buf jump;
    char message[256];
} png_context;

static void png_on_error(png_structp png, png_const_charp message)
{
    png_context *ctx = png_get_error_ptr(png);
    snprintf(ctx->message, sizeof ctx->message, "%s", message);
    longjmp(ctx->jump, 1);
}

static void png_on_warning(png_structp png, png_const_charp message)
{
    (void)png;
    (void)message; /* benign (e.g. an unknown ancillary chunk): nothing for a user to do */
}

/* Rows of 8- or 16-bit RGB (big-endian samples, as libpng delivers them). */
static void png_rows_to_floats(png_bytep *rows, int width, int height, int bit_depth, float *rgb)
{
    size_t samples = (size_t)width * 3;
    for (int y = 0; y < height; y++) {
        const png_byte *row = rows[y];
        float *out = rgb + (size_t)y * samples;
        if (bit_depth == 16) {
            for (size_t i = 0; i < samples; i++)
                out[i] = (float)((row[2 * i] << 8) | row[2 * i + 1]) / 65535.0f;
        } else {
            for (size_t i = 0; i < samples; i++)
                out[i] = (float)row[i] / 255.0f;
        }
    }
}

static nst_image *load_png(FILE *file, const char *path, nst_error *err)
{
    png_context ctx = {.message = ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        nst_error_set(err, NST_ERR_NOMEM, "%s: out of memory starting the PNG reader", path);
        return NULL;
    }
    /* Written between setjmp and longjmp, so volatile. */
    nst_image *volatile image = NULL;
    png_bytep *volatile rows = NULL;
    png_bytep volatile pixels = NULL;

    if (setjmp(ctx.jump)) {
        nst_error_set(err, NST_ERR_FORMAT, "%s: truncated or corrupt PNG (%s)", path, ctx.message);
        goto fail;
    }
    png_init_io(png, file);
    /* Our own pixel limit decides, with a clearer message than libpng's. */
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_read_info(png, info);

    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    if (check_dimensions(path, width, height, err) != NST_OK)
        goto fail;

    int color_type = png_get_color_type(png, info);
    if (color_type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int bit_depth = png_get_bit_depth(png, info);
    if (png_get_channels(png, info) != 3 || (bit_depth != 8 && bit_depth != 16)) {
        nst_error_set(err, NST_ERR_FORMAT, "%s: unsupported PNG layout (%d channels of %d bits after conversion)",
                      path, png_get_channels(png, info), bit_depth);
        goto fail;
    }
    size_t row_bytes = png_get_rowbytes(png, info);
    size_t total_bytes;
    if (!nst_size_mul(row_bytes, height, &total_bytes)) {
        nst_error_set(err, NST_ERR_NOMEM, "%s: PNG too large", path);
        goto fail;
    }
    image = nst_image_new((int)width, (int)height, err);
    pixels = image ? nst_alloc(total_bytes, "PNG rows", err) : NULL;
    rows = pixels ? nst_alloc(height * sizeof *rows, "PNG row pointers", err) : NULL;
    if (!rows) {
        nst_error_prefix(err, "%s: ", path);
        goto fail;
    }
    for (png_uint_32 y = 0; y < height; y++)
        rows[y] = pixels + y * row_bytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);

    png_rows_to_floats(rows, (int)width, (int)height, bit_depth, image->rgb);
    free(rows);
    free(pixels);
    png_destroy_read_struct(&png, &info, NULL);
    return image;

fail:
    free(rows);
    free(pixels);
    nst_image_free(image);
    png_destroy_read_struct(&png, &info, NULL);
    return NULL;
}

static nst_status save_png(const nst_image *image, FILE *file, const char *path, nst_error *err)
{
    png_context ctx = {.message = ""};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return nst_error_set(err, NST_ERR_NOMEM, "%s: out of memory starting the PNG writer", path);
    }
    unsigned char *volatile row = nst_alloc((size_t)image->width * 3, "a PNG row", err);
    if (!row) {
        png_destroy_write_struct(&png, &info);
        return nst_error_prefix(err, "%s: ", path);
    }
    if (setjmp(ctx.jump)) {
        free(row);
        png_destroy_write_struct(&png, &info);
        return nst_error_set(err, NST_ERR_IO, "%s: cannot write PNG (%s)", path, ctx.message);
    }
    png_init_io(png, file);
    png_set_IHDR(png, info, (png_uint_32)image->width, (png_uint_32)image->height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < image->height; y++) {
        float_row_to_bytes(image->rgb + (size_t)y * (size_t)image->width * 3, image->width, row);
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    free(row);
    png_destroy_write_struct(&png, &info);
    return NST_OK;
}

/* ---- JPEG ----------------------------------------------------------------- */

typedef struct jpeg_context {
    struct jpeg_error_mgr base; /* first, so the library's pointer is ours */
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_context;

static void jpeg_on_error(j_common_ptr cinfo)
{
    jpeg_context *ctx = (jpeg_context *)cinfo->err;
    cinfo->err->format_message(cinfo, ctx->message);
    longjmp(ctx->jump, 1);
}

/* libjpeg only warns about a file that ends early and fills the rest with
 * grey; a truncated picture must fail instead.  Other warnings (stray bytes
 * before a marker, ...) are tolerated like every viewer does. */
static void jpeg_on_message(j_common_ptr cinfo, int level)
{
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
        jpeg_on_error(cinfo);
}

static jpeg_context *jpeg_context_init(jpeg_context *ctx)
{
    jpeg_std_error(&ctx->base);
    ctx->base.error_exit = jpeg_on_error;
    ctx->base.emit_message = jpeg_on_message;
    ctx->message[0] = '\0';
    return ctx;
}

/* Naive CMYK -> RGB (no colour profile).  Adobe writes CMYK inverted
 * (0 = full ink), which is what nearly every CMYK JPEG in the wild is. */
static void cmyk_row_to_floats(const JSAMPLE *row, int width, int inverted, float *out)
{
    for (int x = 0; x < width; x++) {
        float k = row[4 * x + 3] / 255.0f;
        for (int c = 0; c < 3; c++) {
            float ink = row[4 * x + c] / 255.0f;
            out[3 * x + c] = inverted ? ink * k : (1.0f - ink) * (1.0f - k);
        }
    }
}

static nst_image *load_jpeg(FILE *file, const char *path, nst_error *err)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_context ctx;
    cinfo.err = &jpeg_context_init(&ctx)->base;
    nst_image *volatile image = NULL;
    JSAMPLE *volatile row = NULL;

    if (setjmp(ctx.jump)) {
        nst_error_set(err, NST_ERR_FORMAT, "%s: truncated or corrupt JPEG (%s)", path, ctx.message);
        goto fail;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, file);
    jpeg_read_header(&cinfo, TRUE);
    if (check_dimensions(path, cinfo.image_width, cinfo.image_height, err) != NST_OK)
        goto fail;

    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB; /* libjpeg turns grey and YCbCr into RGB */
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != (cmyk ? 4 : 3)) {
        nst_error_set(err, NST_ERR_FORMAT, "%s: unsupported JPEG colour layout (%d components)", path,
                      cinfo.output_components);
        goto fail;
    }
    image = nst_image_new((int)cinfo.output_width, (int)cinfo.output_height, err);
    row = image ? nst_alloc((size_t)cinfo.output_width * (size_t)cinfo.output_components, "a JPEG row", err)
                : NULL;
    if (!row) {
        nst_error_prefix(err, "%s: ", path);
        goto fail;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        size_t y = cinfo.output_scanline;
        JSAMPROW rows[1] = {row};
        jpeg_read_scanlines(&cinfo, rows, 1);
        float *out = image->rgb + y * (size_t)image->width * 3;
        if (cmyk)
            cmyk_row_to_floats(row, image->width, cinfo.saw_Adobe_marker, out);
        else
            for (size_t i = 0; i < (size_t)image->width * 3; i++)
                out[i] = row[i] / 255.0f;
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    return image;

fail:
    jpeg_destroy_decompress(&cinfo);
    free(row);
    nst_image_free(image);
    return NULL;
}

static nst_status save_jpeg(const nst_image *image, FILE *file, const char *path, nst_error *err)
{
    struct jpeg_compress_struct cinfo;
    jpeg_context ctx;
    cinfo.err = &jpeg_context_init(&ctx)->base;
    unsigned char *volatile row = nst_alloc((size_t)image->width * 3, "a JPEG row", err);
    if (!row)
        return nst_error_prefix(err, "%s: ", path);
    if (setjmp(ctx.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(row);
        return nst_error_set(err, NST_ERR_IO, "%s: cannot write JPEG (%s)", path, ctx.message);
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, file);
    cinfo.image_width = (JDIMENSION)image->width;
    cinfo.image_height = (JDIMENSION)image->height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, JPEG_SAVE_QUALITY, TRUE);
    /* No chroma subsampling: stylised pictures are full of fine coloured
     * strokes that 4:2:0 would smear. */
    for (int c = 0; c < cinfo.num_components; c++)
        cinfo.comp_info[c].h_samp_factor = cinfo.comp_info[c].v_samp_factor = 1;
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        float_row_to_bytes(image->rgb + (size_t)cinfo.next_scanline * (size_t)image->width * 3, image->width,
                           row);
        JSAMPROW rows[1] = {row};
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    free(row);
    return NST_OK;
}

/* ---- dispatch ------------------------------------------------------------- */

static const unsigned char PNG_MAGIC[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const unsigned char JPEG_MAGIC[3] = {0xff, 0xd8, 0xff};

nst_image *nst_image_load(const char *path, nst_error *err)
{
    if (!path) {
        nst_error_set(err, NST_ERR_INVALID, "image path is NULL");
        return NULL;
    }
    FILE *file = fopen(path, "rb");
    if (!file) {
        nst_error_set(err, NST_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    unsigned char magic[8];
    size_t got = fread(magic, 1, sizeof magic, file);
    nst_image *image = NULL;
    if (ferror(file)) {
        nst_error_set(err, NST_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    } else if (got == 0) {
        nst_error_set(err, NST_ERR_FORMAT, "%s: file is empty", path);
    } else if (got == sizeof magic && memcmp(magic, PNG_MAGIC, sizeof PNG_MAGIC) == 0) {
        rewind(file);
        image = load_png(file, path, err);
    } else if (got >= sizeof JPEG_MAGIC && memcmp(magic, JPEG_MAGIC, sizeof JPEG_MAGIC) == 0) {
        rewind(file);
        image = load_jpeg(file, path, err);
    } else {
        nst_error_set(err, NST_ERR_FORMAT, "%s: not a PNG or JPEG image", path);
    }
    fclose(file);
    return image;
}

static int has_extension(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    if (n <= e)
        return 0;
    for (size_t i = 0; i < e; i++)
        if (tolower((unsigned char)path[n - e + i]) != ext[i])
            return 0;
    return 1;
}

nst_status nst_image_save(const nst_image *image, const char *path, nst_error *err)
{
    if (!image || !image->rgb || !path)
        return nst_error_set(err, NST_ERR_INVALID, "nst_image_save: NULL image or path");
    int png = has_extension(path, ".png");
    if (!png && !has_extension(path, ".jpg") && !has_extension(path, ".jpeg"))
        return nst_error_set(err, NST_ERR_INVALID, "%s: unknown picture format (use .png, .jpg or .jpeg)", path);
    FILE *file = fopen(path, "wb");
    if (!file)
        return nst_error_set(err, NST_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    nst_status status = png ? save_png(image, file, path, err) : save_jpeg(image, file, path, err);
    if (fclose(file) != 0 && status == NST_OK)
        status = nst_error_set(err, NST_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    if (status != NST_OK)
        remove(path); /* no half-written picture left behind */
    return status;
}
