/* The Vulkan runtime: loader, devices, buffers, submission (gpu/vk.h). */
#include "gpu/vk.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/kernels.h"

const char *nst_vk_result_name(VkResult result)
{
    switch (result) {
#define NST_VK_CASE(r)                                                                                             \
    case r: return #r;
        NST_VK_CASE(VK_SUCCESS)
        NST_VK_CASE(VK_NOT_READY)
        NST_VK_CASE(VK_TIMEOUT)
        NST_VK_CASE(VK_INCOMPLETE)
        NST_VK_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
        NST_VK_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
        NST_VK_CASE(VK_ERROR_INITIALIZATION_FAILED)
        NST_VK_CASE(VK_ERROR_DEVICE_LOST)
        NST_VK_CASE(VK_ERROR_MEMORY_MAP_FAILED)
        NST_VK_CASE(VK_ERROR_LAYER_NOT_PRESENT)
        NST_VK_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
        NST_VK_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
        NST_VK_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
        NST_VK_CASE(VK_ERROR_TOO_MANY_OBJECTS)
        NST_VK_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
#undef NST_VK_CASE
    default: return "VkResult error";
    }
}

nst_status nst_vk_check(VkResult result, const char *what, nst_error *err)
{
    if (result == VK_SUCCESS)
        return NST_OK;
    nst_status code = (result == VK_ERROR_OUT_OF_HOST_MEMORY || result == VK_ERROR_OUT_OF_DEVICE_MEMORY)
                          ? NST_ERR_NOMEM
                          : NST_ERR_DEVICE;
    return nst_error_set(err, code, "%s: %s (%d)", what, nst_vk_result_name(result), (int)result);
}

/* ---- loader and instance ---- */

void nst_vk_free(nst_vk *vk)
{
    if (!vk)
        return;
    if (vk->instance && vk->vkDestroyInstance)
        vk->vkDestroyInstance(vk->instance, NULL);
    if (vk->library)
        dlclose(vk->library);
    free(vk);
}

nst_vk *nst_vk_new(int *no_driver, nst_error *err)
{
    *no_driver = 0;
    const char *name = getenv("NST_VULKAN_LIBRARY");
    if (!name || !*name)
        name = "libvulkan.so.1";
    nst_vk *vk = nst_alloc_zero(1, sizeof *vk, "the Vulkan instance", err);
    if (!vk)
        return NULL;
    vk->library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!vk->library) {
        nst_error_set(err, NST_ERR_DEVICE,
                      "no Vulkan loader: cannot open %s (%s); install libvulkan1 and a driver (Debian: "
                      "mesa-vulkan-drivers or the GPU vendor's)",
                      name, dlerror());
        nst_vk_free(vk);
        return NULL;
    }
    PFN_vkGetInstanceProcAddr get = (PFN_vkGetInstanceProcAddr)(void (*)(void))dlsym(vk->library,
                                                                                    "vkGetInstanceProcAddr");
    PFN_vkCreateInstance create = get ? (PFN_vkCreateInstance)get(NULL, "vkCreateInstance") : NULL;
    PFN_vkEnumerateInstanceVersion version =
        get ? (PFN_vkEnumerateInstanceVersion)get(NULL, "vkEnumerateInstanceVersion") : NULL;
    if (!create) {
        nst_error_set(err, NST_ERR_DEVICE, "%s is not a Vulkan loader (no vkGetInstanceProcAddr)", name);
        nst_vk_free(vk);
        return NULL;
    }
    /* 1.1 for vkGetPhysicalDeviceMemoryProperties2 (the memory budget). */
    vk->api_version = VK_API_VERSION_1_0;
    uint32_t loader_version = 0;
    if (version && version(&loader_version) == VK_SUCCESS && loader_version >= VK_API_VERSION_1_1)
        vk->api_version = VK_API_VERSION_1_1;
    VkApplicationInfo app = {VK_STRUCTURE_TYPE_APPLICATION_INFO, NULL, "gimp-neural-style", 1, "nst-core", 1,
                             vk->api_version};
    VkInstanceCreateInfo info = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, NULL, 0, &app, 0, NULL, 0, NULL};
    VkResult r = create(&info, NULL, &vk->instance);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER) {
        *no_driver = 1;
        nst_error_set(err, NST_ERR_DEVICE, "no Vulkan driver: the loader (%s) found none", name);
        nst_vk_free(vk);
        return NULL;
    }
    if (nst_vk_check(r, "creating the Vulkan instance", err) != NST_OK) {
        vk->instance = VK_NULL_HANDLE;
        nst_vk_free(vk);
        return NULL;
    }
