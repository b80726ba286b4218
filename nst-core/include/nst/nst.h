/* nst-core: optimisation-based (Gatys) neural style transfer in C on OpenBLAS.
 *
 * The public API used by the command line and the GIMP plug-in.  Nothing of
 * GLib, GTK or GIMP is needed to use it.  Every fallible call returns an
 * nst_status and fills an nst_error with a human-readable message.
 *
 * Typical use:
 *   nst_model *m = nst_model_load(NST_MODEL_SQUEEZENET11, NULL, &err);
 *   nst_params p; nst_params_init(&p, NST_MODEL_SQUEEZENET11);
 *   nst_transfer *t = nst_transfer_new(m, &p, &err);
 *   nst_transfer_set_content(t, content, &err);
 *   nst_transfer_add_style(t, style, 1.0, &err);
 *   nst_image *out; nst_transfer_run(t, &out, &err);
 */
#ifndef NST_NST_H
#define NST_NST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors -------------------------------------------------------------- */

typedef enum nst_status {
    NST_OK = 0,
    NST_ERR_INVALID = -1,   /* a bad argument or parameter */
    NST_ERR_IO = -2,        /* a file could not be opened, read or written */
    NST_ERR_FORMAT = -3,    /* a file is malformed, truncated or lies */
    NST_ERR_NOMEM = -4,     /* an allocation failed or would be too large */
    NST_ERR_CANCELLED = -5, /* nst_transfer_cancel() was called */
    NST_ERR_NUMERIC = -6,   /* NaN/Inf that could not be recovered from */
    NST_ERR_NOT_FOUND = -7, /* a model file or a layer name was not found */
    NST_ERR_DEVICE = -8,    /* no Vulkan loader or device, no such device, or the device failed */
} nst_status;

typedef struct nst_error {
    nst_status code;
    char message[1024];
} nst_error;

const char *nst_status_name(nst_status code);

/* ---- images: RGB float in [0,1], interleaved (HWC), row-major ------------ */

typedef struct nst_image {
    int width;
    int height;
    float *rgb; /* width * height * 3 floats */
} nst_image;

nst_image *nst_image_new(int width, int height, nst_error *err);
void nst_image_free(nst_image *image);
nst_image *nst_image_copy(const nst_image *image, nst_error *err);
/* PNG (8/16 bit, grey/RGB/alpha/palette; alpha is dropped) and JPEG, from a
 * regular file (a folder, FIFO or device is refused without being read).
 * Pictures over 2^28 pixels are refused (NST_ERR_NOMEM). */
nst_image *nst_image_load(const char *path, nst_error *err);
/* nst_image_load that also refuses, from the header and before any pixel is
 * allocated, a picture whose decoding (the float RGB picture plus the
 * decoder's buffers) would need more than `max_bytes`: NST_ERR_NOMEM with a
 * message naming the picture's size and both amounts.  SIZE_MAX: no bound
 * beyond nst_image_load's. */
nst_image *nst_image_load_bounded(const char *path, size_t max_bytes, nst_error *err);
/* The format follows the extension: .png (8-bit RGB) or .jpg/.jpeg.  The
 * picture is written to a hidden temporary file beside `path`, synced, and
 * renamed over it: on any failure (a full disk, a kill) an existing file is
 * left exactly as it was, and the message says what failed.  An existing
 * target keeps its permissions; a symbolic link is followed.  Refused up
 * front as nst_image_check_writable refuses. */
nst_status nst_image_save(const nst_image *image, const char *path, nst_error *err);
/* Cheap checks a front end can make before any work, the same nst_image_save
 * makes first: the extension is .png, .jpg or .jpeg with a name before it
 * (NST_ERR_INVALID); the folder exists and files may be created in it; the
 * target is not a folder or a special file, and when it exists it may be
 * overwritten and is not read-only (NST_ERR_IO).  Writes nothing. */
nst_status nst_image_check_writable(const char *path, nst_error *err);
/* High-quality resampling: area-averaging when shrinking, bicubic when
 * enlarging.  Returns a copy when the size does not change. */
nst_image *nst_image_resize(const nst_image *image, int width, int height, nst_error *err);
/* Size whose longest side is `longest`, keeping the aspect ratio (>= 1 px). */
void nst_image_fit_size(int width, int height, int longest, int *out_width, int *out_height);

/* ---- transparency -------------------------------------------------------- */

