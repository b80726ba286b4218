/* Device settings and listings (gpu/devices.h). */
#include "gpu/devices.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

#ifdef NST_HAVE_VULKAN
#include "gpu/vk.h"
#endif

const char *nst_device_kind_name(nst_device_kind kind)
{
    static const char *const names[NST_DEVICE_KIND_COUNT] = {"discrete", "integrated", "virtual", "cpu", "other"};
    return (unsigned)kind < NST_DEVICE_KIND_COUNT ? names[kind] : "unknown";
}

int nst_device_backend_built(void)
{
#ifdef NST_HAVE_VULKAN
    return 1;
#else
    return 0;
#endif
}

nst_status nst_device_list(nst_device_info *devices, int max, int *count, nst_error *err)
{
    *count = 0;
    if (max < 0 || (max > 0 && !devices))
        return nst_error_set(err, NST_ERR_INVALID, "nst_device_list: no room for the devices");
#ifdef NST_HAVE_VULKAN
    int no_driver;
    nst_vk *vk = nst_vk_new(&no_driver, err);
    if (!vk)
        return no_driver ? NST_OK : (err ? err->code : NST_ERR_DEVICE);
    nst_status s = nst_vk_devices(vk, devices, NULL, max, count, err);
    nst_vk_free(vk);
    return s;
#else
    return nst_error_set(err, NST_ERR_DEVICE, "this build of nst-core has no GPU backend (built without Vulkan)");
#endif
}

int nst_device_auto_pick(const nst_device_info *devices, int count)
{
    static const nst_device_kind preference[] = {NST_DEVICE_DISCRETE, NST_DEVICE_INTEGRATED, NST_DEVICE_VIRTUAL};
    for (size_t p = 0; p < sizeof preference / sizeof *preference; p++)
        for (int i = 0; i < count; i++)
            if (devices[i].usable && devices[i].kind == preference[p])
                return i;
    return -1;
}

nst_status nst_device_setting_parse(const char *text, nst_device_setting *setting, int *index, nst_error *err)
{
    *index = -1;
    if (!text || !*text || strcmp(text, "auto") == 0) {
        *setting = NST_DEVICE_SETTING_AUTO;
        return NST_OK;
    }
    if (strcmp(text, "cpu") == 0 || strcmp(text, "gpu") == 0) {
        *setting = text[0] == 'c' ? NST_DEVICE_SETTING_CPU : NST_DEVICE_SETTING_GPU;
        return NST_OK;
    }
    if (strncmp(text, "gpu:", 4) == 0 && isdigit((unsigned char)text[4])) {
        char *end;
        errno = 0;
        long n = strtol(text + 4, &end, 10);
        if (!*end && errno == 0 && n < NST_MAX_DEVICES) {
            *setting = NST_DEVICE_SETTING_GPU_N;
            *index = (int)n;
            return NST_OK;
        }
    }
    return nst_error_set(err, NST_ERR_INVALID, "device '%s': use auto, cpu, gpu or gpu:N (N from 0 to %d)", text,
                         NST_MAX_DEVICES - 1);
}

nst_status nst_device_setting_check(const char *setting, nst_error *err)
{
    nst_device_setting s;
    int index;
    return nst_device_setting_parse(setting, &s, &index, err);
}

/* "0 llvmpipe (cpu), 1 ..." for messages. */
static void describe_list(const nst_device_info *devices, int count, char *out, size_t size)
{
    out[0] = '\0';
    for (int i = 0; i < count; i++) {
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%sgpu:%d %s (%s)", i ? ", " : "", i, devices[i].name,
                 nst_device_kind_name(devices[i].kind));
    }
}

/* auto: the device nst_device_auto_pick names, else the CPU with the
 * reason in choice->reason (never an error: auto always runs). */
static void resolve_auto(nst_device_choice *choice)
{
    nst_device_info devices[NST_MAX_DEVICES];
    int count = 0;
    nst_error why = {0};
    if (nst_device_list(devices, NST_MAX_DEVICES, &count, &why) != NST_OK) {
        snprintf(choice->reason, sizeof choice->reason, "no usable GPU: %.140s", why.message);
        return;
    }
    int pick = nst_device_auto_pick(devices, count);
    /* Tests only: lets auto take a software device (lavapipe), so what auto
     * does when its GPU fails can be tested where there is no GPU. */
    const char *software = getenv("NST_AUTO_TAKES_SOFTWARE");
    for (int i = 0; pick < 0 && software && *software == '1' && i < count; i++)
        pick = devices[i].usable ? i : -1;
    if (pick < 0) {
        snprintf(choice->reason, sizeof choice->reason, "%s",
                 count ? "no usable GPU: only a software Vulkan device" : "no usable GPU: no Vulkan device found");
        return;
    }
    choice->on_gpu = 1;
    choice->gpu = devices[pick];
}

nst_status nst_device_resolve(const char *text, nst_device_choice *choice, nst_error *err)
{
    memset(choice, 0, sizeof *choice);
    nst_device_setting setting;
    int index;
    nst_status s = nst_device_setting_parse(text, &setting, &index, err);
    if (s != NST_OK || setting == NST_DEVICE_SETTING_CPU)
        return s;
    if (setting == NST_DEVICE_SETTING_AUTO) {
        resolve_auto(choice);
        return NST_OK;
    }
    nst_device_info devices[NST_MAX_DEVICES];
    int count = 0;
    if ((s = nst_device_list(devices, NST_MAX_DEVICES, &count, err)) != NST_OK) {
        nst_error_prefix(err, "device %s: ", text);
        return s;
    }
    char list[1024];
    describe_list(devices, count, list, sizeof list);
    if (setting == NST_DEVICE_SETTING_GPU) {
        index = nst_device_auto_pick(devices, count);
        if (index < 0)
            return nst_error_set(err, NST_ERR_DEVICE,
                                 count ? "device gpu: no usable GPU (devices: %s; a software device must be named as gpu:N)"
                                       : "device gpu: no Vulkan device found%s",
                                 list);
    } else if (index >= count) {
        return nst_error_set(err, NST_ERR_DEVICE, count ? "device %s: there is no such device (devices: %s)"
                                                        : "device %s: no Vulkan device found%s",
                             text, list);
    } else if (!devices[index].usable) {
        return nst_error_set(err, NST_ERR_DEVICE, "device %s (%s) cannot run the backend's compute shaders", text,
                             devices[index].name);
    }
    choice->on_gpu = 1;
    choice->gpu = devices[index];
    return NST_OK;
}
