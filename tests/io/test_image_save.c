/* nst_image_save never loses a good file: a write that fails part-way (a
 * file-size limit stands in for a full disk) or a process killed mid-write
 * leaves the existing picture byte for byte as it was and no temporary
 * behind; targets that cannot be written are refused before any work, by
 * nst_image_check_writable as by nst_image_save; permissions follow what
 * writing into the file would have given. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io_test_files.h"
#include "nst/nst.h"
#include "test_util.h"

static const char *scratch(const char *name)
{
    static char buf[4][4200];
    static int next;
    char *out = buf[next++ % 4];
    snprintf(out, sizeof buf[0], "%s/%s", io_scratch_dir(), name);
    return out;
}

static nst_image *noise_image(int width, int height)
{
    nst_image *image = nst_image_new(width, height, NULL);
    test_fill_uniform(image->rgb, (size_t)width * height * 3, 3, 0.0f, 1.0f);
    return image;
}

static int same_bytes(const char *path, const uint8_t *bytes, size_t size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    uint8_t *got = malloc(size + 1);
    size_t n = fread(got, 1, size + 1, f);
    fclose(f);
    int same = n == size && memcmp(got, bytes, size) == 0;
    free(got);
    return same;
}

/* Counts (and with `remove`, deletes) the hidden files of `folder`: the
 * only place a temporary can be. */
static int hidden_files(const char *folder, int remove)
{
    DIR *dir = opendir(folder);
    int count = 0;
    char path[8400];
    for (struct dirent *e; dir && (e = readdir(dir));)
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            count++;
            snprintf(path, sizeof path, "%s/%s", folder, e->d_name);
            if (remove)
                unlink(path);
        }
    if (dir)
        closedir(dir);
    return count;
}

/* Saves in a child whose files may not grow beyond `limit` bytes.  With
 * `killed`, SIGXFSZ keeps its default action and kills the child mid-write;
 * otherwise the write fails with EFBIG, as it would with ENOSPC.  Returns the
 * child's exit status or -signal; its error message lands in `message`. */
static int save_limited(const nst_image *image, const char *path, rlim_t limit, int killed, char *message,
                        size_t size)
{
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0)
        return -1000;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(pipe_fds[0]);
        struct rlimit no_core = {0, 0}, small = {limit, limit};
        setrlimit(RLIMIT_CORE, &no_core);
        signal(SIGXFSZ, killed ? SIG_DFL : SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &small);
        nst_error err = {0};
        nst_status status = nst_image_save(image, path, &err);
        ssize_t written = write(pipe_fds[1], err.message, strlen(err.message));
        (void)written;
        _exit(status == NST_OK ? 0 : 1);
    }
    close(pipe_fds[1]);
    ssize_t n = read(pipe_fds[0], message, size - 1);
    message[n > 0 ? n : 0] = '\0';
    close(pipe_fds[0]);
    int wstatus = 0;
    if (pid < 0 || waitpid(pid, &wstatus, 0) != pid)
        return -1000;
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -WTERMSIG(wstatus);
}

static uint8_t *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = malloc(1 << 22);
    *size = f ? fread(data, 1, 1 << 22, f) : 0;
    if (f)
        fclose(f);
    return data;
}

static void test_failed_writes_keep_the_old_file(void)
{
    nst_error err = {0};
    nst_image *small = noise_image(32, 24), *big = noise_image(400, 300); /* noise: ~360 KB as PNG */
    const char *formats[] = {"good.png", "good.jpg"};
    for (int k = 0; k < 2; k++) {
        const char *path = scratch(formats[k]);
        CHECK(nst_image_save(small, path, &err) == NST_OK, "%s: %s", path, err.message);
        size_t size = 0;
        uint8_t *before = read_all(path, &size);
        char message[1024];

        /* The write fails part-way: a clear message, the old file intact, no temporary left. */
        int status = save_limited(big, path, 64 << 10, 0, message, sizeof message);
        CHECK(status == 1, "%s: save under a 64 KiB file limit returned %d (%s)", path, status, message);
        CHECK(strstr(message, path) && strstr(message, strerror(EFBIG)) &&
                  strstr(message, "the existing file was kept unchanged"),
              "%s: message \"%s\"", path, message);
        CHECK(same_bytes(path, before, size), "%s: the existing file changed after a failed save", path);
        CHECK(hidden_files(io_scratch_dir(), 0) == 0, "%s: a temporary file was left behind", path);

        /* Killed mid-write: the old file intact (the temporary may stay, hidden). */
        status = save_limited(big, path, 64 << 10, 1, message, sizeof message);
        CHECK(status == -SIGXFSZ, "%s: the writer was not killed (%d: %s)", path, status, message);
        CHECK(same_bytes(path, before, size), "%s: the existing file changed when the writer was killed", path);
        hidden_files(io_scratch_dir(), 1);

        /* A new file that cannot be written: nothing at all is left. */
        const char *fresh = scratch(k == 0 ? "fresh.png" : "fresh.jpg");
        status = save_limited(big, fresh, 64 << 10, 0, message, sizeof message);
        CHECK(status == 1 && strstr(message, "nothing was written"), "%s: %d %s", fresh, status, message);
        CHECK(access(fresh, F_OK) != 0 && hidden_files(io_scratch_dir(), 0) == 0, "%s: files left behind", fresh);

        /* And with room, the new picture replaces the old one. */
        CHECK(nst_image_save(big, path, &err) == NST_OK, "%s: %s", path, err.message);
        nst_image *back = nst_image_load(path, &err);
        CHECK(back && back->width == 400, "%s after a good save: %s", path, err.message);
        nst_image_free(back);
        free(before);
    }
    nst_image_free(small);
    nst_image_free(big);
}

