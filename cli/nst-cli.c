/* nst: neural style transfer from the command line.
 *
 * Uses only the public API (nst/nst.h).  Exit status: 0 done, 1 the engine
 * or a file failed, 2 a bad argument, 130 interrupted (SIGINT).
 *
 * Options are read twice: the first pass only picks --model (and --help,
 * --version), because the defaults every other option overrides depend on
 * the model; the second pass applies the rest in command-line order. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "nst/nst.h"
#include "progress_bar.h"

#ifndef NST_VERSION
#define NST_VERSION "unknown"
#endif

enum {
    EXIT_ENGINE = 1,
    EXIT_USAGE = 2,
    EXIT_INTERRUPTED = 130,
};

enum option_id {
    OPT_CONTENT = 256,
    OPT_STYLE,
    OPT_OUTPUT,
    OPT_MODEL,
    OPT_MODEL_PATH,
    OPT_SIZE,
    OPT_ITERATIONS,
    OPT_OPTIMIZER,
    OPT_LEARNING_RATE,
    OPT_CONTENT_WEIGHT,
    OPT_STYLE_WEIGHT,
    OPT_TV_WEIGHT,
    OPT_CONTENT_LAYERS,
    OPT_STYLE_LAYERS,
    OPT_STYLE_LAYER_WEIGHTS,
    OPT_STYLE_BLEND,
    OPT_INIT,
    OPT_SEED,
    OPT_PRESERVE_COLORS,
    OPT_STYLE_SCALE,
    OPT_THREADS,
    OPT_SAVE_EVERY,
    OPT_LOG,
    OPT_QUIET,
    OPT_HELP,
    OPT_VERSION,
    OPT_SCALES,
    OPT_MAX_MEMORY,
    OPT_TILE_SIZE,
    OPT_STRENGTH,
    OPT_LIST_STYLES,
    OPT_STYLE_MASKS,
    OPT_DEVICE,
    OPT_LIST_DEVICES,
};

static const struct option long_options[] = {
    {"content", required_argument, NULL, OPT_CONTENT},
    {"style", required_argument, NULL, OPT_STYLE},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"model", required_argument, NULL, OPT_MODEL},
    {"model-path", required_argument, NULL, OPT_MODEL_PATH},
    {"size", required_argument, NULL, OPT_SIZE},
    {"iterations", required_argument, NULL, OPT_ITERATIONS},
    {"optimizer", required_argument, NULL, OPT_OPTIMIZER},
    {"learning-rate", required_argument, NULL, OPT_LEARNING_RATE},
    {"content-weight", required_argument, NULL, OPT_CONTENT_WEIGHT},
    {"style-weight", required_argument, NULL, OPT_STYLE_WEIGHT},
    {"tv-weight", required_argument, NULL, OPT_TV_WEIGHT},
    {"content-layers", required_argument, NULL, OPT_CONTENT_LAYERS},
    {"style-layers", required_argument, NULL, OPT_STYLE_LAYERS},
    {"style-layer-weights", required_argument, NULL, OPT_STYLE_LAYER_WEIGHTS},
    {"style-blend", required_argument, NULL, OPT_STYLE_BLEND},
    {"init", required_argument, NULL, OPT_INIT},
    {"seed", required_argument, NULL, OPT_SEED},
    {"preserve-colors", required_argument, NULL, OPT_PRESERVE_COLORS},
    {"style-scale", required_argument, NULL, OPT_STYLE_SCALE},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"save-every", required_argument, NULL, OPT_SAVE_EVERY},
    {"log", required_argument, NULL, OPT_LOG},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {"scales", required_argument, NULL, OPT_SCALES},
    {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
    {"tile-size", required_argument, NULL, OPT_TILE_SIZE},
    {"strength", required_argument, NULL, OPT_STRENGTH},
    {"list-styles", no_argument, NULL, OPT_LIST_STYLES},
    {"style-masks", required_argument, NULL, OPT_STYLE_MASKS},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"list-devices", no_argument, NULL, OPT_LIST_DEVICES},
    {NULL, 0, NULL, 0},
};

/* What the command line asks for beyond nst_params. */
typedef struct cli {
    nst_model_kind model;
    const char *content_path;
    const char *output_path;
    const char *model_path;
    const char *log_path;
    char *styles[NST_MAX_STYLES + 1]; /* style file names (owned); one more to report "too many" */
    int n_styles;
    const char *style_blend;
    const char *style_masks;
    char mask_list[4096];              /* style_masks split in place */
    char *masks[NST_MAX_STYLES];       /* mask file per style, NULL = none */
    const char *style_layer_weights;
    int save_every; /* 0 = off */
    int quiet;
    int help, version, list_styles, list_devices;
    double strength; /* < 0: not given */
    /* Given explicitly: they win over --strength and over a gallery entry's settings. */
    int content_weight_given, style_weight_given, tv_weight_given, style_scale_given;
} cli;