/* Replaces the colours a layer hides under transparency, so they count for
 * nothing: each pixel's colour is blended, by its alpha (width*height values
 * in [0,1]), over a smooth fill made from the visible pixels around it.
 * Opaque pixels keep their colour; fully transparent ones take their
 * neighbours'.  An image with no visible pixel is left as it is. */
nst_status nst_image_fill_transparent(nst_image *image, const float *alpha, nst_error *err);

/* ---- models --------------------------------------------------------------- */

typedef enum nst_model_kind {
    NST_MODEL_SQUEEZENET11 = 0,
    NST_MODEL_VGG19 = 1,
    NST_MODEL_VGG16 = 2,
} nst_model_kind;

typedef struct nst_model nst_model;

/* "squeezenet1.1", "vgg19", "vgg16" (NST_MODEL_KIND_COUNT of them). */
const char *nst_model_kind_name(nst_model_kind kind);
nst_status nst_model_kind_from_name(const char *name, nst_model_kind *out, nst_error *err);

/* Resolves where the weights of `kind` are: `model_path` (a file or a folder)
 * when not NULL, else each folder of the colon-separated NST_MODEL_PATH, else
 * the installed data folder.  Default names inside a folder: "squeezenet1.1/",
 * "vgg19.safetensors", "vgg16.safetensors".  Returns a malloc'd path, or NULL
 * with a message that says exactly where the file was looked for. */
char *nst_model_find(nst_model_kind kind, const char *model_path, nst_error *err);

/* Loads (and validates) the weights; `model_path` as for nst_model_find. */
nst_model *nst_model_load(nst_model_kind kind, const char *model_path, nst_error *err);
void nst_model_free(nst_model *model);
nst_model_kind nst_model_get_kind(const nst_model *model);
/* Feature layer names a user may pick, in network order. */
int nst_model_layer_count(const nst_model *model);
const char *nst_model_layer_name(const nst_model *model, int index);

/* ---- parameters ----------------------------------------------------------- */

typedef enum nst_optimizer { NST_OPTIM_LBFGS = 0, NST_OPTIM_ADAM = 1 } nst_optimizer;
typedef enum nst_init { NST_INIT_CONTENT = 0, NST_INIT_STYLE = 1, NST_INIT_NOISE = 2 } nst_init;
typedef enum nst_colors {
    NST_COLORS_NONE = 0,
    NST_COLORS_LUMINANCE = 1, /* stylise luminance only, keep the content's chroma */
    NST_COLORS_HISTOGRAM = 2, /* match the style's colour statistics to the content first */
} nst_colors;
typedef enum nst_pooling { NST_POOL_MAX = 0, NST_POOL_AVG = 1 } nst_pooling;

#define NST_MAX_LAYERS 16
#define NST_MAX_STYLES 8
#define NST_LAYER_NAME_MAX 32

typedef struct nst_params {
    int size;       /* working size: longest side in px; 0 = the content's own */
    int iterations; /* optimiser iterations; 0 = evaluate the initial picture once */
    nst_optimizer optimizer;
    double learning_rate; /* Adam only */
    int lbfgs_history;
    double content_weight; /* alpha */
    double style_weight;   /* beta */
    double tv_weight;      /* tau */
    int n_content_layers;
    char content_layers[NST_MAX_LAYERS][NST_LAYER_NAME_MAX];
    double content_layer_weights[NST_MAX_LAYERS]; /* normalised to sum 1 */
    int n_style_layers;
    char style_layers[NST_MAX_LAYERS][NST_LAYER_NAME_MAX];
    double style_layer_weights[NST_MAX_LAYERS]; /* normalised to sum 1 */
    nst_init init;
    uint64_t seed;
    nst_colors preserve_colors;
    double style_scale; /* the style picture is scaled to working size x this */
    nst_pooling pooling; /* VGG only; SqueezeNet always uses max pooling */
    int threads;         /* 0 = all cores */
    /* Big pictures (zero = automatic, so older callers keep working). */
    int scales;          /* pyramid stages, coarse to fine; 0 = automatic, 1 = single scale */
    int min_scale_size;  /* longest side of the first stage in px; 0 = 192 */
    size_t max_memory;   /* bytes a run may use; 0 = MemAvailable minus a margin */
    int tile_size;       /* tile side in px (with its overlap); 0 = the largest that fits */
    /* Where the objective runs: "auto" (or ""), "cpu", "gpu" or "gpu:N"
     * (see nst_device_resolve). */
    char device[16];
} nst_params;

