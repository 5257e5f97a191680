// Layer normalization over the last axis, optionally fused with the residual Add that precedes it in transformers:
//   h = x + residual;  sum = h (when asked);  y = (h − mean(h)) / sqrt(var(h) + eps) · gamma + beta
// Statistics in float32, two passes over the row (mean, then squared deviations) so rows with a large mean keep
// their precision.
//   float16, cols % 8 == 0, cols <= 2048: a warp per row, 16-byte loads and stores, the row in registers
//   cols <= 1024  a warp per row, the row held in registers: one read, one or two writes
//   longer rows   a block per row, the row read three times from global (L2-resident at these sizes)
#include <type_traits>

#include "common.cuh"

namespace ntrt::kernels {
namespace {

using namespace detail;

__device__ __forceinline__ float warpSum(float v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

template <typename T>
__device__ __forceinline__ float rowValue(const T* x, const T* res, int64_t at) {
  float h = toFloat(x[at]);
  if (res) h = toFloat(fromFloat<T>(h + toFloat(res[at])));
  return h;
}

template <typename T, int kPer>
__global__ void layerNormWarpKernel(int64_t rows, int cols, const T* __restrict__ x, const T* __restrict__ res,
                                    const float* __restrict__ gamma, const float* __restrict__ beta, float eps,
                                    T* __restrict__ y, T* __restrict__ sum) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = globalThreads() / 32;
  for (int64_t r = globalThread() / 32; r < rows; r += warps) {
    const int64_t base = r * cols;
    float v[kPer];
    float s = 0.f;
#pragma unroll
    for (int k = 0; k < kPer; ++k) {
      int i = lane + 32 * k;
      v[k] = 0.f;
      if (i < cols) {
        // The sum is rounded to T as the unfused Add would store it, so fused and unfused agree exactly.
        float h = rowValue(x, res, base + i);
        if (sum) sum[base + i] = fromFloat<T>(h);
        v[k] = h;
        s += h;
      }
    }
    const float mean = warpSum(s) / cols;
    float q = 0.f;
#pragma unroll
    for (int k = 0; k < kPer; ++k) {
      if (lane + 32 * k < cols) {
        float d = v[k] - mean;
        q += d * d;
      }
    }
    const float rstd = rsqrtf(warpSum(q) / cols + eps);
#pragma unroll
    for (int k = 0; k < kPer; ++k) {
      int i = lane + 32 * k;
      if (i < cols) {
        float o = (v[k] - mean) * rstd * (gamma ? gamma[i] : 1.f) + (beta ? beta[i] : 0.f);
        y[base + i] = fromFloat<T>(o);
      }
    }
  }
}

// float16 rows whose length is a multiple of 8: 16-byte loads and stores (8 halves a lane at a time, gamma and beta
// as float4 pairs), kChunks such chunks per lane held in registers. The same arithmetic as the scalar warp kernel.
// Every chunk of the row (and of the residual: kRes, a compile-time choice so no branch sits between the loads) is
// loaded before any is used, so a warp has all its loads in flight at once rather than one chunk's at a time.
template <int kChunks, bool kRes>
__global__ void __launch_bounds__(256)
    layerNormHalf8Kernel(int64_t rows, int cols, const __half* __restrict__ x, const __half* __restrict__ res,
                         const float* __restrict__ gamma, const float* __restrict__ beta, float eps,
                         __half* __restrict__ y, __half* __restrict__ sum) {
  const int lane = threadIdx.x % 32;
  const int chunks = cols / 8;
  const int64_t warps = globalThreads() / 32;
  for (int64_t r = globalThread() / 32; r < rows; r += warps) {
    const int64_t base = r * cols;
    uint4 a[kChunks], bres[kChunks];
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int ch = lane + 32 * c;
      const bool in = ch < chunks;
      a[c] = in ? *reinterpret_cast<const uint4*>(x + base + ch * 8) : make_uint4(0, 0, 0, 0);
      if constexpr (kRes) bres[c] = in ? *reinterpret_cast<const uint4*>(res + base + ch * 8) : make_uint4(0, 0, 0, 0);
    }
    float v[kChunks][8];
    float s = 0.f;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int ch = lane + 32 * c;
      const __half* ah = reinterpret_cast<const __half*>(&a[c]);
      if constexpr (kRes) {
        const __half* bh = reinterpret_cast<const __half*>(&bres[c]);
        uint4 hs;
        __half* hh = reinterpret_cast<__half*>(&hs);
#pragma unroll
        for (int e = 0; e < 8; ++e) {
          hh[e] = __float2half_rn(__half2float(ah[e]) + __half2float(bh[e]));  // rounded as the unfused Add stores it
          v[c][e] = __half2float(hh[e]);
        }
        if (sum && ch < chunks) *reinterpret_cast<uint4*>(sum + base + ch * 8) = hs;
      } else {
#pragma unroll
        for (int e = 0; e < 8; ++e) v[c][e] = __half2float(ah[e]);
        if (sum && ch < chunks) *reinterpret_cast<uint4*>(sum + base + ch * 8) = a[c];
      }
      // Chunks past the row are zeros: they add nothing to the sum.
#pragma unroll
      for (int e = 0; e < 8; ++e) s += v[c][e];
    }
    const float mean = warpSum(s) / cols;
    float q = 0.f;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      if (lane + 32 * c >= chunks) continue;
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        const float d = v[c][e] - mean;
        q += d * d;
      }
    }
    const float rstd = rsqrtf(warpSum(q) / cols + eps);
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int ch = lane + 32 * c;
      if (ch >= chunks) continue;
      float g[8], bt[8];
