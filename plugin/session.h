/* One call of the procedure: reads the pictures, drives the worker, shows the
 * live preview, applies the result as one undo step or leaves the image as it
 * was.  Main thread only. */
#ifndef PLUGIN_SESSION_H
#define PLUGIN_SESSION_H

#include <libgimp/gimp.h>

/* Runs to the end without a dialog (non-interactive, or with the last values
 * when `from_dialog`).  Returns the PDB status; *error is set unless success. */
GimpPDBStatusType plugin_session_run_batch(GimpImage *image, GimpDrawable *content, GimpProcedureConfig *config,
                                        gboolean from_dialog, GError **error);

/* Shows the dialog with the live preview. */
GimpPDBStatusType plugin_session_run_interactive(GimpProcedure *procedure, GimpImage *image,
                                              GimpDrawable *content, GimpProcedureConfig *config,
                                              GError **error);

#endif
