#include "pixels.h"

#include "common.h"

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

gboolean plugin_drawable_check_exists(GimpDrawable *drawable, GError **error)
{
    if (drawable != NULL && gimp_item_is_valid(GIMP_ITEM(drawable)))
        return TRUE;
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s",
                _("A layer the style transfer works with was removed from the image. Run it again on "
                  "layers that exist."));
    return FALSE;
}

gboolean plugin_drawable_check_writable(GimpDrawable *drawable, GError **error)
{
    if (!plugin_drawable_check_exists(drawable, error))
        return FALSE;
    const char *name = gimp_item_get_name(GIMP_ITEM(drawable));
    if (gimp_item_is_group(GIMP_ITEM(drawable))) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0,
                    _("The layer “%s” is a layer group, whose pixels come from the layers inside it: it "
                      "cannot be replaced. Choose “A new layer above” as the output, or pick a layer "
                      "inside the group."),
                    name);
        return FALSE;
    }
    if (gimp_item_get_lock_content(GIMP_ITEM(drawable))) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0,
                    _("The pixels of the layer “%s” are locked. Unlock them in the Layers dialog, or "
                      "choose “A new layer above” as the output."),
                    name);
        return FALSE;
    }
    return TRUE;
}

/* The drawable's buffer (or its shadow buffer); GIMP gives none for a layer
 * removed meanwhile. */
static GeglBuffer *drawable_buffer(GimpDrawable *drawable, gboolean shadow, GError **error)
{
    if (!plugin_drawable_check_exists(drawable, error))
        return NULL;
    GeglBuffer *buffer = shadow ? gimp_drawable_get_shadow_buffer(drawable) : gimp_drawable_get_buffer(drawable);
    if (buffer == NULL)
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("GIMP gave no pixels for the layer “%s”: %s"),
                    gimp_item_get_name(GIMP_ITEM(drawable)), gimp_pdb_get_last_error(gimp_get_pdb()));
    return buffer;
}

/* The whole drawable as R'G'B'A floats (caller frees), or NULL with *error. */
static float *drawable_rgba(GimpDrawable *drawable, GError **error)
{
    GeglBuffer *buffer = drawable_buffer(drawable, FALSE, error);
    if (buffer == NULL)
        return NULL;
    int width = gimp_drawable_get_width(drawable);
    int height = gimp_drawable_get_height(drawable);
    float *rgba = alloc_floats(width, height, 4, error);
    if (rgba != NULL)
        gegl_buffer_get(buffer, GEGL_RECTANGLE(0, 0, width, height), 1.0,
                        drawable_format(drawable, "R'G'B'A float"), rgba, GEGL_AUTO_ROWSTRIDE,
                        GEGL_ABYSS_NONE);
    g_object_unref(buffer);
    return rgba;
}

nst_image *plugin_drawable_read(GimpDrawable *drawable, GError **error)
{
    float *rgba = drawable_rgba(drawable, error);
    if (rgba == NULL)
        return NULL;
    const char *name = gimp_item_get_name(GIMP_ITEM(drawable));
    nst_error err = {0};
    nst_image *image = nst_image_new(gimp_drawable_get_width(drawable), gimp_drawable_get_height(drawable), &err);
    if (image != NULL) {
        /* Split in place: the alpha moves to the front of the same block. */
        size_t pixels = (size_t)image->width * (size_t)image->height;
        float *alpha = rgba;
        for (size_t i = 0; i < pixels; i++) {
            float a = rgba[4 * i + 3];
            image->rgb[3 * i + 0] = rgba[4 * i + 0];
            image->rgb[3 * i + 1] = rgba[4 * i + 1];
            image->rgb[3 * i + 2] = rgba[4 * i + 2];
            alpha[i] = a;
        }
        /* Colours hidden under transparency count for nothing (the result keeps the alpha). */
        if (gimp_drawable_has_alpha(drawable) && nst_image_fill_transparent(image, alpha, &err) != NST_OK)
            g_clear_pointer(&image, nst_image_free);
    }
    g_free(rgba);
    if (image == NULL)
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Cannot read the layer “%s”: %s"), name, err.message);
    return image;
}

