// ArgMax / ArgMin over the middle axis of [outer, len, inner]: a thread per (outer, inner) pair, so neighbouring
// threads read neighbouring inner elements (coalesced for NCHW-style inners; for a channel argmax over NHWC the
// axis is innermost and each thread reads one contiguous run).
// Both, and TopK, rank values by one total order (NumPy's and PyTorch's sort order): NaN above +Inf, NaNs equal to
// each other, −0 equal to +0; equal values go by index. So any input, NaN included, gives defined picks in bounds.
#include "common.cuh"

namespace ntrt::kernels {
namespace {

using namespace detail;
constexpr int kBlock = 256;

//! Rank of `v` for picking: a larger key is picked first (the largest values, or with !largest the smallest).
__device__ __forceinline__ uint32_t rankKey(float v, bool largest) {
  if (v != v) return largest ? 0xffffffffu : 0u;  // NaN: first when largest, last otherwise
  if (v == 0.f) v = 0.f;                          // −0 ranks as +0 (ties go by index)
  const uint32_t u = __float_as_uint(v);
  const uint32_t o = (u & 0x80000000u) ? ~u : (u | 0x80000000u);  // monotone in v; +Inf is 0xff800000
  return largest ? o : ~o;
}

template <typename T>
__global__ void argKernel(bool max, bool last, int64_t outer, int64_t len, int64_t inner, const T* __restrict__ x,
                          int64_t* __restrict__ y) {
  const int64_t total = outer * inner;
  for (int64_t idx = globalThread(); idx < total; idx += globalThreads()) {
    int64_t o = idx / inner, i = idx % inner;
    const T* p = x + o * len * inner + i;
    int64_t best = 0;
    uint32_t bk = rankKey(toFloat(p[0]), max);
    for (int64_t j = 1; j < len; ++j) {
      const uint32_t k = rankKey(toFloat(p[j * inner]), max);
      if (k > bk || (last && k == bk)) best = j, bk = k;
    }
    y[idx] = best;
  }
}

// Selection by rank: each pick is the best element ranked strictly after the previous pick in (key, then lower
// index) order, so no scratch is needed; O(k·len) per row, meant for class-sized axes. The (key, index) pairs of a
// row are distinct and totally ordered, so with k ≤ len every pick finds an element.
template <typename T>
__global__ void topkKernel(bool largest, int64_t outer, int64_t len, int64_t inner, int k, const T* __restrict__ x,
                           T* __restrict__ values, int64_t* __restrict__ indices) {
  const int64_t total = outer * inner;
  for (int64_t idx = globalThread(); idx < total; idx += globalThreads()) {
    int64_t o = idx / inner, i = idx % inner;
    const T* p = x + o * len * inner + i;
    uint32_t pk = 0;
    int64_t pi = -1;
    for (int j = 0; j < k; ++j) {
      int64_t best = -1;
      uint32_t bk = 0;
      for (int64_t q = 0; q < len; ++q) {
        const uint32_t kq = rankKey(toFloat(p[q * inner]), largest);
        // Ranked after the previous pick: a lower key, or the same key at a higher index.
        if (pi >= 0 && !(kq < pk || (kq == pk && q > pi))) continue;
        if (best < 0 || kq > bk) best = q, bk = kq;
      }
      if (best < 0) best = pi, bk = pk;  // unreachable with k ≤ len (and pi ≥ 0 once j > 0): no read outside the row
      pk = bk, pi = best;
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
