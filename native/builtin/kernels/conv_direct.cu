// The always-correct direct convolution (any groups, dilation, padding, dtype) and a warp-per-output GEMV for
// fully connected layers at small batch (1×1, pad 0): both read the weights exactly once per output row block.
#include <algorithm>
#include <string>
#include <vector>

#include "../../cuda/check.h"
#include "conv_registry.cuh"

namespace ntrt::kernels::convimpl {
namespace {

//! One thread per output element, k fastest (coalesced stores, the input pixel broadcast across a warp).
//! Depthwise weights are RSC, everything else KRSC.
template <typename T>
__global__ void directKernel(const ConvArgs a) {
  const int64_t total = int64_t(a.M) * a.K;
  const bool rsc = a.groups == a.C && a.groups == a.K && a.groups > 1;
  const int cg = a.C / a.groups, kg = a.K / a.groups;
  const T* x = static_cast<const T*>(a.x);
  const T* w = static_cast<const T*>(a.w);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int k = static_cast<int>(i % a.K);
    const int m = static_cast<int>(i / a.K);
    const int c0 = (k / kg) * cg;
    const PixelOrigin o = pixelOrigin(a, m);
    float acc = 0.f;
    for (int r = 0; r < a.R; ++r) {
      const int ih = o.ih0 + r * a.dilH;
      if (unsigned(ih) >= unsigned(a.H)) continue;
      for (int s = 0; s < a.S; ++s) {
        const int iw = o.iw0 + s * a.dilW;
        if (unsigned(iw) >= unsigned(a.W)) continue;
        const T* xp = x + o.base + (int64_t(ih) * a.W + iw) * a.C + c0;
        if (rsc) {
          acc = fmaf(toFloat<T>(xp[0]), toFloat<T>(w[(r * a.S + s) * a.C + k]), acc);
        } else {
          const T* wp = w + ((int64_t(k) * a.R + r) * a.S + s) * cg;
          for (int c = 0; c < cg; ++c) acc = fmaf(toFloat<T>(xp[c]), toFloat<T>(wp[c]), acc);
        }
      }
    }
    storeOne<T>(a, i, k, acc);
  }
}

constexpr int kGemvWarps = 4;

//! Dot products of 16-byte vectors: 8 halves or 4 floats.
template <typename T>
struct Vec16 {
  static constexpr int kElems = 16 / sizeof(T);
  __device__ static void load(const T* p, float (&o)[kElems]) {
    const uint4 v = __ldg(reinterpret_cast<const uint4*>(p));
    const uint32_t r[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      if constexpr (sizeof(T) == 2) {
        const float2 f = __half22float2(__halves2half2(__ushort_as_half(static_cast<unsigned short>(r[i] & 0xffff)),
                                                       __ushort_as_half(static_cast<unsigned short>(r[i] >> 16))));
        o[2 * i] = f.x;
        o[2 * i + 1] = f.y;
      } else {
        o[i] = __uint_as_float(r[i]);
      }
    }
  }
};

//! One warp per output channel n, MT rows per pass over the weights row (kept in L1/L2 across passes).
//! 1×1 pad-0 only: row m reads one input pixel, Kg == C contiguous elements.
template <typename T, int MT, bool kVec>
__global__ void __launch_bounds__(kGemvWarps * 32, 1) gemvKernel(const ConvArgs a) {
  const int lane = threadIdx.x & 31;
  const int n = blockIdx.x * kGemvWarps + (threadIdx.x >> 5);
  if (n >= a.K) return;
  const T* x = static_cast<const T*>(a.x);
  const T* wRow = static_cast<const T*>(a.w) + int64_t(n) * a.Kg;
  for (int mBase = blockIdx.y * MT; mBase < a.M; mBase += gridDim.y * MT) {
    int64_t xo[MT];
#pragma unroll
    for (int i = 0; i < MT; ++i) xo[i] = pixelOffset1x1(a, mBase + i);
    float acc[MT];
#pragma unroll
    for (int i = 0; i < MT; ++i) acc[i] = 0.f;
    if constexpr (kVec) {
      constexpr int E = Vec16<T>::kElems;
#pragma unroll 4
      for (int k = lane * E; k < a.Kg; k += 32 * E) {
        float wv[E];
        Vec16<T>::load(wRow + k, wv);
#pragma unroll
        for (int i = 0; i < MT; ++i) {
          if (xo[i] < 0) continue;
          float xv[E];
          Vec16<T>::load(x + xo[i] + k, xv);
#pragma unroll
          for (int e = 0; e < E; ++e) acc[i] = fmaf(xv[e], wv[e], acc[i]);
        }
      }
    } else {
      for (int k = lane; k < a.Kg; k += 32) {
        const float wk = toFloat<T>(wRow[k]);
#pragma unroll
        for (int i = 0; i < MT; ++i)
          if (xo[i] >= 0) acc[i] = fmaf(toFloat<T>(x[xo[i] + k]), wk, acc[i]);
      }
    }
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
      for (int d = 16; d > 0; d >>= 1) acc[i] += __shfl_xor_sync(0xffffffffu, acc[i], d);
#pragma unroll
    for (int i = 0; i < MT; ++i)
      if (lane == i && mBase + i < a.M) storeOne<T>(a, int64_t(mBase + i) * a.K + n, n, acc[i]);
  }
}

bool is1x1Pad0(const ConvParams& p) {
  return p.groups == 1 && p.r == 1 && p.s == 1 && p.padH == 0 && p.padW == 0 && (p.p - 1) * p.strideH < p.h &&
         (p.q - 1) * p.strideW < p.w;
}

Use directUse(const ConvParams& p, DType t, const Device&, int) {
  if (t != DType::F16 && t != DType::F32) return Use::Invalid;
  const bool depthwise = p.groups == p.c && p.groups == p.k && p.groups > 1;
  return p.groups > 1 && !depthwise ? Use::Listed : Use::Valid;
}

// Offered for fully connected shapes (one output pixel per image); valid for any 1×1 pad-0 convolution.
Use gemvUse(const ConvParams& p, DType t, const Device&, int) {
  if ((t != DType::F16 && t != DType::F32) || !is1x1Pad0(p)) return Use::Invalid;
  return p.p * p.q == 1 ? Use::Listed : Use::Valid;
}

size_t noWorkspace(const ConvParams&, DType, int) { return 0; }

template <typename T>
void directLaunch(const ConvArgs& a, cudaStream_t stream) {
  const int64_t total = int64_t(a.M) * a.K;
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>((total + 255) / 256, int64_t(1) << 22));
  directKernel<T><<<blocks, 256, 0, stream>>>(a);
}

