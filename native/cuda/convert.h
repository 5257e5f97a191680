// Element-type conversion on the device: the I/O casts between JS float32 and FP16 engines.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace ntrt::cuda {

//! Tensor element types, numbered as in lib/native.ts `DType`.
enum class DType : int32_t { F32 = 0, F16 = 1, I32 = 2, I64 = 3, U8 = 4, I8 = 5, BOOL = 6 };

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

//! dst[i] = (dstType) src[i] for i < n; supports f32 ↔ f16 and same-type copies.
void convert(void* dst, DType dstType, const void* src, DType srcType, size_t n, cudaStream_t stream);

}  // namespace ntrt::cuda
