// A workgroup's sum of one float per invocation, in a fixed tree order (the
// same bytes every run): invocation 0 gets it.  Needs local_size_x = 256.
shared float group_sum_scratch[256];

float group_sum(float v)
{
    uint lid = gl_LocalInvocationID.x;
    group_sum_scratch[lid] = v;
    for (uint stride = 128; stride > 0; stride /= 2) {
        barrier();
        if (lid < stride)
            group_sum_scratch[lid] += group_sum_scratch[lid + stride];
    }
    barrier();
    return group_sum_scratch[0];
}

// The workgroup's index in the grid the host folds into x and y.
uint group_index()
{
    return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
}
