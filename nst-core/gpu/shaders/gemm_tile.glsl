// One BM x BN tile of a product C = A B, staged through shared memory in
// slices of BK.  The including shader defines
//   float load_a(int m, int k), float load_b(int k, int n)   the operands,
//   bool A_K_FAST, bool B_K_FAST   whether consecutive k are adjacent in
//                                  memory (then a slice is read along k),
// and calls gemm_tile(), then stores acc.  Every output element is summed by
// one invocation in increasing k: the same inputs give the same bytes.
#define BM 64
#define BN 64
#define BK 16
#define THREADS 256

layout(local_size_x = 16, local_size_y = 16) in;

// +1: a slice read along k writes with a stride of 65 words, not 64, so
// neighbouring invocations hit different banks.
shared float tile_a[BK][BM + 1];
shared float tile_b[BK][BN + 1];

// acc[i][j] is element (m0 + ty + 16 i, n0 + tx + 16 j) of the tile.
float acc[4][4];

void gemm_tile(int M, int N, int k_begin, int k_end)
{
    int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
    int tid = ty * 16 + tx;
    int m0 = int(gl_WorkGroupID.y) * BM, n0 = int(gl_WorkGroupID.x) * BN;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            acc[i][j] = 0.0;
    for (int k0 = k_begin; k0 < k_end; k0 += BK) {
        for (int e = tid; e < BK * BM; e += THREADS) {
            int kk = A_K_FAST ? e % BK : e / BM;
            int mm = A_K_FAST ? e / BK : e % BM;
            int m = m0 + mm, k = k0 + kk;
            tile_a[kk][mm] = (m < M && k < k_end) ? load_a(m, k) : 0.0;
        }
        for (int e = tid; e < BK * BN; e += THREADS) {
            int kk = B_K_FAST ? e % BK : e / BN;
            int nn = B_K_FAST ? e / BK : e % BN;
            int n = n0 + nn, k = k0 + kk;
            tile_b[kk][nn] = (n < N && k < k_end) ? load_b(k, n) : 0.0;
        }
        barrier();
        for (int kk = 0; kk < BK; kk++) {
            float a[4], b[4];
            for (int i = 0; i < 4; i++)
                a[i] = tile_a[kk][ty + 16 * i];
            for (int j = 0; j < 4; j++)
                b[j] = tile_b[kk][tx + 16 * j];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    acc[i][j] += a[i] * b[j];
        }
        barrier();
    }
}

// Row and column of acc[i][j].
int tile_m(int i) { return int(gl_WorkGroupID.y) * BM + int(gl_LocalInvocationID.y) + 16 * i; }
int tile_n(int j) { return int(gl_WorkGroupID.x) * BN + int(gl_LocalInvocationID.x) + 16 * j; }
