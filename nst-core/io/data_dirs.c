#include "io/data_dirs.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int nst_user_data_folder(const char *what, char *out, size_t size)
{
    const char *data_home = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    if (data_home && *data_home)
        n = snprintf(out, size, "%s/gimp-neural-style/%s", data_home, what);
    else if (home && *home)
        n = snprintf(out, size, "%s/.local/share/gimp-neural-style/%s", home, what);
    else
        return 0;
    return n > 0 && (size_t)n < size;
}

int nst_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int nst_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
