#include <cuda_fp16.h>

#include <algorithm>

#include "../cuda/check.h"
#include "random.h"

namespace ntrt::builtin {
namespace {

__device__ __forceinline__ float hashUniform(uint64_t i, uint32_t seed) {
  uint32_t x = static_cast<uint32_t>(i) * 0x9E3779B1u ^ static_cast<uint32_t>(i >> 32) * 0x85EBCA77u ^ seed;
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return (x >> 8) * (1.0f / 16777216.0f) * 2.f - 1.f;
}

template <typename T>
__global__ void fillKernel(T* p, int64_t n, uint32_t seed) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float v = hashUniform(static_cast<uint64_t>(i), seed);
    if constexpr (std::is_same_v<T, __half>) {
      p[i] = __float2half_rn(v);
    } else if constexpr (std::is_same_v<T, float>) {
      p[i] = v;
    } else {
      p[i] = static_cast<T>(v > 0.f ? 1 : 0);
    }
  }
}

template <typename T>
void launch(void* p, int64_t n, uint32_t seed, cudaStream_t s) {
  unsigned blocks = static_cast<unsigned>(std::min<int64_t>((n + 255) / 256, 4096));
  fillKernel<T><<<blocks, 256, 0, s>>>(static_cast<T*>(p), n, seed);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void randomFill(void* p, int64_t n, cuda::DType dtype, uint32_t seed, cudaStream_t s) {
  if (n <= 0) return;
  switch (dtype) {
    case cuda::DType::F32: return launch<float>(p, n, seed, s);
    case cuda::DType::F16: return launch<__half>(p, n, seed, s);
    case cuda::DType::I32: return launch<int32_t>(p, n, seed, s);
    case cuda::DType::I64: return launch<int64_t>(p, n, seed, s);
    default: return launch<uint8_t>(p, n * static_cast<int64_t>(cuda::dtypeSize(dtype)), seed, s);
  }
}

}  // namespace ntrt::builtin