#define NST_VK_LOAD(fn) vk->fn = (PFN_##fn)get(vk->instance, #fn);
    NST_VK_INSTANCE_FUNCTIONS(NST_VK_LOAD)
#undef NST_VK_LOAD
#define NST_VK_REQUIRE(fn)                                                                                         \
    if (!vk->fn && strcmp(#fn, "vkGetPhysicalDeviceMemoryProperties2") != 0) {                                     \
        nst_error_set(err, NST_ERR_DEVICE, "the Vulkan loader %s lacks %s", name, #fn);                            \
        nst_vk_free(vk);                                                                                           \
        return NULL;                                                                                               \
    }
    NST_VK_INSTANCE_FUNCTIONS(NST_VK_REQUIRE)
#undef NST_VK_REQUIRE
    return vk;
}

/* ---- devices ---- */

static nst_device_kind kind_of(VkPhysicalDeviceType type)
{
    switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return NST_DEVICE_DISCRETE;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return NST_DEVICE_INTEGRATED;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return NST_DEVICE_VIRTUAL;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return NST_DEVICE_CPU;
    default: return NST_DEVICE_OTHER;
    }
}

static int has_extension(nst_vk *vk, VkPhysicalDevice device, const char *name)
{
    uint32_t n = 0;
    if (vk->vkEnumerateDeviceExtensionProperties(device, NULL, &n, NULL) != VK_SUCCESS || n == 0)
        return 0;
    VkExtensionProperties *list = calloc(n, sizeof *list);
    int found = 0;
    if (list && vk->vkEnumerateDeviceExtensionProperties(device, NULL, &n, list) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(list[i].extensionName, name) == 0;
    free(list);
    return found;
}

/* The first queue family that runs compute, or -1. */
static int compute_family(nst_vk *vk, VkPhysicalDevice device)
{
    VkQueueFamilyProperties families[32];
    uint32_t n = 32;
    vk->vkGetPhysicalDeviceQueueFamilyProperties(device, &n, families);
    for (uint32_t i = 0; i < n; i++)
        if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
            return (int)i;
    return -1;
}

static void describe(nst_vk *vk, VkPhysicalDevice device, int index, nst_device_info *info)
{
    VkPhysicalDeviceProperties p;
    vk->vkGetPhysicalDeviceProperties(device, &p);
    memset(info, 0, sizeof *info);
    info->index = index;
    snprintf(info->name, sizeof info->name, "%s", p.deviceName);
    info->kind = kind_of(p.deviceType);
    info->vendor_id = p.vendorID;
    info->device_id = p.deviceID;
    info->api_version = p.apiVersion;
    /* The shaders use 16x16 workgroups and 128 bytes of push constants. */
    info->usable = compute_family(vk, device) >= 0 && p.limits.maxComputeWorkGroupInvocations >= 256 &&
                   p.limits.maxPushConstantsSize >= 128;
    VkPhysicalDeviceMemoryBudgetPropertiesEXT budget = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    VkPhysicalDeviceMemoryProperties2 props2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2,
                                                .pNext = &budget};
    int with_budget = vk->vkGetPhysicalDeviceMemoryProperties2 && vk->api_version >= VK_API_VERSION_1_1 &&
                      p.apiVersion >= VK_API_VERSION_1_1 && has_extension(vk, device, "VK_EXT_memory_budget");
    VkPhysicalDeviceMemoryProperties *mem = &props2.memoryProperties;
    if (with_budget)
        vk->vkGetPhysicalDeviceMemoryProperties2(device, &props2);
    else
        vk->vkGetPhysicalDeviceMemoryProperties(device, mem);
    for (uint32_t h = 0; h < mem->memoryHeapCount; h++) {
        if (!(mem->memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT))
            continue;
        info->local_bytes += mem->memoryHeaps[h].size;
        if (with_budget)
            info->budget_bytes += budget.heapBudget[h] > budget.heapUsage[h]
                                      ? budget.heapBudget[h] - budget.heapUsage[h]
                                      : 0;
    }
}

