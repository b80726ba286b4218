/* The style gallery: the paintings shipped with the plug-in and the command
 * line (described in gallery.json beside them) and the pictures a user puts
 * in a gallery folder, found along a search path like the models'. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "io/data_dirs.h"
#include "io/json.h"
#include "nst/nst.h"

#ifndef NST_STYLE_DIR
#define NST_STYLE_DIR "/usr/local/share/gimp-neural-style/styles"
#endif

#define GALLERY_INDEX "gallery.json"
/* A gallery.json is a few kilobytes; anything this large is not one. */
#define GALLERY_INDEX_MAX (1 << 20)

struct nst_gallery {
    nst_style_entry *entries;
    int count, capacity;
    char folders[8192];
};

void nst_gallery_free(nst_gallery *gallery)
{
    if (!gallery)
        return;
    free(gallery->entries);
    free(gallery);
}

int nst_gallery_count(const nst_gallery *gallery)
{
    return gallery ? gallery->count : 0;
}

const nst_style_entry *nst_gallery_entry(const nst_gallery *gallery, int index)
{
    return gallery && index >= 0 && index < gallery->count ? &gallery->entries[index] : NULL;
}

const char *nst_gallery_folders(const nst_gallery *gallery)
{
    return gallery ? gallery->folders : "";
}

double nst_style_entry_scale(const nst_style_entry *entry, double style_scale)
{
    double scale = style_scale * (entry ? entry->style_scale : 1.0);
    if (!(scale >= NST_STYLE_SCALE_MIN))
        return NST_STYLE_SCALE_MIN;
    return scale > NST_STYLE_SCALE_MAX ? NST_STYLE_SCALE_MAX : scale;
}

static int has_name(const nst_gallery *gallery, const char *name)
{
    for (int i = 0; i < gallery->count; i++)
        if (strcmp(gallery->entries[i].name, name) == 0)
            return 1;
    return 0;
}

/* A new zeroed entry at the end, or NULL (NST_ERR_NOMEM). */
static nst_style_entry *append_entry(nst_gallery *gallery, nst_error *err)
{
    if (gallery->count == gallery->capacity) {
        int capacity = gallery->capacity ? gallery->capacity * 2 : 16;
        nst_style_entry *grown = realloc(gallery->entries, (size_t)capacity * sizeof *grown);
        if (!grown) {
            nst_error_set(err, NST_ERR_NOMEM, "out of memory reading the style gallery");
            return NULL;
        }
        gallery->entries = grown;
        gallery->capacity = capacity;
    }
    nst_style_entry *entry = &gallery->entries[gallery->count];
    memset(entry, 0, sizeof *entry);
    entry->style_scale = 1.0;
    entry->strength = NST_STRENGTH_DEFAULT;
    return entry;
}

/* ".png", ".jpg" or ".jpeg" (any case) after a non-empty stem: the stem's length, else 0. */
static size_t picture_stem_length(const char *file_name)
{
    const char *dot = strrchr(file_name, '.');
    if (!dot || dot == file_name || file_name[0] == '.')
        return 0;
    if (strcasecmp(dot, ".png") && strcasecmp(dot, ".jpg") && strcasecmp(dot, ".jpeg"))
        return 0;
    return (size_t)(dot - file_name);
}

/* ---- gallery.json ---- */

typedef struct index_reader {
    nst_json json;
    const char *index_path;
    const char *folder;
} index_reader;

static nst_status index_error(const index_reader *reader, const char *what, nst_error *err)
{
    return nst_error_set(err, NST_ERR_FORMAT, "%s: %s", reader->index_path,
                         what ? what : nst_json_error(&reader->json));
}