static void print_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void print_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("nst: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- strict argument parsing --------------------------------------------- */

static void describe_integer_range(long min, long max, char *out, size_t size)
{
    if (min == 1 && max >= INT_MAX)
        snprintf(out, size, "a positive integer");
    else if (min == 0 && max >= INT_MAX)
        snprintf(out, size, "a non-negative integer");
    else
        snprintf(out, size, "an integer from %ld to %ld", min, max);
}

/* Digits only (an optional leading '+'), no spaces, within [min, max]. */
static int parse_integer(const char *option, const char *text, long min, long max, int *out)
{
    char *end = NULL;
    errno = 0;
    long value = isdigit((unsigned char)text[0]) || (text[0] == '+' && isdigit((unsigned char)text[1]))
                     ? strtol(text, &end, 10)
                     : 0;
    if (!end || *end != '\0' || errno == ERANGE || value < min || value > max) {
        char expected[64];
        describe_integer_range(min, max, expected, sizeof expected);
        print_error("--%s: expected %s, got '%s'", option, expected, text);
        return 0;
    }
    *out = (int)value;
    return 1;
}

/* A finite decimal number in (0, max] (or [0, max] when zero_ok), with
 * nothing after it. */
static int parse_number(const char *option, const char *text, int zero_ok, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double value = text[0] && !isspace((unsigned char)text[0]) ? strtod(text, &end) : NAN;
    int valid = end && end != text && *end == '\0' && errno != ERANGE && isfinite(value) &&
                (zero_ok ? value >= 0 : value > 0) && value <= max;
    if (!valid) {
        print_error("--%s: expected a number %s %g, got '%s'", option, zero_ok ? "from 0 to" : "above 0, up to",
                    max, text);
        return 0;
    }
    *out = value;
    return 1;
}

static int parse_seed(const char *text, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long value = isdigit((unsigned char)text[0]) ? strtoull(text, &end, 10) : 0;
    if (!end || *end != '\0' || errno == ERANGE) {
        print_error("--seed: expected a non-negative integer below 2^64, got '%s'", text);
        return 0;
    }
    *out = (uint64_t)value;
    return 1;
}

/* The outcome of one of the engine's parsers (its message names the
 * accepted spellings); 1 = fine. */
static int engine_parsed(const char *option, nst_status status, const nst_error *err)
{
    if (status != NST_OK)
        print_error("--%s: %s", option, err->message);
    return status == NST_OK;
}

/* Splits "a,b,c" in place; empty items are kept so they can be reported. */
static int split_list(char *text, char **items, int max_items)
{
    int n = 0;
    for (char *item = text;; item++) {
        char *comma = strchr(item, ',');
        if (n == max_items)
            return max_items + 1;
        items[n++] = item;
        if (!comma)
            return n;
        *comma = '\0';
        item = comma;
    }
}

/* "w,w,...": exactly `expected_count` non-negative numbers. */
static int parse_number_list(const char *option, const char *text, int expected_count, const char *counted,
                             double *out)
{
    char copy[4096];
    char *items[NST_MAX_LAYERS + 1];
    snprintf(copy, sizeof copy, "%s", text);
    int n = split_list(copy, items, NST_MAX_LAYERS);
    if (n != expected_count) {
        print_error("--%s: expected %d comma-separated weights (one per %s), got '%s'", option, expected_count,
                    counted, text);
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (!parse_number(option, items[i], 1, HUGE_VAL, &out[i]))
            return 0;
    return 1;
}

/* ---- the two passes -------------------------------------------------------- */

static int report_getopt_error(int code, char *const *argv)
{
    const char *word = argv[optind - 1];
    if (code == ':')
        print_error("%s: expected a value (see nst --help)", word);
    else
        print_error("unknown option '%s' (see nst --help)", word);
    return EXIT_USAGE;
}

/* Returns 0 to go on, or an exit status. */
static int first_pass(int argc, char **argv, cli *cli)
{
    opterr = 0;
    int id;
    nst_error err = {0};
    while ((id = getopt_long(argc, argv, ":", long_options, NULL)) != -1) {
        if (id == '?' || id == ':')
            return report_getopt_error(id, argv);
        if (id == OPT_MODEL && !engine_parsed("model", nst_model_kind_from_name(optarg, &cli->model, &err), &err))
            return EXIT_USAGE;
        cli->help |= id == OPT_HELP;
        cli->version |= id == OPT_VERSION;
        cli->list_styles |= id == OPT_LIST_STYLES;
        cli->list_devices |= id == OPT_LIST_DEVICES;
    }
    if (optind < argc) {
        print_error("unexpected argument '%s' (options start with --; see nst --help)", argv[optind]);
        return EXIT_USAGE;
    }
    return 0;
}

static int add_style(cli *cli, const char *name, size_t length)
{
    if (length == 0) {
        print_error("--style: empty file name in the list");
        return 0;
    }
    if (cli->n_styles == NST_MAX_STYLES) {
        print_error("--style: at most %d style pictures", NST_MAX_STYLES);
        return 0;
    }
    char *copy = malloc(length + 1);
    if (!copy) {
        print_error("out of memory");
        return 0;
    }
    /* "\," stands for a comma inside a name. */
    size_t n = 0;
    for (size_t i = 0; i < length; i++)
        if (!(name[i] == '\\' && i + 1 < length && name[i + 1] == ','))
            copy[n++] = name[i];
    copy[n] = '\0';
    cli->styles[cli->n_styles++] = copy;
    return 1;
}

/* --style FILE[,FILE...]: an argument that names an existing file is one
 * picture whatever it contains; otherwise it is split at the commas that
 * are not written "\,". */
static int append_styles(cli *cli, const char *arg)
{
    if (access(arg, F_OK) == 0)
        return add_style(cli, arg, strlen(arg));
    const char *start = arg;
    for (const char *c = arg;; c++) {
        if (*c == '\\' && c[1] == ',') {
            c++;
            continue;
        }
        if (*c != ',' && *c != '\0')
            continue;
        if (!add_style(cli, start, (size_t)(c - start)))
            return 0;
        if (*c == '\0')
            return 1;
        start = c + 1;
    }
}

/* Applies one option of the second pass; 1 = fine. */
static int apply_option(int id, const char *arg, cli *cli, nst_params *p)
{
    nst_error err = {0};
    switch (id) {
    case OPT_CONTENT: cli->content_path = arg; return 1;
    case OPT_STYLE: return append_styles(cli, arg);
    case OPT_OUTPUT: cli->output_path = arg; return 1;
    case OPT_MODEL: return 1; /* first pass */
    case OPT_MODEL_PATH: cli->model_path = arg; return 1;
    case OPT_SIZE: return parse_integer("size", arg, 0, NST_SIZE_MAX, &p->size);
    case OPT_ITERATIONS: return parse_integer("iterations", arg, 0, NST_ITERATIONS_MAX, &p->iterations);
    case OPT_OPTIMIZER: return engine_parsed("optimizer", nst_optimizer_from_name(arg, &p->optimizer, &err), &err);
    case OPT_LEARNING_RATE: return parse_number("learning-rate", arg, 0, NST_LEARNING_RATE_MAX, &p->learning_rate);
    case OPT_CONTENT_WEIGHT:
        cli->content_weight_given = 1;
        return parse_number("content-weight", arg, 1, NST_WEIGHT_MAX, &p->content_weight);
    case OPT_STYLE_WEIGHT:
        cli->style_weight_given = 1;
        return parse_number("style-weight", arg, 1, NST_WEIGHT_MAX, &p->style_weight);
    case OPT_TV_WEIGHT:
        cli->tv_weight_given = 1;
        return parse_number("tv-weight", arg, 1, NST_WEIGHT_MAX, &p->tv_weight);
    case OPT_STRENGTH: return parse_number("strength", arg, 1, NST_STRENGTH_MAX, &cli->strength);
    case OPT_CONTENT_LAYERS: return engine_parsed("content-layers", nst_params_set_content_layers(p, arg, &err), &err);
    case OPT_STYLE_LAYERS: return engine_parsed("style-layers", nst_params_set_style_layers(p, arg, &err), &err);
    case OPT_STYLE_LAYER_WEIGHTS: cli->style_layer_weights = arg; return 1; /* after --style-layers */
    case OPT_STYLE_BLEND: cli->style_blend = arg; return 1;                 /* after every --style */
    case OPT_STYLE_MASKS: cli->style_masks = arg; return 1;                 /* after every --style */
    case OPT_INIT: return engine_parsed("init", nst_init_from_name(arg, &p->init, &err), &err);
    case OPT_SEED: return parse_seed(arg, &p->seed);
    case OPT_PRESERVE_COLORS:
        return engine_parsed("preserve-colors", nst_colors_from_name(arg, &p->preserve_colors, &err), &err);
    case OPT_STYLE_SCALE:
        cli->style_scale_given = 1;
        return parse_number("style-scale", arg, 0, NST_STYLE_SCALE_MAX, &p->style_scale);
    case OPT_THREADS: return parse_integer("threads", arg, 0, NST_THREADS_MAX, &p->threads);
    case OPT_SAVE_EVERY: return parse_integer("save-every", arg, 1, INT_MAX, &cli->save_every);
    case OPT_LOG: cli->log_path = arg; return 1;
    case OPT_QUIET: cli->quiet = 1; return 1;
    case OPT_SCALES: return parse_integer("scales", arg, 0, NST_MAX_STAGES, &p->scales);
    case OPT_TILE_SIZE: return parse_integer("tile-size", arg, 0, NST_SIZE_MAX, &p->tile_size);
    case OPT_MAX_MEMORY: return engine_parsed("max-memory", nst_parse_bytes(arg, &p->max_memory, &err), &err);
    case OPT_DEVICE:
        if (!engine_parsed("device", nst_device_setting_check(arg, &err), &err))
            return 0;
        snprintf(p->device, sizeof p->device, "%s", arg); /* the check bounds its length */
        return 1;
    default: return 1; /* --help, --version, --list-styles and --list-devices: first pass */
    }
}

/* --style-masks M[,M...]: one per style picture in order, fewer leave the
 * last ones without; "none" or an empty entry = no mask.  An argument that
 * names an existing file is one mask. */
static int split_masks(cli *cli)
{
    char *items[NST_MAX_STYLES + 1];
    if (snprintf(cli->mask_list, sizeof cli->mask_list, "%s", cli->style_masks) >= (int)sizeof cli->mask_list) {
        print_error("--style-masks: the list is too long");
        return 0;
    }
    int n = access(cli->mask_list, F_OK) == 0 ? 1 : split_list(cli->mask_list, items, NST_MAX_STYLES);
    if (n == 1)
        items[0] = cli->mask_list;
    if (n > cli->n_styles) {
        print_error("--style-masks: %s%d masks for %d style picture%s (one per --style picture, in order)",
                    n > NST_MAX_STYLES ? "more than " : "", n > NST_MAX_STYLES ? NST_MAX_STYLES : n, cli->n_styles,
                    cli->n_styles == 1 ? "" : "s");
        return 0;
    }
    for (int i = 0; i < n; i++)
        cli->masks[i] = items[i][0] && strcmp(items[i], "none") != 0 ? items[i] : NULL;
    return 1;
}

static int require(const void *value, const char *option)
{
    if (!value)
        print_error("missing %s (see nst --help)", option);
    return value != NULL;
}

/* --strength sets the weights that were not given raw: a raw weight wins. */
static void apply_strength(const cli *cli, nst_params *p)
{
    double content_weight, style_weight, tv_weight;
    if (cli->strength < 0 ||
        nst_strength_weights(cli->model, cli->strength, &content_weight, &style_weight, &tv_weight, NULL) != NST_OK)
        return; /* not given (its range was checked when it was read) */
    if (!cli->content_weight_given)
        p->content_weight = content_weight;
    if (!cli->style_weight_given)
        p->style_weight = style_weight;
    if (!cli->tv_weight_given)
        p->tv_weight = tv_weight;
}

/* A --style that names no file is a gallery entry: its picture is used, and
 * the first entry's recommended style scale and strength, unless
 * --style-scale or a raw --style-weight says otherwise. */
static int resolve_styles(cli *cli, nst_params *p)
{
    nst_gallery *gallery = NULL;
    const nst_style_entry *first_entry = NULL;
    nst_error err = {0};
    int rc = 0;
    for (int i = 0; i < cli->n_styles && rc == 0; i++) {
        if (access(cli->styles[i], F_OK) == 0)
            continue;
        if (!gallery && !(gallery = nst_gallery_open(NULL, &err))) {
            print_error("--style: there is no file '%s', and the style gallery cannot be read: %s", cli->styles[i],
                        err.message);
            rc = EXIT_ENGINE;
            break;
        }
        const nst_style_entry *entry = nst_gallery_find(gallery, cli->styles[i], &err);
        char *path = entry ? strdup(entry->path) : NULL;
        if (!entry) {
            print_error("--style: there is no file '%s', and %s (nst --list-styles shows the gallery)", cli->styles[i],
                        err.message);
            rc = EXIT_USAGE;
        } else if (!path) {
            print_error("out of memory");
            rc = EXIT_ENGINE;
        } else {
            free(cli->styles[i]);
            cli->styles[i] = path;
            first_entry = first_entry ? first_entry : entry;
        }
    }
    if (rc == 0 && first_entry && !cli->style_scale_given)
        p->style_scale = nst_style_entry_scale(first_entry, p->style_scale);
    if (rc == 0 && first_entry && !cli->style_weight_given)
        p->style_weight = nst_style_entry_style_weight(first_entry, p->style_weight);
    nst_gallery_free(gallery);
    return rc;
}

/* --list-devices: the Vulkan devices and the one auto would pick; a
 * system without any is a fine answer (exit 0). */
static int list_devices(void)
{
    nst_device_info devices[NST_MAX_DEVICES];
    int count = 0;
    nst_error err = {0};
    if (nst_device_list(devices, NST_MAX_DEVICES, &count, &err) != NST_OK) {
        printf("no GPU devices: %s\nthe objective runs on the CPU\n", err.message);
        return 0;
    }
    if (count == 0) {
        printf("no Vulkan devices (the loader found no driver)\nthe objective runs on the CPU\n");
        return 0;
    }
    int pick = nst_device_auto_pick(devices, count);
    printf("%-7s %-40s %-11s %-10s %-10s %s\n", "DEVICE", "NAME", "KIND", "MEMORY", "AVAILABLE", "AUTO");
    for (int i = 0; i < count; i++) {
        const nst_device_info *d = &devices[i];
        char memory[32], available[32] = "-", device[16];
        snprintf(device, sizeof device, "gpu:%d", d->index);
        snprintf(memory, sizeof memory, "%.1f GiB", (double)d->local_bytes / (1 << 30));
        if (d->budget_bytes)
            snprintf(available, sizeof available, "%.1f GiB", (double)d->budget_bytes / (1 << 30));
        printf("%-7s %-40s %-11s %-10s %-10s %s\n", device, d->name, nst_device_kind_name(d->kind), memory, available,
               i == pick ? "yes" : d->usable ? "" : "(unusable)");
    }
    if (pick < 0)
        printf("auto runs on the CPU: no device is a discrete, integrated or virtual GPU (name a software one as "
               "gpu:N)\n");
    else
        printf("auto runs on gpu:%d (%s)\n", devices[pick].index, devices[pick].name);
    return 0;
}

/* --list-styles: the gallery, one line per picture. */
static int list_styles(void)
{
    nst_error err = {0};
    nst_gallery *gallery = nst_gallery_open(NULL, &err);
    if (!gallery) {
        print_error("%s", err.message);
        return EXIT_ENGINE;
    }
    printf("%-26s %-40s %-20s %-8s %-5s %-8s %s\n", "NAME", "PAINTING", "PAINTER", "YEAR", "SCALE", "STRENGTH",
           "WHERE");
    for (int i = 0; i < nst_gallery_count(gallery); i++) {
        const nst_style_entry *e = nst_gallery_entry(gallery, i);
        printf("%-26s %-40s %-20s %-8s %-5g %-8g %s\n", e->name, e->title, e->painter[0] ? e->painter : "-",
               e->year[0] ? e->year : "-", e->style_scale, e->strength, e->path);
    }
    if (nst_gallery_count(gallery) == 0)
        printf("(the gallery is empty; looked in %s)\n", nst_gallery_folders(gallery));
    nst_gallery_free(gallery);
    return 0;
}

static int second_pass(int argc, char **argv, cli *cli, nst_params *p)
{
    optind = 0; /* glibc: start over */
    int id;
    while ((id = getopt_long(argc, argv, ":", long_options, NULL)) != -1)
        if (!apply_option(id, optarg, cli, p))
            return EXIT_USAGE;
    nst_error err = {0};
    if (cli->style_layer_weights && nst_params_set_style_layer_weights(p, cli->style_layer_weights, &err) != NST_OK) {
        print_error("--style-layer-weights: %s", err.message);
        return EXIT_USAGE;
    }
    if (!require(cli->content_path, "--content") || !require(cli->n_styles ? cli->styles[0] : NULL, "--style") ||
        !require(cli->output_path, "--output"))
        return EXIT_USAGE;
    apply_strength(cli, p);
    int rc = resolve_styles(cli, p);
    if (rc)
        return rc;
    if (cli->style_masks && !split_masks(cli))
        return EXIT_USAGE;
    /* Every range now, not after the pictures and the model are loaded. */
    if (nst_params_check(p, &err) != NST_OK) {
        print_error("%s", err.message);
        return EXIT_USAGE;
    }
    /* A device that does not exist is refused before anything is loaded. */
    nst_device_choice device;
    nst_status ds = nst_device_resolve(p->device, &device, &err);
    if (ds != NST_OK) {
        print_error("--device: %s", err.message);
        return ds == NST_ERR_INVALID ? EXIT_USAGE : EXIT_ENGINE;
    }
    /* Hours of optimisation must not end in "cannot create": everything that
     * can be known about the output is checked before anything is loaded. */
    nst_status s = nst_image_check_writable(cli->output_path, &err);
    if (s != NST_OK) {
        print_error("--output: %s", err.message);
        return s == NST_ERR_INVALID ? EXIT_USAGE : EXIT_ENGINE;
    }
    return 0;
}

/* ---- help ------------------------------------------------------------------ */

static void join_layers(char names[][NST_LAYER_NAME_MAX], int n, char *out, size_t size)
{
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s%s", i ? "," : "", names[i]);
    }
}

static void join_weights(const double *weights, int n, char *out, size_t size)
{
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s%.3g", i ? "," : "", weights[i]);
    }
}

