// Device-side activations shared by every kernel's epilogue (conv, gemm, element-wise).
#pragma once
#include <cuda_fp16.h>

#include "kernels.h"

namespace ntrt::kernels {

//! act(x) in float32; alpha/beta as documented on `Act`.
__device__ __forceinline__ float applyAct(Act act, float x, float alpha, float beta) {
  // The convolutions' epilogues first, in this order: nvcc emitted the switch as a chain of compares (no brx.idx in
  // the PTX), walked for every output element of an unrolled epilogue, so the last case paid a compare for each case
  // before it. The logistic's division is the fast one (a reciprocal and a multiply): it gives 0 once 1 + e^-x
  // passes 2^126 (x below about -87), where Sigmoid's exact value is below 2^-126 and SiLU's below 2^-119.
  if (act == Act::None) return x;
  if (act == Act::Relu) return fmaxf(x, 0.f);
  if (act == Act::Clip) return fminf(fmaxf(x, alpha), beta);
  if (act == Act::Silu) return __fdividef(x, 1.f + __expf(-x));
  if (act == Act::HardSwish) return x * fminf(fmaxf(x * (1.f / 6.f) + 0.5f, 0.f), 1.f);
  if (act == Act::Sigmoid) return __fdividef(1.f, 1.f + __expf(-x));
  switch (act) {
    case Act::LeakyRelu:
      return x < 0.f ? alpha * x : x;
    case Act::HardSigmoid:
      return fminf(fmaxf(alpha * x + beta, 0.f), 1.f);
    case Act::Tanh:
      return tanhf(x);
    case Act::Erf:
      return erff(x);
    case Act::Gelu:
      return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
    case Act::GeluTanh:
      return 0.5f * x * (1.f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case Act::Sqrt:
      return sqrtf(x);
    case Act::Exp:
      return expf(x);
    case Act::Log:
      return logf(x);
    case Act::Neg:
      return -x;
    case Act::Abs:
      return fabsf(x);
    case Act::Reciprocal:
      return 1.f / x;
    case Act::Scale:
      return fmaf(alpha, x, beta);
    default:
      return x;
  }
}

//! Loads/stores of one element as float, for kernels templated on the storage type.
template <typename T>
__device__ __forceinline__ float toFloat(T v);
template <>
__device__ __forceinline__ float toFloat<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ float toFloat<__half>(__half v) {
  return __half2float(v);
}

template <typename T>
__device__ __forceinline__ T fromFloat(float v);
template <>
__device__ __forceinline__ float fromFloat<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half fromFloat<__half>(float v) {
  return __float2half_rn(v);
}

}  // namespace ntrt::kernels
