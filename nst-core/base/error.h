/* Errors returned up the chain: every fallible function returns an nst_status
 * (0 = NST_OK, negative = failure) and fills an nst_error with a message a
 * user can act on.  Library code never aborts. */
#ifndef NST_BASE_ERROR_H
#define NST_BASE_ERROR_H

#include "nst/nst.h"

/* Sets err (when not NULL) and returns code, so callers can write
 *   return nst_error_set(err, NST_ERR_FORMAT, "%s: bad magic", path); */
nst_status nst_error_set(nst_error *err, nst_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends context ("loading conv1: ") to an error already set. */
nst_status nst_error_prefix(nst_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Overflow-checked size arithmetic: return 0 on overflow. */
int nst_size_mul(size_t a, size_t b, size_t *out);
int nst_size_add(size_t a, size_t b, size_t *out);

/* malloc/calloc that set NST_ERR_NOMEM with what was being allocated. */
void *nst_alloc(size_t bytes, const char *what, nst_error *err);
void *nst_alloc_zero(size_t count, size_t size, const char *what, nst_error *err);
char *nst_strdup(const char *s, nst_error *err);

#endif
