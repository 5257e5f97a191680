// Agreement of two tensors on the device, for the builder's check of fused tactics against their unfused chain.
#include <cuda_fp16.h>

#include "../../cuda/check.h"
#include "kernels.h"

namespace ntrt::kernels {
namespace {

template <typename T>
__device__ __forceinline__ float value(const T* p, int64_t i);
template <>
__device__ __forceinline__ float value<float>(const float* p, int64_t i) {
  return p[i];
}
template <>
__device__ __forceinline__ float value<__half>(const __half* p, int64_t i) {
  return __half2float(p[i]);
}

template <typename T>
__global__ void compareKernel(const T* a, const T* b, int64_t n, double* out) {
  double diff = 0, ref = 0, bad = 0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float x = value(a, i), y = value(b, i);
    if (!isfinite(x)) bad += 1;
    else diff += double(x - y) * double(x - y);
    ref += double(y) * double(y);
  }
  for (int o = 16; o > 0; o >>= 1) {
    diff += __shfl_down_sync(0xffffffffu, diff, o);
    ref += __shfl_down_sync(0xffffffffu, ref, o);
    bad += __shfl_down_sync(0xffffffffu, bad, o);
  }
  if ((threadIdx.x & 31) == 0) {
    atomicAdd(out, diff);
    atomicAdd(out + 1, ref);
    atomicAdd(out + 2, bad);
  }
}

}  // namespace

void compareTensors(DType t, int64_t n, const void* a, const void* b, double* out, cudaStream_t stream) {
  CUDA_CHECK(cudaMemsetAsync(out, 0, 3 * sizeof(double), stream));
  if (n <= 0) return;
  const int blocks = static_cast<int>(n / 256 + 1 < 1024 ? n / 256 + 1 : 1024);
  if (t == DType::F16) {
    compareKernel<<<blocks, 256, 0, stream>>>(static_cast<const __half*>(a), static_cast<const __half*>(b), n, out);
  } else if (t == DType::F32) {
    compareKernel<<<blocks, 256, 0, stream>>>(static_cast<const float*>(a), static_cast<const float*>(b), n, out);
  } else {
    fail("ERR_INVALID_ARGUMENT", "compareTensors supports float16 and float32");
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace ntrt::kernels
