#include "base/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

nst_status nst_error_set(nst_error *err, nst_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

nst_status nst_error_prefix(nst_error *err, const char *fmt, ...)
{
    if (!err)
        return NST_ERR_INVALID;
    char prefix[sizeof err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* prefix + old message, cut to the buffer */
    size_t size = sizeof err->message;
    size_t plen = strlen(prefix);
    size_t olen = strlen(err->message);
    if (plen + olen >= size)
        olen = size - 1 - plen;
    memmove(err->message + plen, err->message, olen);
    memcpy(err->message, prefix, plen);
    err->message[plen + olen] = '\0';
    return err->code;
}

int nst_size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

int nst_size_add(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a)
        return 0;
    *out = a + b;
    return 1;
}

void *nst_alloc(size_t bytes, const char *what, nst_error *err)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        nst_error_set(err, NST_ERR_NOMEM, "out of memory allocating %zu bytes for %s", bytes, what);
    return p;
}

void *nst_alloc_zero(size_t count, size_t size, const char *what, nst_error *err)
{
    size_t bytes;
    if (!nst_size_mul(count, size, &bytes)) {
        nst_error_set(err, NST_ERR_NOMEM, "size overflow allocating %s", what);
        return NULL;
    }
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        nst_error_set(err, NST_ERR_NOMEM, "out of memory allocating %zu bytes for %s", bytes, what);
    return p;
}

char *nst_strdup(const char *s, nst_error *err)
{
    size_t n = strlen(s) + 1;
    char *p = nst_alloc(n, "a string", err);
    if (p)
        memcpy(p, s, n);
    return p;
}
