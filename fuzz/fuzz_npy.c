/* libFuzzer target: nst_npy_parse on arbitrary bytes.  Besides crashes and
 * sanitizer reports it traps when a result breaks the reader's promises. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "io/weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nst_array array;
    nst_error err = {0};
    if (nst_npy_parse(data, size, "fuzz.npy", &array, &err) != NST_OK) {
        if (array.data || err.code == NST_OK || !err.message[0])
            abort();
        return 0;
    }
    size_t count = 1;
    for (int i = 0; i < array.ndim; i++)
        count *= (size_t)array.shape[i];
    /* The data came from the input, so it can never be larger than a float per input byte. */
    if (count != array.count || count > size)
        abort();
    for (size_t i = 0; i < array.count; i++) /* NaN and infinities are refused */
        if (!isfinite(array.data[i]))
            abort();
    nst_array_clear(&array);
    return 0;
}