nst_image *plugin_mask_read(GimpDrawable *mask, GimpDrawable *content, GError **error)
{
    if (!plugin_drawable_check_exists(content, error))
        return NULL;
    GeglBuffer *buffer = drawable_buffer(mask, FALSE, error);
    if (buffer == NULL)
        return NULL;
    int width = gimp_drawable_get_width(content), height = gimp_drawable_get_height(content);
    int content_x, content_y, mask_x, mask_y;
    gimp_drawable_get_offsets(content, &content_x, &content_y);
    gimp_drawable_get_offsets(mask, &mask_x, &mask_y);
    float *grey = alloc_floats(width, height, 1, error);
    nst_error err = {0};
    nst_image *image = grey != NULL ? nst_image_new(width, height, &err) : NULL;
    if (image != NULL) {
        /* The layer's rectangle in the mask's own pixels; outside the mask
         * the abyss reads as 0, not covered.  A channel's "Y" is linear
         * coverage, as GIMP itself applies a selection. */
        gegl_buffer_get(buffer, GEGL_RECTANGLE(content_x - mask_x, content_y - mask_y, width, height), 1.0,
                        babl_format("Y float"), grey, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
        size_t pixels = (size_t)width * (size_t)height;
        for (size_t i = 0; i < pixels; i++)
            image->rgb[3 * i + 0] = image->rgb[3 * i + 1] = image->rgb[3 * i + 2] = grey[i];
    } else if (grey != NULL) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Cannot read the region “%s”: %s"),
                    gimp_item_get_name(GIMP_ITEM(mask)), err.message);
    }
    g_free(grey);
    g_object_unref(buffer);
    return image;
}

nst_image *plugin_file_read(GFile *file, GError **error)
{
    GimpImage *loaded = gimp_file_load(GIMP_RUN_NONINTERACTIVE, file);
    if (loaded == NULL) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Cannot open the style picture “%s”: %s"),
                    gimp_file_get_utf8_name(file), gimp_pdb_get_last_error(gimp_get_pdb()));
        return NULL;
    }
    nst_image *image = NULL;
    /* Merged, not flattened: flattening would paint the background colour
     * into transparent areas, which then would count as style. */
    GimpLayer *merged = gimp_image_merge_visible_layers(loaded, GIMP_CLIP_TO_IMAGE);
    if (merged == NULL)
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Cannot merge the layers of the style picture “%s”: %s"),
                    gimp_file_get_utf8_name(file), gimp_pdb_get_last_error(gimp_get_pdb()));
    else
        image = plugin_drawable_read(GIMP_DRAWABLE(merged), error);
    gimp_image_delete(loaded);
    return image;
}

GimpLayer *plugin_layer_new_above(GimpImage *image, GimpDrawable *content, const char *name, GError **error)
{
    if (!plugin_drawable_check_exists(content, error))
        return NULL;
    int width = gimp_drawable_get_width(content);
    int height = gimp_drawable_get_height(content);
    GimpLayer *layer = gimp_layer_new(image, name, width, height, gimp_drawable_type_with_alpha(content),
                                      100.0, GIMP_LAYER_MODE_NORMAL);
    if (layer == NULL) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Cannot add the layer “%s”: %s"), name,
                    gimp_pdb_get_last_error(gimp_get_pdb()));
        return NULL;
    }
    GimpItem *parent = gimp_item_get_parent(GIMP_ITEM(content));
    int position = gimp_image_get_item_position(image, GIMP_ITEM(content));
    if (!gimp_image_insert_layer(image, layer, GIMP_IS_LAYER(parent) ? GIMP_LAYER(parent) : NULL, position)) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Cannot add the layer “%s”: %s"), name,
                    gimp_pdb_get_last_error(gimp_get_pdb()));
        gimp_item_delete(GIMP_ITEM(layer));
        return NULL;
    }
    int offset_x, offset_y;
    gimp_drawable_get_offsets(content, &offset_x, &offset_y);
    if (!gimp_layer_set_offsets(layer, offset_x, offset_y) ||
        !gimp_drawable_fill(GIMP_DRAWABLE(layer), GIMP_FILL_TRANSPARENT)) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Cannot add the layer “%s”: %s"), name,
                    gimp_pdb_get_last_error(gimp_get_pdb()));
        gimp_image_remove_layer(image, layer);
        return NULL;
    }
    return layer;
}

