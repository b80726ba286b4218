/* Pipelines, sequences and the kernels' launches (gpu/kernels.h). */
#include "gpu/kernels.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "spirv.h"

enum kernel_id {
    K_CONV_FORWARD,
    K_CONV_BACKWARD,
    K_GEMM,
    K_REDUCE_SPLITS,
    K_RELU_BACKWARD,
    K_MAXPOOL_FORWARD,
    K_MAXPOOL_BACKWARD,
    K_AVGPOOL_FORWARD,
    K_AVGPOOL_BACKWARD,
    K_RELU_FORWARD,
    K_FILL,
    K_DIFF_SUMSQ,
    K_SUM_PARTIALS,
    K_PREPARE,
    K_TV,
    K_MASK_COLUMNS,
    K_OPTIM_VECTORS,
    K_COUNT
};

enum {
    MAX_BINDINGS = 8,
    PUSH_BYTES = 64, /* every shader's push constants fit */
    GROUP_SIDE = 16, /* the GEMM shaders' 16x16 invocations... */
    TILE = 64,       /* ...compute a 64x64 tile */
    LINEAR_GROUP = 256,
    MAX_GROUPS_X = 65535, /* the minimum every device supports */
};

typedef struct kernel_spec {
    const uint32_t *code;
    const size_t *bytes;
    int bindings;
    const char *name;
} kernel_spec;

static const kernel_spec specs[K_COUNT] = {
    [K_CONV_FORWARD] = {nst_spirv_conv_forward, &nst_spirv_conv_forward_bytes, 4, "conv_forward"},
    [K_CONV_BACKWARD] = {nst_spirv_conv_backward, &nst_spirv_conv_backward_bytes, 4, "conv_backward"},
    [K_GEMM] = {nst_spirv_gemm, &nst_spirv_gemm_bytes, 3, "gemm"},
    [K_REDUCE_SPLITS] = {nst_spirv_reduce_splits, &nst_spirv_reduce_splits_bytes, 2, "reduce_splits"},
    [K_RELU_BACKWARD] = {nst_spirv_relu_backward, &nst_spirv_relu_backward_bytes, 3, "relu_backward"},
    [K_MAXPOOL_FORWARD] = {nst_spirv_maxpool_forward, &nst_spirv_maxpool_forward_bytes, 3, "maxpool_forward"},
    [K_MAXPOOL_BACKWARD] = {nst_spirv_maxpool_backward, &nst_spirv_maxpool_backward_bytes, 3, "maxpool_backward"},
    [K_AVGPOOL_FORWARD] = {nst_spirv_avgpool_forward, &nst_spirv_avgpool_forward_bytes, 2, "avgpool_forward"},
    [K_AVGPOOL_BACKWARD] = {nst_spirv_avgpool_backward, &nst_spirv_avgpool_backward_bytes, 2, "avgpool_backward"},
    [K_RELU_FORWARD] = {nst_spirv_relu_forward, &nst_spirv_relu_forward_bytes, 2, "relu_forward"},
    [K_FILL] = {nst_spirv_fill, &nst_spirv_fill_bytes, 1, "fill"},
    [K_DIFF_SUMSQ] = {nst_spirv_diff_sumsq, &nst_spirv_diff_sumsq_bytes, 4, "diff_sumsq"},
    [K_SUM_PARTIALS] = {nst_spirv_sum_partials, &nst_spirv_sum_partials_bytes, 2, "sum_partials"},
    [K_PREPARE] = {nst_spirv_prepare, &nst_spirv_prepare_bytes, 2, "prepare"},
    [K_TV] = {nst_spirv_tv, &nst_spirv_tv_bytes, 3, "tv"},
    [K_MASK_COLUMNS] = {nst_spirv_mask_columns, &nst_spirv_mask_columns_bytes, 3, "mask_columns"},
    [K_OPTIM_VECTORS] = {nst_spirv_optim_vectors, &nst_spirv_optim_vectors_bytes, 8, "optim_vectors"},
};

struct nst_gpu_pipelines {
    VkDescriptorSetLayout set_layout[K_COUNT];
    VkPipelineLayout layout[K_COUNT];
    VkPipeline pipeline[K_COUNT];
};

/* ---- pipelines ---- */

