// Helpers shared by the compute shaders.

// Element-wise kernels run 256 invocations per workgroup on a grid that the
// host folds into x and y (x is limited to 65535 groups).
uint flat_index()
{
    return gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
}

// nn/layers.c nst_padded_source: where padded coordinate i reads from, or -1
// for a zero.  mode: 0 zero, 1 reflect (mirror without the edge), 2 replicate.
int padded_source(int i, int len, int mode)
{
    if (i >= 0 && i < len)
        return i;
    if (mode == 2)
        return i < 0 ? 0 : len - 1;
    if (mode == 1) {
        if (len == 1)
            return 0;
        int period = 2 * (len - 1);
        int folded = abs(i) % period;
        return folded < len ? folded : period - folded;
    }
    return -1;
}
