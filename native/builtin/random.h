// Seeded random fill of device tensors: the builder times tactics on real-looking data, never on zeros.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "../cuda/convert.h"

namespace ntrt::builtin {

//! Fills n elements of `dtype` at `p` with uniform values in [-1, 1) (integers: 0 or 1).
void randomFill(void* p, int64_t n, cuda::DType dtype, uint32_t seed, cudaStream_t stream);

}  // namespace ntrt::builtin