static nst_status make_pipeline(nst_gpu *gpu, nst_gpu_pipelines *p, int k, nst_error *err)
{
    nst_vk *vk = gpu->vk;
    VkDescriptorSetLayoutBinding bindings[MAX_BINDINGS];
    for (int b = 0; b < specs[k].bindings; b++)
        bindings[b] = (VkDescriptorSetLayoutBinding){(uint32_t)b, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1,
                                                     VK_SHADER_STAGE_COMPUTE_BIT, NULL};
    VkDescriptorSetLayoutCreateInfo set_info = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, NULL, 0,
                                                (uint32_t)specs[k].bindings, bindings};
    if (nst_vk_check(vk->vkCreateDescriptorSetLayout(gpu->device, &set_info, NULL, &p->set_layout[k]),
                     specs[k].name, err))
        return err ? err->code : NST_ERR_DEVICE;
    VkPushConstantRange push = {VK_SHADER_STAGE_COMPUTE_BIT, 0, PUSH_BYTES};
    VkPipelineLayoutCreateInfo layout_info = {VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, NULL, 0, 1,
                                              &p->set_layout[k], 1, &push};
    if (nst_vk_check(vk->vkCreatePipelineLayout(gpu->device, &layout_info, NULL, &p->layout[k]), specs[k].name, err))
        return err ? err->code : NST_ERR_DEVICE;
    VkShaderModuleCreateInfo module_info = {VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, NULL, 0, *specs[k].bytes,
                                            specs[k].code};
    VkShaderModule module;
    if (nst_vk_check(vk->vkCreateShaderModule(gpu->device, &module_info, NULL, &module), specs[k].name, err))
        return err ? err->code : NST_ERR_DEVICE;
    VkComputePipelineCreateInfo info = {VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO, NULL, 0,
                                        {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, NULL, 0,
                                         VK_SHADER_STAGE_COMPUTE_BIT, module, "main", NULL},
                                        p->layout[k], VK_NULL_HANDLE, -1};
    VkResult r = vk->vkCreateComputePipelines(gpu->device, VK_NULL_HANDLE, 1, &info, NULL, &p->pipeline[k]);
    vk->vkDestroyShaderModule(gpu->device, module, NULL);
    return nst_vk_check(r, specs[k].name, err);
}

nst_gpu_pipelines *nst_gpu_pipelines_new(nst_gpu *gpu, nst_error *err)
{
    nst_gpu_pipelines *p = nst_alloc_zero(1, sizeof *p, "the GPU pipelines", err);
    if (!p)
        return NULL;
    for (int k = 0; k < K_COUNT; k++) {
        if (make_pipeline(gpu, p, k, err) != NST_OK) {
            nst_error_prefix(err, "making the %s pipeline on %s: ", specs[k].name, gpu->info.name);
            nst_gpu_pipelines_free(gpu, p);
            return NULL;
        }
    }
    return p;
}

void nst_gpu_pipelines_free(nst_gpu *gpu, nst_gpu_pipelines *p)
{
    if (!p)
        return;
    nst_vk *vk = gpu->vk;
    for (int k = 0; k < K_COUNT; k++) {
        if (p->pipeline[k])
            vk->vkDestroyPipeline(gpu->device, p->pipeline[k], NULL);
        if (p->layout[k])
            vk->vkDestroyPipelineLayout(gpu->device, p->layout[k], NULL);
        if (p->set_layout[k])
            vk->vkDestroyDescriptorSetLayout(gpu->device, p->set_layout[k], NULL);
    }
    free(p);
}

/* ---- sequences ---- */

typedef struct launch {
    int kernel;
    VkDescriptorSet set;
    uint32_t push[PUSH_BYTES / 4];
    uint32_t push_bytes;
    uint32_t groups[3];
} launch;

struct nst_gpu_seq {
    nst_gpu *gpu;
    VkDescriptorPool pool;
    VkCommandBuffer commands;
    launch *launches;
    int max_launches, n_launches;
    int recorded; /* the command buffer holds the launches */
};

nst_gpu_seq *nst_gpu_seq_new(nst_gpu *gpu, int max_launches, nst_error *err)
{
    if (max_launches <= 0 || max_launches > INT_MAX / MAX_BINDINGS) {
        nst_error_set(err, NST_ERR_INVALID, "a GPU sequence of %d launches", max_launches);
        return NULL;
    }
    nst_gpu_seq *seq = nst_alloc_zero(1, sizeof *seq, "a GPU sequence", err);
    if (!seq)
        return NULL;
    seq->gpu = gpu;
    seq->max_launches = max_launches;
    seq->launches = nst_alloc_zero((size_t)max_launches, sizeof *seq->launches, "a GPU sequence", err);
    nst_vk *vk = gpu->vk;
    VkDescriptorPoolSize size = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, (uint32_t)(max_launches * MAX_BINDINGS)};
    VkDescriptorPoolCreateInfo pool = {VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, NULL, 0,
                                       (uint32_t)max_launches, 1, &size};
    VkCommandBufferAllocateInfo alloc = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, NULL, gpu->command_pool,
                                         VK_COMMAND_BUFFER_LEVEL_PRIMARY, 1};
    if (!seq->launches ||
        nst_vk_check(vk->vkCreateDescriptorPool(gpu->device, &pool, NULL, &seq->pool), "a descriptor pool", err) ||
        nst_vk_check(vk->vkAllocateCommandBuffers(gpu->device, &alloc, &seq->commands), "a command buffer", err)) {
        nst_gpu_seq_free(seq);
        return NULL;
    }
    return seq;
}

/* Runs the device's queued work if this sequence is part of it, before its
 * command buffer or descriptor sets change. */
static nst_status settle(nst_gpu_seq *seq, nst_error *err)
{
    return nst_gpu_is_queued(seq->gpu, seq->commands) ? nst_gpu_flush(seq->gpu, err) : NST_OK;
}

