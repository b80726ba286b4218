/* The nst command line: argument errors (exit 2 and a message naming the
 * option), engine and file errors (exit 1), --help/--version, and with the
 * shared SqueezeNet: --iterations 0, --log, --save-every, --quiet, SIGINT.
 * Usage: test_cli PATH-TO-nst.  The pictures are made here. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nst/nst.h"
#include "test_util.h"

static const char *nst_path;
static char tmp_dir[] = "/tmp/nst-test-cli-XXXXXX";
static char content_png[600], style_jpg[600], output_png[600], log_path[600], stderr_path[600];

#define MAX_ARGS 40
#define RUN_TIMEOUT_SECONDS 60

static void make_path(char *out, const char *name)
{
    snprintf(out, 600, "%s/%s", tmp_dir, name);
}

/* The file's text ("" when it cannot be read), in a static buffer. */
static const char *read_file(const char *path)
{
    static char buf[1 << 16];
    FILE *f = fopen(path, "rb");
    buf[0] = '\0';
    if (!f)
        return buf;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

static pid_t start_nst(const char *const *args, const char *model_path_env)
{
    const char *argv[MAX_ARGS + 2] = {nst_path};
    int n = 1;
    for (; args[n - 1] && n <= MAX_ARGS; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int err_fd = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int null_fd = open("/dev/null", O_WRONLY);
        dup2(err_fd, STDERR_FILENO);
        dup2(null_fd, STDOUT_FILENO);
        if (model_path_env)
            setenv("NST_MODEL_PATH", model_path_env, 1);
        execv(nst_path, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Exit status, 128 + signal when killed, -1 when it hung (then killed). */
static int wait_nst(pid_t pid)
{
    time_t deadline = time(NULL) + RUN_TIMEOUT_SECONDS;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (time(NULL) > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        usleep(10000);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run_nst(const char *const *args, const char *model_path_env)
{
    return wait_nst(start_nst(args, model_path_env));
}

/* Runs nst with the pictures and `extra` options; checks status and message. */
static void expect_failure(const char *what, const char *const *extra, int want_status, const char *fragment,
                           const char *model_path_env)
{
    const char *args[MAX_ARGS] = {"--content", content_png, "--style", style_jpg, "--output", output_png};
    int n = 6;
    for (int i = 0; extra[i] && n < MAX_ARGS - 1; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    remove(output_png);
    int status = run_nst(args, model_path_env);
    const char *err = read_file(stderr_path);
    CHECK(status == want_status, "%s: exit %d, want %d; stderr: %s", what, status, want_status, err);
    CHECK(strncmp(err, "nst: ", 5) == 0, "%s: stderr does not start with 'nst: ': %s", what, err);
    CHECK(strstr(err, fragment), "%s: stderr lacks '%s': %s", what, fragment, err);
    CHECK(!file_exists(output_png), "%s: an output picture was written", what);
}

#define EXPECT_USAGE(what, fragment, ...)                                                                    \
    expect_failure(what, (const char *const[]){__VA_ARGS__, NULL}, 2, fragment, NULL)

static void test_argument_errors(void)
{
    EXPECT_USAGE("--size abc", "nst: --size: expected an integer from 0 to 16384, got 'abc'", "--size", "abc");
    EXPECT_USAGE("--size 12px", "got '12px'", "--size", "12px");
    EXPECT_USAGE("--size huge", "--size:", "--size", "99999999999999999999");
    EXPECT_USAGE("--iterations -1", "--iterations: expected", "--iterations", "-1");
    EXPECT_USAGE("--learning-rate 0", "--learning-rate: expected a number above 0, up to 10, got '0'",
                 "--learning-rate", "0");
    EXPECT_USAGE("--style-weight 1e999", "--style-weight: expected a number from 0 to 1e+12", "--style-weight",
                 "1e999");
    /* Finite but past the engine's limit: it used to run into an L-BFGS NaN. */
    EXPECT_USAGE("--style-weight 1e40", "--style-weight: expected a number from 0 to 1e+12, got '1e40'",
                 "--style-weight", "1e40");
    EXPECT_USAGE("--tv-weight nan", "--tv-weight: expected a number from 0 to", "--tv-weight", "nan");
    EXPECT_USAGE("--content-weight -1", "--content-weight:", "--content-weight", "-1");
    EXPECT_USAGE("--style-scale empty", "--style-scale: expected a number above 0, up to 8, got ''",
                 "--style-scale", "");
    EXPECT_USAGE("--optimizer sgd", "--optimizer: unknown optimizer 'sgd' (expected lbfgs or adam)", "--optimizer",
                 "sgd");
    EXPECT_USAGE("--model resnet", "--model: unknown model 'resnet' (expected squeezenet1.1, vgg19 or vgg16)",
                 "--model", "resnet");
    EXPECT_USAGE("--init random", "--init: unknown initial picture 'random' (expected content, style or noise)",
                 "--init", "random");
    EXPECT_USAGE("--preserve-colors yes", "(expected none, luminance or histogram)", "--preserve-colors", "yes");
    EXPECT_USAGE("--max-memory 0.5", "--max-memory: '0.5': expected a size such as 4G", "--max-memory", "0.5");
    /* Ranges are checked before the pictures and the model are read: with a
     * model path that does not exist, the range is what is reported. */
    EXPECT_USAGE("--tile-size 10", "tile size 10 out of range (0 = automatic, 64 to 16384)", "--tile-size", "10",
                 "--model-path", "/nonexistent/models");
    EXPECT_USAGE("--style-scale 0.01", "style scale 0.01 out of range (0.05 to 8)", "--style-scale", "0.01",
                 "--model-path", "/nonexistent/models");
    EXPECT_USAGE("--seed 12x", "--seed:", "--seed", "12x");
    EXPECT_USAGE("--seed -1", "--seed:", "--seed", "-1");
    EXPECT_USAGE("--threads -2", "--threads:", "--threads", "-2");
    EXPECT_USAGE("--save-every 0", "--save-every: expected a positive integer, got '0'", "--save-every", "0");
    EXPECT_USAGE("--style-blend count", "--style-blend: expected 1 comma-separated", "--style-blend", "1,2");
    EXPECT_USAGE("--style-blend zeros", "--style-blend: the weights must not all be 0", "--style-blend", "0");
    EXPECT_USAGE("--style-layer-weights count", "--style-layer-weights:", "--style-layers", "conv1,fire2",
                 "--style-layer-weights", "1,2,3");
    EXPECT_USAGE("--content-layers empty item", "--content-layers:", "--content-layers", "conv1,,fire2");
    EXPECT_USAGE("unknown option", "unknown option '--bogus'", "--bogus");
    EXPECT_USAGE("option without value", "--tv-weight: expected a value", "--tv-weight");
    EXPECT_USAGE("stray argument", "unexpected argument 'stray'", "stray");

    const char *no_content[] = {"--style", style_jpg, "--output", output_png, NULL};
    CHECK(run_nst(no_content, NULL) == 2, "missing --content accepted");
    CHECK(strstr(read_file(stderr_path), "missing --content"), "%s", read_file(stderr_path));
    const char *bad_output[] = {"--content", content_png, "--style", style_jpg, "--output", "out.gif", NULL};
    CHECK(run_nst(bad_output, NULL) == 2, "--output out.gif accepted");
    CHECK(strstr(read_file(stderr_path), "--output: out.gif: unknown picture format (use .png, .jpg or .jpeg)"), "%s",
          read_file(stderr_path));
}

static void test_runtime_errors(void)
{
    expect_failure("missing content picture", (const char *const[]){"--content", "/nonexistent/cat.png", NULL}, 1,
                   "/nonexistent/cat.png: cannot open", NULL);
    char text_png[600];
    make_path(text_png, "notes.png");
    FILE *f = fopen(text_png, "w");
    CHECK(f && fputs("not a picture\n", f) >= 0, "cannot write %s", text_png);
    if (f)
        fclose(f);
    expect_failure("content is not a picture", (const char *const[]){"--content", text_png, NULL}, 1,
                   "notes.png: not a PNG or JPEG image", NULL);
    expect_failure("missing model (--model-path)", (const char *const[]){"--model-path", "/nonexistent/models", NULL},
                   1, "model not found", NULL);
    expect_failure("missing model (NST_MODEL_PATH)", (const char *const[]){NULL}, 1, "/nonexistent/models",
                   "/nonexistent/models");
    expect_failure("output folder missing", (const char *const[]){"--output", "/nonexistent/out.png", NULL}, 1,
                   "--output: /nonexistent/out.png: cannot write into folder /nonexistent", NULL);
    expect_failure("log folder missing", (const char *const[]){"--log", "/nonexistent/log.jsonl", NULL}, 1,
                   "--log: cannot create '/nonexistent/log.jsonl'", NULL);
    /* Decoding is bounded by the budget too: a small file may declare a huge picture. */
    expect_failure("budget below the decode", (const char *const[]){"--max-memory", "100K", NULL}, 1,
                   "content.png: this 64 x 48 picture would need 0.3 MiB to decode", NULL);
    expect_failure("impossible memory budget", (const char *const[]){"--max-memory", "1M", NULL}, 1,
                   "even in 128x128 tiles, 1 MiB available; lower the working size or raise the memory limit "
                   "(--size, --max-memory)",
                   NULL);
}

/* Everything about the output is checked before the pictures and the model
 * are loaded (the model path does not exist, yet the output is what is
 * reported), and an existing file is never touched by a refused run. */
static void test_output_checked_first(void)
{
    char folder_png[600], readonly_png[600], hidden[600];
    make_path(folder_png, "folder.png");
    make_path(readonly_png, "readonly.png");
    make_path(hidden, ".png");
    CHECK(mkdir(folder_png, 0755) == 0, "mkdir %s", folder_png);
    FILE *f = fopen(readonly_png, "w");
    CHECK(f && fputs("keep me", f) >= 0 && fclose(f) == 0 && chmod(readonly_png, 0444) == 0, "%s", readonly_png);
    static const char *const nowhere = "/nonexistent/models";
    const char *cases[][3] = {{folder_png, "is a folder", "1"},
                              {readonly_png, "read-only", "1"},
                              {hidden, "nothing before its extension", "2"}};
    for (int i = 0; i < 3; i++) {
        const char *args[] = {"--content", "/nonexistent/cat.png", "--style", style_jpg, "--output", cases[i][0],
                              "--model-path", nowhere, NULL};
        int status = run_nst(args, NULL);
        const char *err = read_file(stderr_path);
        CHECK(status == atoi(cases[i][2]) && strstr(err, "--output: ") && strstr(err, cases[i][1]),
              "--output %s: exit %d, stderr: %s", cases[i][0], status, err);
    }
    CHECK(strcmp(read_file(readonly_png), "keep me") == 0, "the read-only output was changed");
}

static int model_available(void);

/* --style-masks: more masks than styles is a usage error before anything
 * is loaded; a mask that cannot be read is named; with the model, a run with
 * a mask (the content picture itself, another size than the result) and a
 * "none" entry writes its picture. */
static void test_style_masks(void)
{
    EXPECT_USAGE("--style-masks count", "--style-masks: 2 masks for 1 style picture", "--style-masks",
                 "a.png,b.png");
    expect_failure("--style-masks missing file",
                   (const char *const[]){"--style-masks", "/nonexistent/mask.png", "--size", "32", NULL}, 1,
                   "nst: --style-masks: /nonexistent/mask.png", NULL);
    if (!model_available())
        return;
    char styles[1300];
    snprintf(styles, sizeof styles, "%s,%s", style_jpg, style_jpg);
    char masks[700];
    snprintf(masks, sizeof masks, "%s,none", content_png);
    const char *args[] = {"--content", content_png, "--style", styles, "--style-masks", masks, "--output",
                          output_png, "--size", "32", "--iterations", "2", "--log", log_path, "--quiet", NULL};
    remove(output_png);
    int status = run_nst(args, NULL);
    CHECK(status == 0 && file_exists(output_png), "--style-masks %s: exit %d: %s", masks, status,
          read_file(stderr_path));
    CHECK(strstr(read_file(log_path), "\"style\":"), "--style-masks: no style term in the log");
}

static void test_help_and_version(void)
{
    const char *help[] = {"--help", NULL};
    CHECK(run_nst(help, NULL) == 0, "--help failed");
    const char *version[] = {"--version", NULL};
    CHECK(run_nst(version, NULL) == 0, "--version failed");
    const char *help_after_error[] = {"--help", "--bogus", NULL};
    CHECK(run_nst(help_after_error, NULL) == 2, "--help --bogus should still reject --bogus");
}

/* ---- with the model ------------------------------------------------------- */

static int model_available(void)
{
    return file_exists(test_model_file("squeezenet1.1"));
}

static void check_picture(const char *path, int width, int height)
{
    nst_error err = {0};
    nst_image *image = nst_image_load(path, &err);
    CHECK(image && image->width == width && image->height == height, "%s: %s %d x %d", path, err.message,
          image ? image->width : 0, image ? image->height : 0);
    nst_image_free(image);
}

static void test_zero_iterations(void)
{
    const char *args[] = {"--content", content_png, "--style", style_jpg, "--output", output_png, "--size", "32",
                          "--iterations", "0", "--log", log_path, NULL};
    remove(output_png);
    int status = run_nst(args, NULL);
    CHECK(status == 0, "--iterations 0: exit %d: %s", status, read_file(stderr_path));
    check_picture(output_png, 32, 24); /* the content is 64 x 48 */
    CHECK(strstr(read_file(stderr_path), "iteration 0/0"), "no progress line on stderr: %s", read_file(stderr_path));
    const char *log = read_file(log_path);
    CHECK(count_lines(log) == 1, "--iterations 0 logged %d lines: %s", count_lines(log), log);
    const char *start = "{\"eval\":0,\"iter\":0,\"stage\":0,\"content\":";
    CHECK(strncmp(log, start, strlen(start)) == 0, "log line: %s", log);
    static const char *const keys[] = {"\"style\":", "\"tv\":", "\"total\":", "\"seconds\":"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        CHECK(strstr(log, keys[i]), "log line lacks %s: %s", keys[i], log);
    CHECK(strlen(log) > 2 && strcmp(log + strlen(log) - 2, "}\n") == 0, "log line not closed: %s", log);
}

static void test_quiet_jpeg_and_save_every(void)
{
    char output_jpg[600], first[600], second[600];
    make_path(output_jpg, "run.jpg");
    make_path(first, "run-0001.jpg");
    make_path(second, "run-0002.jpg");
    const char *args[] = {"--content", content_png, "--style", style_jpg, "--output", output_jpg, "--size", "40",
                          "--iterations", "2", "--save-every", "1", "--quiet", "--log", log_path, NULL};
    int status = run_nst(args, NULL);
    CHECK(status == 0, "2 iterations: exit %d: %s", status, read_file(stderr_path));
    CHECK(read_file(stderr_path)[0] == '\0', "--quiet printed: %s", read_file(stderr_path));
    check_picture(output_jpg, 40, 30);
    check_picture(first, 40, 30);
    check_picture(second, 40, 30);
    const char *log = read_file(log_path);
    CHECK(count_lines(log) >= 3, "2 iterations logged only %d evaluations", count_lines(log));
}

static void test_interrupt(void)
{
    remove(output_png);
    remove(log_path);
    const char *args[] = {"--content", content_png, "--style", style_jpg, "--output", output_png, "--size", "48",
                          "--iterations", "1000000", "--log", log_path, NULL};
    pid_t pid = start_nst(args, NULL);
    /* Interrupt once the optimisation is under way (two evaluations logged). */
    for (int i = 0; i < 3000 && count_lines(read_file(log_path)) < 2; i++)
        usleep(10000);
    kill(pid, SIGINT);
    int status = wait_nst(pid);
    CHECK(status == 130, "SIGINT: exit %d, want 130: %s", status, read_file(stderr_path));
    CHECK(strstr(read_file(stderr_path), "nst: interrupted"), "%s", read_file(stderr_path));
    CHECK(!file_exists(output_png), "an interrupted run wrote its output");
}

/* Values the options accept must run: --max-memory 0 (= the available
 * memory, as the help says; it was refused) and the smallest style scale
 * (its first stage's style picture was too small for the net). */
static void test_accepted_extremes(void)
{
    const char *args[] = {"--content", content_png, "--style", style_jpg, "--output", output_png, "--size", "64",
                          "--iterations", "2", "--max-memory", "0", "--style-scale", "0.05", "--quiet", NULL};
    remove(output_png);
    int status = run_nst(args, NULL);
    CHECK(status == 0, "--max-memory 0 --style-scale 0.05: exit %d: %s", status, read_file(stderr_path));
    check_picture(output_png, 64, 48);
}

/* A style file whose name holds a comma: taken whole when it exists, and
 * written "\," inside a list. */
static void test_style_names_with_commas(void)
{
    char comma_jpg[600], listed[1300];
    make_path(comma_jpg, "a,b.jpg");
    FILE *in = fopen(style_jpg, "rb"), *out = fopen(comma_jpg, "wb");
    char buf[4096];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    if (in)
        fclose(in);
    CHECK(out && fclose(out) == 0, "cannot copy the style to %s", comma_jpg);
    const char *whole[] = {"--content", content_png, "--style", comma_jpg, "--output", output_png, "--size", "32",
                           "--iterations", "0", "--quiet", NULL};
    int status = run_nst(whole, NULL);
    CHECK(status == 0, "--style 'a,b.jpg': exit %d: %s", status, read_file(stderr_path));
    snprintf(listed, sizeof listed, "%s,%s/a\\,b.jpg", style_jpg, tmp_dir);
    const char *list[] = {"--content", content_png, "--style", listed, "--output", output_png, "--size", "32",
                          "--iterations", "0", "--style-blend", "1,3", "--quiet", NULL};
    status = run_nst(list, NULL);
    CHECK(status == 0, "--style '%s': exit %d: %s", listed, status, read_file(stderr_path));
}

/* A disk that fills up at the end of a run: a real tmpfs of 96 KiB, almost
 * full, holding the user's good output.  The run must fail with exit 1,
 * leave that file byte for byte, and keep the result elsewhere ($TMPDIR),
 * saying where.  Needs root for the mount (CI runs as root). */
static void test_disk_full_keeps_both(void)
{
    char small[600], out[700], filler[700], rescue_dir[600], good[4096];
    make_path(small, "small-disk");
    make_path(rescue_dir, "rescue");
    snprintf(out, sizeof out, "%s/out.png", small);
    snprintf(filler, sizeof filler, "%s/filler", small);
    if (geteuid() != 0) {
        printf("disk-full test skipped: mounting a tmpfs needs root\n");
        return;
    }
    CHECK(mkdir(small, 0755) == 0 && mkdir(rescue_dir, 0755) == 0, "mkdir");
    char command[2200];
    snprintf(command, sizeof command, "mount -t tmpfs -o size=96k nst-test '%s'", small);
    CHECK(system(command) == 0, "cannot mount a tmpfs on %s", small);
    snprintf(good, sizeof good, "a good picture the user made yesterday");
    FILE *f = fopen(out, "w");
    CHECK(f && fputs(good, f) >= 0 && fclose(f) == 0, "%s", out);
    /* Fill the disk (dd stops at "no space"), then free 2 KiB: the 64x48
     * result needs more than that. */
    snprintf(command, sizeof command,
             "dd if=/dev/zero of='%s' bs=1k count=200 2>/dev/null; truncate -s -2k '%s'", filler, filler);
    CHECK(system(command) == 0, "cannot fill %s", small);
    const char *args[] = {"--content", content_png, "--style", style_jpg, "--output", out, "--size", "64",
                          "--iterations", "2", "--quiet", NULL};
    setenv("TMPDIR", rescue_dir, 1);
    int status = run_nst(args, NULL);
    unsetenv("TMPDIR");
    const char *err = read_file(stderr_path);
    CHECK(status == 1, "disk full: exit %d, want 1: %s", status, err);
    CHECK(strstr(err, "No space left on device") && strstr(err, "the result was kept in"), "disk full: %s", err);
    CHECK(strcmp(read_file(out), good) == 0, "disk full: the existing output was changed");
    char rescued[700];
    snprintf(rescued, sizeof rescued, "%s/", rescue_dir);
    const char *kept = strstr(err, rescued);
    if (kept) {
        snprintf(rescued, sizeof rescued, "%.*s", (int)strcspn(kept, "\n"), kept);
        check_picture(rescued, 64, 48);
    }
    snprintf(command, sizeof command, "umount '%s'", small);
    CHECK(system(command) == 0, "umount %s", small);
}

static void test_unknown_layer(void)
{
    expect_failure("unknown style layer", (const char *const[]){"--style-layers", "conv1,nope", NULL}, 2, "'nope'",
                   NULL);
}

static void make_pictures(void)
{
    nst_image *content = nst_image_new(64, 48, NULL);
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++) {
            float *p = content->rgb + ((size_t)y * 64 + x) * 3;
            p[0] = x / 63.0f;
            p[1] = y / 47.0f;
            p[2] = (x + y) % 8 < 4 ? 0.2f : 0.8f;
        }
    nst_image *style = nst_image_new(80, 80, NULL);
    test_fill_uniform(style->rgb, 80 * 80 * 3, 9, 0.0f, 1.0f);
    nst_error err = {0};
    CHECK(nst_image_save(content, content_png, &err) == NST_OK, "%s", err.message);
    CHECK(nst_image_save(style, style_jpg, &err) == NST_OK, "%s", err.message);
    nst_image_free(style);
    nst_image_free(content);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-nst\n", argv[0]);
        return 2;
    }
    nst_path = argv[1];
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    make_path(content_png, "content.png");
    make_path(style_jpg, "style.jpg");
    make_path(output_png, "out.png");
    make_path(log_path, "log.jsonl");
    make_path(stderr_path, "stderr.txt");
    make_pictures();

    test_argument_errors();
    test_runtime_errors();
    test_output_checked_first();
    test_style_masks();
    test_help_and_version();
    if (model_available()) {
        test_zero_iterations();
        test_quiet_jpeg_and_save_every();
        test_interrupt();
        test_unknown_layer();
        test_accepted_extremes();
        test_style_names_with_commas();
        test_disk_full_keeps_both();
    } else {
        printf("model runs skipped: no %s\n", test_model_file("squeezenet1.1"));
    }
    char command[700];
    snprintf(command, sizeof command, "rm -rf '%s'", tmp_dir);
    if (system(command) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_dir);
    return test_finish("cli");
}
