// Depthwise convolution (groups == c == k, RSC weights), FP16 and FP32, memory-bound: each thread owns V
// channels (one 4/8/16-byte vector) of PX consecutive output pixels along W, so every input vector it loads
// serves up to S·PX/stride taps. FP32 accumulation; fused bias, residual and activation.
#include <algorithm>
#include <string>
#include <vector>

#include "../../cuda/check.h"
#include "conv_registry.cuh"

namespace ntrt::kernels::convimpl {
namespace {

constexpr int kDwThreads = 128;

//! V elements of T as floats, through one 4-, 8- or 16-byte load/store.
template <typename T, int V>
struct Vec {
  static constexpr int kWords = V * int(sizeof(T)) / 4;
  static_assert(kWords == 1 || kWords == 2 || kWords == 4, "4, 8 or 16 bytes");

  __device__ static void load(const T* p, float (&o)[V]) {
    uint32_t r[kWords];
    if constexpr (kWords == 4) {
      const uint4 v = __ldg(reinterpret_cast<const uint4*>(p));
      r[0] = v.x, r[1] = v.y, r[2] = v.z, r[3] = v.w;
    } else if constexpr (kWords == 2) {
      const uint2 v = __ldg(reinterpret_cast<const uint2*>(p));
      r[0] = v.x, r[1] = v.y;
    } else {
      r[0] = __ldg(reinterpret_cast<const unsigned int*>(p));
    }
#pragma unroll
    for (int i = 0; i < kWords; ++i) {
      if constexpr (sizeof(T) == 2) {
        o[2 * i] = __half2float(__ushort_as_half(static_cast<unsigned short>(r[i] & 0xffff)));
        o[2 * i + 1] = __half2float(__ushort_as_half(static_cast<unsigned short>(r[i] >> 16)));
      } else {
        o[i] = __uint_as_float(r[i]);
      }
    }
  }

