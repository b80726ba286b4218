/* The strict JSON pull parser under the safetensors reader: what it decodes
 * and what it refuses. */
#include <stdlib.h>
#include <string.h>

#include "io/json.h"
#include "test_util.h"

static void check_string(const char *text, const char *expect)
{
    nst_json json;
    char *s = NULL;
    nst_json_init(&json, text, strlen(text));
    int ok = nst_json_read_string(&json, &s) && nst_json_finish(&json);
    CHECK(ok && strcmp(s, expect) == 0, "%s: %s", text, ok ? s : nst_json_error(&json));
    free(s);
}

static void check_string_error(const char *text, const char *fragment)
{
    nst_json json;
    char *s = NULL;
    nst_json_init(&json, text, strlen(text));
    int ok = nst_json_read_string(&json, &s);
    CHECK(!ok && s == NULL && strstr(nst_json_error(&json), fragment), "%s: %s", text, nst_json_error(&json));
    free(s);
}

static void check_int(const char *text, int ok_expected, int64_t expect)
{
    nst_json json;
    int64_t v = 0;
    nst_json_init(&json, text, strlen(text));
    int ok = nst_json_read_int(&json, &v) && nst_json_finish(&json);
    CHECK(ok == ok_expected && (!ok || v == expect), "%s: ok %d value %lld (%s)", text, ok, (long long)v,
          nst_json_error(&json));
}

static void check_skip(const char *text, int ok_expected)
{
    nst_json json;
    nst_json_init(&json, text, strlen(text));
    int ok = nst_json_skip(&json) && nst_json_finish(&json);
    CHECK(ok == ok_expected, "%s: ok %d (%s)", text, ok, nst_json_error(&json));
}

static void test_strings(void)
{
    check_string("\"plain\"", "plain");
    check_string(" \"a\\\"b\\\\c\\/d\\n\" ", "a\"b\\c/d\n");
    check_string("\"caf\\u00e9\"", "caf\xc3\xa9");
    check_string("\"\\u20AC\"", "\xe2\x82\xac");
    check_string("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80");
    check_string("\"raw \xe2\x82\xac \xf0\x9f\x98\x80\"", "raw \xe2\x82\xac \xf0\x9f\x98\x80");
    check_string_error("\"\\ud83d\"", "high surrogate");
    check_string_error("\"\\ude00\"", "lone low surrogate");
    check_string_error("\"\\u12g4\"", "invalid \\u escape");
    check_string_error("\"a\\u0000b\"", "NUL");
    check_string_error("\"tab\there\"", "control character");
    check_string_error("\"\xc0\xaf\"", "invalid UTF-8");         /* overlong '/' */
    check_string_error("\"\xed\xa0\x80\"", "invalid UTF-8");     /* encoded surrogate */
    check_string_error("\"\xf4\x90\x80\x80\"", "invalid UTF-8"); /* past U+10FFFF */
    check_string_error("\"\xe2\x82\"", "invalid UTF-8");         /* cut short */
    check_string_error("\"open", "unterminated");
    check_string_error("\"open\\", "unterminated");
}

static void test_numbers(void)
{
    check_int("0", 1, 0);
    check_int("-0", 1, 0);
    check_int("9223372036854775807", 1, INT64_MAX);
    check_int("-42", 1, -42);
    check_int("9223372036854775808", 0, 0);
    check_int("007", 0, 0);
    check_int("1.0", 0, 0);
    check_int("1e3", 0, 0);
    check_int("+1", 0, 0);
    check_int("-", 0, 0);
    check_int("", 0, 0);
    check_skip("-1.25e-7", 1);
    check_skip("1.", 0);
    check_skip("1e", 0);
    check_skip(".5", 0);
}

static void test_containers(void)
{
    check_skip("{\"a\": [1, {\"b\": null}], \"c\": true, \"d\": false}", 1);
    check_skip("[]", 1);
    check_skip("{}", 1);
    check_skip("[1 2]", 0);
    check_skip("[1,]", 0);
    check_skip("[,1]", 0);
    check_skip("{\"a\" 1}", 0);
    check_skip("{\"a\": 1,}", 0);
    check_skip("{1: 2}", 0);
    check_skip("[1] [2]", 0);
    check_skip("[", 0);
    check_skip("nul", 0);
    check_skip("/* comment */ 1", 0);

    char deep[2 * NST_JSON_MAX_DEPTH + 8];
    for (int depth = NST_JSON_MAX_DEPTH; depth <= NST_JSON_MAX_DEPTH + 1; depth++) {
        memset(deep, '[', (size_t)depth);
        memset(deep + depth, ']', (size_t)depth);
        deep[2 * depth] = '\0';
        check_skip(deep, depth <= NST_JSON_MAX_DEPTH);
    }

    /* Walking an object member by member, as the safetensors reader does. */
    const char *text = "{\"shape\": [3, 4], \"name\": \"x\"}";
    nst_json json;
    char *key = NULL, *name = NULL;
    int64_t dims[2] = {0, 0};
    int n = 0;
    nst_json_init(&json, text, strlen(text));
    CHECK(nst_json_object_begin(&json), "object_begin");
    CHECK(nst_json_object_next(&json, &key) && strcmp(key, "shape") == 0, "first key");
    free(key);
    CHECK(nst_json_array_begin(&json), "array_begin");
    while (n < 2 && nst_json_array_next(&json))
        nst_json_read_int(&json, &dims[n++]);
    CHECK(!nst_json_array_next(&json) && !nst_json_failed(&json), "array end");
    CHECK(n == 2 && dims[0] == 3 && dims[1] == 4, "dims %lld %lld", (long long)dims[0], (long long)dims[1]);
    CHECK(nst_json_object_next(&json, &key) && strcmp(key, "name") == 0, "second key");
    free(key);
    CHECK(nst_json_read_string(&json, &name) && strcmp(name, "x") == 0, "value");
    free(name);
    CHECK(!nst_json_object_next(&json, &key) && key == NULL && nst_json_finish(&json), "end: %s",
          nst_json_error(&json));
    /* Errors stick: a later call fails too. */
    nst_json_init(&json, "[1, x]", 6);
    nst_json_skip(&json);
    CHECK(nst_json_failed(&json) && !nst_json_finish(&json) && strstr(nst_json_error(&json), "byte 4"), "%s",
          nst_json_error(&json));
}

int main(void)
{
    test_strings();
    test_numbers();
    test_containers();
    return test_finish("test_json");
}