gboolean plugin_layer_show_frame(GimpLayer *layer, const nst_image *frame, GError **error)
{
    GimpDrawable *drawable = GIMP_DRAWABLE(layer);
    if (!plugin_drawable_check_exists(drawable, error))
        return FALSE;
    if (frame->width != gimp_drawable_get_width(drawable) || frame->height != gimp_drawable_get_height(drawable))
        return TRUE; /* the content was resized meanwhile: the next run makes frames of the new size */
    GeglBuffer *buffer = drawable_buffer(drawable, FALSE, error);
    if (buffer == NULL)
        return FALSE;
    gegl_buffer_set(buffer, GEGL_RECTANGLE(0, 0, frame->width, frame->height), 0,
                    drawable_format(drawable, "R'G'B' float"), frame->rgb, GEGL_AUTO_ROWSTRIDE);
    gegl_buffer_flush(buffer);
    g_object_unref(buffer);
    gimp_drawable_update(drawable, 0, 0, frame->width, frame->height);
    /* Without it the canvas does not change until something else redraws. */
    gimp_displays_flush();
    return TRUE;
}

gboolean plugin_drawable_write_result(GimpDrawable *target, GimpDrawable *alpha_source, const nst_image *rgb,
                                   GError **error)
{
    if (!plugin_drawable_check_exists(target, error) || !plugin_drawable_check_exists(alpha_source, error))
        return FALSE;
    int width = gimp_drawable_get_width(target);
    int height = gimp_drawable_get_height(target);
    if (rgb->width != width || rgb->height != height || gimp_drawable_get_width(alpha_source) != width ||
        gimp_drawable_get_height(alpha_source) != height) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0,
                    _("The layer “%s” changed size while the style transfer ran (the result is %d × %d, "
                      "the layer %d × %d). Run it again."),
                    gimp_item_get_name(GIMP_ITEM(alpha_source)), rgb->width, rgb->height, width, height);
        return FALSE;
    }
    float *rgba = drawable_rgba(alpha_source, error);
    if (rgba == NULL)
        return FALSE;
    size_t pixels = (size_t)width * (size_t)height;
    for (size_t i = 0; i < pixels; i++) {
        rgba[4 * i + 0] = rgb->rgb[3 * i + 0];
        rgba[4 * i + 1] = rgb->rgb[3 * i + 1];
        rgba[4 * i + 2] = rgb->rgb[3 * i + 2];
    }

    /* The shadow buffer + merge keeps everything outside the selection. */
    GeglBuffer *shadow = drawable_buffer(target, TRUE, error);
    if (shadow == NULL) {
        g_free(rgba);
        return FALSE;
    }
    gegl_buffer_set(shadow, GEGL_RECTANGLE(0, 0, width, height), 0, drawable_format(target, "R'G'B'A float"),
                    rgba, GEGL_AUTO_ROWSTRIDE);
    gegl_buffer_flush(shadow);
    g_object_unref(shadow);
    g_free(rgba);
    /* GIMP refuses the merge for a group, locked pixels or a layer removed
     * meanwhile: then nothing was written. */
    if (!gimp_drawable_merge_shadow(target, TRUE)) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("GIMP did not take the result into the layer “%s”: %s"),
                    gimp_item_is_valid(GIMP_ITEM(target)) ? gimp_item_get_name(GIMP_ITEM(target)) : "?",
                    gimp_pdb_get_last_error(gimp_get_pdb()));
        return FALSE;
    }
    gimp_drawable_update(target, 0, 0, width, height);
    return TRUE;
}
