/* Where the user's own data lives, and what a path is: shared by the model
 * and style lookups. */
#ifndef NST_IO_DATA_DIRS_H
#define NST_IO_DATA_DIRS_H

#include <stddef.h>

/* $XDG_DATA_HOME/gimp-neural-style/<what>, else
 * $HOME/.local/share/gimp-neural-style/<what>; 0 when neither variable is
 * set (or the name does not fit), 1 otherwise. */
int nst_user_data_folder(const char *what, char *out, size_t size);

/* 1 when `path` is a regular file (after links) / a folder. */
int nst_is_file(const char *path);
int nst_is_dir(const char *path);

#endif
