#include "io/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(nst_json *json, const char *what)
{
    if (!json->error[0])
        snprintf(json->error, sizeof json->error, "%s at byte %zu", what, (size_t)(json->p - json->start));
    return 0;
}

void nst_json_init(nst_json *json, const char *text, size_t len)
{
    memset(json, 0, sizeof *json);
    json->start = json->p = text;
    json->end = text + len;
}

const char *nst_json_error(const nst_json *json)
{
    return json->error[0] ? json->error : "no error";
}

int nst_json_failed(const nst_json *json)
{
    return json->error[0] != '\0';
}

static void skip_space(nst_json *json)
{
    while (json->p < json->end && (*json->p == ' ' || *json->p == '\t' || *json->p == '\n' || *json->p == '\r'))
        json->p++;
}

/* Peeks at the next non-space byte; -1 at the end. */
static int peek(nst_json *json)
{
    skip_space(json);
    return json->p < json->end ? (unsigned char)*json->p : -1;
}

/* need_comma[depth] is set once the container at that depth has an element,
 * so the next one must be preceded by a comma. */
static int container_begin(nst_json *json, char open)
{
    if (nst_json_failed(json))
        return 0;
    if (peek(json) != open)
        return fail(json, open == '{' ? "expected '{'" : "expected '['");
    if (json->depth >= NST_JSON_MAX_DEPTH)
        return fail(json, "nesting too deep");
    json->p++;
    json->depth++;
    json->need_comma[json->depth] = 0;
    return 1;
}

