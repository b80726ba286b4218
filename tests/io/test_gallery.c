/* The style gallery: the shipped pictures (checksums in SHA256SUMS, each one
 * loads, each has its painter, year and the recommended scale and strength
 * of issue #15, which move the style scale and weight as documented),
 * the search path (NST_STYLE_PATH first, a user's pictures join, an earlier
 * folder wins), close names for a typo, and malformed indexes refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nst/nst.h"
#include "test_util.h"

static char tmp_dir[] = "/tmp/nst-test-gallery-XXXXXX";

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot create %s", path);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void save_picture(const char *path, float value)
{
    nst_image *image = nst_image_new(40, 30, NULL);
    for (size_t i = 0; i < 40 * 30 * 3; i++)
        image->rgb[i] = value;
    nst_error err = {0};
    CHECK(nst_image_save(image, path, &err) == NST_OK, "%s", err.message);
    nst_image_free(image);
}

/* SHA256SUMS in the shipped folder, checked by sha256sum itself. */
static void test_checksums(const char *styles)
{
    char command[1200];
    snprintf(command, sizeof command, "cd '%s' && sha256sum --quiet -c SHA256SUMS", styles);
    CHECK(system(command) == 0, "a shipped style picture does not match SHA256SUMS in %s", styles);
}

static void test_shipped(const char *styles)
{
    static const struct {
        const char *name, *painter;
        double scale, strength;
    } expected[] = {
        {"starry_night", "Vincent van Gogh", 1, 33},     {"great_wave", "Katsushika Hokusai", 1, 35},
        {"the_scream", "Edvard Munch", 1.5, 50},         {"udnie", "Francis Picabia", 2, 50},
        {"woman_with_a_hat", "Henri Matisse", 4, 50},    {"shipwreck_of_the_minotaur", "J. M. W. Turner", 1.5, 50},
    };
    nst_error err = {0};
    nst_gallery *gallery = nst_gallery_open(styles, &err);
    CHECK(gallery != NULL, "%s", err.message);
    if (!gallery)
        return;
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        const nst_style_entry *e = nst_gallery_find(gallery, expected[i].name, &err);
        CHECK(e != NULL, "%s: %s", expected[i].name, err.message);
        if (!e)
            continue;
        CHECK(e->described && strcmp(e->painter, expected[i].painter) == 0 && e->year[0] && e->title[0],
              "%s: painter '%s' year '%s'", e->name, e->painter, e->year);
        CHECK(e->style_scale == expected[i].scale && e->strength == expected[i].strength,
              "%s: scale %g strength %g, want %g and %g", e->name, e->style_scale, e->strength, expected[i].scale,
              expected[i].strength);
        nst_image *image = nst_image_load(e->path, &err);
        CHECK(image != NULL && image->width >= 256 && image->height >= 256, "%s: %s", e->path,
              image ? "too small" : err.message);
        nst_image_free(image);
    }
    CHECK(nst_gallery_entry(gallery, 0) && strcmp(nst_gallery_entry(gallery, 0)->name, "starry_night") == 0,
          "the first entry is the index's first");
    /* A typo names the close entry; a far one lists the gallery. */
    CHECK(nst_gallery_find(gallery, "starry_nite", &err) == NULL && err.code == NST_ERR_NOT_FOUND &&
              strstr(err.message, "did you mean starry_night"),
          "%s", err.message);
    CHECK(nst_gallery_find(gallery, "qqqqqqqqqq", &err) == NULL && strstr(err.message, "great_wave") &&
              !strstr(err.message, "did you mean"),
          "%s", err.message);
    /* The scale a user sets is multiplied, within the limits. */
    const nst_style_entry *hat = nst_gallery_find(gallery, "woman_with_a_hat", &err);
    CHECK(hat && nst_style_entry_scale(hat, 0.5) == 2.0 && nst_style_entry_scale(hat, 4.0) == NST_STYLE_SCALE_MAX,
          "scale");
    /* The recommended strength moves the weight in force by its decades:
     * exactly nothing at 50, 10^-3 at 35 (-5 + 10/25 x 5 decades). */
    CHECK(hat && nst_style_entry_style_weight(hat, 1e5) == 1e5 && nst_style_entry_style_weight(NULL, 7.0) == 7.0,
          "a painting without a recommended strength keeps the weight");
    const nst_style_entry *wave = nst_gallery_find(gallery, "great_wave", &err);
    double moved = wave ? nst_style_entry_style_weight(wave, 1e5) : 0;
    CHECK(moved > 99.99 && moved < 100.01, "great_wave at strength 35: 1e5 became %g, want 100", moved);
    nst_gallery_free(gallery);
}

/* NST_STYLE_PATH's folders come before the shipped one; their pictures join
 * the gallery by file name; the first entry of a name wins. */