/* A string member into a fixed field; too long is an error. */
static int read_text(index_reader *reader, char *field, size_t size, const char *key, nst_error *err)
{
    char *text = NULL;
    if (!nst_json_read_string(&reader->json, &text))
        return index_error(reader, NULL, err), 0;
    int fits = strlen(text) < size;
    if (fits)
        memcpy(field, text, strlen(text) + 1);
    free(text);
    if (!fits) {
        char what[96];
        snprintf(what, sizeof what, "\"%s\" is too long", key);
        return index_error(reader, what, err), 0;
    }
    return 1;
}

/* An entry's recommended setting must lie within the engine's limits. */
static nst_status check_setting(const index_reader *reader, const nst_style_entry *entry, const char *key,
                                double value, double min, double max, nst_error *err)
{
    if (value >= min && value <= max)
        return NST_OK;
    char what[200];
    snprintf(what, sizeof what, "style '%s': %s %g out of range (%g to %g)", entry->name, key, value, min, max);
    return index_error(reader, what, err);
}

/* One {"name", "file", "title", "painter", "year", "style_scale", "strength"} object. */
static nst_status read_index_entry(index_reader *reader, nst_style_entry *entry, nst_error *err)
{
    char file[256] = "";
    char *key = NULL;
    if (!nst_json_object_begin(&reader->json))
        return index_error(reader, NULL, err);
    while (nst_json_object_next(&reader->json, &key)) {
        int ok = 1;
        if (strcmp(key, "name") == 0)
            ok = read_text(reader, entry->name, sizeof entry->name, key, err);
        else if (strcmp(key, "file") == 0)
            ok = read_text(reader, file, sizeof file, key, err);
        else if (strcmp(key, "title") == 0)
            ok = read_text(reader, entry->title, sizeof entry->title, key, err);
        else if (strcmp(key, "painter") == 0)
            ok = read_text(reader, entry->painter, sizeof entry->painter, key, err);
        else if (strcmp(key, "year") == 0)
            ok = read_text(reader, entry->year, sizeof entry->year, key, err);
        else if (strcmp(key, "style_scale") == 0)
            ok = nst_json_read_number(&reader->json, &entry->style_scale) || (index_error(reader, NULL, err), 0);
        else if (strcmp(key, "strength") == 0)
            ok = nst_json_read_number(&reader->json, &entry->strength) || (index_error(reader, NULL, err), 0);
        else
            ok = nst_json_skip(&reader->json) || (index_error(reader, NULL, err), 0);
        free(key);
        if (!ok)
            return err ? err->code : NST_ERR_FORMAT;
    }
    if (nst_json_failed(&reader->json))
        return index_error(reader, NULL, err);
    if (!entry->name[0] || !file[0] || strchr(file, '/'))
        return index_error(reader, "every style needs a \"name\" and a \"file\" (a file name in the same folder)",
                           err);
    nst_status status =
        check_setting(reader, entry, "style_scale", entry->style_scale, NST_STYLE_SCALE_MIN, NST_STYLE_SCALE_MAX, err);
    if (status == NST_OK)
        status = check_setting(reader, entry, "strength", entry->strength, NST_STRENGTH_MIN, NST_STRENGTH_MAX, err);
    if (status != NST_OK)
        return status;
    if (snprintf(entry->path, sizeof entry->path, "%s/%s", reader->folder, file) >= (int)sizeof entry->path ||
        !nst_is_file(entry->path)) {
        char what[400];
        snprintf(what, sizeof what, "style '%s': its picture %s is missing", entry->name, file);
        return index_error(reader, what, err);
    }
    if (!entry->title[0])
        snprintf(entry->title, sizeof entry->title, "%s", entry->name);
    entry->described = 1;
    return NST_OK;
}

static char *read_small_file(const char *path, size_t *length, nst_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        nst_error_set(err, NST_ERR_IO, "cannot open %s", path);
        return NULL;
    }
    char *text = nst_alloc(GALLERY_INDEX_MAX + 1, "the style gallery's index", err);
    size_t n = text ? fread(text, 1, GALLERY_INDEX_MAX + 1, f) : 0;
    int failed = text && ferror(f);
    fclose(f);
    if (text && (failed || n > GALLERY_INDEX_MAX)) {
        nst_error_set(err, failed ? NST_ERR_IO : NST_ERR_FORMAT, "%s: %s", path,
                      failed ? "cannot be read" : "larger than 1 MiB: not a gallery index");
        free(text);
        return NULL;
    }
    *length = n;
    return text;
}