void nst_gpu_seq_free(nst_gpu_seq *seq)
{
    if (!seq)
        return;
    nst_gpu *gpu = seq->gpu;
    if (seq->commands) {
        settle(seq, NULL);
        gpu->vk->vkFreeCommandBuffers(gpu->device, gpu->command_pool, 1, &seq->commands);
    }
    if (seq->pool)
        gpu->vk->vkDestroyDescriptorPool(gpu->device, seq->pool, NULL); /* frees its sets */
    free(seq->launches);
    free(seq);
}

nst_status nst_gpu_seq_clear(nst_gpu_seq *seq, nst_error *err)
{
    nst_status s = settle(seq, err);
    if (s != NST_OK)
        return s;
    seq->n_launches = 0;
    seq->recorded = 0;
    return nst_vk_check(seq->gpu->vk->vkResetDescriptorPool(seq->gpu->device, seq->pool, 0), "clearing a sequence",
                        err);
}

static nst_status record(nst_gpu_seq *seq, nst_error *err)
{
    nst_gpu *gpu = seq->gpu;
    nst_vk *vk = gpu->vk;
    const nst_gpu_pipelines *p = gpu->pipelines;
    VkCommandBufferBeginInfo begin = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, NULL, 0, NULL};
    if (nst_vk_check(vk->vkResetCommandBuffer(seq->commands, 0), "recording a sequence", err) ||
        nst_vk_check(vk->vkBeginCommandBuffer(seq->commands, &begin), "recording a sequence", err))
        return err ? err->code : NST_ERR_DEVICE;
    /* Whatever the host or an earlier copy wrote is visible to the first launch. */
    nst_gpu_cmd_barrier(gpu, seq->commands);
    for (int i = 0; i < seq->n_launches; i++) {
        const launch *l = &seq->launches[i];
        vk->vkCmdBindPipeline(seq->commands, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline[l->kernel]);
        vk->vkCmdBindDescriptorSets(seq->commands, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout[l->kernel], 0, 1, &l->set,
                                    0, NULL);
        vk->vkCmdPushConstants(seq->commands, p->layout[l->kernel], VK_SHADER_STAGE_COMPUTE_BIT, 0, l->push_bytes,
                               l->push);
        vk->vkCmdDispatch(seq->commands, l->groups[0], l->groups[1], l->groups[2]);
        nst_gpu_cmd_barrier(gpu, seq->commands);
    }
    if (nst_vk_check(vk->vkEndCommandBuffer(seq->commands), "recording a sequence", err))
        return err ? err->code : NST_ERR_DEVICE;
    seq->recorded = 1;
    return NST_OK;
}

/* The command buffer recorded and not queued: ready to submit or queue. */
static nst_status ready(nst_gpu_seq *seq, nst_error *err)
{
    nst_status s = settle(seq, err);
    return s == NST_OK && !seq->recorded ? record(seq, err) : s;
}

nst_status nst_gpu_seq_run(nst_gpu_seq *seq, nst_error *err)
{
    nst_status s = ready(seq, err);
    return s == NST_OK ? nst_gpu_submit_wait(seq->gpu, seq->commands, err) : s;
}

nst_status nst_gpu_seq_queue(nst_gpu_seq *seq, nst_error *err)
{
    nst_status s = ready(seq, err);
    return s == NST_OK ? nst_gpu_queue(seq->gpu, seq->commands, err) : s;
}

/* Appends a launch of `kernel` on `buffers` (specs[kernel].bindings of them). */
static nst_status append(nst_gpu_seq *seq, int kernel, nst_gpu_buffer *const *buffers, const void *push,
                         size_t push_bytes, const uint32_t groups[3], nst_error *err)
{
    if (seq->n_launches == seq->max_launches)
        return nst_error_set(err, NST_ERR_INVALID, "a GPU sequence holds at most %d launches", seq->max_launches);
    nst_gpu *gpu = seq->gpu;
    launch *l = &seq->launches[seq->n_launches];
    VkDescriptorSetAllocateInfo alloc = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, NULL, seq->pool, 1,
                                         &gpu->pipelines->set_layout[kernel]};
    if (nst_vk_check(gpu->vk->vkAllocateDescriptorSets(gpu->device, &alloc, &l->set), "a descriptor set", err))
        return err ? err->code : NST_ERR_DEVICE;
    VkDescriptorBufferInfo infos[MAX_BINDINGS];
    VkWriteDescriptorSet writes[MAX_BINDINGS];
    for (int b = 0; b < specs[kernel].bindings; b++) {
        infos[b] = (VkDescriptorBufferInfo){buffers[b]->buffer, 0, VK_WHOLE_SIZE};
        writes[b] = (VkWriteDescriptorSet){VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, NULL, l->set, (uint32_t)b, 0, 1,
                                           VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, NULL, &infos[b], NULL};
    }
    gpu->vk->vkUpdateDescriptorSets(gpu->device, (uint32_t)specs[kernel].bindings, writes, 0, NULL);
    l->kernel = kernel;
    memcpy(l->push, push, push_bytes);
    l->push_bytes = (uint32_t)push_bytes;
    memcpy(l->groups, groups, sizeof l->groups);
    seq->n_launches++;
    seq->recorded = 0;
    return NST_OK;
}

/* ---- checks ---- */