/* ---- limits and names: the one place the front ends take them from -------- */

/* Working size and tile side: the engine refuses pictures above 2^28 px. */
#define NST_SIZE_MAX 16384
#define NST_ITERATIONS_MAX 1000000
#define NST_THREADS_MAX 1024
#define NST_LBFGS_HISTORY_MAX 1000
#define NST_TILE_SIZE_MIN 64
#define NST_MIN_SCALE_SIZE_MIN 32
/* alpha, beta and tau: far above any useful value, and far enough below
 * FLT_MAX that a weight times a term times a gradient stays finite. */
#define NST_WEIGHT_MAX 1e12
#define NST_LEARNING_RATE_MAX 10.0
#define NST_STYLE_SCALE_MIN 0.05
#define NST_STYLE_SCALE_MAX 8.0

/* Each choice has a name (the spelling of the command line and of the
 * plug-in's PDB arguments) and a parser whose error lists the names.
 * NST_X_COUNT values run from 0 to NST_X_COUNT - 1; name() of anything
 * else is "unknown". */
#define NST_OPTIMIZER_COUNT 2
#define NST_INIT_COUNT 3
#define NST_COLORS_COUNT 3
#define NST_POOLING_COUNT 2
#define NST_MODEL_KIND_COUNT 3
const char *nst_optimizer_name(nst_optimizer value);
nst_status nst_optimizer_from_name(const char *name, nst_optimizer *out, nst_error *err);
const char *nst_init_name(nst_init value);
nst_status nst_init_from_name(const char *name, nst_init *out, nst_error *err);
const char *nst_colors_name(nst_colors value);
nst_status nst_colors_from_name(const char *name, nst_colors *out, nst_error *err);
const char *nst_pooling_name(nst_pooling value);
nst_status nst_pooling_from_name(const char *name, nst_pooling *out, nst_error *err);

/* Fills defaults that give a good picture with `kind`. */
void nst_params_init(nst_params *params, nst_model_kind kind);
/* Parses "a,b,c" into the content or style layer list (equal weights). */
nst_status nst_params_set_content_layers(nst_params *params, const char *csv, nst_error *err);
nst_status nst_params_set_style_layers(nst_params *params, const char *csv, nst_error *err);
/* Parses "w,w,..." (must match the style layer count). */
nst_status nst_params_set_style_layer_weights(nst_params *params, const char *csv, nst_error *err);
/* Checks every range against the limits above, without a model: front ends
 * call it before loading one. */
nst_status nst_params_check(const nst_params *params, nst_error *err);
/* nst_params_check, and that the layer names exist in `model`. */
nst_status nst_params_validate(const nst_params *params, const nst_model *model, nst_error *err);

/* ---- strength: one slider for the style weight ---------------------------- */

/* 0 = hardly styled, 100 = as styled as the weights allow; 50 gives the
 * model's defaults exactly (the same picture as without a strength). */
#define NST_STRENGTH_MIN 0.0
#define NST_STRENGTH_MAX 100.0
#define NST_STRENGTH_DEFAULT 50.0

/* The weights `strength` stands for with `kind`: the style weight is
 *   beta = beta_default(kind) x 10^d(strength)
 * with d piecewise linear through (0, -7), (25, -5), (50, 0), (100, +2)
 * decades: the picture changes with beta only near the balance of the
 * content and style terms, far below the defaults (see the README).  The
 * content and TV weights stay at the model's defaults.  A front end that
 * also takes raw weights lets an explicit raw weight win over strength for
 * that weight.  NST_ERR_INVALID for a strength outside [0, 100]. */
nst_status nst_strength_weights(nst_model_kind kind, double strength, double *content_weight, double *style_weight,
                                double *tv_weight, nst_error *err);
/* d(strength) above, in decades (for documentation and tests). */
double nst_strength_decades(double strength);

/* ---- the style gallery ------------------------------------------------------ */

#define NST_STYLE_NAME_MAX 64
#define NST_STYLE_PATH_MAX 4096

/* One picture of the gallery: a painting shipped with the plug-in and the
 * command line (described in its folder's gallery.json), or a .png/.jpg/.jpeg
 * a user put in a gallery folder (named after its file, nothing else known). */
