// Layer normalization over the last axis, optionally fused with the residual Add that precedes it in transformers:
//   h = x + residual;  sum = h (when asked);  y = (h − mean(h)) / sqrt(var(h) + eps) · gamma + beta
// Statistics in float32, two passes over the row (mean, then squared deviations) so rows with a large mean keep
// their precision.
//   cols <= 1024  a warp per row, the row held in registers: one read, one or two writes
//   longer rows   a block per row, the row read three times from global (L2-resident at these sizes)
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