nst_status nst_vk_devices(nst_vk *vk, nst_device_info *out, VkPhysicalDevice *handles, int max, int *count,
                          nst_error *err)
{
    VkPhysicalDevice list[NST_MAX_DEVICES];
    uint32_t n = NST_MAX_DEVICES;
    VkResult r = vk->vkEnumeratePhysicalDevices(vk->instance, &n, list);
    if (r != VK_INCOMPLETE && nst_vk_check(r, "listing the Vulkan devices", err) != NST_OK)
        return err ? err->code : NST_ERR_DEVICE;
    *count = 0;
    for (uint32_t i = 0; i < n && (int)i < max; i++) {
        if (out)
            describe(vk, list[i], (int)i, &out[i]);
        if (handles)
            handles[i] = list[i];
        (*count)++;
    }
    return NST_OK;
}

/* ---- one device ---- */

/* The first memory type allowed by `bits` with all of `want`, or -1. */
static int memory_type(const VkPhysicalDeviceMemoryProperties *mem, uint32_t bits, VkMemoryPropertyFlags want)
{
    for (uint32_t i = 0; i < mem->memoryTypeCount; i++)
        if ((bits & (1u << i)) && (mem->memoryTypes[i].propertyFlags & want) == want)
            return (int)i;
    return -1;
}

static nst_status choose_memory(nst_gpu *gpu, const nst_gpu_options *options, nst_error *err)
{
    const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int shared = memory_type(&gpu->memory, ~0u, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | host);
    int local = memory_type(&gpu->memory, ~0u, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    int staging = memory_type(&gpu->memory, ~0u, host);
    /* Where all device memory is host visible (integrated GPUs, lavapipe)
     * buffers are mapped; a discrete GPU's small mappable window (BAR) is
     * not all of its memory, so there it goes through staging. */
    gpu->unified = shared >= 0 && gpu->info.kind != NST_DEVICE_DISCRETE && !(options && options->force_staging);
    if (local < 0)
        local = shared;
    if (local < 0 || staging < 0)
        return nst_error_set(err, NST_ERR_DEVICE, "%s: no usable memory type for buffers", gpu->info.name);
    gpu->local_type = (uint32_t)(gpu->unified ? shared : local);
    gpu->staging_type = (uint32_t)staging;
    return NST_OK;
}

static nst_status open_device(nst_gpu *gpu, nst_error *err)
{
    int family = compute_family(gpu->vk, gpu->physical);
    if (family < 0)
        return nst_error_set(err, NST_ERR_DEVICE, "%s has no compute queue", gpu->info.name);
    gpu->queue_family = (uint32_t)family;
    float priority = 1.0f;
    VkDeviceQueueCreateInfo queue = {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, NULL, 0, gpu->queue_family, 1,
                                     &priority};
    VkDeviceCreateInfo info = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, NULL, 0, 1, &queue, 0, NULL, 0, NULL, NULL};
    nst_vk *vk = gpu->vk;
    if (nst_vk_check(vk->vkCreateDevice(gpu->physical, &info, NULL, &gpu->device), "opening the device", err))
        return err ? err->code : NST_ERR_DEVICE;
    vk->vkGetDeviceQueue(gpu->device, gpu->queue_family, 0, &gpu->queue);
    VkCommandPoolCreateInfo pool = {VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, NULL,
                                    VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT, gpu->queue_family};
    if (nst_vk_check(vk->vkCreateCommandPool(gpu->device, &pool, NULL, &gpu->command_pool), "a command pool", err))
        return err ? err->code : NST_ERR_DEVICE;
    VkCommandBufferAllocateInfo alloc = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, NULL, gpu->command_pool,
                                         VK_COMMAND_BUFFER_LEVEL_PRIMARY, 1};
    if (nst_vk_check(vk->vkAllocateCommandBuffers(gpu->device, &alloc, &gpu->copy_commands), "a command buffer",
                     err))
        return err ? err->code : NST_ERR_DEVICE;
    VkFenceCreateInfo fence = {VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, NULL, 0};
    return nst_vk_check(vk->vkCreateFence(gpu->device, &fence, NULL, &gpu->fence), "a fence", err);
}