typedef struct nst_style_entry {
    char name[NST_STYLE_NAME_MAX]; /* the file's stem: "starry_night" */
    char title[160];               /* "The Starry Night"; the name for a user's picture */
    char painter[96];              /* "" when not known */
    char year[24];                 /* "1889", "c. 1831"; "" when not known */
    double style_scale;            /* recommended style scale (1 when not known) */
    double strength;               /* recommended strength (NST_STRENGTH_DEFAULT when not known) */
    int described;                 /* 1 = from a gallery.json, 0 = a picture in a folder */
    char path[NST_STYLE_PATH_MAX]; /* the picture */
} nst_style_entry;

typedef struct nst_gallery nst_gallery;

/* Reads the gallery from these folders, in this order (the first entry of a
 * name wins): `first_folder` when not NULL (a front end's own, e.g. a
 * bundle's), each folder of the colon-separated NST_STYLE_PATH, the user's
 * $XDG_DATA_HOME/gimp-neural-style/styles (~/.local/share/...), then the
 * installed data folder.  Folders that do not exist are skipped.  In each
 * folder, the entries of its gallery.json come first, then its pictures not
 * described there, by name.  A gallery.json that is malformed or names a
 * missing picture is an error naming the file (NST_ERR_FORMAT). */
nst_gallery *nst_gallery_open(const char *first_folder, nst_error *err);
void nst_gallery_free(nst_gallery *gallery);
int nst_gallery_count(const nst_gallery *gallery);
/* NULL outside [0, count). */
const nst_style_entry *nst_gallery_entry(const nst_gallery *gallery, int index);
/* The entry named `name`; else NULL and NST_ERR_NOT_FOUND with a message
 * that names the close names (edit distance), or lists the gallery. */
const nst_style_entry *nst_gallery_find(const nst_gallery *gallery, const char *name, nst_error *err);
/* The folders searched, in order, separated by ':' (for messages). */
const char *nst_gallery_folders(const nst_gallery *gallery);
/* The style scale to run `entry` with when the user set `style_scale`:
 * their product, kept within [NST_STYLE_SCALE_MIN, NST_STYLE_SCALE_MAX]. */
double nst_style_entry_scale(const nst_style_entry *entry, double style_scale);
/* The style weight to run `entry` with when the weights in force (the
 * model's default, or what a strength made of it) give `style_weight`: moved
 * by the decades the entry's recommended strength stands for, d(strength) of
 * nst_strength_weights.  So a strength of 50 means "as recommended" for a
 * gallery painting, and the slider moves from there.  A raw style weight the
 * user gave explicitly should win instead (the front ends' rule). */
double nst_style_entry_style_weight(const nst_style_entry *entry, double style_weight);

/* ---- the driver ----------------------------------------------------------- */

#define NST_PROGRESS_DEVICE_MAX 192

/* One evaluation of the objective.  content/style/tv are the unweighted
 * combined terms; total = a*content + b*style + t*tv with the weights in force. */
typedef struct nst_progress {
    int eval;       /* 0 = the initial picture */
    int iter;       /* optimiser iteration the evaluation belongs to */
    int iterations; /* planned iterations */
    double content, style, tv, total;
    double seconds; /* since nst_transfer_run started */
    /* Where the run is (appended): pyramid stage and, in a tiled stage, the tile. */
    int stage, stages;           /* 0-based stage index, number of stages */
    int stage_width, stage_height;
    int tile, tiles;             /* 0-based tile of this round, tiles per round; tiles = 0 when whole */
    size_t memory_bytes;         /* the run's estimated peak */
    /* Where the objective runs (appended): "CPU" or the GPU's name; when
     * "auto" found no usable GPU, or a GPU failed and the run went on on the
     * CPU, the reason in brackets: "CPU (no usable GPU: ...)". */
    char device[NST_PROGRESS_DEVICE_MAX];
} nst_progress;

typedef void (*nst_progress_fn)(const nst_progress *progress, void *user_data);
/* `image` is the current picture at the working size; valid during the call only. */
typedef void (*nst_preview_fn)(const nst_image *image, const nst_progress *progress, void *user_data);

typedef struct nst_transfer nst_transfer;

/* `model` may be NULL and given later with nst_transfer_set_model (a front
 * end can make the transfer, hand it pictures and steer it while the model
 * still loads); without one, params are checked without their layer names. */
