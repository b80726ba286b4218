/* Where a model's weights are: the path the caller gives, then NST_MODEL_PATH,
 * then the user's data folder (where the project's download script puts
 * them), then the installed data folder.  The error lists every place looked at, because
 * "model not found" alone leaves a user guessing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/names.h"
#include "io/data_dirs.h"
#include "nst/nst.h"

#ifndef NST_MODEL_DIR
#define NST_MODEL_DIR "/usr/local/share/gimp-neural-style/models"
#endif

static const char *default_name(nst_model_kind kind)
{
    switch (kind) {
    case NST_MODEL_SQUEEZENET11: return "squeezenet1.1";
    case NST_MODEL_VGG19: return "vgg19.safetensors";
    case NST_MODEL_VGG16: return "vgg16.safetensors";
    }
    return "unknown";
}

/* A candidate is usable when it has the expected type: a folder for
 * SqueezeNet's .npy files, a regular file for safetensors. */
static int usable(nst_model_kind kind, const char *path)
{
    return kind == NST_MODEL_SQUEEZENET11 ? nst_is_dir(path) : nst_is_file(path);
}

/* Appends "  <path>\n" to the list of places looked at (truncating quietly). */
static void note_tried(char *tried, size_t size, const char *path)
{
    size_t used = strlen(tried);
    if (used + 4 + strlen(path) < size)
        snprintf(tried + used, size - used, "\n  %s", path);
}

static char *try_folder(nst_model_kind kind, const char *folder, char *tried, size_t tried_size, nst_error *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", folder, default_name(kind)) >= (int)sizeof path)
        return NULL; /* a folder name this long cannot hold the model */
    if (usable(kind, path))
        return nst_strdup(path, err);
    note_tried(tried, tried_size, path);
    return NULL;
}

/* The models' names live beside their lookup, which needs them first. */
static const char *const kind_names[NST_MODEL_KIND_COUNT] = {"squeezenet1.1", "vgg19", "vgg16"};

NST_DEFINE_NAMES(nst_model_kind, nst_model_kind, "model", kind_names, NST_MODEL_KIND_COUNT)

/* What to do, in words that hold for every front end (each adds its own
 * way to download or point at a file). */
static void advice(nst_model_kind kind, char *buf, size_t size)
{
    if (kind == NST_MODEL_SQUEEZENET11)
        snprintf(buf, size,
                 "Put SqueezeNet 1.1 (a folder squeezenet1.1/ with its .npy files) in one of these folders, "
                 "or set NST_MODEL_PATH to a folder that holds it.");
    else
        snprintf(buf, size,
                 "Download the VGG weights (the README's section Models says where), check their sha256, "
                 "and save them as %s in one of these folders.",
                 default_name(kind));
}

char *nst_model_find(nst_model_kind kind, const char *model_path, nst_error *err)
{
    char tried[2048] = "";
    char help[512];
    char *found;
    advice(kind, help, sizeof help);

    if (model_path && *model_path) {
        if (usable(kind, model_path))
            return nst_strdup(model_path, err);
        if (nst_is_dir(model_path) && (found = try_folder(kind, model_path, tried, sizeof tried, err)))
            return found;
        nst_error_set(err, NST_ERR_NOT_FOUND, "%s model not found at %s%s%s%s. %s", nst_model_kind_name(kind),
                      model_path, tried[0] ? " (also looked at:" : "", tried, tried[0] ? ")" : "", help);
        return NULL;
    }

    const char *env = getenv("NST_MODEL_PATH");
    if (env && *env) {
        char *copy = nst_strdup(env, err);
        if (!copy)
            return NULL;
        char *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
            if ((found = try_folder(kind, dir, tried, sizeof tried, err))) {
                free(copy);
                return found;
            }
        }
        free(copy);
    }
    char user_dir[4096];
    if (nst_user_data_folder("models", user_dir, sizeof user_dir) &&
        (found = try_folder(kind, user_dir, tried, sizeof tried, err)))
        return found;
    if ((found = try_folder(kind, NST_MODEL_DIR, tried, sizeof tried, err)))
        return found;
    nst_error_set(err, NST_ERR_NOT_FOUND, "%s model not found; looked at:%s\n%s", nst_model_kind_name(kind), tried,
                  help);
    return NULL;
}