static void print_help(nst_model_kind model)
{
    nst_params p;
    nst_params_init(&p, model);
    char content_layers[NST_MAX_LAYERS * NST_LAYER_NAME_MAX], style_layers[NST_MAX_LAYERS * NST_LAYER_NAME_MAX];
    char style_weights[NST_MAX_LAYERS * 16];
    join_layers(p.content_layers, p.n_content_layers, content_layers, sizeof content_layers);
    join_layers(p.style_layers, p.n_style_layers, style_layers, sizeof style_layers);
    join_weights(p.style_layer_weights, p.n_style_layers, style_weights, sizeof style_weights);
    printf("Usage: nst --content PICTURE --style PICTURE[,PICTURE...] --output FILE [options]\n"
           "Neural style transfer (Gatys et al.): repaints the content picture in the style of\n"
           "the style pictures by optimising the picture itself.  Defaults shown for --model %s.\n"
           "\n"
           "Pictures:\n"
           "  --content FILE           the picture to repaint (PNG or JPEG)\n"
           "  --style FILE[,FILE...]   one or more style pictures (repeatable; a name that is an existing\n"
           "                           file is taken whole, else write a comma inside a name as \\,);\n"
           "                           a name that is no file is a gallery style, e.g. starry_night\n"
           "  --list-styles            list the gallery: name, painting, painter, year, where\n"
           "  --output FILE            the result: .png, .jpg or .jpeg\n"
           "  --size N                 longest side of the result in px, 0 = the content's (%d)\n"
           "  --style-scale F          style picture size relative to the result (%g; a gallery style\n"
           "                           given without it uses its own recommended scale)\n"
           "  --style-blend W,W...     weight of each style picture (equal)\n"
           "  --style-masks M,M...     a grey picture per style picture, in order (white = that style there,\n"
           "                           any size, stretched to the result; none or empty = no mask); pixels\n"
           "                           no mask covers keep the content's look\n"
           "  --preserve-colors MODE   none, luminance or histogram (%s)\n"
           "\n"
           "Model:\n"
           "  --model NAME             squeezenet1.1, vgg19 or vgg16 (squeezenet1.1)\n"
           "  --model-path PATH        weights file or folder (else $NST_MODEL_PATH, then the installed ones)\n"
           "  --content-layers L,L...  (%s)\n"
           "  --style-layers L,L...    (%s)\n"
           "  --style-layer-weights W,W...  one per style layer, normalised (%s;\n"
           "                           equal when --style-layers is given)\n"
           "\n"
           "Strength:\n"
           "  --strength N             0-100: how strongly the style shows (50 = the default weights);\n"
           "                           style weight = default x 10^d, d from -7 at 0 through -5 at 25,\n"
           "                           0 at 50 to +2 at 100 (README, Strength); a gallery style adds\n"
           "                           its recommended strength's d (--list-styles); a raw\n"
           "                           --content-weight, --style-weight or --tv-weight given too wins\n"
           "\n"
           "Optimisation:\n"
           "  --iterations N           optimiser iterations; 0 = evaluate the start picture once (%d)\n"
           "  --optimizer NAME         lbfgs or adam (%s)\n"
           "  --learning-rate F        Adam step size (%g)\n"
           "  --content-weight F       (%g)\n"
           "  --style-weight F         (%g)\n"
           "  --tv-weight F            total variation smoothing (%g)\n"
           "  --init FROM              content, style or noise (%s)\n"
           "  --seed N                 for noise (%llu)\n"
           "  --threads N              0 = all cores (%d)\n"
           "  --scales N               pyramid stages, coarse to fine; 0 = automatic, 1 = single scale\n"
           "  --max-memory BYTES       e.g. 4G; tiles or refuses above it (0 = available memory)\n"
           "  --tile-size N            tile side in px when tiling; 0 = the largest that fits\n"
           "  --device D               where the objective runs: auto (a GPU if there is one, else the\n"
           "                           CPU), cpu, gpu or gpu:N (see --list-devices)\n"
           "  --list-devices           list the Vulkan devices: index, name, kind, memory, auto's pick\n"
           "\n"
           "Output:\n"
           "  --save-every K           also write FILE-NNNN.ext every K iterations\n"
           "  --log FILE               one JSON line per evaluation of the objective\n"
           "  --quiet                  no progress on stderr\n"
           "  --help, --version\n"
           "\n"
           "Exit status: 0 done, 1 error, 2 bad arguments, 130 interrupted.\n",
           nst_model_kind_name(model), p.size, p.style_scale, nst_colors_name(p.preserve_colors), content_layers,
           style_layers, style_weights, p.iterations, nst_optimizer_name(p.optimizer), p.learning_rate, p.content_weight,
           p.style_weight, p.tv_weight, nst_init_name(p.init), (unsigned long long)p.seed, p.threads);
}

