#include "nst-pixels.h"

#include "nst-common.h"

/* Pixels in the drawable's own colour space: the engine sees the same
 * non-linear values GIMP shows, and writing back is exact. */
static const Babl *drawable_format(GimpDrawable *drawable, const char *encoding)
{
    return babl_format_with_space(encoding, gimp_drawable_get_format(drawable));
}

static float *alloc_floats(int width, int height, int channels, GError **error)
{
    gsize n, bytes;
    if (width <= 0 || height <= 0 || !g_size_checked_mul(&n, (gsize)width, (gsize)height) ||
        !g_size_checked_mul(&n, n, (gsize)channels) || !g_size_checked_mul(&bytes, n, sizeof(float))) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("The picture size %d × %d is too large."), width,
                    height);
        return NULL;
    }
    float *data = g_try_malloc(bytes);
    if (data == NULL)
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0,
                    _("Not enough memory for a %d × %d picture."), width, height);
    return data;
}

nst_image *nst_drawable_read(GimpDrawable *drawable, GError **error)
{
    int width = gimp_drawable_get_width(drawable);
    int height = gimp_drawable_get_height(drawable);
    nst_error err = {0};
    nst_image *image = nst_image_new(width, height, &err);
    if (image == NULL) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Cannot read the layer “%s”: %s"),
                    gimp_item_get_name(GIMP_ITEM(drawable)), err.message);
        return NULL;
    }
    GeglBuffer *buffer = gimp_drawable_get_buffer(drawable);
    gegl_buffer_get(buffer, GEGL_RECTANGLE(0, 0, width, height), 1.0,
                    drawable_format(drawable, "R'G'B' float"), image->rgb, GEGL_AUTO_ROWSTRIDE,
                    GEGL_ABYSS_NONE);
    g_object_unref(buffer);
    return image;
}

nst_image *nst_file_read(GFile *file, GError **error)
{
    GimpImage *loaded = gimp_file_load(GIMP_RUN_NONINTERACTIVE, file);
    if (loaded == NULL) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Cannot open the style picture “%s”: %s"),
                    gimp_file_get_utf8_name(file), gimp_pdb_get_last_error(gimp_get_pdb()));
        return NULL;
    }
    nst_image *image = NULL;
    GimpLayer *flat = gimp_image_flatten(loaded);
    if (flat == NULL)
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Cannot flatten the style picture “%s”: %s"),
                    gimp_file_get_utf8_name(file), gimp_pdb_get_last_error(gimp_get_pdb()));
    else
        image = nst_drawable_read(GIMP_DRAWABLE(flat), error);
    gimp_image_delete(loaded);
    return image;
}

GimpLayer *nst_layer_new_above(GimpImage *image, GimpDrawable *content, const char *name)
{
    int width = gimp_drawable_get_width(content);
    int height = gimp_drawable_get_height(content);
    GimpLayer *layer = gimp_layer_new(image, name, width, height, gimp_drawable_type_with_alpha(content),
                                      100.0, GIMP_LAYER_MODE_NORMAL);
    if (layer == NULL)
        return NULL;
    GimpItem *parent = gimp_item_get_parent(GIMP_ITEM(content));
    int position = gimp_image_get_item_position(image, GIMP_ITEM(content));
    if (!gimp_image_insert_layer(image, layer, GIMP_IS_LAYER(parent) ? GIMP_LAYER(parent) : NULL,
                                 position)) {
        gimp_item_delete(GIMP_ITEM(layer));
        return NULL;
    }
    int offset_x, offset_y;
    gimp_drawable_get_offsets(content, &offset_x, &offset_y);
    gimp_layer_set_offsets(layer, offset_x, offset_y);
    gimp_drawable_fill(GIMP_DRAWABLE(layer), GIMP_FILL_TRANSPARENT);
    return layer;
}

void nst_layer_show_frame(GimpLayer *layer, const nst_image *frame)
{
    GimpDrawable *drawable = GIMP_DRAWABLE(layer);
    if (frame->width != gimp_drawable_get_width(drawable) || frame->height != gimp_drawable_get_height(drawable))
        return;
    GeglBuffer *buffer = gimp_drawable_get_buffer(drawable);
    gegl_buffer_set(buffer, GEGL_RECTANGLE(0, 0, frame->width, frame->height), 0,
                    drawable_format(drawable, "R'G'B' float"), frame->rgb, GEGL_AUTO_ROWSTRIDE);
    gegl_buffer_flush(buffer);
    g_object_unref(buffer);
    gimp_drawable_update(drawable, 0, 0, frame->width, frame->height);
    /* Without it the canvas does not change until something else redraws. */
    gimp_displays_flush();
}

gboolean nst_drawable_write_result(GimpDrawable *target, GimpDrawable *alpha_source, const nst_image *rgb,
                                   GError **error)
{
    int width = gimp_drawable_get_width(target);
    int height = gimp_drawable_get_height(target);
    if (rgb->width != width || rgb->height != height || gimp_drawable_get_width(alpha_source) != width ||
        gimp_drawable_get_height(alpha_source) != height) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0,
                    _("Internal error: the result is %d × %d but the layer is %d × %d."), rgb->width,
                    rgb->height, width, height);
        return FALSE;
    }
    float *rgba = alloc_floats(width, height, 4, error);
    if (rgba == NULL)
        return FALSE;

    GeglBuffer *source = gimp_drawable_get_buffer(alpha_source);
    gegl_buffer_get(source, GEGL_RECTANGLE(0, 0, width, height), 1.0,
                    drawable_format(alpha_source, "R'G'B'A float"), rgba, GEGL_AUTO_ROWSTRIDE,
                    GEGL_ABYSS_NONE);
    g_object_unref(source);
    size_t pixels = (size_t)width * (size_t)height;
    for (size_t i = 0; i < pixels; i++) {
        rgba[4 * i + 0] = rgb->rgb[3 * i + 0];
        rgba[4 * i + 1] = rgb->rgb[3 * i + 1];
        rgba[4 * i + 2] = rgb->rgb[3 * i + 2];
    }

    /* The shadow buffer + merge keeps everything outside the selection. */
    GeglBuffer *shadow = gimp_drawable_get_shadow_buffer(target);
    gegl_buffer_set(shadow, GEGL_RECTANGLE(0, 0, width, height), 0,
                    drawable_format(target, "R'G'B'A float"), rgba, GEGL_AUTO_ROWSTRIDE);
    gegl_buffer_flush(shadow);
    g_object_unref(shadow);
    g_free(rgba);
    gimp_drawable_merge_shadow(target, TRUE);
    gimp_drawable_update(target, 0, 0, width, height);
    return TRUE;
}
