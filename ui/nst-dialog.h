/* The Neural Style Transfer dialog: widgets only.
 *
 * Every setting is a property of the procedure's config, so the dialog shows
 * and edits the config; the plug-in listens to the config's notify:: signals.
 * The dialog adds a progress bar and a message line that the plug-in feeds. */
#ifndef NST_UI_DIALOG_H
#define NST_UI_DIALOG_H

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

typedef struct NstDialog NstDialog;

/* Calls gimp_ui_init() itself. */
NstDialog *nst_dialog_new(GimpProcedure *procedure, GimpProcedureConfig *config);

/* fraction in [0,1]; text may be NULL. */
void nst_dialog_set_progress(NstDialog *dialog, double fraction, const char *text);
/* A line under the progress bar; errors are shown in bold. NULL clears it. */
void nst_dialog_set_message(NstDialog *dialog, const char *message, gboolean is_error);

/* Shows the dialog and runs its nested main loop; TRUE when OK was pressed. */
gboolean nst_dialog_run(NstDialog *dialog);

/* After OK: the dialog stays up showing progress while the result is made;
 * its settings go insensitive and `cancelled` runs when the user presses
 * Cancel or closes the window. */
void nst_dialog_set_finishing(NstDialog *dialog, void (*cancelled)(gpointer user_data), gpointer user_data);

/* Destroys the window. */
void nst_dialog_free(NstDialog *dialog);

#endif
