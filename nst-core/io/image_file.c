/* Pictures in and out: PNG through libpng, JPEG through libjpeg(-turbo).
 *
 * Both libraries report fatal errors by calling a handler that must not
 * return; ours longjmp back to the loader, which frees what it holds and
 * returns an nst_error naming the file.  Only regular files are read (a FIFO
 * would block).  Header sizes are checked against NST_IMAGE_MAX_PIXELS and
 * the caller's byte bound before any pixel buffer is allocated, so a forged
 * header cannot make us allocate gigabytes.  Alpha is dropped (not
 * composited): style transfer works on the colour channels, and the GIMP
 * plug-in keeps the layer's own alpha.
 *
 * Saving never destroys what was there: the picture goes to a hidden
 * temporary file in the target's folder, is synced, and only then renamed
 * over the target; a full disk, a kill or any error leaves an existing file
 * exactly as it was. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>
#include <jerror.h> /* after jpeglib.h: the message codes */
#include <png.h>

#include "base/error.h"
#include "image/image.h"
#include "io/weight_data.h" /* nst_file_open_regular */
#include "nst/nst.h"

#define JPEG_SAVE_QUALITY 95
/* Allowance for what a decoder holds besides its row buffers (zlib's window
 * and state, libjpeg's tables and per-MCU blocks). */
#define DECODER_STATE_BYTES ((size_t)256 << 10)

/* "2.1 GiB", "300 MiB", or "1.6 MiB" below 100 MiB, where pictures differ by fractions. */
static void format_bytes(size_t bytes, char *out, size_t size)
{
    double mib = (double)bytes / (1024.0 * 1024.0);
    if (mib >= 1024.0)
        snprintf(out, size, "%.1f GiB", mib / 1024.0);
    else
        snprintf(out, size, mib >= 100.0 ? "%.0f MiB" : "%.1f MiB", mib);
}

/* Refuses, before anything large is allocated, a decode of a width x height
 * picture (already within NST_IMAGE_MAX_PIXELS) whose float RGB result plus
 * `decoder_bytes` of the decoder's own buffers exceed `max_bytes`. */
