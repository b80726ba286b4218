/* Device settings and listings (nst_device_* in nst/nst.h), in every build:
 * without the Vulkan backend the listing says the build has none. */
#ifndef NST_GPU_DEVICES_H
#define NST_GPU_DEVICES_H

#include "nst/nst.h"

/* A parsed setting: NST_DEVICE_SETTING_GPU_N carries its index. */
typedef enum nst_device_setting {
    NST_DEVICE_SETTING_AUTO,
    NST_DEVICE_SETTING_CPU,
    NST_DEVICE_SETTING_GPU,
    NST_DEVICE_SETTING_GPU_N,
} nst_device_setting;

nst_status nst_device_setting_parse(const char *text, nst_device_setting *setting, int *index, nst_error *err);

#endif