/* ---- the run ---------------------------------------------------------------- */

typedef struct run_state {
    FILE *log;
    progress_bar *bar;
    const char *output_path;
    int save_failed;
} run_state;

/* JSON has no NaN or infinity. */
static void log_number(FILE *f, const char *key, double value)
{
    if (isfinite(value))
        fprintf(f, ",\"%s\":%.9g", key, value);
    else
        fprintf(f, ",\"%s\":null", key);
}

static void on_progress(const nst_progress *p, void *user_data)
{
    run_state *state = user_data;
    if (state->log) {
        fprintf(state->log, "{\"eval\":%d,\"iter\":%d,\"stage\":%d", p->eval, p->iter, p->stage);
        if (p->tiles > 0)
            fprintf(state->log, ",\"tile\":%d,\"tiles\":%d", p->tile, p->tiles);
        log_number(state->log, "content", p->content);
        log_number(state->log, "style", p->style);
        log_number(state->log, "tv", p->tv);
        log_number(state->log, "total", p->total);
        log_number(state->log, "seconds", p->seconds);
        fputs("}\n", state->log);
        fflush(state->log); /* a tail -f or a crash still sees every line */
    }
    progress_bar_update(state->bar, p);
}

/* out.png -> out-0050.png */
static void numbered_path(const char *path, int iteration, char *out, size_t size)
{
    const char *dot = strrchr(path, '.');
    snprintf(out, size, "%.*s-%04d%s", (int)(dot - path), path, iteration, dot);
}