  __device__ static void store(T* p, const float (&v)[V]) {
    uint32_t r[kWords];
#pragma unroll
    for (int i = 0; i < kWords; ++i) {
      if constexpr (sizeof(T) == 2) {
        r[i] = __half_as_ushort(__float2half_rn(v[2 * i])) | uint32_t(__half_as_ushort(__float2half_rn(v[2 * i + 1]))) << 16;
      } else {
        r[i] = __float_as_uint(v[i]);
      }
    }
    if constexpr (kWords == 4) {
      *reinterpret_cast<uint4*>(p) = make_uint4(r[0], r[1], r[2], r[3]);
    } else if constexpr (kWords == 2) {
      *reinterpret_cast<uint2*>(p) = make_uint2(r[0], r[1]);
    } else {
      *reinterpret_cast<unsigned int*>(p) = r[0];
    }
  }
};

//! grid: x covers one image's P·ceil(Q/PX)·(C/V) items, y strides over images. DIL: dilated taps (DeepLab's atrous
//! backbone), each input vector loaded per tap instead of once per window.
template <typename T, int V, int PX, int R, int S, int ST, bool DIL>
__global__ void __launch_bounds__(kDwThreads, 1) dwKernel(const ConvArgs a) {
  const int groups = a.C / V, qBlocks = (a.Q + PX - 1) / PX;
  const int item = blockIdx.x * kDwThreads + threadIdx.x;
  if (item >= a.P * qBlocks * groups) return;
  const int cg = item % groups;
  const int rest = item / groups;
  const int qb = rest % qBlocks, pp = rest / qBlocks;
  const int c0 = cg * V, q0 = qb * PX;
  const int iw0 = q0 * ST - a.padW;
  constexpr int kIn = (PX - 1) * ST + S;  // input pixels along W under this thread's PX windows
  const T* x = static_cast<const T*>(a.x);
  const T* w = static_cast<const T*>(a.w);

  for (int img = blockIdx.y; img < a.N; img += gridDim.y) {
    float acc[PX][V];
#pragma unroll
    for (int px = 0; px < PX; ++px)
#pragma unroll
      for (int v = 0; v < V; ++v) acc[px][v] = 0.f;
    const T* xImg = x + int64_t(img) * a.H * a.W * a.C + c0;
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int ih = pp * ST - a.padH + r * (DIL ? a.dilH : 1);
      if (unsigned(ih) >= unsigned(a.H)) continue;
      float wv[S][V];
#pragma unroll
      for (int s = 0; s < S; ++s) Vec<T, V>::load(w + (r * S + s) * a.C + c0, wv[s]);
      const T* xRow = xImg + int64_t(ih) * a.W * a.C;
      if constexpr (DIL) {
#pragma unroll
        for (int px = 0; px < PX; ++px)
#pragma unroll
          for (int s = 0; s < S; ++s) {
            const int iw = (q0 + px) * ST - a.padW + s * a.dilW;
            if (unsigned(iw) >= unsigned(a.W)) continue;
            float in[V];
            Vec<T, V>::load(xRow + int64_t(iw) * a.C, in);
#pragma unroll
            for (int v = 0; v < V; ++v) acc[px][v] = fmaf(in[v], wv[s][v], acc[px][v]);
          }
      } else {
        float in[kIn][V];
#pragma unroll
        for (int j = 0; j < kIn; ++j) {
          const int iw = iw0 + j;
          if (unsigned(iw) < unsigned(a.W)) {
            Vec<T, V>::load(xRow + int64_t(iw) * a.C, in[j]);
          } else {
#pragma unroll
            for (int v = 0; v < V; ++v) in[j][v] = 0.f;
          }
        }
#pragma unroll
        for (int px = 0; px < PX; ++px)
#pragma unroll
          for (int s = 0; s < S; ++s)
#pragma unroll
            for (int v = 0; v < V; ++v) acc[px][v] = fmaf(in[px * ST + s][v], wv[s][v], acc[px][v]);
      }
    }
    float bias[V];
#pragma unroll
    for (int v = 0; v < V; ++v) bias[v] = a.bias ? __ldg(a.bias + c0 + v) : 0.f;
#pragma unroll
    for (int px = 0; px < PX; ++px) {
      if (q0 + px >= a.Q) break;
      const int64_t off = ((int64_t(img) * a.P + pp) * a.Q + q0 + px) * a.C + c0;
      float res[V];
      if (a.residual) {
        Vec<T, V>::load(static_cast<const T*>(a.residual) + off, res);
      } else {
#pragma unroll
        for (int v = 0; v < V; ++v) res[v] = 0.f;
      }
      float o[V];
#pragma unroll
      for (int v = 0; v < V; ++v) o[v] = applyAct(a.act, acc[px][v] + bias[v] + res[v], a.alpha, a.beta);
      Vec<T, V>::store(static_cast<T*>(a.y) + off, o);
    }
  }
}

constexpr int kVF16[3] = {2, 4, 8};
constexpr int kVF32[3] = {1, 2, 4};
constexpr int kPx[3] = {1, 2, 4};

template <typename T, int V, int PX, int R, int ST>
void dwLaunch(const ConvArgs& a, cudaStream_t stream) {
  const int items = a.P * ((a.Q + PX - 1) / PX) * (a.C / V);
  const dim3 grid((items + kDwThreads - 1) / kDwThreads, std::min(a.N, 65535));
  if (a.dilH != 1 || a.dilW != 1) dwKernel<T, V, PX, R, R, ST, true><<<grid, kDwThreads, 0, stream>>>(a);
  else dwKernel<T, V, PX, R, R, ST, false><<<grid, kDwThreads, 0, stream>>>(a);
}

template <typename T, int V, int PX>
void dwDispatchShape(const ConvArgs& a, cudaStream_t stream) {
  if (a.R == 3 && a.strideH == 1) dwLaunch<T, V, PX, 3, 1>(a, stream);
  else if (a.R == 3) dwLaunch<T, V, PX, 3, 2>(a, stream);
  else if (a.strideH == 1) dwLaunch<T, V, PX, 5, 1>(a, stream);
  else dwLaunch<T, V, PX, 5, 2>(a, stream);
}

template <typename T, int V>
void dwDispatchPx(const ConvArgs& a, int px, cudaStream_t stream) {
  if (px == 1) dwDispatchShape<T, V, 1>(a, stream);
  else if (px == 2) dwDispatchShape<T, V, 2>(a, stream);
  else dwDispatchShape<T, V, 4>(a, stream);
}

// arg = vector slot (4, 8, 16 bytes) * 3 + pixels slot
Use dwUse(const ConvParams& p, DType t, const Device&, int arg) {
  const bool depthwise = p.groups == p.c && p.groups == p.k && p.groups > 1;
  if (!depthwise || (t != DType::F16 && t != DType::F32)) return Use::Invalid;
  if (p.r != p.s || (p.r != 3 && p.r != 5) || p.strideH != p.strideW || (p.strideH != 1 && p.strideH != 2) ||
      p.dilH < 1 || p.dilW < 1) {
    return Use::Invalid;
  }
  const int v = t == DType::F16 ? kVF16[arg / 3] : kVF32[arg / 3];
  return p.c % v == 0 ? Use::Listed : Use::Invalid;
}

size_t dwWorkspace(const ConvParams&, DType, int) { return 0; }

void dwRun(const Launch& l, int arg) {
  const ConvArgs a = makeArgs(l);
  const int vSlot = arg / 3, px = kPx[arg % 3];
  if (l.t == DType::F16) {
    if (vSlot == 0) dwDispatchPx<__half, 2>(a, px, l.stream);
    else if (vSlot == 1) dwDispatchPx<__half, 4>(a, px, l.stream);
    else dwDispatchPx<__half, 8>(a, px, l.stream);
  } else {
    if (vSlot == 0) dwDispatchPx<float, 1>(a, px, l.stream);
    else if (vSlot == 1) dwDispatchPx<float, 2>(a, px, l.stream);
    else dwDispatchPx<float, 4>(a, px, l.stream);
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace

//! "dw_b{4,8,16}_px{1,2,4}": bytes per vector (2/4/8 halves or 1/2/4 floats) and output pixels per thread.
void addDepthwiseTactics(std::vector<Entry>& out) {
  for (int v = 0; v < 3; ++v)
    for (int px = 0; px < 3; ++px)
      out.push_back({"dw_b" + std::to_string(4 << v) + "_px" + std::to_string(kPx[px]), &dwUse, &dwWorkspace, &dwRun,
                     v * 3 + px});
}

}  // namespace ntrt::kernels::convimpl