/* {"styles": [entry, ...]} (other members are ignored). */
static nst_status read_index(nst_gallery *gallery, const char *folder, const char *index_path, nst_error *err)
{
    size_t length = 0;
    char *text = read_small_file(index_path, &length, err);
    if (!text)
        return err ? err->code : NST_ERR_IO;
    index_reader reader = {.index_path = index_path, .folder = folder};
    nst_json_init(&reader.json, text, length);
    nst_status status = NST_OK;
    char *key = NULL;
    if (!nst_json_object_begin(&reader.json))
        status = index_error(&reader, NULL, err);
    while (status == NST_OK && nst_json_object_next(&reader.json, &key)) {
        if (strcmp(key, "styles") != 0) {
            if (!nst_json_skip(&reader.json))
                status = index_error(&reader, NULL, err);
        } else if (!nst_json_array_begin(&reader.json)) {
            status = index_error(&reader, NULL, err);
        } else {
            while (status == NST_OK && nst_json_array_next(&reader.json)) {
                nst_style_entry *entry = append_entry(gallery, err);
                status = entry ? read_index_entry(&reader, entry, err) : NST_ERR_NOMEM;
                if (status == NST_OK && !has_name(gallery, entry->name))
                    gallery->count++; /* an earlier folder's entry of this name wins */
            }
        }
        free(key);
        key = NULL;
    }
    if (status == NST_OK && !nst_json_finish(&reader.json))
        status = index_error(&reader, NULL, err);
    free(text);
    return status;
}

/* ---- a folder ---- */

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The folder's pictures not described by its index, by file name. */
static nst_status add_pictures(nst_gallery *gallery, const char *folder, nst_error *err)
{
    DIR *dir = opendir(folder);
    if (!dir)
        return NST_OK; /* unreadable: as if absent */
    char *names[1024];
    int n = 0;
    struct dirent *d;
    while ((d = readdir(dir)) && n < (int)(sizeof names / sizeof names[0])) {
        if (picture_stem_length(d->d_name) && (names[n] = strdup(d->d_name)))
            n++;
    }
    closedir(dir);
    qsort(names, (size_t)n, sizeof names[0], compare_names);
    nst_status status = NST_OK;
    for (int i = 0; i < n; i++) {
        size_t stem = picture_stem_length(names[i]);
        char name[NST_STYLE_NAME_MAX];
        nst_style_entry *entry = NULL;
        if (status == NST_OK && stem < sizeof name) {
            memcpy(name, names[i], stem);
            name[stem] = '\0';
            if (!has_name(gallery, name) && !(entry = append_entry(gallery, err)))
                status = NST_ERR_NOMEM;
        }
        if (entry && snprintf(entry->path, sizeof entry->path, "%s/%s", folder, names[i]) < (int)sizeof entry->path &&
            nst_is_file(entry->path)) {
            snprintf(entry->name, sizeof entry->name, "%s", name);
            snprintf(entry->title, sizeof entry->title, "%s", name);
            gallery->count++;
        }
        free(names[i]);
    }
    return status;
}

static nst_status add_folder(nst_gallery *gallery, const char *folder, nst_error *err)
{
    size_t used = strlen(gallery->folders);
    snprintf(gallery->folders + used, sizeof gallery->folders - used, "%s%s", used ? ":" : "", folder);
    if (!nst_is_dir(folder))
        return NST_OK;
    char index_path[NST_STYLE_PATH_MAX];
    if (snprintf(index_path, sizeof index_path, "%s/%s", folder, GALLERY_INDEX) < (int)sizeof index_path &&
        nst_is_file(index_path)) {
        nst_status status = read_index(gallery, folder, index_path, err);
        if (status != NST_OK)
            return status;
    }
    return add_pictures(gallery, folder, err);
}

