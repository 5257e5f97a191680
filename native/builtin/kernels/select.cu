// ArgMax / ArgMin over the middle axis of [outer, len, inner]: a thread per (outer, inner) pair, so neighbouring
// threads read neighbouring inner elements (coalesced for NCHW-style inners; for a channel argmax over NHWC the
// axis is innermost and each thread reads one contiguous run).
#include "common.cuh"

namespace ntrt::kernels {
namespace {

using namespace detail;
constexpr int kBlock = 256;

template <typename T>
__global__ void argKernel(bool max, bool last, int64_t outer, int64_t len, int64_t inner, const T* __restrict__ x,
                          int64_t* __restrict__ y) {
  const int64_t total = outer * inner;
  for (int64_t idx = globalThread(); idx < total; idx += globalThreads()) {
    int64_t o = idx / inner, i = idx % inner;
    const T* p = x + o * len * inner + i;
    int64_t best = 0;
    float bv = toFloat(p[0]);
    for (int64_t j = 1; j < len; ++j) {
      float v = toFloat(p[j * inner]);
      bool better = max ? (v > bv || (last && v == bv)) : (v < bv || (last && v == bv));
      if (better) {
        best = j;
        bv = v;
      }
    }
    y[idx] = best;
  }
}

// Selection by rank: each pick is the best element ranked strictly after the previous pick in (value, then lower
// index) order, so no scratch is needed; O(k·len) per row, meant for class-sized axes.
template <typename T>
__global__ void topkKernel(bool largest, int64_t outer, int64_t len, int64_t inner, int k, const T* __restrict__ x,
                           T* __restrict__ values, int64_t* __restrict__ indices) {
  const int64_t total = outer * inner;
  for (int64_t idx = globalThread(); idx < total; idx += globalThreads()) {
    int64_t o = idx / inner, i = idx % inner;
    const T* p = x + o * len * inner + i;
    float pv = 0.f;
    int64_t pi = -1;
    for (int j = 0; j < k; ++j) {
      int64_t best = -1;
      float bv = 0.f;
      for (int64_t q = 0; q < len; ++q) {
        float v = toFloat(p[q * inner]);
        float s = largest ? v : -v;
        // Ranked after the previous pick: worse value, or the same value at a higher index.
        if (pi >= 0 && !(s < pv || (s == pv && q > pi))) continue;
        if (best < 0 || s > bv) best = q, bv = s;
      }
      pv = bv, pi = best;
      values[(o * k + j) * inner + i] = p[best * inner];
      indices[(o * k + j) * inner + i] = best;
    }
  }
}

}  // namespace

void topk(bool largest, int64_t outer, int64_t len, int64_t inner, int k, DType t, const void* x, void* values,
          int64_t* indices, cudaStream_t stream) {
  if (outer < 0 || inner < 0 || k < 0 || k > len) fail("ERR_INVALID_ARGUMENT", "topk: invalid shape or k");
  dispatchFloat(t, "topk", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (outer * inner * k == 0) return;
    topkKernel<T><<<gridFor(outer * inner, kBlock), kBlock, 0, stream>>>(largest, outer, len, inner, k, static_cast<const T*>(x),
                                                                        static_cast<T*>(values), indices);
    CUDA_CHECK_LAUNCH();
  });
}

void argReduce(bool max, bool last, int64_t outer, int64_t len, int64_t inner, DType t, const void* x, int64_t* y,
               cudaStream_t stream) {
  if (outer < 0 || len <= 0 || inner < 0) fail("ERR_INVALID_ARGUMENT", "argReduce: invalid shape");
  dispatchFloat(t, "argReduce", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (outer * inner == 0) return;
    argKernel<T><<<gridFor(outer * inner, kBlock), kBlock, 0, stream>>>(max, last, outer, len, inner,
                                                                        static_cast<const T*>(x), y);
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace ntrt::kernels