void directRun(const Launch& l, int) {
  const ConvArgs a = makeArgs(l);
  if (l.t == DType::F16) {
    directLaunch<__half>(a, l.stream);
  } else {
    directLaunch<float>(a, l.stream);
  }
  CUDA_CHECK_LAUNCH();
}

template <typename T, int MT>
void gemvLaunch(const ConvArgs& a, cudaStream_t stream) {
  const dim3 grid((a.K + kGemvWarps - 1) / kGemvWarps, std::min((a.M + MT - 1) / MT, 65535));
  if (a.C % (16 / int(sizeof(T))) == 0) {
    gemvKernel<T, MT, true><<<grid, kGemvWarps * 32, 0, stream>>>(a);
  } else {
    gemvKernel<T, MT, false><<<grid, kGemvWarps * 32, 0, stream>>>(a);
  }
}

template <typename T>
void gemvDispatch(const ConvArgs& a, cudaStream_t stream) {
  if (a.M <= 1) gemvLaunch<T, 1>(a, stream);
  else if (a.M <= 2) gemvLaunch<T, 2>(a, stream);
  else if (a.M <= 4) gemvLaunch<T, 4>(a, stream);
  else gemvLaunch<T, 8>(a, stream);
}

void gemvRun(const Launch& l, int) {
  const ConvArgs a = makeArgs(l);
  if (l.t == DType::F16) {
    gemvDispatch<__half>(a, l.stream);
  } else {
    gemvDispatch<float>(a, l.stream);
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void addDirectTactics(std::vector<Entry>& out) {
  out.push_back({"direct", &directUse, &noWorkspace, &directRun, 0});
  out.push_back({"gemv", &gemvUse, &noWorkspace, &gemvRun, 0});
}

}  // namespace ntrt::kernels::convimpl