static nst_status check_budget(const char *path, size_t width, size_t height, size_t decoder_bytes,
                               size_t max_bytes, nst_error *err)
{
    size_t pixel_bytes = width * height * 3 * sizeof(float), total;
    if (!nst_size_add(pixel_bytes, decoder_bytes, &total))
        total = SIZE_MAX;
    if (total <= max_bytes)
        return NST_OK;
    char need[32], pixels[32], decoder[32], limit[32];
    format_bytes(total, need, sizeof need);
    format_bytes(pixel_bytes, pixels, sizeof pixels);
    format_bytes(decoder_bytes, decoder, sizeof decoder);
    format_bytes(max_bytes, limit, sizeof limit);
    return nst_error_set(err, NST_ERR_NOMEM,
                         "%s: this %zu x %zu picture would need %s to decode (%s of pixels, %s for the decoder), "
                         "more than the %s allowed",
                         path, width, height, need, pixels, decoder, limit);
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
    FILE *file;      /* written through png_write_to_file */
    int write_errno; /* why a write failed, 0 when none did */
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

/* libpng's own writer says only "Write Error"; this one keeps errno
 * ("No space left on device"). */
static void png_write_to_file(png_structp png, png_bytep data, size_t length)
{
    png_context *ctx = png_get_io_ptr(png);
    if (fwrite(data, 1, length, ctx->file) != length) {
        ctx->write_errno = errno ? errno : EIO;
        png_error(png, strerror(ctx->write_errno));
    }
}

static void png_flush_nothing(png_structp png)
{
    (void)png; /* the caller flushes and syncs once at the end */
}

/* One row of 8- or 16-bit RGB (big-endian samples, as libpng delivers them). */
static void png_row_to_floats(const png_byte *row, int width, int bit_depth, float *out)
{
    size_t samples = (size_t)width * 3;
    if (bit_depth == 16) {
        for (size_t i = 0; i < samples; i++)
            out[i] = (float)((row[2 * i] << 8) | row[2 * i + 1]) / 65535.0f;
    } else {
        for (size_t i = 0; i < samples; i++)
            out[i] = (float)row[i] / 255.0f;
    }
}

static nst_image *load_png(FILE *file, const char *path, size_t max_bytes, nst_error *err)
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
    if (nst_image_check_dimensions(path, width, height, err) != NST_OK)
        goto fail;

    /* The budget is checked before png_read_update_info, which allocates
     * libpng's row buffers: up to 8 bytes a pixel (16-bit RGBA) twice, the
     * row and the previous one that filters refer to.  Ours hold 8- or
     * 16-bit RGB: one row, or the whole picture when it is interlaced. */
    int input_depth = png_get_bit_depth(png, info);
    int interlaced = png_get_interlace_type(png, info) != PNG_INTERLACE_NONE;
    size_t row_bytes = (size_t)width * 3 * (input_depth == 16 ? 2 : 1);
    size_t decoder_bytes = 2 * ((size_t)width * 8 + 64) + DECODER_STATE_BYTES +
                           (interlaced ? (row_bytes + sizeof(png_bytep)) * height : row_bytes);
    if (check_budget(path, width, height, decoder_bytes, max_bytes, err) != NST_OK)
        goto fail;

    int color_type = png_get_color_type(png, info);
    if (color_type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && input_depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int bit_depth = png_get_bit_depth(png, info);
    if (png_get_channels(png, info) != 3 || (bit_depth != 8 && bit_depth != 16) ||
        png_get_rowbytes(png, info) != row_bytes) {
        nst_error_set(err, NST_ERR_FORMAT, "%s: unsupported PNG layout (%d channels of %d bits after conversion)",
                      path, png_get_channels(png, info), bit_depth);
        goto fail;
    }
    image = nst_image_new((int)width, (int)height, err);
    pixels = image ? nst_alloc(interlaced ? row_bytes * height : row_bytes, "PNG rows", err) : NULL;
    rows = pixels && interlaced ? nst_alloc(height * sizeof *rows, "PNG row pointers", err) : NULL;
    if (!pixels || (interlaced && !rows)) {
        nst_error_prefix(err, "%s: ", path);
        goto fail;
    }
    if (interlaced) { /* Adam7 passes revisit every row: the whole picture is needed */
        for (png_uint_32 y = 0; y < height; y++)
            rows[y] = pixels + y * row_bytes;
        png_read_image(png, rows);
        for (png_uint_32 y = 0; y < height; y++)
            png_row_to_floats(rows[y], (int)width, bit_depth, image->rgb + (size_t)y * width * 3);
    } else {
        for (png_uint_32 y = 0; y < height; y++) {
            png_read_row(png, pixels, NULL);
            png_row_to_floats(pixels, (int)width, bit_depth, image->rgb + (size_t)y * width * 3);
        }
    }
    png_read_end(png, NULL);

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
    png_context ctx = {.message = "", .file = file};
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
        return nst_error_set(err, NST_ERR_IO, "%s: cannot write PNG: %s", path, ctx.message);
    }
    png_set_write_fn(png, &ctx, png_write_to_file, png_flush_nothing);
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
    int write_errno; /* why a write failed, 0 when none did */
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
    ctx->write_errno = 0;
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

/* What libjpeg allocates in jpeg_start_decompress, from the header alone:
 * a multi-scan (progressive) file keeps every DCT coefficient of the picture
 * (64 of 2 bytes per 8 x 8 block and component); every file needs a few
 * rows of 8 x 8 blocks per component for decoding, upsampling and colour
 * conversion (counted generously), and our one output row. */
static size_t jpeg_decoder_bytes(const struct jpeg_decompress_struct *cinfo)
{
    size_t bytes = (size_t)cinfo->output_width * (size_t)cinfo->output_components + DECODER_STATE_BYTES;
    int multi_scan = cinfo->progressive_mode || cinfo->comps_in_scan < cinfo->num_components;
    for (int c = 0; c < cinfo->num_components; c++) {
        const jpeg_component_info *comp = &cinfo->comp_info[c];
        size_t h = (size_t)comp->h_samp_factor, v = (size_t)comp->v_samp_factor;
        size_t blocks_wide = ((size_t)comp->width_in_blocks + h - 1) / h * h;
        size_t blocks_high = ((size_t)comp->height_in_blocks + v - 1) / v * v;
        bytes += blocks_wide * DCTSIZE * v * DCTSIZE * 4;                        /* row groups with context */
        bytes += (size_t)cinfo->output_width * (size_t)cinfo->max_v_samp_factor * 2; /* upsampled rows */
        if (multi_scan)
            bytes += blocks_wide * blocks_high * sizeof(JBLOCK);
    }
    return bytes;
}

static nst_image *load_jpeg(FILE *file, const char *path, size_t max_bytes, nst_error *err)
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
    if (nst_image_check_dimensions(path, cinfo.image_width, cinfo.image_height, err) != NST_OK)
        goto fail;

    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB; /* libjpeg turns grey and YCbCr into RGB */
    jpeg_calc_output_dimensions(&cinfo); /* sizes only: nothing large is allocated yet */
    if (check_budget(path, cinfo.output_width, cinfo.output_height, jpeg_decoder_bytes(&cinfo), max_bytes, err) !=
        NST_OK)
        goto fail;
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

/* A destination that keeps errno when a write fails (jpeg_stdio_dest's
 * message is only "Output file write error --- out of disk space?"). */
#define JPEG_OUTPUT_BUFFER 16384

typedef struct jpeg_file_destination {
    struct jpeg_destination_mgr base; /* first, so cinfo->dest is ours */
    FILE *file;
    JOCTET buffer[JPEG_OUTPUT_BUFFER];
} jpeg_file_destination;

static void jpeg_write_bytes(j_compress_ptr cinfo, size_t count)
{
    jpeg_file_destination *dest = (jpeg_file_destination *)cinfo->dest;
    if (count > 0 && fwrite(dest->buffer, 1, count, dest->file) != count) {
        jpeg_context *ctx = (jpeg_context *)cinfo->err;
        ctx->write_errno = errno ? errno : EIO;
        ERREXIT(cinfo, JERR_FILE_WRITE);
    }
    dest->base.next_output_byte = dest->buffer;
    dest->base.free_in_buffer = JPEG_OUTPUT_BUFFER;
}

static void jpeg_destination_start(j_compress_ptr cinfo)
{
    jpeg_write_bytes(cinfo, 0);
}

static boolean jpeg_destination_full(j_compress_ptr cinfo)
{
    jpeg_write_bytes(cinfo, JPEG_OUTPUT_BUFFER); /* the whole buffer, whatever free_in_buffer says */
    return TRUE;
}

static void jpeg_destination_end(j_compress_ptr cinfo)
{
    jpeg_write_bytes(cinfo, JPEG_OUTPUT_BUFFER - cinfo->dest->free_in_buffer);
}

static nst_status save_jpeg(const nst_image *image, FILE *file, const char *path, nst_error *err)
{
    struct jpeg_compress_struct cinfo;
    jpeg_context ctx;
    cinfo.err = &jpeg_context_init(&ctx)->base;
    unsigned char *volatile row = nst_alloc((size_t)image->width * 3, "a JPEG row", err);
    jpeg_file_destination *volatile dest = row ? nst_alloc(sizeof *dest, "a JPEG buffer", err) : NULL;
    if (!dest) {
        free(row);
        return nst_error_prefix(err, "%s: ", path);
    }
    if (setjmp(ctx.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(row);
        free(dest);
        return nst_error_set(err, NST_ERR_IO, "%s: cannot write JPEG: %s", path,
                             ctx.write_errno ? strerror(ctx.write_errno) : ctx.message);
    }
    jpeg_create_compress(&cinfo);
    dest->file = file;
    dest->base.init_destination = jpeg_destination_start;
    dest->base.empty_output_buffer = jpeg_destination_full;
    dest->base.term_destination = jpeg_destination_end;
    cinfo.dest = &dest->base;
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
    free(dest);
    return NST_OK;
}

/* ---- loading ---------------------------------------------------------------- */

static const unsigned char PNG_MAGIC[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const unsigned char JPEG_MAGIC[3] = {0xff, 0xd8, 0xff};

nst_image *nst_image_load_bounded(const char *path, size_t max_bytes, nst_error *err)
{
    if (!path) {
        nst_error_set(err, NST_ERR_INVALID, "image path is NULL");
        return NULL;
    }
    FILE *file;
    size_t size;
    if (nst_file_open_regular(path, &file, &size, err) != NST_OK)
        return NULL;
    unsigned char magic[8];
    size_t got = fread(magic, 1, sizeof magic, file);
    nst_image *image = NULL;
    if (ferror(file)) {
        nst_error_set(err, NST_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    } else if (got == 0) {
        nst_error_set(err, NST_ERR_FORMAT, "%s: file is empty", path);
    } else if (got == sizeof magic && memcmp(magic, PNG_MAGIC, sizeof PNG_MAGIC) == 0) {
        rewind(file);
        image = load_png(file, path, max_bytes, err);
    } else if (got >= sizeof JPEG_MAGIC && memcmp(magic, JPEG_MAGIC, sizeof JPEG_MAGIC) == 0) {
        rewind(file);
        image = load_jpeg(file, path, max_bytes, err);
    } else {
        nst_error_set(err, NST_ERR_FORMAT, "%s: not a PNG or JPEG image", path);
    }
    fclose(file);
    return image;
}

nst_image *nst_image_load(const char *path, nst_error *err)
{
    return nst_image_load_bounded(path, SIZE_MAX, err);
}

/* ---- where a picture may be written ------------------------------------------ */

typedef enum picture_format { FORMAT_NONE, FORMAT_PNG, FORMAT_JPEG } picture_format;

static int name_has_extension(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    if (n <= e) /* ".png" alone is a hidden file with no extension, not a picture name */
        return 0;
    for (size_t i = 0; i < e; i++)
        if (tolower((unsigned char)name[n - e + i]) != ext[i])
            return 0;
    return 1;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static picture_format format_of(const char *path)
{
    const char *name = base_name(path);
    if (name_has_extension(name, ".png"))
        return FORMAT_PNG;
    if (name_has_extension(name, ".jpg") || name_has_extension(name, ".jpeg"))
        return FORMAT_JPEG;
    return FORMAT_NONE;
}

/* The file a save replaces and the folder its temporary goes to. */
typedef struct save_target {
    char *file;         /* `path`, or the file its symbolic link points to */
    char *folder;       /* the folder of `file` */
    int exists;
    mode_t permissions; /* of the existing file, given to its replacement */
    picture_format format;
} save_target;

static void save_target_clear(save_target *t)
{
    free(t->file);
    free(t->folder);
    memset(t, 0, sizeof *t);
}

/* Everything that can be known before writing: the extension names a
 * format; the target is not a folder or special file, and when it exists we
 * may overwrite it; its folder exists and we may create files in it. */
static nst_status save_target_prepare(const char *path, save_target *t, nst_error *err)
{
    memset(t, 0, sizeof *t);
    if (!path || !*path)
        return nst_error_set(err, NST_ERR_INVALID, "no output picture path given");
    t->format = format_of(path);
    if (t->format == FORMAT_NONE) {
        const char *name = base_name(path);
        if (strcasecmp(name, ".png") == 0 || strcasecmp(name, ".jpg") == 0 || strcasecmp(name, ".jpeg") == 0)
            return nst_error_set(err, NST_ERR_INVALID, "%s: the file name has nothing before its extension", path);
        return nst_error_set(err, NST_ERR_INVALID, "%s: unknown picture format (use .png, .jpg or .jpeg)", path);
    }
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        /* Write where the link points, as fopen would; replacing the link
         * itself would leave its target stale. */
        t->file = realpath(path, NULL);
        if (!t->file)
            return nst_error_set(err, NST_ERR_IO, "%s: cannot follow the symbolic link: %s", path, strerror(errno));
    } else {
        t->file = nst_strdup(path, err);
        if (!t->file)
            return NST_ERR_NOMEM;
    }
    if (stat(t->file, &st) == 0) {
        t->exists = 1;
        t->permissions = st.st_mode & 0777;
        if (S_ISDIR(st.st_mode))
            return nst_error_set(err, NST_ERR_IO, "%s: is a folder, not a picture file", path);
        if (!S_ISREG(st.st_mode))
            return nst_error_set(err, NST_ERR_IO, "%s: is a special file (a device, FIFO or socket), not a picture file",
                                 path);
        /* access() lets root write anything; a file without a single write
         * bit was made read-only on purpose and is not replaced either. */
        if (access(t->file, W_OK) != 0)
            return nst_error_set(err, NST_ERR_IO, "%s: cannot overwrite the existing file: %s", path, strerror(errno));
        if ((st.st_mode & 0222) == 0)
            return nst_error_set(err, NST_ERR_IO, "%s: cannot overwrite the existing file: it is read-only", path);
    } else if (errno != ENOENT) {
        return nst_error_set(err, NST_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    }

    const char *slash = strrchr(t->file, '/');
    if (!slash)
        t->folder = nst_strdup(".", err);
    else if (slash == t->file)
        t->folder = nst_strdup("/", err);
    else if ((t->folder = nst_alloc((size_t)(slash - t->file) + 1, "a folder name", err)) != NULL)
        snprintf(t->folder, (size_t)(slash - t->file) + 1, "%s", t->file);
    if (!t->folder)
        return NST_ERR_NOMEM;
    if (stat(t->folder, &st) != 0)
        return nst_error_set(err, NST_ERR_IO, "%s: cannot write into folder %s: %s", path, t->folder, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return nst_error_set(err, NST_ERR_IO, "%s: %s is not a folder", path, t->folder);
    if (access(t->folder, W_OK | X_OK) != 0)
        return nst_error_set(err, NST_ERR_IO, "%s: cannot create files in folder %s: %s", path, t->folder,
                             strerror(errno));
    return NST_OK;
}

nst_status nst_image_check_writable(const char *path, nst_error *err)
{
    save_target target;
    nst_status status = save_target_prepare(path, &target, err);
    save_target_clear(&target);
    return status;
}

/* ---- saving ------------------------------------------------------------------ */

/* Creates "FOLDER/.NAME.XXXXXX" (NAME = the target's name, XXXXXX unique)
 * with O_EXCL and mode 0666, which the umask (and a default ACL) reduce like
 * any new file's; *temp receives the malloc'd name, *fd the descriptor. */
static nst_status create_temporary(const save_target *t, char **temp, int *fd, nst_error *err)
{
    static atomic_uint counter;
    const char *name = base_name(t->file);
    size_t size = strlen(t->folder) + strlen(name) + 16;
    *fd = -1;
    *temp = nst_alloc(size, "a temporary file name", err);
    if (!*temp)
        return NST_ERR_NOMEM;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t seed = (uint64_t)getpid() << 32 ^ (uint64_t)now.tv_nsec ^ (uint64_t)now.tv_sec << 20;
    int e = EEXIST;
    for (int attempt = 0; attempt < 64 && e == EEXIST; attempt++) {
        /* splitmix64 of (seed, counter): six characters of [0-9a-z]. */
        uint64_t z = seed + 0x9e3779b97f4a7c15u * (atomic_fetch_add(&counter, 1) + 1u);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        z ^= z >> 31;
        char suffix[7];
        for (int i = 0; i < 6; i++, z /= 36)
            suffix[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[z % 36];
        suffix[6] = '\0';
        /* Names stay within NAME_MAX however long the target's is. */
        snprintf(*temp, size, "%s/.%.*s.%s", t->folder, NAME_MAX - 16, name, suffix);
        *fd = open(*temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (*fd >= 0) {
            /* The replacement keeps the permissions of the file it replaces,
             * as writing into that file would have; where the file system
             * has none to set, the defaults stay. */
            if (t->exists)
                (void)fchmod(*fd, t->permissions);
            return NST_OK;
        }
        e = errno;
    }
    free(*temp);
    *temp = NULL;
    return nst_error_set(err, NST_ERR_IO, "%s: cannot create a temporary file in %s: %s", t->file, t->folder,
                         strerror(e));
}

/* After the rename: the folder's entry must reach the disk too.  Not every
 * file system can sync a folder, and the picture is already in place, so a
 * failure here is not reported. */
static void sync_folder(const char *folder)
{
    int fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Encodes into `fd` (closed here) and makes the bytes durable. */
static nst_status write_picture(const nst_image *image, const save_target *t, const char *path, int fd,
                                nst_error *err)
{
    FILE *file = fdopen(fd, "wb");
    if (!file) {
        int e = errno;
        close(fd);
        return nst_error_set(err, NST_ERR_IO, "%s: cannot write: %s", path, strerror(e));
    }
    nst_status status = t->format == FORMAT_PNG ? save_png(image, file, path, err) : save_jpeg(image, file, path, err);
    if (status == NST_OK && fflush(file) != 0)
        status = nst_error_set(err, NST_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    if (status == NST_OK && fsync(fileno(file)) != 0)
        status = nst_error_set(err, NST_ERR_IO, "%s: cannot write to disk: %s", path, strerror(errno));
    if (fclose(file) != 0 && status == NST_OK)
        status = nst_error_set(err, NST_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    return status;
}

/* "...; the existing file was kept unchanged" after the message in err. */
static void append_note(nst_error *err, const char *note)
{
    if (!err)
        return;
    size_t used = strlen(err->message);
    snprintf(err->message + used, sizeof err->message - used, "%s", note);
}

nst_status nst_image_save(const nst_image *image, const char *path, nst_error *err)
{
    if (!image || !image->rgb || !path)
        return nst_error_set(err, NST_ERR_INVALID, "nst_image_save: NULL image or path");
    save_target target;
    char *temp = NULL;
    int fd = -1;
    nst_status status = save_target_prepare(path, &target, err);
    if (status == NST_OK)
        status = create_temporary(&target, &temp, &fd, err);
    if (status == NST_OK) {
        status = write_picture(image, &target, path, fd, err);
        if (status == NST_OK && rename(temp, target.file) != 0)
            status = nst_error_set(err, NST_ERR_IO, "%s: cannot replace it with the new picture: %s", path,
                                   strerror(errno));
        if (status == NST_OK) {
            sync_folder(target.folder);
        } else {
            unlink(temp); /* no half-written picture left behind */
            append_note(err, target.exists ? "; the existing file was kept unchanged" : "; nothing was written");
        }
    }
    free(temp);
    save_target_clear(&target);
    return status;
}
