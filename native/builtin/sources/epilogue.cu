// The epilogue applied after an external convolution that could not fuse it: bias, residual and any activation,
// in place over NHWC rows, 16-byte vectors when the channel count and pointers allow.
#include "../kernels/common.cuh"
#include "internal.h"

namespace ntrt::sources::detail {
namespace {

using namespace kernels;
using namespace kernels::detail;

template <typename T, int V>
__global__ void epilogueKernel(int64_t n, int k, T* y, const float* __restrict__ bias, const T* residual, Act act,
                               float alpha, float beta) {
  using Vt = Vec<T, V>;
  const int64_t nv = n / V;
  for (int64_t i = globalThread(); i < nv; i += globalThreads()) {
    int c = int((i * V) % k);
    Vt v = reinterpret_cast<const Vt*>(y)[i];
    Vt r;
    if (residual) r = reinterpret_cast<const Vt*>(residual)[i];
#pragma unroll
    for (int j = 0; j < V; ++j) {
      float f = toFloat(v.v[j]);
      if (bias) f += bias[c + j];
      if (residual) f += toFloat(r.v[j]);
      v.v[j] = fromFloat<T>(applyAct(act, f, alpha, beta));
    }
    reinterpret_cast<Vt*>(y)[i] = v;
  }
}

}  // namespace

void convEpilogue(int64_t rows, int k, DType t, void* y, const Epilogue& ep, cudaStream_t stream) {
  if (!ep.bias && !ep.residual && ep.act == Act::None) return;
  int64_t n = rows * k;
  if (n == 0) return;
  dispatchFloat(t, "convolution epilogue", [&](auto tag) {
    using T = typename decltype(tag)::type;
    constexpr int V = kVec16<T>;
    T* ys = static_cast<T*>(y);
    const T* rs = static_cast<const T*>(ep.residual);
    if (k % V == 0 && aligned(y, 16) && aligned(ep.residual, 16)) {
      epilogueKernel<T, V><<<gridFor(n / V, 256), 256, 0, stream>>>(n, k, ys, ep.bias, rs, ep.act, ep.alpha, ep.beta);
    } else {
      epilogueKernel<T, 1><<<gridFor(n, 256), 256, 0, stream>>>(n, k, ys, ep.bias, rs, ep.act, ep.alpha, ep.beta);
    }
    CUDA_CHECK_LAUNCH();
  });
}

void biasToHalf(const float* bias, int k, void* dst, cudaStream_t stream) {
  cuda::convert(dst, DType::F16, bias, DType::F32, size_t(k), stream);
}

const void* halfBias(const kernels::Epilogue& ep, int k, void* dst, cudaStream_t stream) {
  if (hasHalfCopy(ep)) return ep.biasHalf;  // nothing to stage
  biasToHalf(ep.bias, k, dst, stream);
  return dst;
}

}  // namespace ntrt::sources::detail
