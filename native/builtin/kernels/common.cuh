// Internals shared by the non-convolution kernels: launch sizing, vector access, dtype dispatch, dim collapsing.
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "../../cuda/check.h"
#include "activation.cuh"

namespace ntrt::kernels::detail {

//! Multiprocessors of the current device, cached per device (a host query only: safe while capturing).
int smCount();

//! Blocks for a grid-stride loop over `work` items: enough to fill every SM twice over, never more than needed.
inline unsigned gridFor(int64_t work, int block) {
  int64_t need = (work + block - 1) / block;
  int64_t cap = int64_t(smCount()) * (2048 / block) * 2;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min(need, cap)));
}

inline bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

//! V elements moved as one aligned access (ld/st.global.v4 for 16 bytes).
template <typename T, int V>
struct alignas(sizeof(T) * V) Vec {
  T v[V];
};

//! Elements of T per 16-byte access.
template <typename T>
constexpr int kVec16 = 16 / int(sizeof(T));

//! Grid-stride loop bounds for a 1-D launch.
__device__ __forceinline__ int64_t globalThread() { return blockIdx.x * int64_t(blockDim.x) + threadIdx.x; }
__device__ __forceinline__ int64_t globalThreads() { return int64_t(gridDim.x) * blockDim.x; }

//! Element type from a float value (ints truncate toward zero, bool is value != 0).
template <typename T>
__host__ __device__ __forceinline__ T castFloat(float v) {
  return static_cast<T>(v);
}
template <>
__host__ __device__ __forceinline__ __half castFloat<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__host__ __device__ __forceinline__ bool castFloat<bool>(float v) {
  return v != 0.f;
}

template <typename T>
struct TypeTag {
  using type = T;
};

inline std::string dtypeName(DType t) {
  static const char* names[] = {"float32", "float16", "int32", "int64", "uint8", "int8", "bool"};
  int i = static_cast<int>(t);
  return i >= 0 && i < 7 ? names[i] : "dtype " + std::to_string(i);
}

//! Calls f(TypeTag<float>) or f(TypeTag<__half>); other dtypes fail with ERR_INVALID_ARGUMENT naming `what`.
template <typename F>
void dispatchFloat(DType t, const char* what, F&& f) {
  switch (t) {
    case DType::F32:
      f(TypeTag<float>{});
      break;
    case DType::F16:
      f(TypeTag<__half>{});
      break;
    default:
      fail("ERR_INVALID_ARGUMENT", std::string(what) + " supports float32 and float16, not " + dtypeName(t));
  }
}

//! As dispatchFloat, plus the integer and bool types (for kernels that only move or fill values).
template <typename F>
void dispatchAll(DType t, const char* what, F&& f) {
  switch (t) {
    case DType::F32:
      f(TypeTag<float>{});
      break;
    case DType::F16:
      f(TypeTag<__half>{});
      break;
    case DType::I32:
      f(TypeTag<int32_t>{});
      break;
    case DType::I64:
      f(TypeTag<int64_t>{});
      break;
    case DType::U8:
      f(TypeTag<uint8_t>{});
      break;
    case DType::I8:
      f(TypeTag<int8_t>{});
      break;
    case DType::BOOL:
      f(TypeTag<bool>{});
      break;
    default:
      fail("ERR_INVALID_ARGUMENT", std::string(what) + " does not support " + dtypeName(t));
  }
}

//! Two strided views of one row-major index space of up to kMaxRank dims, indexed in Idx: a copy's source and
//! destination, or a binary op's two operands.
template <typename Idx>
struct StridedPair {
  int rank;
  Idx dims[kMaxRank];
  Idx s0[kMaxRank], s1[kMaxRank];
  //! The offsets of item i in the two views.
  __device__ __forceinline__ void offsets(int64_t i, Idx& o0, Idx& o1) const {
    Idx rem = Idx(i);
    o0 = 0, o1 = 0;
#pragma unroll
    for (int d = kMaxRank - 1; d >= 0; --d) {
      if (d >= rank) continue;
      const Idx q = rem / dims[d];
      const Idx coord = rem - q * dims[d];
      rem = q;
      o0 += coord * s0[d];
      o1 += coord * s1[d];
    }
  }
};

//! A shape with up to kMaxRank dims and `count` stride sets, simplified for indexing.
template <int kSets>
struct Layout {
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  int64_t strides[kSets][kMaxRank] = {};
  int64_t total() const {
    int64_t t = 1;
    for (int d = 0; d < rank; ++d) t *= dims[d];
    return t;
  }
};

//! Drops size-1 dims and merges adjacent dims that are contiguous with each other in every stride set, keeping order.
//! A rank-0 result (one element) becomes rank 1 with dim 1.
template <int kSets>
Layout<kSets> collapse(const NdShape& shape, const int64_t* const strides[kSets]) {
  Layout<kSets> l;
  for (int d = 0; d < shape.rank; ++d) {
    if (shape.dims[d] == 1) continue;
    if (l.rank > 0) {
      bool merge = true;
      for (int k = 0; k < kSets; ++k) merge = merge && strides[k][d] * shape.dims[d] == l.strides[k][l.rank - 1];
      if (merge) {
        l.dims[l.rank - 1] *= shape.dims[d];
        for (int k = 0; k < kSets; ++k) l.strides[k][l.rank - 1] = strides[k][d];
        continue;
      }
    }
    l.dims[l.rank] = shape.dims[d];
    for (int k = 0; k < kSets; ++k) l.strides[k][l.rank] = strides[k][d];
    ++l.rank;
  }
  if (l.rank == 0) {
    l.rank = 1;
    l.dims[0] = 1;
    for (int k = 0; k < kSets; ++k) l.strides[k][0] = 1;
  }
  return l;
}

//! Row-major contiguous strides of a shape.
inline NdStrides contiguousStrides(const NdShape& s) {
  NdStrides r{};
  int64_t acc = 1;
  for (int d = s.rank - 1; d >= 0; --d) {
    r.s[d] = acc;
    acc *= s.dims[d];
  }
  return r;
}

inline int64_t numel(const NdShape& s) {
  int64_t t = 1;
  for (int d = 0; d < s.rank; ++d) t *= s.dims[d];
  return t;
}

//! Validates an NdShape (rank 0..kMaxRank, dims ≥ 0) and returns its element count.
inline int64_t checkShape(const NdShape& s, const char* what) {
  if (s.rank < 0 || s.rank > kMaxRank)
    fail("ERR_INVALID_ARGUMENT", std::string(what) + ": rank " + std::to_string(s.rank) + " is outside 0.." +
                                     std::to_string(kMaxRank));
  for (int d = 0; d < s.rank; ++d)
    if (s.dims[d] < 0) fail("ERR_INVALID_ARGUMENT", std::string(what) + ": negative dimension");
  return numel(s);
}

//! Largest |offset| an index can reach: decides whether 32-bit index math is safe.
template <int kSets>
int64_t maxExtent(const Layout<kSets>& l, int k, int64_t base = 0) {
  int64_t e = base < 0 ? -base : base;
  for (int d = 0; d < l.rank; ++d) e += (l.dims[d] - 1) * (l.strides[k][d] < 0 ? -l.strides[k][d] : l.strides[k][d]);
  return e;
}

}  // namespace ntrt::kernels::detail