static void on_preview(const nst_image *image, const nst_progress *p, void *user_data)
{
    run_state *state = user_data;
    char path[4096];
    numbered_path(state->output_path, p->iter, path, sizeof path);
    nst_error err = {0};
    if (nst_image_save(image, path, &err) != NST_OK && !state->save_failed) {
        progress_bar_finish(state->bar);
        print_error("warning: %s", err.message); /* once: the run itself goes on */
        state->save_failed = 1;
    }
}

static nst_transfer *volatile running_transfer;
static volatile sig_atomic_t interrupted;

static void on_interrupt(int signal_number)
{
    (void)signal_number;
    interrupted = 1;
    if (running_transfer)
        nst_transfer_cancel(running_transfer); /* only sets an atomic flag */
}

static void catch_interrupts(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND; /* a second Ctrl-C kills at once */
    sigaction(SIGINT, &action, NULL);
}

/* The pictures, loaded before the model: a typo in a file name should not
 * wait for half a gigabyte of VGG weights. */
typedef struct pictures {
    nst_image *content;
    nst_image *styles[NST_MAX_STYLES];
    nst_image *masks[NST_MAX_STYLES];
    int n_styles;
} pictures;

/* Frees them and forgets them, so a second call is harmless. */
static void pictures_free(pictures *pics)
{
    nst_image_free(pics->content);
    for (int i = 0; i < pics->n_styles; i++) {
        nst_image_free(pics->styles[i]);
        nst_image_free(pics->masks[i]);
    }
    memset(pics, 0, sizeof *pics);
}

