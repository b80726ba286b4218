// The pooling backward's windows: needs pc.kernel and pc.stride.

// First and last output index whose window [o s, o s + kernel) holds i.
void windows_of(int i, int out_len, out int first, out int last)
{
    int span = i - pc.kernel + 1;
    first = span <= 0 ? 0 : (span + pc.stride - 1) / pc.stride;
    last = min(i / pc.stride, out_len - 1);
}