/* `buffer` holds `floats` 4-byte elements, and the count fits the shaders' int indexing. */
static nst_status need(const nst_gpu_buffer *buffer, size_t floats, const char *what, nst_error *err)
{
    if (!buffer)
        return nst_error_set(err, NST_ERR_INVALID, "%s: no buffer", what);
    if (floats > INT_MAX)
        return nst_error_set(err, NST_ERR_INVALID, "%s: %zu elements, more than the GPU kernels index", what, floats);
    if (buffer->bytes / 4 < floats)
        return nst_error_set(err, NST_ERR_INVALID, "%s: a buffer of %zu bytes for %zu elements", what, buffer->bytes,
                             floats);
    return NST_OK;
}

static int positive(int a, int b, int c)
{
    return a > 0 && b > 0 && c > 0;
}

static uint32_t groups_for(size_t count, int per_group)
{
    return (uint32_t)((count + (size_t)per_group - 1) / (size_t)per_group);
}

/* Groups of LINEAR_GROUP invocations for `count` elements, folded into x and y
 * as common.glsl's flat_index() unfolds them. */
static void linear_groups(size_t count, uint32_t groups[3])
{
    uint32_t g = groups_for(count ? count : 1, LINEAR_GROUP);
    groups[0] = g < MAX_GROUPS_X ? g : MAX_GROUPS_X;
    groups[1] = (g + groups[0] - 1) / groups[0];
    groups[2] = 1;
}

/* ---- convolution ---- */

typedef struct conv_push {
    int32_t in_c, in_h, in_w, out_c, out_h, out_w;
    int32_t kh, kw, stride, pad, pad_mode, flags;
    int32_t offset; /* of y (forward) or dy and the ReLU's y (backward), in floats */
} conv_push;

enum { CONV_BIAS = 1, CONV_RELU = 2, CONV_RELU_MASK = 4 };

static nst_status conv_push_for(const nst_conv_desc *d, int in_h, int in_w, conv_push *pc, nst_error *err)
{
    if (!positive(d->in_channels, d->out_channels, d->stride) || !positive(d->kernel_h, d->kernel_w, 1) ||
        d->pad < 0 || !positive(in_h, in_w, 1))
        return nst_error_set(err, NST_ERR_INVALID, "GPU convolution: bad shape");
    *pc = (conv_push){d->in_channels, in_h, in_w, d->out_channels,
                      nst_conv_out_size(in_h, d->kernel_h, d->stride, d->pad),
                      nst_conv_out_size(in_w, d->kernel_w, d->stride, d->pad), d->kernel_h, d->kernel_w, d->stride,
                      d->pad, (int32_t)d->pad_mode, 0, 0};
    if (pc->out_h <= 0 || pc->out_w <= 0)
        return nst_error_set(err, NST_ERR_INVALID, "GPU convolution: %dx%d is smaller than its %dx%d kernel", in_w,
                             in_h, d->kernel_w, d->kernel_h);
    return NST_OK;
}

/* Checks the tensors of a convolution: x (or dx), weight, bias, y (or dy)
 * from `offset` on, and the fused ReLU's output relu_y at that offset; sets
 * pc->offset. */
static nst_status conv_buffers(conv_push *pc, const nst_gpu_buffer *x, const nst_gpu_buffer *weight,
                               const nst_gpu_buffer *bias, const nst_gpu_buffer *y, size_t offset,
                               const nst_gpu_buffer *relu_y, nst_error *err)
{
    size_t out_count = (size_t)pc->out_c * pc->out_h * pc->out_w;
    size_t taps = (size_t)pc->kh * (size_t)pc->kw;
    nst_status s = need(x, (size_t)pc->in_c * pc->in_h * pc->in_w, "GPU convolution input", err);
    if (s == NST_OK)
        s = need(weight, (size_t)pc->out_c * pc->in_c * taps, "GPU convolution weights", err);
    if (s == NST_OK && bias)
        s = need(bias, (size_t)pc->out_c, "GPU convolution bias", err);
    if (s == NST_OK)
        s = need(y, offset + out_count, "GPU convolution output", err);
    if (s == NST_OK && relu_y)
        s = need(relu_y, offset + out_count, "GPU convolution ReLU output", err);
    if (s == NST_OK)
        pc->offset = (int32_t)offset; /* need() bounded it */
    return s;
}

nst_status nst_gpu_conv_forward(nst_gpu_seq *seq, const nst_conv_desc *d, int in_h, int in_w, nst_gpu_buffer *x,
                                nst_gpu_buffer *weight, nst_gpu_buffer *bias, int relu, nst_gpu_buffer *y,
                                size_t y_offset, nst_error *err)
{
    conv_push pc;
    nst_status s = conv_push_for(d, in_h, in_w, &pc, err);
    if (s == NST_OK)
        s = conv_buffers(&pc, x, weight, bias, y, y_offset, NULL, err);
    if (s != NST_OK)
        return s;
    pc.flags = (bias ? CONV_BIAS : 0) | (relu ? CONV_RELU : 0);
    nst_gpu_buffer *buffers[4] = {x, weight, bias ? bias : weight, y};
    uint32_t groups[3] = {groups_for((size_t)pc.out_h * pc.out_w, TILE), groups_for((size_t)pc.out_c, TILE), 1};
    return append(seq, K_CONV_FORWARD, buffers, &pc, sizeof pc, groups, err);
}