/* Decoding is bounded by the run's memory budget: a small file may declare
 * a huge picture. */
static nst_image *load_picture(const char *option, const char *path, size_t budget)
{
    nst_error err = {0};
    nst_image *image = nst_image_load_bounded(path, budget, &err);
    if (!image && err.code == NST_ERR_NOMEM)
        print_error("%s%s (--max-memory)", option, err.message);
    else if (!image)
        print_error("%s%s", option, err.message);
    return image;
}

static int pictures_load(pictures *pics, const cli *cli, const nst_params *params)
{
    size_t budget = params->max_memory ? params->max_memory : nst_default_memory_budget();
    if (!(pics->content = load_picture("", cli->content_path, budget)))
        return 0;
    for (; pics->n_styles < cli->n_styles; pics->n_styles++) {
        int i = pics->n_styles;
        if (!(pics->styles[i] = load_picture("", cli->styles[i], budget)))
            return 0;
        if (cli->masks[i] && !(pics->masks[i] = load_picture("--style-masks: ", cli->masks[i], budget))) {
            pics->n_styles++;
            return 0;
        }
    }
    return 1;
}

static int engine_failed(const nst_error *err)
{
    print_error("%s", err->message);
    return EXIT_ENGINE;
}

static int give_pictures(nst_transfer *transfer, const pictures *pics, const double *blend)
{
    nst_error err = {0};
    if (nst_transfer_set_content(transfer, pics->content, &err) != NST_OK)
        return engine_failed(&err);
    for (int i = 0; i < pics->n_styles; i++)
        if (nst_transfer_add_style_masked(transfer, pics->styles[i], blend[i], pics->masks[i], &err) != NST_OK)
            return engine_failed(&err);
    return 0;
}