/* 1 when another element follows (comma consumed), 0 at the close (consumed) or on error. */
static int container_next(nst_json *json, char close)
{
    if (nst_json_failed(json))
        return 0;
    int c = peek(json);
    if (c == close) {
        json->p++;
        json->depth--;
        return 0;
    }
    if (json->need_comma[json->depth]) {
        if (c != ',')
            return fail(json, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
        json->p++;
        c = peek(json);
        if (c == close)
            return fail(json, "trailing comma");
    }
    if (c < 0)
        return fail(json, "unexpected end of text");
    json->need_comma[json->depth] = 1;
    return 1;
}

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits after "\u"; -1 when malformed. */
static long read_hex4(nst_json *json)
{
    long value = 0;
    if (json->end - json->p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit((unsigned char)json->p[i]);
        if (d < 0)
            return -1;
        value = value * 16 + d;
    }
    json->p += 4;
    return value;
}

static size_t put_utf8(char *out, unsigned long cp)
{
    unsigned char buf[4];
    size_t n;
    if (cp < 0x80) {
        buf[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        buf[0] = (unsigned char)(0xc0 | cp >> 6);
        buf[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        buf[0] = (unsigned char)(0xe0 | cp >> 12);
        buf[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        buf[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        buf[0] = (unsigned char)(0xf0 | cp >> 18);
        buf[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
        buf[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        buf[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    if (out)
        memcpy(out, buf, n);
    return n;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF), 0 when invalid. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end)
{
    unsigned char lead = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (lead >= 0xc2 && lead <= 0xdf)
        n = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
        n = 3;
        lo = lead == 0xe0 ? 0xa0 : 0x80;
        hi = lead == 0xed ? 0x9f : 0xbf;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        n = 4;
        lo = lead == 0xf0 ? 0x90 : 0x80;
        hi = lead == 0xf4 ? 0x8f : 0xbf;
    } else
        return 0;
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

static long escape_error(nst_json *json, const char *what)
{
    fail(json, what);
    return -1;
}

static size_t string_error(nst_json *json, const char *what)
{
    fail(json, what);
    return SIZE_MAX;
}

/* One escape after the backslash; returns the code point or -1 (error set). */
static long read_escape(nst_json *json, int allow_nul)
{
    if (json->p >= json->end)
        return escape_error(json, "unterminated string");
    char c = *json->p++;
    switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '/': return '/';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'u': break;
    default: return escape_error(json, "invalid escape in string");
    }
    long cp = read_hex4(json);
    if (cp < 0)
        return escape_error(json, "invalid \\u escape");
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return escape_error(json, "lone low surrogate in \\u escape");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        long low = -1;
        if (json->end - json->p >= 2 && json->p[0] == '\\' && json->p[1] == 'u') {
            json->p += 2;
            low = read_hex4(json);
        }
        if (low < 0xdc00 || low > 0xdfff)
            return escape_error(json, "high surrogate without a low surrogate");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    }
    if (cp == 0 && !allow_nul)
        return escape_error(json, "NUL character in string");
    return cp;
}

/* Walks a string starting at its opening quote, validating it; writes the
 * decoded bytes to `out` when not NULL.  Returns the decoded length, or
 * SIZE_MAX on error. */
static size_t scan_string(nst_json *json, char *out, int allow_nul)
{
    size_t len = 0;
    if (peek(json) != '"')
        return string_error(json, "expected a string");
    json->p++;
    for (;;) {
        if (json->p >= json->end)
            return string_error(json, "unterminated string");
        unsigned char c = (unsigned char)*json->p;
        if (c == '"') {
            json->p++;
            return len;
        }
        if (c < 0x20)
            return string_error(json, "control character in string");
        if (c == '\\') {
            json->p++;
            long cp = read_escape(json, allow_nul);
            if (cp < 0)
                return SIZE_MAX;
            len += put_utf8(out ? out + len : NULL, (unsigned long)cp);
        } else if (c < 0x80) {
            if (out)
                out[len] = (char)c;
            json->p++;
            len++;
        } else {
            size_t n = utf8_sequence((const unsigned char *)json->p, (const unsigned char *)json->end);
            if (n == 0)
                return string_error(json, "invalid UTF-8 in string");
            if (out)
                memcpy(out + len, json->p, n);
            json->p += n;
            len += n;
        }
    }
}

int nst_json_read_string(nst_json *json, char **out)
{
    *out = NULL;
    if (nst_json_failed(json))
        return 0;
    const char *start = json->p;
    size_t len = scan_string(json, NULL, 0);
    if (len == SIZE_MAX)
        return 0;
    /* Decoded text is never longer than its source, so this is bounded by the input. */
    char *text = malloc(len + 1);
    if (!text)
        return fail(json, "out of memory reading a string");
    json->p = start;
    scan_string(json, text, 0);
    text[len] = '\0';
    *out = text;
    return 1;
}

static int is_digit(nst_json *json)
{
    return json->p < json->end && *json->p >= '0' && *json->p <= '9';
}

/* -?(0|[1-9][0-9]*): the integer part shared by integers and numbers.
 * Accumulates into *value (saturating flag set on overflow) when not NULL. */
static int scan_integer_part(nst_json *json, int64_t *value, int *overflow)
{
    int negative = 0;
    if (json->p < json->end && *json->p == '-') {
        negative = 1;
        json->p++;
    }
    if (!is_digit(json))
        return fail(json, "expected a number");
    if (*json->p == '0' && json->p + 1 < json->end && json->p[1] >= '0' && json->p[1] <= '9')
        return fail(json, "leading zero in number");
    int64_t v = 0;
    while (is_digit(json)) {
        int d = *json->p++ - '0';
        if (v > (INT64_MAX - d) / 10)
            *overflow = 1;
        else
            v = v * 10 + d;
    }
    if (value)
        *value = negative ? -v : v;
    return 1;
}

int nst_json_read_int(nst_json *json, int64_t *out)
{
    int overflow = 0;
    if (nst_json_failed(json))
        return 0;
    skip_space(json);
    if (!scan_integer_part(json, out, &overflow))
        return 0;
    if (json->p < json->end && (*json->p == '.' || *json->p == 'e' || *json->p == 'E'))
        return fail(json, "expected an integer");
    if (overflow)
        return fail(json, "integer out of range");
    return 1;
}

static int skip_number(nst_json *json)
{
    int overflow = 0;
    if (!scan_integer_part(json, NULL, &overflow))
        return 0;
    if (json->p < json->end && *json->p == '.') {
        json->p++;
        if (!is_digit(json))
            return fail(json, "expected a digit after '.'");
        while (is_digit(json))
            json->p++;
    }
    if (json->p < json->end && (*json->p == 'e' || *json->p == 'E')) {
        json->p++;
        if (json->p < json->end && (*json->p == '+' || *json->p == '-'))
            json->p++;
        if (!is_digit(json))
            return fail(json, "expected a digit in the exponent");
        while (is_digit(json))
            json->p++;
    }
    return 1;
}

/* Independent of the locale (a GIMP plug-in runs with the user's LC_NUMERIC,
 * where strtod may want a decimal comma): up to 18 significant digits,
 * scaled by an exact power of ten, within a few ulp of the true value. */
static double decimal_value(const char *p, const char *end)
{
    int negative = *p == '-';
    p += negative;
    int64_t mantissa = 0;
    int digits = 0, exponent = 0, seen_point = 0;
    for (; p < end && *p != 'e' && *p != 'E'; p++) {
        if (*p == '.') {
            seen_point = 1;
            continue;
        }
        if (digits < 18 && (mantissa > 0 || *p != '0')) {
            mantissa = mantissa * 10 + (*p - '0');
            digits++;
            exponent -= seen_point;
        } else if (!seen_point && (mantissa > 0 || *p != '0')) {
            exponent++; /* a digit beyond the 18th before the point */
        }
    }
    if (p < end) {
        long e = strtol(p + 1, NULL, 10); /* digits and a sign: the same in every locale */
        exponent += e > 1000 ? 1000 : e < -1000 ? -1000 : (int)e;
    }
    double value = exponent < 0 ? (double)mantissa / pow(10.0, -exponent) : (double)mantissa * pow(10.0, exponent);
    return negative ? -value : value;
}

int nst_json_read_number(nst_json *json, double *out)
{
    if (nst_json_failed(json))
        return 0;
    skip_space(json);
    const char *start = json->p;
    if (!skip_number(json))
        return 0;
    double value = decimal_value(start, json->p);
    if (!isfinite(value))
        return fail(json, "number out of range");
    *out = value;
    return 1;
}

static int skip_literal(nst_json *json, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(json->end - json->p) < n || memcmp(json->p, word, n) != 0)
        return fail(json, "unexpected character");
    json->p += n;
    return 1;
}

int nst_json_skip(nst_json *json)
{
    if (nst_json_failed(json))
        return 0;
    switch (peek(json)) {
    case '{':
        if (!container_begin(json, '{'))
            return 0;
        while (container_next(json, '}')) {
            if (scan_string(json, NULL, 1) == SIZE_MAX)
                return 0;
            if (peek(json) != ':')
                return fail(json, "expected ':'");
            json->p++;
            if (!nst_json_skip(json))
                return 0;
        }
        return !nst_json_failed(json);
    case '[':
        if (!container_begin(json, '['))
            return 0;
        while (container_next(json, ']'))
            if (!nst_json_skip(json))
                return 0;
        return !nst_json_failed(json);
    case '"': return scan_string(json, NULL, 1) != SIZE_MAX;
    case 't': return skip_literal(json, "true");
    case 'f': return skip_literal(json, "false");
    case 'n': return skip_literal(json, "null");
    case -1: return fail(json, "unexpected end of text");
    default: return skip_number(json);
    }
}

int nst_json_object_begin(nst_json *json)
{
    return container_begin(json, '{');
}

int nst_json_object_next(nst_json *json, char **key)
{
    *key = NULL;
    if (!container_next(json, '}'))
        return 0;
    if (!nst_json_read_string(json, key))
        return 0;
    if (peek(json) != ':') {
        free(*key);
        *key = NULL;
        return fail(json, "expected ':'");
    }
    json->p++;
    return 1;
}

int nst_json_array_begin(nst_json *json)
{
    return container_begin(json, '[');
}

int nst_json_array_next(nst_json *json)
{
    return container_next(json, ']');
}

int nst_json_finish(nst_json *json)
{
    if (nst_json_failed(json))
        return 0;
    if (json->depth != 0)
        return fail(json, "unclosed object or array");
    if (peek(json) != -1)
        return fail(json, "unexpected text after the JSON value");
    return 1;
}