nst_gpu *nst_gpu_new(int index, const nst_gpu_options *options, nst_error *err)
{
    nst_gpu *gpu = nst_alloc_zero(1, sizeof *gpu, "the GPU context", err);
    if (!gpu)
        return NULL;
    const char *fail_after = getenv("NST_GPU_FAIL_AFTER");
    gpu->submits_left = fail_after ? atoi(fail_after) : 0;
    int no_driver;
    gpu->vk = nst_vk_new(&no_driver, err);
    if (!gpu->vk) {
        free(gpu);
        return NULL;
    }
    VkPhysicalDevice handles[NST_MAX_DEVICES];
    nst_device_info infos[NST_MAX_DEVICES];
    int count = 0;
    nst_status s = nst_vk_devices(gpu->vk, infos, handles, NST_MAX_DEVICES, &count, err);
    if (s == NST_OK && (index < 0 || index >= count))
        s = nst_error_set(err, NST_ERR_DEVICE, "there is no Vulkan device %d (%d found)", index, count);
    if (s == NST_OK) {
        gpu->info = infos[index];
        gpu->physical = handles[index];
        gpu->vk->vkGetPhysicalDeviceProperties(gpu->physical, &gpu->properties);
        gpu->vk->vkGetPhysicalDeviceMemoryProperties(gpu->physical, &gpu->memory);
        if (!gpu->info.usable)
            s = nst_error_set(err, NST_ERR_DEVICE, "%s cannot run the backend's compute shaders", gpu->info.name);
    }
    if (s == NST_OK)
        s = choose_memory(gpu, options, err);
    if (s == NST_OK)
        s = open_device(gpu, err);
    if (s == NST_OK)
        gpu->pipelines = nst_gpu_pipelines_new(gpu, err);
    if (s != NST_OK || !gpu->pipelines) {
        nst_gpu_free(gpu);
        return NULL;
    }
    return gpu;
}

void nst_gpu_free(nst_gpu *gpu)
{
    if (!gpu)
        return;
    nst_vk *vk = gpu->vk;
    if (gpu->device) {
        nst_gpu_flush(gpu, NULL); /* what is still queued runs before its buffers go */
        nst_gpu_pipelines_free(gpu, gpu->pipelines);
        nst_gpu_buffer_free(gpu, gpu->staging);
        if (gpu->fence)
            vk->vkDestroyFence(gpu->device, gpu->fence, NULL);
        if (gpu->command_pool)
            vk->vkDestroyCommandPool(gpu->device, gpu->command_pool, NULL);
        vk->vkDestroyDevice(gpu->device, NULL);
    }
    nst_vk_free(vk);
    free(gpu);
}

/* ---- buffers ---- */

static nst_gpu_buffer *buffer_new(nst_gpu *gpu, size_t bytes, VkBufferUsageFlags usage, uint32_t type, int map,
                                  nst_error *err)
{
    if (bytes == 0) {
        nst_error_set(err, NST_ERR_INVALID, "a GPU buffer of 0 bytes");
        return NULL;
    }
    nst_gpu_buffer *b = nst_alloc_zero(1, sizeof *b, "a GPU buffer", err);
    if (!b)
        return NULL;
    b->bytes = bytes;
    nst_vk *vk = gpu->vk;
    VkBufferCreateInfo info = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, NULL, 0, bytes, usage,
                               VK_SHARING_MODE_EXCLUSIVE, 0, NULL};
    nst_status s = nst_vk_check(vk->vkCreateBuffer(gpu->device, &info, NULL, &b->buffer), "creating a buffer", err);
    if (s == NST_OK) {
        VkMemoryRequirements req;
        vk->vkGetBufferMemoryRequirements(gpu->device, b->buffer, &req);
        if (!(req.memoryTypeBits & (1u << type)))
            s = nst_error_set(err, NST_ERR_DEVICE, "%s: buffers cannot live in memory type %u", gpu->info.name,
                              type);
        VkMemoryAllocateInfo alloc = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, NULL, req.size, type};
        if (s == NST_OK)
            s = nst_vk_check(vk->vkAllocateMemory(gpu->device, &alloc, NULL, &b->memory), "allocating device memory",
                             err);
    }
    if (s == NST_OK)
        s = nst_vk_check(vk->vkBindBufferMemory(gpu->device, b->buffer, b->memory, 0), "binding buffer memory", err);
    if (s == NST_OK && map)
        s = nst_vk_check(vk->vkMapMemory(gpu->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped), "mapping memory",
                         err);
    if (s != NST_OK) {
        if (err && s == NST_ERR_NOMEM)
            nst_error_prefix(err, "%zu bytes on %s: ", bytes, gpu->info.name);
        nst_gpu_buffer_free(gpu, b);
        return NULL;
    }
    return b;
}

