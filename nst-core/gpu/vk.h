/* The Vulkan runtime of the GPU backend: the loader opened at run time, a
 * device with one compute queue, buffers, and submission: work the host
 * does not wait for is queued and goes with the next wait, so each round
 * trip to the device carries as much as it can.  Only
 * built with the backend (NST_HAVE_VULKAN); callers outside gpu/ use
 * gpu/devices.h, which works in every build. */
#ifndef NST_GPU_VK_H
#define NST_GPU_VK_H

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include "base/error.h"
#include "nst/nst.h"

/* The entry points the backend calls, loaded from libvulkan at run time. */
#define NST_VK_INSTANCE_FUNCTIONS(X)                                                                               \
    X(vkDestroyInstance)                                                                                           \
    X(vkEnumeratePhysicalDevices)                                                                                  \
    X(vkGetPhysicalDeviceProperties)                                                                               \
    X(vkGetPhysicalDeviceMemoryProperties)                                                                         \
    X(vkGetPhysicalDeviceMemoryProperties2)                                                                        \
    X(vkGetPhysicalDeviceQueueFamilyProperties)                                                                    \
    X(vkEnumerateDeviceExtensionProperties)                                                                        \
    X(vkCreateDevice)                                                                                              \
    X(vkDestroyDevice)                                                                                             \
    X(vkGetDeviceQueue)                                                                                            \
    X(vkCreateBuffer)                                                                                              \
    X(vkDestroyBuffer)                                                                                             \
    X(vkGetBufferMemoryRequirements)                                                                               \
    X(vkAllocateMemory)                                                                                            \
    X(vkFreeMemory)                                                                                                \
    X(vkBindBufferMemory)                                                                                          \
    X(vkMapMemory)                                                                                                 \
    X(vkUnmapMemory)                                                                                               \
    X(vkCreateCommandPool)                                                                                         \
    X(vkDestroyCommandPool)                                                                                        \
    X(vkAllocateCommandBuffers)                                                                                    \
    X(vkFreeCommandBuffers)                                                                                        \
    X(vkBeginCommandBuffer)                                                                                        \
    X(vkEndCommandBuffer)                                                                                          \
    X(vkResetCommandBuffer)                                                                                        \
    X(vkCmdCopyBuffer)                                                                                             \
    X(vkCmdBindPipeline)                                                                                           \
    X(vkCmdBindDescriptorSets)                                                                                     \
    X(vkCmdPushConstants)                                                                                          \
    X(vkCmdDispatch)                                                                                               \
    X(vkCmdPipelineBarrier)                                                                                        \
    X(vkCreateFence)                                                                                               \
    X(vkDestroyFence)                                                                                              \
    X(vkResetFences)                                                                                               \
    X(vkWaitForFences)                                                                                             \
    X(vkQueueSubmit)                                                                                               \
    X(vkCreateShaderModule)                                                                                        \
    X(vkDestroyShaderModule)                                                                                       \
    X(vkCreateDescriptorSetLayout)                                                                                 \
    X(vkDestroyDescriptorSetLayout)                                                                                \
    X(vkCreatePipelineLayout)                                                                                      \
    X(vkDestroyPipelineLayout)                                                                                     \
    X(vkCreateComputePipelines)                                                                                    \
    X(vkDestroyPipeline)                                                                                           \
    X(vkCreateDescriptorPool)                                                                                      \
    X(vkDestroyDescriptorPool)                                                                                     \
    X(vkResetDescriptorPool)                                                                                       \
    X(vkAllocateDescriptorSets)                                                                                    \
    X(vkUpdateDescriptorSets)

/* A Vulkan instance and the loader it came from. */
typedef struct nst_vk {
    void *library; /* dlopen handle of libvulkan */
    VkInstance instance;
    uint32_t api_version;
#define NST_VK_MEMBER(name) PFN_##name name;
    NST_VK_INSTANCE_FUNCTIONS(NST_VK_MEMBER)
#undef NST_VK_MEMBER
} nst_vk;

/* Opens the loader (libvulkan.so.1, or the file NST_VULKAN_LIBRARY names)
 * and creates an instance.  NST_ERR_DEVICE with what failed: no loader, no
 * driver (*no_driver set: the loader found no ICD, which is "no devices"
 * rather than an error for a listing), or an instance error. */
nst_vk *nst_vk_new(int *no_driver, nst_error *err);
void nst_vk_free(nst_vk *vk);

/* The physical devices in the loader's order, as the public listing shows
 * them; `handles` (may be NULL) receives up to `max` of them. */
nst_status nst_vk_devices(nst_vk *vk, nst_device_info *out, VkPhysicalDevice *handles, int max, int *count,
                          nst_error *err);

