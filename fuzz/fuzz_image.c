/* libFuzzer target: nst_image_load_bounded on arbitrary bytes (PNG, JPEG or
 * neither), through a real file as the front ends load pictures.  The bound
 * is small (2 MiB), so a header that declares a huge picture must be refused rather
 * than allocated (libFuzzer's malloc limit would report the allocation).
 * Traps when a result breaks the loader's promises.  The file is a memfd
 * (/proc/self/fd/N): rewriting a file on disk for every input is 7x slower. */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nst/nst.h"

#define FUZZ_MAX_BYTES ((size_t)2 << 20) /* ~150k px: decodes stay fast */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static int fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fd = memfd_create("fuzz-image", MFD_CLOEXEC);
    if (fd < 0) {
        perror("memfd_create");
        abort();
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
        abort();
    nst_error err = {0};
    nst_image *image = nst_image_load_bounded(path, FUZZ_MAX_BYTES, &err);
    if (!image) {
        if (err.code == NST_OK || !err.message[0] || !strstr(err.message, path))
            abort();
        return 0;
    }
    size_t floats = (size_t)image->width * (size_t)image->height * 3;
    if (image->width <= 0 || image->height <= 0 || floats * sizeof(float) > FUZZ_MAX_BYTES)
        abort();
    for (size_t i = 0; i < floats; i++)
        if (!(image->rgb[i] >= 0.0f && image->rgb[i] <= 1.0f))
            abort();
    nst_image_free(image);
    return 0;
}
