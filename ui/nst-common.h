/* Names shared by the plug-in and its dialog, and their translations: the
 * "gimp-neural-style" gettext domain (GETTEXT_PACKAGE, set by meson), never
 * one of GIMP's own. */
#ifndef NST_COMMON_H
#define NST_COMMON_H

#include <glib/gi18n-lib.h>

#define NST_PLUG_IN_PROC "plug-in-neural-style-transfer"
/* GIMP loads a plug-in only from a folder named like its binary. */
#define NST_PLUG_IN_BINARY "neural-style-transfer"

#endif