#pragma unroll
      for (int e = 0; e < 8; ++e) g[e] = 1.f, bt[e] = 0.f;
      if (gamma) {
        *reinterpret_cast<float4*>(g) = *reinterpret_cast<const float4*>(gamma + ch * 8);
        *reinterpret_cast<float4*>(g + 4) = *reinterpret_cast<const float4*>(gamma + ch * 8 + 4);
      }
      if (beta) {
        *reinterpret_cast<float4*>(bt) = *reinterpret_cast<const float4*>(beta + ch * 8);
        *reinterpret_cast<float4*>(bt + 4) = *reinterpret_cast<const float4*>(beta + ch * 8 + 4);
      }
      uint4 o;
      __half* oh = reinterpret_cast<__half*>(&o);
#pragma unroll
      for (int e = 0; e < 8; ++e) oh[e] = __float2half_rn((v[c][e] - mean) * rstd * g[e] + bt[e]);
      *reinterpret_cast<uint4*>(y + base + ch * 8) = o;
    }
  }
}

//! Launches the 16-byte kernel when the row length and every pointer allow it; false when they do not.
bool half8Launch(int64_t rows, int cols, const __half* x, const __half* res, const float* g, const float* b, float eps,
                 __half* y, __half* sum, cudaStream_t stream) {
  if (cols % 8 || cols > 8 * 32 * 8) return false;
  for (const void* p : {static_cast<const void*>(x), static_cast<const void*>(res), static_cast<const void*>(g),
                        static_cast<const void*>(b), static_cast<const void*>(y), static_cast<const void*>(sum)})
    if (p && !aligned(p, 16)) return false;
  const int per = (cols / 8 + 31) / 32;
  const unsigned grid = gridFor(rows * 32, 256);
  auto go = [&](auto n) {
    if (res) layerNormHalf8Kernel<decltype(n)::value, true><<<grid, 256, 0, stream>>>(rows, cols, x, res, g, b, eps, y, sum);
    else layerNormHalf8Kernel<decltype(n)::value, false><<<grid, 256, 0, stream>>>(rows, cols, x, res, g, b, eps, y, sum);
  };
  if (per <= 1) go(std::integral_constant<int, 1>{});
  else if (per <= 2) go(std::integral_constant<int, 2>{});
  else if (per <= 3) go(std::integral_constant<int, 3>{});
  else if (per <= 4) go(std::integral_constant<int, 4>{});
  else if (per <= 6) go(std::integral_constant<int, 6>{});
  else go(std::integral_constant<int, 8>{});
  return true;
}

