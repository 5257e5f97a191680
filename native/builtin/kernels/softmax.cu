// Softmax / log-softmax over the middle axis of [outer, len, inner], in float32 with max subtraction.
//   inner == 1, len <= 1024  a warp per row holding the row in registers: one read, one write (classifier heads)
//   inner == 1, longer rows  a block per row: an online max/sum pass, then a write pass
//   inner > 1                a thread per (outer, inner) column, coalesced along inner, same two passes
#include "common.cuh"

namespace ntrt::kernels {
namespace {

using namespace detail;

// Running (max, sum of exp(x - max)) pairs, merged safely when both maxima are -inf.
struct MaxSum {
  float m, s;
};
__device__ __forceinline__ float rescale(float s, float from, float to) { return from == to ? s : s * expf(from - to); }
__device__ __forceinline__ MaxSum merge(MaxSum a, MaxSum b) {
  float m = fmaxf(a.m, b.m);
  return {m, rescale(a.s, a.m, m) + rescale(b.s, b.m, m)};
}
__device__ __forceinline__ MaxSum push(MaxSum a, float x) {
  if (x > a.m) return {x, rescale(a.s, a.m, x) + 1.f};
  return {a.m, a.s + expf(x - a.m)};
}

__device__ __forceinline__ float finish(float x, float m, float s, bool logSoftmax) {
  return logSoftmax ? x - m - logf(s) : expf(x - m) / s;
}

template <typename Ti, typename To, int kPer>
__global__ void softmaxWarpKernel(int64_t rows, int len, bool logSoftmax, const Ti* __restrict__ x,
                                  To* __restrict__ y) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = globalThreads() / 32;
  for (int64_t r = globalThread() / 32; r < rows; r += warps) {
    const Ti* row = x + r * len;
    float v[kPer];
    float m = -INFINITY;
#pragma unroll
    for (int k = 0; k < kPer; ++k) {
      int i = lane + 32 * k;
      v[k] = i < len ? toFloat(row[i]) : -INFINITY;
      m = fmaxf(m, v[k]);
    }
    for (int off = 16; off > 0; off >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, off));
    float s = 0.f;
#pragma unroll
    for (int k = 0; k < kPer; ++k) {
      if (lane + 32 * k < len) s += expf(v[k] - m);
    }
    for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
    To* out = y + r * len;
#pragma unroll
    for (int k = 0; k < kPer; ++k) {
      int i = lane + 32 * k;
      if (i < len) out[i] = fromFloat<To>(finish(v[k], m, s, logSoftmax));
    }
  }
}

template <typename Ti, typename To>
__global__ void __launch_bounds__(512)
    softmaxBlockKernel(int64_t rows, int64_t len, bool logSoftmax, const Ti* __restrict__ x, To* __restrict__ y) {
  __shared__ MaxSum partial[32];
  __shared__ MaxSum total;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const Ti* row = x + r * len;
    MaxSum a{-INFINITY, 0.f};
    for (int64_t i = threadIdx.x; i < len; i += blockDim.x) a = push(a, toFloat(row[i]));
    for (int off = 16; off > 0; off >>= 1) {
      MaxSum b{__shfl_xor_sync(0xffffffffu, a.m, off), __shfl_xor_sync(0xffffffffu, a.s, off)};
      a = merge(a, b);
    }
    if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = a;
    __syncthreads();
    if (threadIdx.x < 32) {
      a = threadIdx.x < blockDim.x / 32 ? partial[threadIdx.x] : MaxSum{-INFINITY, 0.f};
      for (int off = 16; off > 0; off >>= 1) {
        MaxSum b{__shfl_xor_sync(0xffffffffu, a.m, off), __shfl_xor_sync(0xffffffffu, a.s, off)};
        a = merge(a, b);
      }
      if (threadIdx.x == 0) total = a;
    }
    __syncthreads();
    MaxSum t = total;
    To* out = y + r * len;
    for (int64_t i = threadIdx.x; i < len; i += blockDim.x)
      out[i] = fromFloat<To>(finish(toFloat(row[i]), t.m, t.s, logSoftmax));
    __syncthreads();
  }
}

template <typename Ti, typename To>
__global__ void softmaxColsKernel(int64_t outer, int64_t len, int64_t inner, bool logSoftmax, const Ti* __restrict__ x,
                                  To* __restrict__ y) {
  const int64_t n = outer * inner;
  for (int64_t t = globalThread(); t < n; t += globalThreads()) {
    int64_t o = t / inner;
    int64_t base = o * len * inner + (t - o * inner);
    MaxSum a{-INFINITY, 0.f};
    for (int64_t l = 0; l < len; ++l) a = push(a, toFloat(x[base + l * inner]));
    for (int64_t l = 0; l < len; ++l)
      y[base + l * inner] = fromFloat<To>(finish(toFloat(x[base + l * inner]), a.m, a.s, logSoftmax));
  }
}

template <typename Ti, typename To, int kPer>
void warpLaunch(int64_t rows, int len, bool logSoftmax, const Ti* x, To* y, cudaStream_t stream) {
  softmaxWarpKernel<Ti, To, kPer><<<gridFor(rows * 32, 256), 256, 0, stream>>>(rows, len, logSoftmax, x, y);
}

template <typename Ti, typename To>
void softmaxTyped(int64_t outer, int64_t len, int64_t inner, bool logSoftmax, const Ti* x, To* y, cudaStream_t stream) {
  if (inner > 1) {
    softmaxColsKernel<Ti, To><<<gridFor(outer * inner, 256), 256, 0, stream>>>(outer, len, inner, logSoftmax, x, y);
    return;
  }
  if (len <= 1024) {
    int l = int(len);
    if (len <= 32) return warpLaunch<Ti, To, 1>(outer, l, logSoftmax, x, y, stream);
    if (len <= 64) return warpLaunch<Ti, To, 2>(outer, l, logSoftmax, x, y, stream);
    if (len <= 128) return warpLaunch<Ti, To, 4>(outer, l, logSoftmax, x, y, stream);
    if (len <= 256) return warpLaunch<Ti, To, 8>(outer, l, logSoftmax, x, y, stream);
    if (len <= 512) return warpLaunch<Ti, To, 16>(outer, l, logSoftmax, x, y, stream);
    return warpLaunch<Ti, To, 32>(outer, l, logSoftmax, x, y, stream);
  }
  unsigned grid = static_cast<unsigned>(std::min<int64_t>(outer, int64_t(smCount()) * 8));
  softmaxBlockKernel<Ti, To><<<grid, 512, 0, stream>>>(outer, len, logSoftmax, x, y);
}

}  // namespace

void softmax(int64_t outer, int64_t len, int64_t inner, bool logSoftmax, DType inT, const void* x, DType outT, void* y,
             cudaStream_t stream) {
  if (outer < 0 || len < 0 || inner < 0) fail("ERR_INVALID_ARGUMENT", "softmax: negative extent");
  dispatchFloat(inT, "softmax", [&](auto ti) {
    dispatchFloat(outT, "softmax", [&](auto to) {
      using Ti = typename decltype(ti)::type;
      using To = typename decltype(to)::type;
      if (outer * len * inner == 0) return;
      softmaxTyped<Ti, To>(outer, len, inner, logSoftmax, static_cast<const Ti*>(x), static_cast<To*>(y), stream);
      CUDA_CHECK_LAUNCH();
    });
  });
}

}  // namespace ntrt::kernels
