/* Progress of a run on stderr: a redrawn bar on a terminal, a plain line now
 * and then when stderr is a file or a pipe (logs stay readable). */
#ifndef NST_CLI_PROGRESS_BAR_H
#define NST_CLI_PROGRESS_BAR_H

#include <stdio.h>

#include "nst/nst.h"

typedef struct progress_bar progress_bar;

/* `interactive`: redraw one line in place (for a terminal). */
progress_bar *progress_bar_new(FILE *stream, int interactive);
void progress_bar_free(progress_bar *bar);

/* Called for every evaluation; decides itself when to draw. */
void progress_bar_update(progress_bar *bar, const nst_progress *progress);
/* Draws the last state and ends the line; call before printing anything else. */
void progress_bar_finish(progress_bar *bar);

#endif