__device__ float blockSum(float v, float* scratch) {
  v = warpSum(v);
  if (threadIdx.x % 32 == 0) scratch[threadIdx.x / 32] = v;
  __syncthreads();
  float t = 0.f;
  for (int w = 0; w < int(blockDim.x / 32); ++w) t += scratch[w];
  __syncthreads();
  return t;
}

template <typename T>
__global__ void __launch_bounds__(512)
    layerNormBlockKernel(int64_t rows, int cols, const T* __restrict__ x, const T* __restrict__ res,
                         const float* __restrict__ gamma, const float* __restrict__ beta, float eps,
                         T* __restrict__ y, T* __restrict__ sum) {
  __shared__ float scratch[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t base = r * cols;
    float s = 0.f;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) s += rowValue(x, res, base + i);
    const float mean = blockSum(s, scratch) / cols;
    float q = 0.f;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
      float d = rowValue(x, res, base + i) - mean;
      q += d * d;
    }
    const float rstd = rsqrtf(blockSum(q, scratch) / cols + eps);
    // y may alias neither x nor res here (the executor never asks), so the sum is written last.
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
      float h = rowValue(x, res, base + i);
      y[base + i] = fromFloat<T>((h - mean) * rstd * (gamma ? gamma[i] : 1.f) + (beta ? beta[i] : 0.f));
      if (sum) sum[base + i] = fromFloat<T>(h);
    }
  }
}

template <typename T, int kPer>
void warpLaunch(int64_t rows, int cols, const T* x, const T* res, const float* g, const float* b, float eps, T* y,
                T* sum, cudaStream_t stream) {
  layerNormWarpKernel<T, kPer><<<gridFor(rows * 32, 256), 256, 0, stream>>>(rows, cols, x, res, g, b, eps, y, sum);
}

}  // namespace

void layerNorm(int64_t rows, int cols, DType t, const void* x, const void* residual, const float* gamma,
               const float* beta, float eps, void* y, void* sum, cudaStream_t stream) {
  if (rows < 0 || cols < 0) fail("ERR_INVALID_ARGUMENT", "layerNorm: negative extent");
  if (!(eps >= 0.f)) fail("ERR_INVALID_ARGUMENT", "layerNorm: epsilon must be a non-negative number");
  dispatchFloat(t, "layerNorm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (rows == 0 || cols == 0) return;
    const T* xs = static_cast<const T*>(x);
    const T* rs = static_cast<const T*>(residual);
    T* ys = static_cast<T*>(y);
    T* ss = static_cast<T*>(sum);
    if constexpr (std::is_same_v<T, __half>) {
      if (half8Launch(rows, cols, xs, rs, gamma, beta, eps, ys, ss, stream)) {
        CUDA_CHECK_LAUNCH();
        return;
      }
    }
    if (cols <= 64) warpLaunch<T, 2>(rows, cols, xs, rs, gamma, beta, eps, ys, ss, stream);
    else if (cols <= 128) warpLaunch<T, 4>(rows, cols, xs, rs, gamma, beta, eps, ys, ss, stream);
    else if (cols <= 256) warpLaunch<T, 8>(rows, cols, xs, rs, gamma, beta, eps, ys, ss, stream);
    else if (cols <= 512) warpLaunch<T, 16>(rows, cols, xs, rs, gamma, beta, eps, ys, ss, stream);
    else if (cols <= 1024) warpLaunch<T, 32>(rows, cols, xs, rs, gamma, beta, eps, ys, ss, stream);
    else {
      unsigned grid = static_cast<unsigned>(std::min<int64_t>(rows, int64_t(smCount()) * 8));
      layerNormBlockKernel<T><<<grid, 512, 0, stream>>>(rows, cols, xs, rs, gamma, beta, eps, ys, ss);
    }
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace ntrt::kernels
