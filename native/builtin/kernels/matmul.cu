// Batched matrix product of two activations, C[z] = alpha · A[z] · B[z], for MatMul of any rank: up to three batch
// levels with their own strides (0 broadcasts an operand), and element strides inside A and B, so a transposed
// operand (Kᵀ read from K) needs no copy. C rows are `cm` elements apart, columns contiguous.
//   float16  tensor cores (wmma 16x16x16, float32 accumulation): 64x64 tiles, 4 warps of 32x32, k-steps of 32
//   float32  SIMT: 64x64 tiles, 4x4 outputs per thread
// Tiles are staged through shared memory, loaded along whichever axis is contiguous so global reads coalesce.
#include <mma.h>

#include "common.cuh"

namespace ntrt::kernels {
namespace {

using namespace detail;
constexpr int kBM = 64, kBN = 64, kThreads = 256;

struct Batch {
  int64_t dims[3];
  int64_t sa[3], sb[3], sc[3];
  __device__ __forceinline__ void offsets(int64_t z, int64_t& oa, int64_t& ob, int64_t& oc) const {
    oa = ob = oc = 0;
    for (int d = 2; d >= 0; --d) {
      int64_t q = z / dims[d];
      int64_t c = z - q * dims[d];
      z = q;
      oa += c * sa[d];
      ob += c * sb[d];
      oc += c * sc[d];
    }
  }
};

Batch batchOf(const MatmulDesc& d) {
  Batch b{};
  for (int i = 0; i < 3; ++i) {
    int src = i - (3 - d.batchRank);  // right-aligned: unused leading levels are 1
    b.dims[i] = src >= 0 ? d.batch[src] : 1;
    b.sa[i] = src >= 0 ? d.sa[src] : 0;
    b.sb[i] = src >= 0 ? d.sb[src] : 0;
    b.sc[i] = src >= 0 ? d.sc[src] : 0;
  }
  return b;
}

struct Strides {
  int64_t am, ak, bk, bn, cm;
};

// ---- float32 (and any type) SIMT path ---------------------------------------------------------------------------

constexpr int kSimtBK = 16;

template <typename T>
__global__ void matmulSimtKernel(int64_t batches, Batch bt, int m, int n, int k, Strides s, float alpha,
                                 const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ c) {
  __shared__ float as[kSimtBK][kBM];
  __shared__ float bs[kSimtBK][kBN];
  const int t = threadIdx.x;
  const int tx = t % 16, ty = t / 16;
  const int m0 = blockIdx.y * kBM, n0 = blockIdx.x * kBN;
  const bool aAlongK = s.ak == 1, bAlongN = s.bn == 1;
  for (int64_t z = blockIdx.z; z < batches; z += gridDim.z) {
    int64_t oa, ob, oc;
    bt.offsets(z, oa, ob, oc);
    float acc[4][4] = {};
    for (int k0 = 0; k0 < k; k0 += kSimtBK) {
#pragma unroll
      for (int i = 0; i < (kBM * kSimtBK) / kThreads; ++i) {
        int idx = t + i * kThreads;
        int row = aAlongK ? idx / kSimtBK : idx % kBM, col = aAlongK ? idx % kSimtBK : idx / kBM;
        int gm = m0 + row, gk = k0 + col;
        as[col][row] = gm < m && gk < k ? toFloat(a[oa + gm * s.am + gk * s.ak]) : 0.f;
      }
#pragma unroll
      for (int i = 0; i < (kSimtBK * kBN) / kThreads; ++i) {
        int idx = t + i * kThreads;
        int row = bAlongN ? idx / kBN : idx % kSimtBK, col = bAlongN ? idx % kBN : idx / kSimtBK;
        int gk = k0 + row, gn = n0 + col;
        bs[row][col] = gk < k && gn < n ? toFloat(b[ob + gk * s.bk + gn * s.bn]) : 0.f;
      }
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < kSimtBK; ++kk) {
        float av[4], bv[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) av[i] = as[kk][ty + 16 * i];
#pragma unroll
        for (int j = 0; j < 4; ++j) bv[j] = bs[kk][tx + 16 * j];
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
          for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
      }
      __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      int gm = m0 + ty + 16 * i;
      if (gm >= m) continue;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        int gn = n0 + tx + 16 * j;
        if (gn < n) c[oc + gm * s.cm + gn] = fromFloat<T>(alpha * acc[i][j]);
      }
    }
  }
}

// ---- float16 tensor-core path -----------------------------------------------------------------------------------

constexpr int kTcBK = 32;
constexpr int kPadA = kTcBK + 8, kPadB = kBN + 8, kPadC = kBN + 4;  // padding breaks shared-memory bank conflicts

struct TcSmem {
  union {
    struct {
      __half a[kBM][kPadA];
      __half b[kTcBK][kPadB];
    } in;
    float c[kBM][kPadC];
  };
};