nst_status nst_gpu_conv_backward_input(nst_gpu_seq *seq, const nst_conv_desc *d, int in_h, int in_w,
                                       nst_gpu_buffer *dy, size_t dy_offset, nst_gpu_buffer *relu_y,
                                       nst_gpu_buffer *weight, nst_gpu_buffer *dx, nst_error *err)
{
    conv_push pc;
    nst_status s = conv_push_for(d, in_h, in_w, &pc, err);
    if (s == NST_OK)
        s = conv_buffers(&pc, dx, weight, NULL, dy, dy_offset, relu_y, err);
    if (s != NST_OK)
        return s;
    pc.flags = relu_y ? CONV_RELU_MASK : 0;
    nst_gpu_buffer *buffers[4] = {dy, weight, dx, relu_y ? relu_y : dy};
    uint32_t groups[3] = {groups_for((size_t)in_h * in_w, TILE), groups_for((size_t)pc.in_c, TILE), 1};
    return append(seq, K_CONV_BACKWARD, buffers, &pc, sizeof pc, groups, err);
}

/* ---- ReLU ---- */

static nst_status relu_launch(nst_gpu_seq *seq, size_t count, nst_gpu_buffer *y, nst_gpu_buffer *dy,
                              nst_gpu_buffer *out, int mode, nst_error *err)
{
    nst_status s = need(y, count, "GPU ReLU output", err);
    if (s == NST_OK)
        s = need(dy, count, "GPU ReLU gradient", err);
    if (s == NST_OK)
        s = need(out, count, "GPU ReLU input gradient", err);
    if (s != NST_OK)
        return s;
    int32_t pc[2] = {(int32_t)count, mode};
    nst_gpu_buffer *buffers[3] = {y, dy, out};
    uint32_t groups[3];
    linear_groups(count, groups);
    return append(seq, K_RELU_BACKWARD, buffers, pc, sizeof pc, groups, err);
}

nst_status nst_gpu_relu_backward(nst_gpu_seq *seq, size_t count, nst_gpu_buffer *y, nst_gpu_buffer *dy,
                                 nst_gpu_buffer *dx, nst_error *err)
{
    return relu_launch(seq, count, y, dy, dx, 0, err);
}

nst_status nst_gpu_relu_mask_gradient(nst_gpu_seq *seq, size_t count, nst_gpu_buffer *y, nst_gpu_buffer *dy,
                                      nst_error *err)
{
    return relu_launch(seq, count, y, dy, dy, 1, err);
}

nst_status nst_gpu_relu_forward(nst_gpu_seq *seq, size_t count, nst_gpu_buffer *x, nst_gpu_buffer *y,
                                nst_error *err)
{
    nst_status s = need(x, count, "GPU ReLU input", err);
    if (s == NST_OK)
        s = need(y, count, "GPU ReLU output", err);
    if (s != NST_OK)
        return s;
    int32_t pc = (int32_t)count;
    nst_gpu_buffer *buffers[2] = {x, y};
    uint32_t groups[3];
    linear_groups(count, groups);
    return append(seq, K_RELU_FORWARD, buffers, &pc, sizeof pc, groups, err);
}

nst_status nst_gpu_fill_zero(nst_gpu_seq *seq, size_t count, nst_gpu_buffer *x, nst_error *err)
{
    nst_status s = need(x, count, "GPU fill", err);
    if (s != NST_OK)
        return s;
    int32_t pc = (int32_t)count;
    uint32_t groups[3];
    linear_groups(count, groups);
    return append(seq, K_FILL, &x, &pc, sizeof pc, groups, err);
}

/* ---- pooling ---- */

typedef struct pool_push {
    int32_t planes, in_h, in_w, out_h, out_w, kernel, stride;
} pool_push;

static nst_status pool_push_for(int channels, int in_h, int in_w, int kernel, int stride, pool_push *pc,
                                nst_error *err)
{
    *pc = (pool_push){channels, in_h, in_w, nst_conv_out_size(in_h, kernel, stride, 0),
                      nst_conv_out_size(in_w, kernel, stride, 0), kernel, stride};
    if (!positive(channels, kernel, stride) || !positive(pc->out_h, pc->out_w, 1))
        return nst_error_set(err, NST_ERR_INVALID, "GPU pooling: bad shape (%d channels, %dx%d, %dx%d/%d)",
                             channels, in_w, in_h, kernel, kernel, stride);
    return NST_OK;
}

/* argmax is checked for max pooling only (average: NULL). */
static nst_status pool_buffers(const pool_push *pc, const nst_gpu_buffer *in, const nst_gpu_buffer *out,
                               const nst_gpu_buffer *argmax, int average, nst_error *err)
{
    size_t out_count = (size_t)pc->planes * pc->out_h * pc->out_w;
    nst_status s = need(in, (size_t)pc->planes * pc->in_h * pc->in_w, "GPU pooling input", err);
    if (s == NST_OK)
        s = need(out, out_count, "GPU pooling output", err);
    if (s == NST_OK && !average)
        s = need(argmax, out_count, "GPU max pooling argmax", err);
    return s;
}

