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

/* "<bundle>/models" when it holds the weights of `kind`, else NULL (the
 * engine's normal search).  Free with g_free. */
char *plugin_bundled_model_path(nst_model_kind kind);

#endif