static void expect_refused(const char *what, const char *path, nst_status code, const char *fragment)
{
    nst_error err = {0};
    nst_status status = nst_image_check_writable(path, &err);
    io_check_error(what, status, &err, code, path, fragment, (const char *)NULL);
    nst_image *image = nst_image_new(4, 4, NULL);
    status = nst_image_save(image, path, &err);
    io_check_error(what, status, &err, code, path, fragment, (const char *)NULL);
    nst_image_free(image);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_mode & 07777 : 0;
}

static void test_refused_targets(void)
{
    nst_error err = {0};
    nst_image *image = nst_image_new(4, 4, NULL);
    expect_refused("no extension", scratch("picture"), NST_ERR_INVALID, "unknown picture format");
    expect_refused(".bmp", scratch("picture.bmp"), NST_ERR_INVALID, "unknown picture format");
    expect_refused("only an extension", scratch(".png"), NST_ERR_INVALID, "nothing before its extension");
    expect_refused("only an extension", ".JPEG", NST_ERR_INVALID, "nothing before its extension");
    expect_refused("missing folder", scratch("no-such-folder/out.png"), NST_ERR_IO, "No such file or directory");
    expect_refused("folder", io_scratch_dir(), NST_ERR_INVALID, "unknown picture format");
    CHECK(mkdir(scratch("folder.png"), 0755) == 0, "mkdir");
    expect_refused("folder named .png", scratch("folder.png"), NST_ERR_IO, "is a folder");
    CHECK(mkfifo(scratch("fifo.png"), 0600) == 0, "mkfifo");
    alarm(10); /* opening a FIFO for writing waits for a reader: a hang becomes a failure */
    expect_refused("FIFO", scratch("fifo.png"), NST_ERR_IO, "special file");
    alarm(0);
    CHECK(symlink("/dev/null", scratch("device.png")) == 0, "symlink");
    expect_refused("device", scratch("device.png"), NST_ERR_IO, "special file");

    /* A read-only picture is not replaced, even by root (for whom access() allows it). */
    const char *locked = scratch("locked.png");
    CHECK(nst_image_save(image, locked, &err) == NST_OK, "%s", err.message);
    size_t size = 0;
    uint8_t *before = read_all(locked, &size);
    chmod(locked, 0444);
    expect_refused("read-only file", locked, NST_ERR_IO, "cannot overwrite the existing file");
    CHECK(same_bytes(locked, before, size) && mode_of(locked) == 0444, "the read-only file changed");
    free(before);

    CHECK(nst_image_check_writable(scratch(".hidden.png"), &err) == NST_OK, ".hidden.png: %s", err.message);
    CHECK(nst_image_check_writable(scratch("UPPER.JPG"), &err) == NST_OK, "UPPER.JPG: %s", err.message);
    CHECK(access(scratch(".hidden.png"), F_OK) != 0, "nst_image_check_writable wrote a file");
    if (geteuid() != 0) { /* root may write into any folder */
        CHECK(mkdir(scratch("closed"), 0555) == 0, "mkdir closed");
        expect_refused("folder without write permission", scratch("closed/out.png"), NST_ERR_IO,
                       "cannot create files in folder");
    }
    nst_image_free(image);
}

static void test_permissions_and_links(void)
{
    nst_error err = {0};
    nst_image *image = nst_image_new(8, 8, NULL);
    mode_t old_umask = umask(027);
    const char *fresh = scratch("umask.png");
    CHECK(nst_image_save(image, fresh, &err) == NST_OK, "%s", err.message);
    CHECK(mode_of(fresh) == 0640, "new file has mode %o, want 0640 (0666 & ~umask 027)", mode_of(fresh));
    umask(old_umask);

    /* Replacing a file keeps its permissions, as writing into it would. */
    const char *private = scratch("private.png");
    CHECK(nst_image_save(image, private, &err) == NST_OK, "%s", err.message);
    chmod(private, 0600);
    CHECK(nst_image_save(image, private, &err) == NST_OK && mode_of(private) == 0600,
          "replaced file has mode %o, want 0600: %s", mode_of(private), err.message);

    /* Through a symbolic link the file it points to is replaced, and the link stays. */
    const char *target = scratch("target.png"), *link = scratch("link.png");
    CHECK(nst_image_save(image, target, &err) == NST_OK, "%s", err.message);
    CHECK(symlink("target.png", link) == 0, "symlink");
    nst_image *bigger = nst_image_new(16, 8, NULL);
    CHECK(nst_image_save(bigger, link, &err) == NST_OK, "through a link: %s", err.message);
    struct stat st;
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced by a file");
    nst_image *back = nst_image_load(target, &err);
    CHECK(back && back->width == 16, "the link's target was not written: %s", err.message);
    nst_image_free(back);
    nst_image_free(bigger);
    nst_image_free(image);
}

int main(void)
{
    test_failed_writes_keep_the_old_file();
    test_refused_targets();
    test_permissions_and_links();
    io_scratch_cleanup();
    return test_finish("test_image_save");
}