/* The forward reads x and writes y (and argmax for max pooling); the
 * backward reads dy (and argmax) and adds to dx.  `in` is x or dx, `out`
 * y or dy. */
static nst_status pool_launch(nst_gpu_seq *seq, int average, int backward, int channels, int in_h, int in_w,
                              int kernel, int stride, nst_gpu_buffer *in, nst_gpu_buffer *out,
                              nst_gpu_buffer *argmax, nst_error *err)
{
    static const int kernels[2][2] = {{K_MAXPOOL_FORWARD, K_MAXPOOL_BACKWARD},
                                      {K_AVGPOOL_FORWARD, K_AVGPOOL_BACKWARD}};
    pool_push pc;
    nst_status s = pool_push_for(channels, in_h, in_w, kernel, stride, &pc, err);
    if (s == NST_OK)
        s = pool_buffers(&pc, in, out, argmax, average, err);
    if (s != NST_OK)
        return s;
    /* Average pooling's bindings are max pooling's without the argmax. */
    nst_gpu_buffer *forward_buffers[3] = {in, out, argmax}, *backward_buffers[3] = {argmax, out, in};
    uint32_t groups[3]; /* one invocation per element written */
    linear_groups((size_t)channels * (backward ? (size_t)in_h * in_w : (size_t)pc.out_h * pc.out_w), groups);
    return append(seq, kernels[average][backward], backward ? backward_buffers + average : forward_buffers, &pc,
                  sizeof pc, groups, err);
}

nst_status nst_gpu_maxpool_forward(nst_gpu_seq *seq, int channels, int in_h, int in_w, int kernel, int stride,
                                   nst_gpu_buffer *x, nst_gpu_buffer *y, nst_gpu_buffer *argmax, nst_error *err)
{
    return pool_launch(seq, 0, 0, channels, in_h, in_w, kernel, stride, x, y, argmax, err);
}

nst_status nst_gpu_maxpool_backward(nst_gpu_seq *seq, int channels, int in_h, int in_w, int kernel, int stride,
                                    nst_gpu_buffer *argmax, nst_gpu_buffer *dy, nst_gpu_buffer *dx, nst_error *err)
{
    return pool_launch(seq, 0, 1, channels, in_h, in_w, kernel, stride, dx, dy, argmax, err);
}

nst_status nst_gpu_avgpool_forward(nst_gpu_seq *seq, int channels, int in_h, int in_w, int kernel, int stride,
                                   nst_gpu_buffer *x, nst_gpu_buffer *y, nst_error *err)
{
    return pool_launch(seq, 1, 0, channels, in_h, in_w, kernel, stride, x, y, NULL, err);
}

nst_status nst_gpu_avgpool_backward(nst_gpu_seq *seq, int channels, int in_h, int in_w, int kernel, int stride,
                                    nst_gpu_buffer *dy, nst_gpu_buffer *dx, nst_error *err)
{
    return pool_launch(seq, 1, 1, channels, in_h, in_w, kernel, stride, dx, dy, NULL, err);
}

/* ---- Gram matrices ---- */

typedef struct gemm_push {
    int32_t m, n, k;
    int32_t a_sm, a_sk, b_sk, b_sn;
    int32_t k_chunk, splits, accumulate;
    float alpha;
} gemm_push;

/* The Gram's sum over pixels is split into chunks of at least this many,
 * summed apart and then in order: enough workgroups for a small c, and a
 * split that depends on the shape only (the bytes do not vary by device). */
enum { GRAM_MIN_CHUNK = 1024, GRAM_TARGET_GROUPS = 64 };

static int gram_splits(int channels, int pixels)
{
    int tiles = (int)groups_for((size_t)channels, TILE);
    int by_groups = GRAM_TARGET_GROUPS / (tiles * tiles);
    int by_chunk = pixels / GRAM_MIN_CHUNK;
    int splits = by_groups < by_chunk ? by_groups : by_chunk;
    return splits > 1 ? splits : 1;
}

size_t nst_gpu_gram_scratch_floats(int channels, int pixels)
{
    int splits = gram_splits(channels, pixels);
    return splits > 1 ? (size_t)splits * channels * channels : 0;
}