nst_gpu_buffer *nst_gpu_buffer_new(nst_gpu *gpu, size_t bytes, nst_error *err)
{
    VkBufferUsageFlags usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                               VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    return buffer_new(gpu, bytes, usage, gpu->local_type, gpu->unified, err);
}

nst_gpu_buffer *nst_gpu_buffer_new_readback(nst_gpu *gpu, size_t bytes, nst_error *err)
{
    if (gpu->unified)
        return nst_gpu_buffer_new(gpu, bytes, err);
    VkBufferUsageFlags usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                               VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    nst_gpu_buffer *b = buffer_new(gpu, bytes, usage, gpu->staging_type, 1, NULL);
    return b ? b : nst_gpu_buffer_new(gpu, bytes, err);
}

void nst_gpu_buffer_free(nst_gpu *gpu, nst_gpu_buffer *b)
{
    if (!b)
        return;
    /* Queued work may use the buffer; a failure here is the device's, and
     * the owner of that work sees it at its next wait. */
    nst_gpu_flush(gpu, NULL);
    if (b->memory)
        gpu->vk->vkFreeMemory(gpu->device, b->memory, NULL); /* unmaps too */
    if (b->buffer)
        gpu->vk->vkDestroyBuffer(gpu->device, b->buffer, NULL);
    free(b);
}

static nst_status check_range(const nst_gpu_buffer *b, size_t offset, size_t bytes, nst_error *err)
{
    if (offset > b->bytes || bytes > b->bytes - offset)
        return nst_error_set(err, NST_ERR_INVALID, "bytes %zu..%zu outside a GPU buffer of %zu", offset,
                             offset + bytes, b->bytes);
    return NST_OK;
}

/* The staging buffer holds at least `bytes`; it grows, never shrinks. */
static nst_status staging_for(nst_gpu *gpu, size_t bytes, nst_error *err)
{
    if (gpu->staging && gpu->staging->bytes >= bytes)
        return NST_OK;
    nst_gpu_buffer_free(gpu, gpu->staging);
    gpu->staging = buffer_new(gpu, bytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                              gpu->staging_type, 1, err);
    return gpu->staging ? NST_OK : (err ? err->code : NST_ERR_NOMEM);
}

void nst_gpu_cmd_barrier(nst_gpu *gpu, VkCommandBuffer cmd)
{
    VkMemoryBarrier barrier = {VK_STRUCTURE_TYPE_MEMORY_BARRIER, NULL,
                               VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                               VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                                   VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT};
    gpu->vk->vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                                  VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT |
                                      VK_PIPELINE_STAGE_HOST_BIT,
                                  0, 1, &barrier, 0, NULL, 0, NULL);
}

/* One copy between the staging buffer and `b` at `offset`. */
static nst_status staged_copy(nst_gpu *gpu, const nst_gpu_buffer *b, size_t offset, size_t bytes, int to_device,
                              nst_error *err)
{
    nst_vk *vk = gpu->vk;
    VkCommandBuffer cmd = gpu->copy_commands;
    VkCommandBufferBeginInfo begin = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, NULL,
                                      VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT, NULL};
    if (nst_vk_check(vk->vkBeginCommandBuffer(cmd, &begin), "recording a copy", err))
        return err ? err->code : NST_ERR_DEVICE;
    VkBufferCopy region = {to_device ? 0 : offset, to_device ? offset : 0, bytes};
    nst_gpu_cmd_barrier(gpu, cmd);
    if (to_device)
        vk->vkCmdCopyBuffer(cmd, gpu->staging->buffer, b->buffer, 1, &region);
    else
        vk->vkCmdCopyBuffer(cmd, b->buffer, gpu->staging->buffer, 1, &region);
    nst_gpu_cmd_barrier(gpu, cmd);
    if (nst_vk_check(vk->vkEndCommandBuffer(cmd), "recording a copy", err))
        return err ? err->code : NST_ERR_DEVICE;
    return nst_gpu_submit_wait(gpu, cmd, err);
}

/* Every device's copies together, for tests that see only the public API. */
static _Atomic size_t bytes_crossed;

