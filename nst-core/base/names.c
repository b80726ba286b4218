#include "base/names.h"

#include <stdio.h>
#include <string.h>

#include "base/error.h"

const char *nst_name_of(const char *const *names, int count, int value)
{
    return value >= 0 && value < count ? names[value] : "unknown";
}

nst_status nst_name_parse(const char *const *names, int count, const char *what, const char *name, int *out,
                          nst_error *err)
{
    for (int i = 0; name && i < count; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = i;
            return NST_OK;
        }
    char expected[256] = "";
    for (int i = 0; i < count; i++) {
        size_t used = strlen(expected);
        snprintf(expected + used, sizeof expected - used, "%s%s", i == 0 ? "" : i == count - 1 ? " or " : ", ",
                 names[i]);
    }
    return nst_error_set(err, NST_ERR_INVALID, "unknown %s '%s' (expected %s)", what, name ? name : "", expected);
}
