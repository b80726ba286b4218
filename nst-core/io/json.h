/* A small strict pull parser for JSON (RFC 8259), enough for safetensors
 * headers: the caller walks objects and arrays and reads strings and
 * integers as it expects them; anything else can be validated and skipped.
 * No tree is built, so memory stays proportional to what the caller keeps.
 *
 * Strict: no trailing commas, no comments, no leading zeros, valid UTF-8,
 * control characters escaped, nesting limited to NST_JSON_MAX_DEPTH.  The
 * first error sticks: later calls fail at once and nst_json_error() tells
 * what and at which byte. */
#ifndef NST_IO_JSON_H
#define NST_IO_JSON_H

#include <stddef.h>
#include <stdint.h>

#define NST_JSON_MAX_DEPTH 64

typedef struct nst_json {
    const char *start;
    const char *p;
    const char *end;
    int depth;
    unsigned char need_comma[NST_JSON_MAX_DEPTH + 1]; /* per depth: an element was read */
    char error[160];
} nst_json;

void nst_json_init(nst_json *json, const char *text, size_t len);
const char *nst_json_error(const nst_json *json);

/* Each returns 1 on success, 0 on error (see nst_json_error). */
int nst_json_object_begin(nst_json *json);
/* 1 and a malloc'd key (":" consumed) when another member follows, 0 at the
 * closing "}" (consumed) or on error: check nst_json_failed(). */
int nst_json_object_next(nst_json *json, char **key);
int nst_json_array_begin(nst_json *json);
/* 1 when another element follows, 0 at "]" (consumed) or on error. */
int nst_json_array_next(nst_json *json);
/* A string without NUL characters, malloc'd. */
int nst_json_read_string(nst_json *json, char **out);
/* An integer in int64 range (no fraction or exponent). */
int nst_json_read_int(nst_json *json, int64_t *out);
/* Any JSON number (a finite double). */
int nst_json_read_number(nst_json *json, double *out);
/* Validates and skips any value. */
int nst_json_skip(nst_json *json);
/* Only whitespace may follow the top-level value. */
int nst_json_finish(nst_json *json);
int nst_json_failed(const nst_json *json);

#endif