size_t nst_gpu_bytes_crossed(void)
{
    return atomic_load(&bytes_crossed);
}

nst_status nst_gpu_buffer_write(nst_gpu *gpu, nst_gpu_buffer *b, size_t offset, const void *data, size_t bytes,
                                nst_error *err)
{
    nst_status s = check_range(b, offset, bytes, err);
    if (s != NST_OK || bytes == 0)
        return s;
    gpu->bytes_written += bytes;
    atomic_fetch_add(&bytes_crossed, bytes);
    if (b->mapped) {
        if ((s = nst_gpu_flush(gpu, err)) != NST_OK) /* queued work may still read the old bytes */
            return s;
        memcpy((char *)b->mapped + offset, data, bytes);
        return NST_OK;
    }
    if ((s = staging_for(gpu, bytes, err)) != NST_OK)
        return s;
    memcpy(gpu->staging->mapped, data, bytes);
    return staged_copy(gpu, b, offset, bytes, 1, err);
}

nst_status nst_gpu_buffer_read(nst_gpu *gpu, const nst_gpu_buffer *b, size_t offset, void *data, size_t bytes,
                               nst_error *err)
{
    nst_status s = check_range(b, offset, bytes, err);
    if (s != NST_OK || bytes == 0)
        return s;
    gpu->bytes_read += bytes;
    atomic_fetch_add(&bytes_crossed, bytes);
    if (b->mapped) {
        if ((s = nst_gpu_flush(gpu, err)) != NST_OK)
            return s;
        memcpy(data, (const char *)b->mapped + offset, bytes);
        return NST_OK;
    }
    if ((s = staging_for(gpu, bytes, err)) != NST_OK || (s = staged_copy(gpu, b, offset, bytes, 0, err)) != NST_OK)
        return s;
    memcpy(data, gpu->staging->mapped, bytes);
    return NST_OK;
}

nst_status nst_gpu_submit_wait(nst_gpu *gpu, VkCommandBuffer commands, nst_error *err)
{
    VkCommandBuffer all[NST_GPU_MAX_QUEUED + 1];
    int n = gpu->n_queued;
    memcpy(all, gpu->queued, (size_t)n * sizeof *all);
    if (commands != VK_NULL_HANDLE)
        all[n++] = commands;
    gpu->n_queued = 0;
    if (n == 0)
        return NST_OK;
    nst_vk *vk = gpu->vk;
    gpu->submissions++;
    /* The test hook: a device lost after so many submissions. */
    if (gpu->submits_left > 0 && --gpu->submits_left == 0)
        return nst_vk_check(VK_ERROR_DEVICE_LOST, "submitting work (NST_GPU_FAIL_AFTER)", err);
    /* Each sequence begins and ends with a full barrier, so the buffers run
     * in order as if submitted one by one. */
    VkSubmitInfo submit = {VK_STRUCTURE_TYPE_SUBMIT_INFO, NULL, 0, NULL, NULL, (uint32_t)n, all, 0, NULL};
    nst_status s = nst_vk_check(vk->vkQueueSubmit(gpu->queue, 1, &submit, gpu->fence), "submitting work", err);
    if (s == NST_OK)
        s = nst_vk_check(vk->vkWaitForFences(gpu->device, 1, &gpu->fence, VK_TRUE, UINT64_MAX), "waiting for the GPU",
                         err);
    VkResult reset = vk->vkResetFences(gpu->device, 1, &gpu->fence);
    return s == NST_OK ? nst_vk_check(reset, "resetting a fence", err) : s;
}

nst_status nst_gpu_queue(nst_gpu *gpu, VkCommandBuffer commands, nst_error *err)
{
    if (gpu->n_queued == NST_GPU_MAX_QUEUED) {
        nst_status s = nst_gpu_flush(gpu, err);
        if (s != NST_OK)
            return s;
    }
    gpu->queued[gpu->n_queued++] = commands;
    return NST_OK;
}

int nst_gpu_is_queued(const nst_gpu *gpu, VkCommandBuffer commands)
{
    for (int i = 0; i < gpu->n_queued; i++)
        if (gpu->queued[i] == commands)
            return 1;
    return 0;
}

nst_status nst_gpu_flush(nst_gpu *gpu, nst_error *err)
{
    return nst_gpu_submit_wait(gpu, VK_NULL_HANDLE, err);
}
