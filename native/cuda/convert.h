// Element-type conversion on the device: the I/O casts between JS float32 and FP16 engines.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "dtype.h"

namespace ntrt::cuda {

//! dst[i] = (dstType) src[i] for i < n; supports f32 ↔ f16 and same-type copies.
void convert(void* dst, DType dstType, const void* src, DType srcType, size_t n, cudaStream_t stream);

}  // namespace ntrt::cuda