/* A message for a VkResult: "VK_ERROR_OUT_OF_DEVICE_MEMORY". */
const char *nst_vk_result_name(VkResult result);
/* NST_OK for VK_SUCCESS, else NST_ERR_DEVICE (NST_ERR_NOMEM for the
 * out-of-memory results) with "what: VK_ERROR_...". */
nst_status nst_vk_check(VkResult result, const char *what, nst_error *err);

typedef struct nst_gpu_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    size_t bytes;
    void *mapped; /* host-visible memory, mapped for the buffer's life; NULL = staged */
} nst_gpu_buffer;

typedef struct nst_gpu_options {
    /* Copy through a staging buffer even where device memory is host
     * visible (tests exercise the discrete GPU's path on lavapipe). */
    int force_staging;
} nst_gpu_options;

typedef struct nst_gpu_pipelines nst_gpu_pipelines;

/* Command buffers queued for the next submission (nst_gpu_queue). */
#define NST_GPU_MAX_QUEUED 32

/* One device, opened for compute. */
typedef struct nst_gpu {
    nst_vk *vk;
    nst_device_info info;
    VkPhysicalDevice physical;
    VkPhysicalDeviceProperties properties;
    VkPhysicalDeviceMemoryProperties memory;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family;
    VkCommandPool command_pool;
    VkCommandBuffer copy_commands; /* staging copies */
    VkFence fence;
    uint32_t local_type;   /* memory type of device buffers */
    uint32_t staging_type; /* host-visible, coherent */
    int unified;           /* local_type is host-visible: buffers are mapped */
    nst_gpu_buffer *staging; /* grown on demand (staged devices only) */
    nst_gpu_pipelines *pipelines;
    /* Work queued by nst_gpu_queue, submitted in order with the next wait. */
    VkCommandBuffer queued[NST_GPU_MAX_QUEUED];
    int n_queued;
    /* Submissions made (each one round trip to the device; tests count them). */
    size_t submissions;
    /* Tests only: NST_GPU_FAIL_AFTER=N makes the Nth submission fail as a
     * lost device would (0 = never), so the error paths run on lavapipe. */
    int submits_left;
    /* Bytes copied by nst_gpu_buffer_write and _read: what crossed between
     * the host and the device (tests measure it). */
    size_t bytes_written, bytes_read;
} nst_gpu;

/* Opens device `index` of nst_device_list (any kind: the choice of a kind
 * is nst_device_resolve's); options may be NULL. */
nst_gpu *nst_gpu_new(int index, const nst_gpu_options *options, nst_error *err);
void nst_gpu_free(nst_gpu *gpu);

/* A storage buffer of `bytes` (> 0) in device memory. */
nst_gpu_buffer *nst_gpu_buffer_new(nst_gpu *gpu, size_t bytes, nst_error *err);
/* A small storage buffer the host reads often (sums, counters): in mapped
 * host-visible memory where the device allows it, so reading it needs no
 * copy on a discrete GPU; else a device buffer. */
nst_gpu_buffer *nst_gpu_buffer_new_readback(nst_gpu *gpu, size_t bytes, nst_error *err);
void nst_gpu_buffer_free(nst_gpu *gpu, nst_gpu_buffer *buffer);
/* Host <-> device copies of [offset, offset + bytes), complete on return;
 * the queued work runs first. */
nst_status nst_gpu_buffer_write(nst_gpu *gpu, nst_gpu_buffer *buffer, size_t offset, const void *data, size_t bytes,
                                nst_error *err);
nst_status nst_gpu_buffer_read(nst_gpu *gpu, const nst_gpu_buffer *buffer, size_t offset, void *data, size_t bytes,
                               nst_error *err);

/* The bytes nst_gpu_buffer_write and _read have copied on every device
 * since the program started. */
size_t nst_gpu_bytes_crossed(void);

/* Records a barrier that makes every earlier shader or copy write visible
 * to later shaders, copies and the host. */
void nst_gpu_cmd_barrier(nst_gpu *gpu, VkCommandBuffer cmd);
/* Submits the queued command buffers, then `commands` (VK_NULL_HANDLE:
 * none), as one submission, and waits for them.  The queue is empty
 * afterwards, also on failure (its work is then lost with the device). */
nst_status nst_gpu_submit_wait(nst_gpu *gpu, VkCommandBuffer commands, nst_error *err);
/* Queues recorded commands to run, in order, at the next submission: work
 * whose results the host does not read at once costs no round trip of its
 * own.  A command buffer must not be queued twice, nor re-recorded while
 * queued (nst_gpu_is_queued tells). */
nst_status nst_gpu_queue(nst_gpu *gpu, VkCommandBuffer commands, nst_error *err);
int nst_gpu_is_queued(const nst_gpu *gpu, VkCommandBuffer commands);
/* Runs the queued work, if any, and waits for it. */
nst_status nst_gpu_flush(nst_gpu *gpu, nst_error *err);

#endif
