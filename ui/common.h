/* Names shared by the plug-in and its dialog, and their translations: the
 * "gimp-neural-style" gettext domain (GETTEXT_PACKAGE, set by meson), never
 * one of GIMP's own. */
#ifndef UI_COMMON_H
#define UI_COMMON_H

#include <glib/gi18n-lib.h>

#define PLUGIN_PROC "plug-in-neural-style-transfer"
/* GIMP loads a plug-in only from a folder named like its binary. */
#define PLUGIN_BINARY "neural-style-transfer"

#endif