nst_gallery *nst_gallery_open(const char *first_folder, nst_error *err)
{
    nst_gallery *gallery = nst_alloc_zero(1, sizeof *gallery, "the style gallery", err);
    if (!gallery)
        return NULL;
    nst_status status = NST_OK;
    if (first_folder && *first_folder)
        status = add_folder(gallery, first_folder, err);
    const char *env = getenv("NST_STYLE_PATH");
    if (status == NST_OK && env && *env) {
        char *copy = nst_strdup(env, err);
        char *save = NULL;
        status = copy ? NST_OK : NST_ERR_NOMEM;
        for (char *dir = copy ? strtok_r(copy, ":", &save) : NULL; dir && status == NST_OK;
             dir = strtok_r(NULL, ":", &save))
            status = add_folder(gallery, dir, err);
        free(copy);
    }
    char user_dir[NST_STYLE_PATH_MAX];
    if (status == NST_OK && nst_user_data_folder("styles", user_dir, sizeof user_dir))
        status = add_folder(gallery, user_dir, err);
    if (status == NST_OK)
        status = add_folder(gallery, NST_STYLE_DIR, err);
    if (status != NST_OK) {
        nst_gallery_free(gallery);
        return NULL;
    }
    return gallery;
}

/* ---- finding a name ---- */

/* Levenshtein distance, case-insensitive, on names of at most NST_STYLE_NAME_MAX bytes. */
static int edit_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la >= NST_STYLE_NAME_MAX || lb >= NST_STYLE_NAME_MAX)
        return NST_STYLE_NAME_MAX;
    int row[NST_STYLE_NAME_MAX + 1];
    for (int j = 0; j <= lb; j++)
        row[j] = j;
    for (int i = 1; i <= la; i++) {
        int diagonal = row[0];
        row[0] = i;
        for (int j = 1; j <= lb; j++) {
            int up = row[j];
            int substitute = diagonal + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            int best = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
            row[j] = substitute < best ? substitute : best;
            diagonal = up;
        }
    }
    return row[lb];
}

/* Appends ", name" (or "name" first) to a list, quietly cut at its end. */
static void append_name(char *list, size_t size, const char *name)
{
    size_t used = strlen(list);
    snprintf(list + used, size - used, "%s%s", used ? ", " : "", name);
}

const nst_style_entry *nst_gallery_find(const nst_gallery *gallery, const char *name, nst_error *err)
{
    int count = nst_gallery_count(gallery);
    for (int i = 0; i < count; i++)
        if (strcmp(gallery->entries[i].name, name) == 0)
            return &gallery->entries[i];
    /* Close names: within a third of the name's length (at least 2 edits). */
    int limit = (int)strlen(name) / 3 > 2 ? (int)strlen(name) / 3 : 2;
    char close[512] = "", all[768] = "";
    for (int distance = 0; distance <= limit; distance++)
        for (int i = 0; i < count; i++)
            if (edit_distance(name, gallery->entries[i].name) == distance)
                append_name(close, sizeof close, gallery->entries[i].name);
    for (int i = 0; i < count; i++)
        append_name(all, sizeof all, gallery->entries[i].name);
    if (close[0])
        nst_error_set(err, NST_ERR_NOT_FOUND, "no style named '%s' in the gallery; did you mean %s?", name, close);
    else if (count)
        nst_error_set(err, NST_ERR_NOT_FOUND, "no style named '%s' in the gallery (it has: %s)", name, all);
    else
        nst_error_set(err, NST_ERR_NOT_FOUND, "no style named '%s': the gallery is empty (looked in %s)", name,
                      nst_gallery_folders(gallery));
    return NULL;
}
