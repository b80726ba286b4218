/* Where a self-contained copy of the plug-in keeps its data: the folder of
 * the plug-in's own binary, when that folder carries models/ or styles/
 * (the Linux bundle, the .gex extension, the Flatpak extension).  A system
 * install (meson install, the Debian package) has neither beside the binary
 * and uses the normal search (NST_MODEL_PATH, the user's and the installed
 * data folders). */
#ifndef PLUGIN_DATA_FOLDER_H
#define PLUGIN_DATA_FOLDER_H

#include <nst/nst.h>

/* The bundle folder, or NULL when the plug-in carries no data of its own.
 * Owned by the plug-in; computed once. */
const char *plugin_data_folder(void);

/* The weights of `kind`: "<bundle>/models/squeezenet1.1" (or vgg19.safetensors...)
 * when the bundle holds them, else where
 * the engine's search finds them (nst_model_find).  Free with free(). */
char *plugin_model_find(nst_model_kind kind, nst_error *err);

/* The style gallery, with a bundle's own styles/ folder searched first. */
nst_gallery *plugin_gallery_open(nst_error *err);

#endif
