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

/* Largest --size: the engine refuses pictures above 2^28 px = 16384^2. */
#define MAX_SIZE 16384
#define MAX_THREADS 1024
#define MAX_ITERATIONS 10000000

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
    {NULL, 0, NULL, 0},
};

/* What the command line asks for beyond nst_params. */
typedef struct cli {
    nst_model_kind model;
    const char *content_path;
    const char *output_path;
    const char *model_path;
    const char *log_path;
    char *style_list; /* the --style arguments joined by commas (owned) */
    const char *style_blend;
    const char *style_layer_weights;
    int save_every; /* 0 = off */
    int quiet;
    int help, version;
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

/* A finite decimal number, > 0 (or >= 0 when zero_ok), with nothing after it. */
static int parse_number(const char *option, const char *text, int zero_ok, double *out)
{
    char *end = NULL;
    errno = 0;
    double value = text[0] && !isspace((unsigned char)text[0]) ? strtod(text, &end) : NAN;
    int valid = end && end != text && *end == '\0' && errno != ERANGE && isfinite(value) &&
                (zero_ok ? value >= 0 : value > 0);
    if (!valid) {
        print_error("--%s: expected a %s number, got '%s'", option, zero_ok ? "non-negative" : "positive", text);
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

/* One of `names` (NULL-terminated); the error lists them all. */
static int parse_choice(const char *option, const char *text, const char *const *names, int *out)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(text, names[i]) == 0) {
            *out = i;
            return 1;
        }
    char expected[256] = "";
    for (int i = 0; names[i]; i++) {
        size_t used = strlen(expected);
        snprintf(expected + used, sizeof expected - used, "%s%s", i == 0 ? "" : names[i + 1] ? ", " : " or ",
                 names[i]);
    }
    print_error("--%s: expected %s, got '%s'", option, expected, text);
    return 0;
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
        if (!parse_number(option, items[i], 1, &out[i]))
            return 0;
    return 1;
}

static int has_picture_extension(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/'))
        return 0;
    return strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0;
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
    static const nst_model_kind model_kinds[] = {NST_MODEL_SQUEEZENET11, NST_MODEL_VGG19, NST_MODEL_VGG16};
    const char *model_names[] = {nst_model_kind_name(model_kinds[0]), nst_model_kind_name(model_kinds[1]),
                                 nst_model_kind_name(model_kinds[2]), NULL};
    opterr = 0;
    int id, choice;
    while ((id = getopt_long(argc, argv, ":", long_options, NULL)) != -1) {
        if (id == '?' || id == ':')
            return report_getopt_error(id, argv);
        if (id == OPT_MODEL) {
            if (!parse_choice("model", optarg, model_names, &choice))
                return EXIT_USAGE;
            cli->model = model_kinds[choice];
        }
        cli->help |= id == OPT_HELP;
        cli->version |= id == OPT_VERSION;
    }
    if (optind < argc) {
        print_error("unexpected argument '%s' (options start with --; see nst --help)", argv[optind]);
        return EXIT_USAGE;
    }
    return 0;
}

static int append_styles(cli *cli, const char *arg)
{
    size_t old = cli->style_list ? strlen(cli->style_list) : 0;
    char *joined = realloc(cli->style_list, old + strlen(arg) + 2);
    if (!joined) {
        print_error("out of memory");
        return 0;
    }
    snprintf(joined + old, strlen(arg) + 2, "%s%s", old ? "," : "", arg);
    cli->style_list = joined;
    return 1;
}

/* Applies one option of the second pass; 1 = fine. */
static int apply_option(int id, const char *arg, cli *cli, nst_params *p)
{
    static const char *const optimizers[] = {"lbfgs", "adam", NULL};
    static const char *const inits[] = {"content", "style", "noise", NULL};
    static const char *const colors[] = {"none", "luminance", "histogram", NULL};
    int choice = 0;
    nst_error err = {0};
    switch (id) {
    case OPT_CONTENT: cli->content_path = arg; return 1;
    case OPT_STYLE: return append_styles(cli, arg);
    case OPT_OUTPUT: cli->output_path = arg; return 1;
    case OPT_MODEL: return 1; /* first pass */
    case OPT_MODEL_PATH: cli->model_path = arg; return 1;
    case OPT_SIZE: return parse_integer("size", arg, 0, MAX_SIZE, &p->size);
    case OPT_ITERATIONS: return parse_integer("iterations", arg, 0, MAX_ITERATIONS, &p->iterations);
    case OPT_OPTIMIZER:
        if (!parse_choice("optimizer", arg, optimizers, &choice))
            return 0;
        p->optimizer = choice == 0 ? NST_OPTIM_LBFGS : NST_OPTIM_ADAM;
        return 1;
    case OPT_LEARNING_RATE: return parse_number("learning-rate", arg, 0, &p->learning_rate);
    case OPT_CONTENT_WEIGHT: return parse_number("content-weight", arg, 1, &p->content_weight);
    case OPT_STYLE_WEIGHT: return parse_number("style-weight", arg, 1, &p->style_weight);
    case OPT_TV_WEIGHT: return parse_number("tv-weight", arg, 1, &p->tv_weight);
    case OPT_CONTENT_LAYERS:
        if (nst_params_set_content_layers(p, arg, &err) == NST_OK)
            return 1;
        print_error("--content-layers: %s", err.message);
        return 0;
    case OPT_STYLE_LAYERS:
        if (nst_params_set_style_layers(p, arg, &err) == NST_OK)
            return 1;
        print_error("--style-layers: %s", err.message);
        return 0;
    case OPT_STYLE_LAYER_WEIGHTS: cli->style_layer_weights = arg; return 1; /* after --style-layers */
    case OPT_STYLE_BLEND: cli->style_blend = arg; return 1;                 /* after every --style */
    case OPT_INIT:
        if (!parse_choice("init", arg, inits, &choice))
            return 0;
        p->init = choice == 0 ? NST_INIT_CONTENT : choice == 1 ? NST_INIT_STYLE : NST_INIT_NOISE;
        return 1;
    case OPT_SEED: return parse_seed(arg, &p->seed);
    case OPT_PRESERVE_COLORS:
        if (!parse_choice("preserve-colors", arg, colors, &choice))
            return 0;
        p->preserve_colors = choice == 0 ? NST_COLORS_NONE : choice == 1 ? NST_COLORS_LUMINANCE : NST_COLORS_HISTOGRAM;
        return 1;
    case OPT_STYLE_SCALE: return parse_number("style-scale", arg, 0, &p->style_scale);
    case OPT_THREADS: return parse_integer("threads", arg, 0, MAX_THREADS, &p->threads);
    case OPT_SAVE_EVERY: return parse_integer("save-every", arg, 1, INT_MAX, &cli->save_every);
    case OPT_LOG: cli->log_path = arg; return 1;
    case OPT_QUIET: cli->quiet = 1; return 1;
    case OPT_SCALES: return parse_integer("scales", arg, 0, NST_MAX_STAGES, &p->scales);
    case OPT_TILE_SIZE: return parse_integer("tile-size", arg, 0, MAX_SIZE, &p->tile_size);
    case OPT_MAX_MEMORY:
        if ((p->max_memory = nst_parse_bytes(arg)) > 0)
            return 1;
        print_error("--max-memory: expected a size such as 4G, 512M or 1.5GiB, got '%s'", arg);
        return 0;
    default: return 1; /* --help and --version: first pass */
    }
}

static int require(const void *value, const char *option)
{
    if (!value)
        print_error("missing %s (see nst --help)", option);
    return value != NULL;
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
    if (!require(cli->content_path, "--content") || !require(cli->style_list, "--style") ||
        !require(cli->output_path, "--output"))
        return EXIT_USAGE;
    if (!has_picture_extension(cli->output_path)) {
        print_error("--output: expected a file name ending in .png, .jpg or .jpeg, got '%s'", cli->output_path);
        return EXIT_USAGE;
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

static void print_help(nst_model_kind model)
{
    nst_params p;
    nst_params_init(&p, model);
    char content_layers[NST_MAX_LAYERS * NST_LAYER_NAME_MAX], style_layers[NST_MAX_LAYERS * NST_LAYER_NAME_MAX];
    join_layers(p.content_layers, p.n_content_layers, content_layers, sizeof content_layers);
    join_layers(p.style_layers, p.n_style_layers, style_layers, sizeof style_layers);
    printf("Usage: nst --content PICTURE --style PICTURE[,PICTURE...] --output FILE [options]\n"
           "Neural style transfer (Gatys et al.): repaints the content picture in the style of\n"
           "the style pictures by optimising the picture itself.  Defaults shown for --model %s.\n"
           "\n"
           "Pictures:\n"
           "  --content FILE           the picture to repaint (PNG or JPEG)\n"
           "  --style FILE[,FILE...]   one or more style pictures (repeatable)\n"
           "  --output FILE            the result: .png, .jpg or .jpeg\n"
           "  --size N                 longest side of the result in px, 0 = the content's (%d)\n"
           "  --style-scale F          style picture size relative to the result (%g)\n"
           "  --style-blend W,W...     weight of each style picture (equal)\n"
           "  --preserve-colors MODE   none, luminance or histogram (%s)\n"
           "\n"
           "Model:\n"
           "  --model NAME             squeezenet1.1, vgg19 or vgg16 (squeezenet1.1)\n"
           "  --model-path PATH        weights file or folder (else $NST_MODEL_PATH, then the installed ones)\n"
           "  --content-layers L,L...  (%s)\n"
           "  --style-layers L,L...    (%s)\n"
           "  --style-layer-weights W,W...  one per style layer (equal)\n"
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
           "\n"
           "Output:\n"
           "  --save-every K           also write FILE-NNNN.ext every K iterations\n"
           "  --log FILE               one JSON line per evaluation of the objective\n"
           "  --quiet                  no progress on stderr\n"
           "  --help, --version\n"
           "\n"
           "Exit status: 0 done, 1 error, 2 bad arguments, 130 interrupted.\n",
           nst_model_kind_name(model), p.size, p.style_scale,
           p.preserve_colors == NST_COLORS_NONE ? "none" : p.preserve_colors == NST_COLORS_LUMINANCE ? "luminance"
                                                                                                   : "histogram",
           content_layers, style_layers, p.iterations, p.optimizer == NST_OPTIM_LBFGS ? "lbfgs" : "adam",
           p.learning_rate, p.content_weight, p.style_weight, p.tv_weight,
           p.init == NST_INIT_CONTENT ? "content" : p.init == NST_INIT_STYLE ? "style" : "noise",
           (unsigned long long)p.seed, p.threads);
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
    int n_styles;
} pictures;

static void pictures_free(pictures *pics)
{
    nst_image_free(pics->content);
    for (int i = 0; i < pics->n_styles; i++)
        nst_image_free(pics->styles[i]);
}

static nst_image *load_picture(const char *path)
{
    nst_error err = {0};
    nst_image *image = nst_image_load(path, &err);
    if (!image)
        print_error("%s", err.message);
    return image;
}

static int pictures_load(pictures *pics, const char *content_path, int n_styles, char **style_paths)
{
    if (!(pics->content = load_picture(content_path)))
        return 0;
    for (; pics->n_styles < n_styles; pics->n_styles++)
        if (!(pics->styles[pics->n_styles] = load_picture(style_paths[pics->n_styles])))
            return 0;
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
        if (nst_transfer_add_style(transfer, pics->styles[i], blend[i], &err) != NST_OK)
            return engine_failed(&err);
    return 0;
}

/* Hours of optimisation must not end in "cannot create": check the folder now. */
static int output_folder_writable(const char *output_path)
{
    char folder[4096];
    const char *slash = strrchr(output_path, '/');
    if (!slash)
        snprintf(folder, sizeof folder, ".");
    else
        snprintf(folder, sizeof folder, "%.*s", slash == output_path ? 1 : (int)(slash - output_path), output_path);
    if (access(folder, W_OK) == 0)
        return 1;
    print_error("--output: cannot write into folder '%s': %s", folder, strerror(errno));
    return 0;
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
    status = nst_image_save(result, cli->output_path, &err);
    nst_image_free(result);
    return status == NST_OK ? 0 : engine_failed(&err);
}

/* The stages, tiles and memory the run will need; a run that cannot fit
 * stops here. */
static int report_plan(const nst_transfer *transfer, int quiet)
{
    nst_plan plan;
    nst_error err = {0};
    nst_status status = nst_transfer_plan(transfer, &plan, &err);
    if (status != NST_OK)
        return engine_failed(&err);
    if (quiet)
        return 0;
    const double gib = 1024.0 * 1024.0 * 1024.0;
    fprintf(stderr, "nst: memory: needs %.2f GiB of %.2f GiB%s", plan.bytes / gib, plan.budget / gib,
            plan.mode == NST_RUN_TILED ? " (tiled" : "");
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
static int stylise(const cli *cli, const nst_params *params, int n_styles, char **styles, const double *blend)
{
    nst_error err = {0};
    run_state state = {.output_path = cli->output_path};
    pictures pics = {0};
    nst_model *model = NULL;
    nst_transfer *transfer = NULL;
    int rc = EXIT_ENGINE;
    if (!output_folder_writable(cli->output_path) || !pictures_load(&pics, cli->content_path, n_styles, styles))
        goto done;
    if (cli->log_path && !(state.log = fopen(cli->log_path, "w"))) {
        print_error("--log: cannot create '%s': %s", cli->log_path, strerror(errno));
        goto done;
    }
    model = nst_model_load(cli->model, cli->model_path, &err);
    if (!model) {
        rc = engine_failed(&err);
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
    cli cli = {.model = NST_MODEL_SQUEEZENET11};
    int rc = first_pass(argc, argv, &cli);
    if (rc)
        return rc;
    if (cli.help) {
        print_help(cli.model);
        return 0;
    }
    if (cli.version) {
        printf("nst (gimp-neural-style) %s\n", NST_VERSION);
        return 0;
    }
    nst_params params;
    nst_params_init(&params, cli.model);
    rc = second_pass(argc, argv, &cli, &params);

    char *styles[NST_MAX_STYLES + 1];
    double blend[NST_MAX_STYLES];
    int n_styles = 0;
    if (rc == 0) {
        n_styles = split_list(cli.style_list, styles, NST_MAX_STYLES);
        for (int i = 0; i < n_styles && i < NST_MAX_STYLES && rc == 0; i++)
            if (!styles[i][0]) {
                print_error("--style: empty file name in the list");
                rc = EXIT_USAGE;
            }
        if (rc == 0 && n_styles > NST_MAX_STYLES) {
            print_error("--style: at most %d style pictures", NST_MAX_STYLES);
            rc = EXIT_USAGE;
        }
    }
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
        rc = stylise(&cli, &params, n_styles, styles, blend);
    free(cli.style_list);
    return rc;
}
