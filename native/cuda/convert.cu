#include <cuda_fp16.h>

#include "check.h"
#include "convert.h"

namespace ntrt::cuda {
namespace {

template <typename D, typename S>
__device__ __forceinline__ D cvt(S v) {
  return static_cast<D>(v);
}
template <>
__device__ __forceinline__ __half cvt<__half, float>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ float cvt<float, __half>(__half v) {
  return __half2float(v);
}

template <typename D, typename S>
__global__ void convertKernel(D* __restrict__ dst, const S* __restrict__ src, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    dst[i] = cvt<D, S>(src[i]);
  }
}

template <typename D, typename S>
void launch(void* dst, const void* src, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  unsigned blocks = static_cast<unsigned>(std::min<size_t>((n + 255) / 256, 65535));
  convertKernel<D, S><<<blocks, 256, 0, stream>>>(static_cast<D*>(dst), static_cast<const S*>(src), n);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void convert(void* dst, DType dt, const void* src, DType st, size_t n, cudaStream_t stream) {
  if (dt == st) {
    CUDA_CHECK(cudaMemcpyAsync(dst, src, n * dtypeSize(dt), cudaMemcpyDeviceToDevice, stream));
  } else if (dt == DType::F16 && st == DType::F32) {
    launch<__half, float>(dst, src, n, stream);
  } else if (dt == DType::F32 && st == DType::F16) {
    launch<float, __half>(dst, src, n, stream);
  } else {
    fail("ERR_INVALID_ARGUMENT", "convert supports float32 <-> float16 only");
  }
}

}  // namespace ntrt::cuda