nst_status nst_gpu_gram(nst_gpu_seq *seq, int channels, int pixels, nst_gpu_buffer *a, nst_gpu_buffer *gram,
                        nst_gpu_buffer *scratch, nst_error *err)
{
    if (!positive(channels, pixels, 1))
        return nst_error_set(err, NST_ERR_INVALID, "GPU Gram matrix: bad shape");
    int splits = gram_splits(channels, pixels);
    int chunk = (pixels + splits - 1) / splits;
    size_t scratch_floats = nst_gpu_gram_scratch_floats(channels, pixels);
    nst_status s = need(a, (size_t)channels * pixels, "GPU Gram features", err);
    if (s == NST_OK)
        s = need(gram, (size_t)channels * channels, "GPU Gram matrix", err);
    if (s == NST_OK && scratch_floats)
        s = need(scratch, scratch_floats, "GPU Gram scratch", err);
    if (s != NST_OK)
        return s;
    /* B = A^T: element (k, n) of B is A[n, k]. */
    gemm_push pc = {channels, channels, pixels, pixels, 1, 1, pixels, chunk, splits, 0, 1.0f};
    nst_gpu_buffer *buffers[3] = {a, a, splits > 1 ? scratch : gram};
    uint32_t groups[3] = {groups_for((size_t)channels, TILE), groups_for((size_t)channels, TILE), (uint32_t)splits};
    s = append(seq, K_GEMM, buffers, &pc, sizeof pc, groups, err);
    if (s != NST_OK || splits == 1)
        return s;
    struct {
        int32_t count, splits, accumulate;
        float alpha;
    } reduce = {channels * channels, splits, 0, 1.0f};
    nst_gpu_buffer *reduce_buffers[2] = {scratch, gram};
    linear_groups((size_t)channels * channels, groups);
    return append(seq, K_REDUCE_SPLITS, reduce_buffers, &reduce, sizeof reduce, groups, err);
}

nst_status nst_gpu_gram_gradient(nst_gpu_seq *seq, int channels, int pixels, nst_gpu_buffer *d, nst_gpu_buffer *a,
                                 float scale, nst_gpu_buffer *grad, nst_error *err)
{
    if (!positive(channels, pixels, 1))
        return nst_error_set(err, NST_ERR_INVALID, "GPU Gram gradient: bad shape");
    nst_status s = need(d, (size_t)channels * channels, "GPU Gram difference", err);
    if (s == NST_OK)
        s = need(a, (size_t)channels * pixels, "GPU Gram features", err);
    if (s == NST_OK)
        s = need(grad, (size_t)channels * pixels, "GPU Gram gradient", err);
    if (s != NST_OK)
        return s;
    gemm_push pc = {channels, pixels, channels, channels, 1, pixels, 1, channels, 1, 1, scale};
    nst_gpu_buffer *buffers[3] = {d, a, grad};
    uint32_t groups[3] = {groups_for((size_t)pixels, TILE), groups_for((size_t)channels, TILE), 1};
    return append(seq, K_GEMM, buffers, &pc, sizeof pc, groups, err);
}

/* ---- the objective's terms ---- */

size_t nst_gpu_partials(size_t count)
{
    return groups_for(count ? count : 1, LINEAR_GROUP);
}

nst_status nst_gpu_diff_sumsq(nst_gpu_seq *seq, size_t count, nst_gpu_buffer *a, nst_gpu_buffer *b, float scale,
                              int accumulate, nst_gpu_buffer *out, nst_gpu_buffer *partials, size_t partial_offset,
                              nst_error *err)
{
    size_t n = nst_gpu_partials(count);
    nst_status s = need(a, count, "GPU difference input", err);
    if (s == NST_OK)
        s = need(b, count, "GPU difference target", err);
    if (s == NST_OK)
        s = need(out, count, "GPU difference output", err);
    if (s == NST_OK)
        s = need(partials, partial_offset + n, "GPU partial sums", err);
    if (s != NST_OK)
        return s;
    struct {
        int32_t count, accumulate, partial_offset, n_partials;
        float scale;
    } pc = {(int32_t)count, accumulate, (int32_t)partial_offset, (int32_t)n, scale};
    nst_gpu_buffer *buffers[4] = {a, b, out, partials};
    uint32_t groups[3];
    linear_groups(count, groups);
    return append(seq, K_DIFF_SUMSQ, buffers, &pc, sizeof pc, groups, err);
}

nst_status nst_gpu_sum_partials(nst_gpu_seq *seq, nst_gpu_buffer *partials, size_t offset, size_t count,
                                nst_gpu_buffer *sums, int slot, nst_error *err)
{
    nst_status s = need(partials, offset + count, "GPU partial sums", err);
    if (s == NST_OK)
        s = need(sums, (size_t)slot + 1, "GPU sums", err);
    if (s != NST_OK)
        return s;
    int32_t pc[3] = {(int32_t)offset, (int32_t)count, slot};
    nst_gpu_buffer *buffers[2] = {partials, sums};
    uint32_t groups[3] = {1, 1, 1};
    return append(seq, K_SUM_PARTIALS, buffers, pc, sizeof pc, groups, err);
}

/* mode 0: picture -> input; 1: input gradient -> picture gradient. */
static nst_status prepare_launch(nst_gpu_seq *seq, int mode, int h, int w, int border, const float mean[3],
                                 const float inv_std[3], nst_gpu_buffer *src, nst_gpu_buffer *dst, nst_error *err)
{
    if (!positive(h, w, 1) || border < 0 || border > h - 1 || border > w - 1)
        return nst_error_set(err, NST_ERR_INVALID, "GPU input preparation: a %d px border on %dx%d", border, w, h);
    size_t picture = (size_t)3 * h * w, padded = (size_t)3 * (h + 2 * border) * (w + 2 * border);
    nst_status s = need(src, mode ? padded : picture, "GPU input preparation source", err);
    if (s == NST_OK)
        s = need(dst, mode ? picture : padded, "GPU input preparation output", err);
    if (s != NST_OK)
        return s;
    struct {
        int32_t h, w, b, mode;
        float mean[3], inv_std[3];
    } pc = {h, w, border, mode, {mean[0], mean[1], mean[2]}, {inv_std[0], inv_std[1], inv_std[2]}};
    nst_gpu_buffer *buffers[2] = {src, dst};
    uint32_t groups[3];
    linear_groups(mode ? picture : padded, groups);
    return append(seq, K_PREPARE, buffers, &pc, sizeof pc, groups, err);
}