/* Minutes or hours of work are never thrown away: when OUT cannot be
 * written (a full disk, a quota, a folder gone), the result goes beside it,
 * else to $TMPDIR or /tmp, else to $HOME, and the user is told where.  The
 * save itself is atomic, so an existing OUT is kept whole either way. */
static int save_result(const nst_image *result, const char *path)
{
    nst_error err = {0};
    if (nst_image_save(result, path, &err) == NST_OK)
        return 0;
    print_error("%s", err.message);
    const char *tmp = getenv("TMPDIR");
    const char *home = getenv("HOME");
    const char *dot = strrchr(path, '.');
    char places[3][4096];
    snprintf(places[0], sizeof places[0], "%.*s-rescued-%ld.png", (int)(dot - path), path, (long)getpid());
    snprintf(places[1], sizeof places[1], "%s/nst-rescued-%ld.png", tmp && tmp[0] ? tmp : "/tmp", (long)getpid());
    snprintf(places[2], sizeof places[2], "%s/nst-rescued-%ld.png", home && home[0] ? home : ".", (long)getpid());
    for (int i = 0; i < 3; i++) {
        nst_error ignored = {0};
        if (nst_image_save(result, places[i], &ignored) == NST_OK) {
            print_error("the result was kept in %s", places[i]);
            return EXIT_ENGINE;
        }
    }
    print_error("the result could not be written anywhere (tried %s, %s and %s)", places[0], places[1], places[2]);
    return EXIT_ENGINE;
}

static int run_transfer(nst_transfer *transfer, const cli *cli, run_state *state)
{
    nst_transfer_set_progress_callback(transfer, on_progress, state);
    if (cli->save_every > 0)
        nst_transfer_set_preview_callback(transfer, on_preview, cli->save_every, state);
    nst_image *result = NULL;
    nst_error err = {0};
    running_transfer = transfer;
    catch_interrupts();
    nst_status status = nst_transfer_run(transfer, &result, &err);
    signal(SIGINT, SIG_DFL);
    running_transfer = NULL;
    progress_bar_finish(state->bar);
    if (status == NST_ERR_CANCELLED && interrupted) {
        print_error("interrupted");
        return EXIT_INTERRUPTED;
    }
    if (status != NST_OK)
        return engine_failed(&err);
    int rc = save_result(result, cli->output_path);
    nst_image_free(result);
    return rc;
}

/* The stages, tiles and memory the run will need on the device it will use;
 * a run that cannot fit stops here. */
