/* libFuzzer target: nst_safetensors_parse on arbitrary bytes, then every
 * tensor read back.  Traps when a result breaks the reader's promises. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "io/weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nst_error err = {0};
    nst_safetensors *st = nst_safetensors_parse(data, size, "fuzz.safetensors", &err);
    if (!st) {
        if (err.code == NST_OK || !err.message[0])
            abort();
        return 0;
    }
    for (int i = 0; i < nst_safetensors_count(st); i++) {
        nst_array array;
        nst_status status = nst_safetensors_get(st, nst_safetensors_name(st, i), &array, &err);
        if (status == NST_ERR_NOT_FOUND || (status != NST_OK && array.data))
            abort();
        if (status == NST_OK && array.count > size) /* at least one input byte per element */
            abort();
        for (size_t k = 0; status == NST_OK && k < array.count; k++) /* NaN and infinities are refused */
            if (!isfinite(array.data[k]))
                abort();
        nst_array_clear(&array);
    }
    nst_safetensors_free(st);
    return 0;
}