static void test_user_folder(const char *styles)
{
    char user[700], path[800];
    snprintf(user, sizeof user, "%s/mine", tmp_dir);
    mkdir(user, 0755);
    snprintf(path, sizeof path, "%s/my_sketch.png", user);
    save_picture(path, 0.25f);
    snprintf(path, sizeof path, "%s/udnie.jpg", user); /* shadows the shipped udnie */
    save_picture(path, 0.75f);
    snprintf(path, sizeof path, "%s/notes.txt", user);
    write_text(path, "not a picture");
    setenv("NST_STYLE_PATH", user, 1);
    nst_error err = {0};
    nst_gallery *gallery = nst_gallery_open(styles, &err);
    unsetenv("NST_STYLE_PATH");
    CHECK(gallery != NULL, "%s", err.message);
    if (!gallery)
        return;
    const nst_style_entry *mine = nst_gallery_find(gallery, "my_sketch", &err);
    CHECK(mine && !mine->described && strcmp(mine->title, "my_sketch") == 0 && mine->style_scale == 1.0 &&
              strstr(mine->path, "/mine/my_sketch.png"),
          "a user's picture joins: %s", mine ? mine->path : err.message);
    CHECK(nst_gallery_find(gallery, "notes", &err) == NULL, "a text file is no style");
    /* The front end's folder (the shipped one here) came first. */
    const nst_style_entry *udnie = nst_gallery_find(gallery, "udnie", &err);
    CHECK(udnie && udnie->described, "the first folder's udnie wins");
    CHECK(nst_gallery_count(gallery) == 7, "6 shipped + 1 of the user's, got %d", nst_gallery_count(gallery));
    CHECK(strstr(nst_gallery_folders(gallery), "/mine") != NULL, "folders: %s", nst_gallery_folders(gallery));
    nst_gallery_free(gallery);

    /* Without the shipped folder first, the user's udnie wins. */
    setenv("NST_STYLE_PATH", user, 1);
    gallery = nst_gallery_open(NULL, &err);
    unsetenv("NST_STYLE_PATH");
    udnie = gallery ? nst_gallery_find(gallery, "udnie", &err) : NULL;
    CHECK(udnie && !udnie->described && strstr(udnie->path, "/mine/udnie.jpg"), "NST_STYLE_PATH's udnie");
    nst_gallery_free(gallery);
}

static void expect_bad_index(const char *text, const char *fragment)
{
    char folder[700], path[800];
    snprintf(folder, sizeof folder, "%s/bad", tmp_dir);
    mkdir(folder, 0755);
    snprintf(path, sizeof path, "%s/gallery.json", folder);
    write_text(path, text);
    nst_error err = {0};
    nst_gallery *gallery = nst_gallery_open(folder, &err);
    CHECK(gallery == NULL && err.code == NST_ERR_FORMAT && strstr(err.message, "gallery.json") &&
              strstr(err.message, fragment),
          "'%s': %s", text, gallery ? "accepted" : err.message);
    nst_gallery_free(gallery);
}

static void test_bad_indexes(void)
{
    expect_bad_index("{\"styles\": [{\"name\": \"x\", \"file\": \"x.jpg\"}]}", "missing");
    expect_bad_index("{\"styles\": [{\"name\": \"x\"}]}", "\"file\"");
    expect_bad_index("{\"styles\": [", "unexpected end");
    expect_bad_index("{\"styles\": [{\"name\": \"x\", \"file\": \"../x.jpg\"}]}", "\"file\"");
    char path[800];
    snprintf(path, sizeof path, "%s/bad/x.png", tmp_dir);
    save_picture(path, 0.5f);
    expect_bad_index("{\"styles\": [{\"name\": \"x\", \"file\": \"x.png\", \"style_scale\": 99}]}", "out of range");
    expect_bad_index("{\"styles\": [{\"name\": \"x\", \"file\": \"x.png\", \"strength\": 101}]}",
                     "strength 101 out of range");
}

static void test_strength_curve(void)
{
    double a, b, t;
    nst_params d;
    nst_params_init(&d, NST_MODEL_SQUEEZENET11);
    CHECK(nst_strength_weights(NST_MODEL_SQUEEZENET11, 50, &a, &b, &t, NULL) == NST_OK && a == d.content_weight &&
              b == d.style_weight && t == d.tv_weight,
          "50 is the default exactly: %g %g %g", a, b, t);
    nst_params_init(&d, NST_MODEL_VGG19);
    CHECK(nst_strength_weights(NST_MODEL_VGG19, 50, &a, &b, &t, NULL) == NST_OK && b == d.style_weight, "vgg 50");
    double last = 0;
    for (int s = 0; s <= 100; s += 5) {
        CHECK(nst_strength_weights(NST_MODEL_SQUEEZENET11, s, NULL, &b, NULL, NULL) == NST_OK && b > last &&
                  b <= NST_WEIGHT_MAX,
              "rising at %d: %g after %g", s, b, last);
        last = b;
    }
    nst_error err = {0};
    CHECK(nst_strength_weights(NST_MODEL_SQUEEZENET11, 100.5, NULL, &b, NULL, &err) == NST_ERR_INVALID &&
              strstr(err.message, "strength"),
          "%s", err.message);
}

int main(void)
{
    const char *styles = test_source_file("data/styles");
    char shipped[700];
    snprintf(shipped, sizeof shipped, "%s", styles);
    unsetenv("NST_STYLE_PATH");
    setenv("XDG_DATA_HOME", "/nonexistent-nst-test", 1); /* the tester's own folder stays out */
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_checksums(shipped);
    test_shipped(shipped);
    test_user_folder(shipped);
    test_bad_indexes();
    test_strength_curve();
    char command[700];
    snprintf(command, sizeof command, "rm -rf '%s'", tmp_dir);
    if (system(command) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_dir);
    return test_finish("gallery");
}
