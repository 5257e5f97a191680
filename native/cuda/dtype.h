// Tensor element types: plain C++ (no CUDA headers), so the plan validator builds without the toolkit.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ntrt::cuda {

//! Tensor element types, numbered as in lib/native.ts `DType`.
enum class DType : int32_t { F32 = 0, F16 = 1, I32 = 2, I64 = 3, U8 = 4, I8 = 5, BOOL = 6 };

//! Number of DType values; anything at or above it is not a dtype.
constexpr int32_t kDTypeCount = 7;

//! Bytes per element.
inline size_t dtypeSize(DType t) {
  switch (t) {
    case DType::F32:
    case DType::I32:
      return 4;
    case DType::F16:
      return 2;
    case DType::I64:
      return 8;
    default:
      return 1;
  }
}

}  // namespace ntrt::cuda
