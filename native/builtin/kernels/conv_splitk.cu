// Second pass of split-K: sums the float32 partials of every split, then bias, residual and activation, once.
#include <algorithm>

#include "../../cuda/check.h"
#include "conv_registry.cuh"

namespace ntrt::kernels::convimpl {
namespace {

template <typename T>
__global__ void splitReduceKernel(const ConvArgs a) {
  const int64_t total = int64_t(a.M) * a.K;
  const int64_t plane = total;
  if ((a.K & 3) == 0) {  // four columns per thread, float4 partials
    const int64_t quads = total >> 2;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < quads; i += int64_t(gridDim.x) * blockDim.x) {
      float4 s = reinterpret_cast<const float4*>(a.partial)[i];
      for (int z = 1; z < a.splits; ++z) {
        const float4 v = reinterpret_cast<const float4*>(a.partial + z * plane)[i];
        s.x += v.x, s.y += v.y, s.z += v.z, s.w += v.w;
      }
      const int64_t off = i << 2;
      const int n = static_cast<int>(off % a.K);
      storeOne<T>(a, off, n, s.x);
      storeOne<T>(a, off + 1, n + 1, s.y);
      storeOne<T>(a, off + 2, n + 2, s.z);
      storeOne<T>(a, off + 3, n + 3, s.w);
    }
  } else {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
      float s = a.partial[i];
      for (int z = 1; z < a.splits; ++z) s += a.partial[z * plane + i];
      storeOne<T>(a, i, static_cast<int>(i % a.K), s);
    }
  }
}

}  // namespace

void launchSplitReduce(const ConvArgs& a, DType t, cudaStream_t stream) {
  const int64_t items = (a.K & 3) == 0 ? int64_t(a.M) * a.K / 4 : int64_t(a.M) * a.K;
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>((items + 255) / 256, 1 << 20));
  if (t == DType::F16) {
    splitReduceKernel<__half><<<blocks, 256, 0, stream>>>(a);
  } else {
    splitReduceKernel<float><<<blocks, 256, 0, stream>>>(a);
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace ntrt::kernels::convimpl