__global__ void __launch_bounds__(128) matmulTcKernel(int64_t batches, Batch bt, int m, int n, int k, Strides s,
                                                      float alpha, const __half* __restrict__ a,
                                                      const __half* __restrict__ b, __half* __restrict__ c) {
  using namespace nvcuda;
  __shared__ __align__(128) TcSmem sm;  // wmma loads and stores need 32-byte aligned tiles
  const int t = threadIdx.x, warp = t / 32;
  const int wm = (warp / 2) * 32, wn = (warp % 2) * 32;
  const int m0 = blockIdx.y * kBM, n0 = blockIdx.x * kBN;
  const bool aAlongK = s.ak == 1, bAlongN = s.bn == 1;
  const __half zero = __float2half_rn(0.f);
  for (int64_t z = blockIdx.z; z < batches; z += gridDim.z) {
    int64_t oa, ob, oc;
    bt.offsets(z, oa, ob, oc);
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.f);
    for (int k0 = 0; k0 < k; k0 += kTcBK) {
      for (int idx = t; idx < kBM * kTcBK; idx += 128) {
        int row = aAlongK ? idx / kTcBK : idx % kBM, col = aAlongK ? idx % kTcBK : idx / kBM;
        int gm = m0 + row, gk = k0 + col;
        sm.in.a[row][col] = gm < m && gk < k ? a[oa + gm * s.am + gk * s.ak] : zero;
      }
      for (int idx = t; idx < kTcBK * kBN; idx += 128) {
        int row = bAlongN ? idx / kBN : idx % kTcBK, col = bAlongN ? idx % kBN : idx / kTcBK;
        int gk = k0 + row, gn = n0 + col;
        sm.in.b[row][col] = gk < k && gn < n ? b[ob + gk * s.bk + gn * s.bn] : zero;
      }
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < kTcBK; kk += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa[2];
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> fb[2];
#pragma unroll
        for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(fa[i], &sm.in.a[wm + 16 * i][kk], kPadA);
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(fb[j], &sm.in.b[kk][wn + 16 * j], kPadB);
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
          for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
      }
      __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
      for (int j = 0; j < 2; ++j)
        wmma::store_matrix_sync(&sm.c[wm + 16 * i][wn + 16 * j], acc[i][j], kPadC, wmma::mem_row_major);
    __syncthreads();
    for (int idx = t; idx < kBM * kBN; idx += 128) {
      int row = idx / kBN, col = idx % kBN;
      int gm = m0 + row, gn = n0 + col;
      if (gm < m && gn < n) c[oc + gm * s.cm + gn] = __float2half_rn(alpha * sm.c[row][col]);
    }
    __syncthreads();
  }
}

}  // namespace

void matmul(const MatmulDesc& d, DType t, const void* a, const void* b, void* c, cudaStream_t stream) {
  if (d.m < 0 || d.n < 0 || d.k < 0) fail("ERR_INVALID_ARGUMENT", "matmul: negative extent");
  if (d.batchRank < 0 || d.batchRank > 3) fail("ERR_INVALID_ARGUMENT", "matmul: at most 3 batch levels");
  int64_t batches = 1;
  for (int i = 0; i < d.batchRank; ++i) {
    if (d.batch[i] < 0) fail("ERR_INVALID_ARGUMENT", "matmul: negative batch extent");
    batches *= d.batch[i];
  }
  dispatchFloat(t, "matmul", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (batches == 0 || d.m == 0 || d.n == 0) return;
    Batch bt = batchOf(d);
    Strides s{d.am, d.ak, d.bk, d.bn, d.cm};
    dim3 grid((d.n + kBN - 1) / kBN, (d.m + kBM - 1) / kBM, static_cast<unsigned>(std::min<int64_t>(batches, 65535)));
    if (grid.y > 65535) fail("ERR_INVALID_ARGUMENT", "matmul: m is too large");
    // k == 0 is an empty sum: both kernels write zeros.
    if constexpr (std::is_same_v<T, __half>) {
      matmulTcKernel<<<grid, 128, 0, stream>>>(batches, bt, d.m, d.n, d.k, s, d.alpha, static_cast<const __half*>(a),
                                               static_cast<const __half*>(b), static_cast<__half*>(c));
    } else {
      matmulSimtKernel<T><<<grid, kThreads, 0, stream>>>(batches, bt, d.m, d.n, d.k, s, d.alpha,
                                                         static_cast<const T*>(a), static_cast<const T*>(b),
                                                         static_cast<T*>(c));
    }
    CUDA_CHECK_LAUNCH();
  });
}

void batchedMatmul(int64_t batch, int m, int n, int k, DType t, const void* a, int64_t strideA, const void* b,
                   int64_t strideB, void* c, int64_t strideC, cudaStream_t stream) {
  MatmulDesc d{};
  d.m = m, d.n = n, d.k = k;
  d.batchRank = 1;
  d.batch[0] = batch;
  d.sa[0] = strideA, d.sb[0] = strideB, d.sc[0] = strideC;
  d.am = k, d.ak = 1, d.bk = n, d.bn = 1, d.cm = n;
  d.alpha = 1.f;
  matmul(d, t, a, b, c, stream);
}

}  // namespace ntrt::kernels
