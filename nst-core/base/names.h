/* Name tables for the public enums: one spelling per value, one parser
 * whose error lists every spelling. */
#ifndef NST_BASE_NAMES_H
#define NST_BASE_NAMES_H

#include "nst/nst.h"

/* names[value], or "unknown" outside [0, count). */
const char *nst_name_of(const char *const *names, int count, int value);
/* The index of `name` in names; else NST_ERR_INVALID with
 * "unknown WHAT 'name' (expected a, b or c)". */
nst_status nst_name_parse(const char *const *names, int count, const char *what, const char *name, int *out,
                          nst_error *err);

/* Defines `const char *PREFIX_name(TYPE)` and `nst_status
 * PREFIX_from_name(const char *, TYPE *, nst_error *)` over TABLE. */
#define NST_DEFINE_NAMES(TYPE, PREFIX, WHAT, TABLE, COUNT)                                                   \
    const char *PREFIX##_name(TYPE value)                                                                      \
    {                                                                                                          \
        return nst_name_of(TABLE, COUNT, (int)value);                                                          \
    }                                                                                                          \
    nst_status PREFIX##_from_name(const char *name, TYPE *out, nst_error *err)                                 \
    {                                                                                                          \
        int value;                                                                                             \
        nst_status status = nst_name_parse(TABLE, COUNT, WHAT, name, &value, err);                             \
        if (status == NST_OK)                                                                                  \
            *out = (TYPE)value;                                                                                \
        return status;                                                                                         \
    }

#endif
