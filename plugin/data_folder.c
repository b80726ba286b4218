#include "data_folder.h"

#include <libgimp/gimp.h>

static char *binary_folder(void)
{
    /* /proc/self/exe is the binary GIMP started, symlinks resolved; the
     * program name GIMP passed is the fallback where /proc is missing. */
    char *exe = g_file_read_link("/proc/self/exe", NULL);
    if (exe == NULL && gimp_get_progname() != NULL)
        exe = g_canonicalize_filename(gimp_get_progname(), NULL);
    if (exe == NULL)
        return NULL;
    char *folder = g_path_get_dirname(exe);
    g_free(exe);
    return folder;
}

static gboolean has_folder(const char *parent, const char *name)
{
    char *path = g_build_filename(parent, name, NULL);
    gboolean found = g_file_test(path, G_FILE_TEST_IS_DIR);
    g_free(path);
    return found;
}

const char *plugin_data_folder(void)
{
    static gsize initialised;
    static char *folder;
    if (g_once_init_enter(&initialised)) {
        char *candidate = binary_folder();
        if (candidate != NULL && (has_folder(candidate, "models") || has_folder(candidate, "styles")))
            folder = candidate;
        else
            g_free(candidate);
        g_once_init_leave(&initialised, 1);
    }
    return folder;
}

static char *bundled_model_path(nst_model_kind kind)
{
    const char *folder = plugin_data_folder();
    if (folder == NULL)
        return NULL;
    char *models = g_build_filename(folder, "models", NULL);
    /* SqueezeNet is a folder named like the model, VGG a .safetensors file. */
    const char *name = nst_model_kind_name(kind);
    char *dir = g_build_filename(models, name, NULL);
    char *file = g_strconcat(dir, ".safetensors", NULL);
    char *found = NULL;
    if (g_file_test(dir, G_FILE_TEST_IS_DIR))
        found = g_strdup(dir);
    else if (g_file_test(file, G_FILE_TEST_IS_REGULAR))
        found = g_strdup(file);
    g_free(models);
    g_free(dir);
    g_free(file);
    return found;
}

char *plugin_model_find(nst_model_kind kind, nst_error *err)
{
    char *bundled = bundled_model_path(kind);
    char *path = nst_model_find(kind, bundled, err);
    g_free(bundled);
    return path;
}

nst_gallery *plugin_gallery_open(nst_error *err)
{
    const char *folder = plugin_data_folder();
    char *styles = folder != NULL ? g_build_filename(folder, "styles", NULL) : NULL;
    nst_gallery *gallery = nst_gallery_open(styles != NULL && g_file_test(styles, G_FILE_TEST_IS_DIR) ? styles : NULL,
                                            err);
    g_free(styles);
    return gallery;
}
