/* The Neural Style Transfer dialog: widgets only.
 *
 * Every setting is a property of the procedure's config, so the dialog shows
 * and edits the config; the plug-in listens to the config's notify:: signals.
 * The dialog adds a progress bar and a message line that the plug-in feeds. */
#ifndef UI_DIALOG_H
#define UI_DIALOG_H

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

typedef struct UiDialog UiDialog;

/* One painting of the style gallery, as the dialog shows it. */
typedef struct UiGalleryItem {
    const char *name;    /* the id: the value of the style-preset properties */
    const char *title;   /* "The Starry Night" */
    const char *byline;  /* "Vincent van Gogh, 1889", or "" */
    const char *picture; /* a file for the thumbnail (made here with GdkPixbuf) */
} UiGalleryItem;

/* Style slot `i`'s config properties (as the plug-in registers them);
 * `mask` is an int property: a region's item ID, 0 = the whole picture. */
typedef struct UiStyleSlot {
    const char *source, *preset, *layer, *file, *blend, *mask;
} UiStyleSlot;

/* A region a style can be limited to: a saved selection or a layer mask. */
typedef struct UiRegionItem {
    int id;            /* the item's ID */
    const char *label; /* its name, as the user knows it */
} UiRegionItem;

/* Calls gimp_ui_init() itself.  `slots[0]` is the first style, the others
 * are blended with it; each slot shows only what its source needs: a combo
 * of the gallery's paintings with thumbnails, a layer or a file, and a
 * Region combo ("Whole picture" and `regions`; a slot's ID not among them
 * is set back to 0). */
UiDialog *ui_dialog_new(GimpProcedure *procedure, GimpProcedureConfig *config, const UiGalleryItem *gallery,
                        int n_gallery, const UiRegionItem *regions, int n_regions, const UiStyleSlot *slots,
                        int n_slots);

/* A device the computation can run on, beyond Automatic and CPU. */
typedef struct UiDeviceItem {
    const char *setting; /* the value of the "device" property: "gpu:0" */
    const char *label;   /* "GPU 0: NVIDIA H200 (discrete)" */
} UiDeviceItem;

/* Adds the Device combo under the working size, bound to the string
 * property "device": Automatic ("auto"), CPU ("cpu") and `devices`; `note`
 * (may be NULL) says in its tooltip why no device is listed.  A value not
 * among them (a device gone since the last run) is set back to "auto". */
void ui_dialog_add_devices(UiDialog *dialog, const UiDeviceItem *devices, int n_devices, const char *note);

/* fraction in [0,1]; text may be NULL. */
void ui_dialog_set_progress(UiDialog *dialog, double fraction, const char *text);
/* A line under the progress bar; errors are shown in bold. NULL clears it. */
void ui_dialog_set_message(UiDialog *dialog, const char *message, gboolean is_error);

/* Shows the dialog and runs its nested main loop; TRUE when OK was pressed. */
gboolean ui_dialog_run(UiDialog *dialog);

/* After OK: the dialog stays up showing progress while the result is made;
 * its settings go insensitive and `cancelled` runs when the user presses
 * Cancel or closes the window. */
void ui_dialog_set_finishing(UiDialog *dialog, void (*cancelled)(gpointer user_data), gpointer user_data);

/* Destroys the window. */
void ui_dialog_free(UiDialog *dialog);

#endif