nst_transfer *nst_transfer_new(const nst_model *model, const nst_params *params, nst_error *err);
/* Before the run: checks the params' layer names against `model`. */
nst_status nst_transfer_set_model(nst_transfer *transfer, const nst_model *model, nst_error *err);
void nst_transfer_free(nst_transfer *transfer);

/* The content picture (copied). */
nst_status nst_transfer_set_content(nst_transfer *transfer, const nst_image *content, nst_error *err);
/* A style picture (copied) and its blend weight; blend weights are normalised. */
nst_status nst_transfer_add_style(nst_transfer *transfer, const nst_image *style, double blend_weight,
                                  nst_error *err);
/* A style for one region of the picture (Gatys et al. 2017, guided Gram
 * matrices): `mask` (any size, stretched to the working size and resampled
 * for every stage, tile and style layer) is read as grey, its luminance
 * 0.299 R + 0.587 G + 0.114 B clamped to [0,1]: 1 = this style, 0 = not, in
 * between a soft transition; NULL = everywhere.  As soon as one style has a
 * mask, each style is compared with the picture in its own region instead
 * of the styles blending into one target (blend weights then weigh the
 * regions' terms, normalised to mean 1), and pixels no mask covers get no
 * style term: they keep the content's look.  The formula is in
 * nst-core/loss/objective.h. */
nst_status nst_transfer_add_style_masked(nst_transfer *transfer, const nst_image *style, double blend_weight,
                                         const nst_image *mask, nst_error *err);

void nst_transfer_set_progress_callback(nst_transfer *transfer, nst_progress_fn fn, void *user_data);
/* Preview every `every` iterations (and at the end). */
void nst_transfer_set_preview_callback(nst_transfer *transfer, nst_preview_fn fn, int every, void *user_data);

/* Runs the optimisation; on success *result is the stylised picture at the
 * working size (caller frees).  Returns NST_ERR_CANCELLED after a cancel. */
nst_status nst_transfer_run(nst_transfer *transfer, nst_image **result, nst_error *err);

/* Thread-safe: may be called from any thread while nst_transfer_run runs. */
void nst_transfer_cancel(nst_transfer *transfer);
/* Thread-safe steering: takes effect at the next evaluation of the objective.
 * A value outside the limits of nst_params_check is refused (NST_ERR_INVALID,
 * nothing changes). */
nst_status nst_transfer_set_weights(nst_transfer *transfer, double content_weight, double style_weight,
                                    double tv_weight, nst_error *err);
nst_status nst_transfer_set_style_scale(nst_transfer *transfer, double style_scale, nst_error *err);

/* Working size that nst_transfer_run will use for this content and params. */
void nst_transfer_working_size(const nst_params *params, int content_width, int content_height,
                               int *width, int *height);

/* ---- devices: the Vulkan compute backend ------------------------------------ */

/* With "gpu" or "gpu:N" the whole objective (the network forward and
 * backward, Grams, guided Grams for regions, every term and the gradient)
 * runs on the Vulkan device for every model (SqueezeNet 1.1, VGG19 and
 * VGG16 with max or average pooling) and every layer choice, and so does
 * the optimiser's vector work: between two evaluations only scalars cross
 * to the host (the picture comes back for previews).  Under "auto", a device that fails hands the run to the
 * CPU, which starts again and says why in nst_progress.device; "gpu" and
 * "gpu:N" fail with NST_ERR_DEVICE. */

typedef enum nst_device_kind {
    NST_DEVICE_DISCRETE = 0,
    NST_DEVICE_INTEGRATED = 1,
    NST_DEVICE_VIRTUAL = 2,
    NST_DEVICE_CPU = 3, /* a software driver such as Mesa's lavapipe (llvmpipe) */
    NST_DEVICE_OTHER = 4,
} nst_device_kind;
#define NST_DEVICE_KIND_COUNT 5
/* "discrete", "integrated", "virtual", "cpu", "other". */
const char *nst_device_kind_name(nst_device_kind kind);

#define NST_MAX_DEVICES 16

typedef struct nst_device_info {
    int index;           /* N of "gpu:N": the loader's order */
    char name[256];
    nst_device_kind kind;
    uint32_t vendor_id, device_id;
    uint32_t api_version; /* Vulkan version, VK_MAKE_API_VERSION's packing */
    uint64_t local_bytes;  /* the device-local heaps' size */
    uint64_t budget_bytes; /* of them available now (VK_EXT_memory_budget); 0 = not known */
    int usable;           /* has a compute queue and what the backend needs */
} nst_device_info;