static int report_plan(const nst_transfer *transfer, int quiet)
{
    nst_plan plan;
    nst_error err = {0};
    nst_status status = nst_transfer_plan(transfer, &plan, &err);
    if (status != NST_OK && plan.mode == NST_RUN_REFUSED) {
        print_error("%s (--size, --max-memory)", err.message); /* the engine's advice, in this front end's words */
        return EXIT_ENGINE;
    }
    if (status != NST_OK)
        return engine_failed(&err);
    if (quiet)
        return 0;
    const double gib = 1024.0 * 1024.0 * 1024.0;
    fprintf(stderr, "nst: memory: needs %.2f GiB of %.2f GiB on %s%s", plan.bytes / gib, plan.budget / gib,
            plan.device, plan.mode == NST_RUN_TILED ? " (tiled" : "");
    if (plan.mode == NST_RUN_TILED)
        fprintf(stderr, " in %dx%d windows, overlap %d px; whole it would need %.2f GiB)", plan.tile_width,
                plan.tile_height, plan.tile_margin, plan.whole_bytes / gib);
    fputs("\nnst: stages:", stderr);
    for (int s = 0; s < plan.stages; s++)
        fprintf(stderr, " %dx%d%s:%d", plan.stage_width[s], plan.stage_height[s], plan.stage_tiled[s] ? "(tiled)" : "",
                plan.stage_iterations[s]);
    fputs(" (size:iterations)\n", stderr);
    return 0;
}

/* Everything after the arguments were read; returns the exit status. */
static int stylise(const cli *cli, const nst_params *params, const double *blend)
{
    nst_error err = {0};
    run_state state = {.output_path = cli->output_path};
    pictures pics = {0};
    nst_model *model = NULL;
    nst_transfer *transfer = NULL;
    int rc = EXIT_ENGINE;
    if (!pictures_load(&pics, cli, params))
        goto done;
    if (cli->log_path && !(state.log = fopen(cli->log_path, "w"))) {
        print_error("--log: cannot create '%s': %s", cli->log_path, strerror(errno));
        goto done;
    }
    model = nst_model_load(cli->model, cli->model_path, &err);
    if (!model) {
        rc = engine_failed(&err);
        if (err.code == NST_ERR_NOT_FOUND)
            print_error(cli->model == NST_MODEL_SQUEEZENET11
                            ? "tools/fetch-models.sh downloads it and checks its sha256 sums; --model-path PATH "
                              "names another file or folder"
                            : "tools/fetch-models.sh --%s says where to get it; --model-path FILE names the file",
                        nst_model_kind_name(cli->model));
        goto done;
    }
    if (nst_params_validate(params, model, &err) != NST_OK) {
        print_error("%s", err.message);
        rc = EXIT_USAGE;
        goto done;
    }
    transfer = nst_transfer_new(model, params, &err);
    if (!transfer) {
        rc = engine_failed(&err);
        goto done;
    }
    if (!cli->quiet)
        state.bar = progress_bar_new(stderr, isatty(STDERR_FILENO));
    rc = give_pictures(transfer, &pics, blend);
    pictures_free(&pics); /* the engine has its own copies: a 24 MP photo is 288 MB of floats */
    if (rc == 0)
        rc = report_plan(transfer, cli->quiet);
    if (rc == 0)
        rc = run_transfer(transfer, cli, &state);
done:
    nst_transfer_free(transfer);
    nst_model_free(model);
    pictures_free(&pics);
    progress_bar_free(state.bar);
    if (state.log && fclose(state.log) != 0 && rc == 0) {
        print_error("--log: cannot write '%s': %s", cli->log_path, strerror(errno));
        rc = EXIT_ENGINE;
    }
    return rc;
}
int main(int argc, char **argv)
{
    cli cli = {.model = NST_MODEL_SQUEEZENET11, .strength = -1};
    int rc = first_pass(argc, argv, &cli);
    if (rc)
        return rc;
    if (cli.help) {
        print_help(cli.model);
        return 0;
    }
    if (cli.list_styles)
        return list_styles();
    if (cli.list_devices)
        return list_devices();
    if (cli.version) {
        printf("nst (gimp-neural-style) %s\n", NST_VERSION);
        return 0;
    }
    nst_params params;
    nst_params_init(&params, cli.model);
    rc = second_pass(argc, argv, &cli, &params);

    double blend[NST_MAX_STYLES];
    int n_styles = cli.n_styles;
    if (rc == 0) {
        for (int i = 0; i < n_styles; i++)
            blend[i] = 1.0;
        if (cli.style_blend && !parse_number_list("style-blend", cli.style_blend, n_styles, "style picture", blend))
            rc = EXIT_USAGE;
        double sum = 0;
        for (int i = 0; i < n_styles; i++)
            sum += blend[i];
        if (rc == 0 && !(sum > 0)) {
            print_error("--style-blend: the weights must not all be 0");
            rc = EXIT_USAGE;
        }
    }
    if (rc == 0)
        rc = stylise(&cli, &params, blend);
    for (int i = 0; i < cli.n_styles; i++)
        free(cli.styles[i]);
    return rc;
}