nst_status nst_gpu_prepare_input(nst_gpu_seq *seq, int h, int w, int border, const float mean[3],
                                 const float inv_std[3], nst_gpu_buffer *picture, nst_gpu_buffer *input,
                                 nst_error *err)
{
    return prepare_launch(seq, 0, h, w, border, mean, inv_std, picture, input, err);
}

nst_status nst_gpu_prepare_adjoint(nst_gpu_seq *seq, int h, int w, int border, const float inv_std[3],
                                   nst_gpu_buffer *grad_input, nst_gpu_buffer *grad_picture, nst_error *err)
{
    const float zero[3] = {0, 0, 0};
    return prepare_launch(seq, 1, h, w, border, zero, inv_std, grad_input, grad_picture, err);
}

nst_status nst_gpu_tv(nst_gpu_seq *seq, int h, int w, float gh, float gv, nst_gpu_buffer *x, nst_gpu_buffer *grad,
                      nst_gpu_buffer *partials, size_t partial_offset, nst_error *err)
{
    size_t count = (size_t)3 * h * w, n = nst_gpu_partials(count);
    if (!positive(h, w, 1))
        return nst_error_set(err, NST_ERR_INVALID, "GPU total variation: bad shape");
    nst_status s = need(x, count, "GPU total variation picture", err);
    if (s == NST_OK)
        s = need(grad, count, "GPU total variation gradient", err);
    if (s == NST_OK)
        s = need(partials, partial_offset + 2 * n, "GPU partial sums", err);
    if (s != NST_OK)
        return s;
    struct {
        int32_t h, w, partial_offset, n_partials;
        float gh, gv;
    } pc = {h, w, (int32_t)partial_offset, (int32_t)n, gh, gv};
    nst_gpu_buffer *buffers[3] = {x, grad, partials};
    uint32_t groups[3];
    linear_groups(count, groups);
    return append(seq, K_TV, buffers, &pc, sizeof pc, groups, err);
}

nst_status nst_gpu_mask_columns(nst_gpu_seq *seq, int channels, int pixels, nst_gpu_buffer *a, nst_gpu_buffer *mask,
                                size_t mask_offset, nst_gpu_buffer *out, nst_error *err)
{
    size_t count = (size_t)channels * pixels;
    if (!positive(channels, pixels, 1) || count > INT32_MAX || mask_offset > INT32_MAX)
        return nst_error_set(err, NST_ERR_INVALID, "GPU mask: %d channels of %d pixels", channels, pixels);
    nst_status s = need(a, count, "GPU mask input", err);
    if (s == NST_OK)
        s = need(mask, mask_offset + (size_t)pixels, "GPU mask plane", err);
    if (s == NST_OK)
        s = need(out, count, "GPU mask output", err);
    if (s != NST_OK)
        return s;
    int32_t pc[3] = {channels, pixels, (int32_t)mask_offset};
    nst_gpu_buffer *buffers[3] = {a, mask, out};
    uint32_t groups[3];
    linear_groups(count, groups);
    return append(seq, K_MASK_COLUMNS, buffers, pc, sizeof pc, groups, err);
}

nst_status nst_gpu_seq_set_push(nst_gpu_seq *seq, int index, const void *push, size_t push_bytes, nst_error *err)
{
    if (index < 0 || index >= seq->n_launches || push_bytes != seq->launches[index].push_bytes)
        return nst_error_set(err, NST_ERR_INVALID, "launch %d of a GPU sequence: no such launch or push size", index);
    launch *l = &seq->launches[index];
    if (memcmp(l->push, push, push_bytes) != 0) {
        nst_status s = settle(seq, err); /* the queued run keeps the old constants */
        if (s != NST_OK)
            return s;
        memcpy(l->push, push, push_bytes);
        seq->recorded = 0;
    }
    return NST_OK;
}

nst_status nst_gpu_optim_vectors(nst_gpu_seq *seq, size_t count, nst_gpu_buffer *const buffers[8], const void *push,
                                 size_t push_bytes, nst_error *err)
{
    if (push_bytes > PUSH_BYTES)
        return nst_error_set(err, NST_ERR_INVALID, "GPU vector pass: %zu push bytes", push_bytes);
    for (int b = 0; b < 5; b++) {
        nst_status s = need(buffers[b], count, "GPU vector pass", err);
        if (s != NST_OK)
            return s;
    }
    uint32_t groups[3];
    linear_groups(count, groups);
    return append(seq, K_OPTIM_VECTORS, buffers, push, push_bytes, groups, err);
}
