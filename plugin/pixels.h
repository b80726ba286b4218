/* Pixels between GIMP drawables and the engine's RGB float pictures.
 * Main thread only (libgimp is not thread-safe). */
#ifndef PLUGIN_PIXELS_H
#define PLUGIN_PIXELS_H

#include <libgimp/gimp.h>

#include <nst/nst.h>

/* Smallest layer side the plug-in accepts: below it the network's pooling
 * leaves nothing to measure style on. */
#define PLUGIN_MIN_LAYER_SIDE 16

/* FALSE with a message for the user when the drawable was removed from the
 * image (a layer the user deletes while the dialog is open). */
gboolean plugin_drawable_check_exists(GimpDrawable *drawable, GError **error);
/* FALSE with a message for the user when the drawable's own pixels cannot be
 * replaced: removed, a layer group, or its pixels locked. */
gboolean plugin_drawable_check_writable(GimpDrawable *drawable, GError **error);

/* The drawable's non-linear RGB in [0,1], the colours under transparency
 * replaced by those of their visible surroundings (nst_image_fill_transparent). */
nst_image *plugin_drawable_read(GimpDrawable *drawable, GError **error);
/* A style's region for `content`: the mask (a channel or a layer mask) as
 * linear coverage in every colour, at the content's size, aligned on the
 * canvas by both offsets; what the mask does not reach counts as 0. */
nst_image *plugin_mask_read(GimpDrawable *mask, GimpDrawable *content, GError **error);
/* Any picture GIMP can open, flattened. */
nst_image *plugin_file_read(GFile *file, GError **error);

/* A new layer in `image` just above `content`, same size and offsets,
 * transparent, with an alpha channel. */
GimpLayer *plugin_layer_new_above(GimpImage *image, GimpDrawable *content, const char *name, GError **error);

/* Shows `frame` (at the layer's size) in the layer at once, outside the undo
 * history.  FALSE with *error when the layer is gone. */
gboolean plugin_layer_show_frame(GimpLayer *layer, const nst_image *frame, GError **error);

/* Writes `rgb` (at the target's size) into `target` through its shadow
 * buffer, so only the selection changes, keeping the alpha of
 * `alpha_source`.  Pushes undo.  FALSE with *error when GIMP took nothing. */
gboolean plugin_drawable_write_result(GimpDrawable *target, GimpDrawable *alpha_source, const nst_image *rgb,
                                   GError **error);

#endif