/* Whether this build has the Vulkan backend (meson -Dvulkan). */
int nst_device_backend_built(void);
/* The Vulkan devices, up to `max` (NST_MAX_DEVICES is plenty).  No driver
 * installed is NST_OK with *count = 0; a build without the backend or a
 * system without libvulkan is NST_ERR_DEVICE saying which. */
nst_status nst_device_list(nst_device_info *devices, int max, int *count, nst_error *err);
/* The device "auto" would use: the first discrete GPU, else the first
 * integrated, else the first virtual; never a CPU (software) device.
 * -1 when there is none. */
int nst_device_auto_pick(const nst_device_info *devices, int count);

/* Where a setting puts the objective. */
typedef struct nst_device_choice {
    int on_gpu;          /* 0 = the CPU */
    nst_device_info gpu; /* when on_gpu */
    char reason[160];    /* auto on the CPU: why ("no usable GPU: ..."); else "" */
} nst_device_choice;

/* Checks the spelling of a setting ("", "auto", "cpu", "gpu", "gpu:N")
 * without looking for devices: NST_ERR_INVALID naming the choices. */
nst_status nst_device_setting_check(const char *setting, nst_error *err);
/* Resolves a setting: "cpu" never touches Vulkan; "gpu" takes the device
 * auto would and fails (NST_ERR_DEVICE) without one; "gpu:N" takes device N
 * whatever its kind, and fails naming the devices there are when N does not
 * exist.  "auto" takes the device nst_device_auto_pick names and is the
 * CPU, with choice->reason, when there is none (never an error). */
nst_status nst_device_resolve(const char *setting, nst_device_choice *choice, nst_error *err);

/* ---- big pictures: pyramid, tiles, memory ---------------------------------- */

#define NST_MAX_STAGES 12

typedef enum nst_run_mode {
    NST_RUN_WHOLE = 0,  /* every stage fits in memory as a whole */
    NST_RUN_TILED = 1,  /* the largest stages run on overlapping tiles */
    NST_RUN_REFUSED = 2 /* not even tiles fit: nst_transfer_run returns NST_ERR_NOMEM */
} nst_run_mode;

typedef struct nst_plan {
    int stages;
    int stage_width[NST_MAX_STAGES], stage_height[NST_MAX_STAGES];
    int stage_iterations[NST_MAX_STAGES]; /* sums to params.iterations */
    int stage_tiled[NST_MAX_STAGES];
    int tile_width, tile_height; /* window of one tile incl. its overlap (tiled stages) */
    int tile_margin;             /* overlap on each side that is blended, px */
    size_t whole_bytes;          /* peak with every stage whole */
    size_t bytes;                /* peak of the planned run */
    size_t budget;               /* max_memory in force (within the device's memory on a GPU) */
    nst_run_mode mode;
    /* The device planned for (appended), as nst_progress.device names it:
     * "CPU", the GPU's name, or "CPU (why)". */
    char device[NST_PROGRESS_DEVICE_MAX];
} nst_plan;

/* How nst_transfer_run will run with the content and styles given so far
 * (stage sizes, iterations per stage, tiles) and the memory it needs, on
 * the device params.device resolves to, as the run decides: a GPU's plan
 * within its memory too, and under "auto" the CPU's when the GPU's is
 * refused (so this may look for Vulkan devices).
 * Returns NST_ERR_NOMEM with a message naming both amounts when the run
 * cannot fit (plan->mode == NST_RUN_REFUSED; the plan is filled), and
 * NST_ERR_DEVICE as the run would for a device that is not there. */
nst_status nst_transfer_plan(const nst_transfer *transfer, nst_plan *plan, nst_error *err);
/* Peak bytes of the run nst_transfer_plan plans (the tiled one when tiling
 * is needed); 0 without a content picture or without the device asked for. */
size_t nst_transfer_estimate_bytes(const nst_transfer *transfer);
/* Bytes a run may use by default: MemAvailable of /proc/meminfo minus a margin. */
size_t nst_default_memory_budget(void);
/* Parses "4G", "512M", "1.5GiB", "1000000" (bytes) or "0" (= the default
 * budget, as in nst_params.max_memory); NST_ERR_INVALID on anything else. */
nst_status nst_parse_bytes(const char *text, size_t *bytes, nst_error *err);

#ifdef __cplusplus
}
#endif

#endif
