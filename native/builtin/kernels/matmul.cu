// Batched matrix product of two activations (attention-style MatMul, rare in CNNs): a SIMT kernel with 64x64
// shared-memory tiles, 4x4 outputs per thread, float32 accumulation.
#include "common.cuh"

namespace ntrt::kernels {
namespace {

using namespace detail;
constexpr int kBM = 64, kBN = 64, kBK = 16, kThreads = 256;

template <typename T>
__global__ void batchedMatmulKernel(int64_t batch, int m, int n, int k, const T* __restrict__ a, int64_t strideA,
                                    const T* __restrict__ b, int64_t strideB, T* __restrict__ c, int64_t strideC) {
  __shared__ float as[kBK][kBM];
  __shared__ float bs[kBK][kBN];
  const int t = threadIdx.x;
  const int tx = t % 16, ty = t / 16;
  const int m0 = blockIdx.y * kBM, n0 = blockIdx.x * kBN;
  for (int64_t z = blockIdx.z; z < batch; z += gridDim.z) {
    const T* A = a + z * strideA;
    const T* B = b + z * strideB;
    float acc[4][4] = {};
    for (int k0 = 0; k0 < k; k0 += kBK) {
#pragma unroll
      for (int i = 0; i < (kBM * kBK) / kThreads; ++i) {
        int idx = t + i * kThreads;
        int row = idx / kBK, col = idx % kBK;
        int gm = m0 + row, gk = k0 + col;
        as[col][row] = gm < m && gk < k ? toFloat(A[int64_t(gm) * k + gk]) : 0.f;
      }
#pragma unroll
      for (int i = 0; i < (kBK * kBN) / kThreads; ++i) {
        int idx = t + i * kThreads;
        int row = idx / kBN, col = idx % kBN;
        int gk = k0 + row, gn = n0 + col;
        bs[row][col] = gk < k && gn < n ? toFloat(B[int64_t(gk) * n + gn]) : 0.f;
      }
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < kBK; ++kk) {
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
    T* C = c + z * strideC;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      int gm = m0 + ty + 16 * i;
      if (gm >= m) continue;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        int gn = n0 + tx + 16 * j;
        if (gn < n) C[int64_t(gm) * n + gn] = fromFloat<T>(acc[i][j]);
      }
    }
  }
}

}  // namespace

void batchedMatmul(int64_t batch, int m, int n, int k, DType t, const void* a, int64_t strideA, const void* b,
                   int64_t strideB, void* c, int64_t strideC, cudaStream_t stream) {
  if (batch < 0 || m < 0 || n < 0 || k < 0) fail("ERR_INVALID_ARGUMENT", "batchedMatmul: negative extent");
  dispatchFloat(t, "batchedMatmul", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (batch == 0 || m == 0 || n == 0) return;
    if (k == 0) {  // an empty sum: zeros
      size_t bytes = size_t(m) * n * sizeof(T);
      if (strideC == int64_t(m) * n) {
        CUDA_CHECK(cudaMemsetAsync(c, 0, bytes * batch, stream));
      } else {
        for (int64_t z = 0; z < batch; ++z)
          CUDA_CHECK(cudaMemsetAsync(static_cast<T*>(c) + z * strideC, 0, bytes, stream));
      }
      return;
    }
    dim3 grid((n + kBN - 1) / kBN, (m + kBM - 1) / kBM, static_cast<unsigned>(std::min<int64_t>(batch, 65535)));
    if (grid.y > 65535) fail("ERR_INVALID_ARGUMENT", "batchedMatmul: m is too large");
    const T* as = static_cast<const T*>(a);
    const T* bs = static_cast<const T*>(b);
    batchedMatmulKernel<T><<<grid, kThreads, 0, stream>>>(batch, m, n, k, as, strideA, bs, strideB, static_cast<T*>(c),
                                                         strideC);
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace ntrt::kernels
