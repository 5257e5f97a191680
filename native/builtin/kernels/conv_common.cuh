// Shared pieces of the convolution kernels: the GEMM view of a convolution, its index math (host and device, so it
// can be checked on a machine without a GPU), PTX wrappers for sm_75+ and the fused epilogue.
#pragma once
#include <cuda_fp16.h>

#include <cstdint>

#include "activation.cuh"
#include "kernels.h"

#define NTRT_HD __host__ __device__ __forceinline__

namespace ntrt::kernels::convimpl {

//! Everything a convolution kernel reads, passed by value. GEMM view: M = n·p·q rows, N = k columns,
//! Kg = r·s·c/groups reduction; A[m][kk] is the input patch, B[kk][n] = w[n][kk] (KRSC is K-major already).
struct ConvArgs {
  const void* x;
  const void* w;
  void* y;
  const void* residual;  //!< like y, or null
  const float* bias;     //!< [K] or null
  float* partial;        //!< split-K: [splits][M][K] float32 partial sums, or null for a direct store
  int N, H, W, C, K, R, S, P, Q;
  int strideH, strideW, padH, padW, dilH, dilW;
  int groups;
  int M, Kg;
  int kTilesPerSplit;  //!< k-tiles each split (blockIdx.z) reduces; all of them when not split
  int splits;          //!< effective number of splits written to `partial`
  Act act;
  float alpha, beta;
};

// ---- index math -------------------------------------------------------------------------------

//! Where output row m reads from: the first element of its image, and the top-left input pixel of its window.
//! Rows past M get an origin far outside the image, so every bounds check on them fails.
struct PixelOrigin {
  int64_t base;
  int ih0, iw0;
};

NTRT_HD PixelOrigin pixelOrigin(const ConvArgs& a, int m) {
  if (m >= a.M) return {0, -(1 << 29), -(1 << 29)};
  const int pq = a.P * a.Q;
  const int img = m / pq;
  const int rem = m - img * pq;
  const int pp = rem / a.Q;
  const int qq = rem - pp * a.Q;
  return {int64_t(img) * a.H * a.W * a.C, pp * a.strideH - a.padH, qq * a.strideW - a.padW};
}

//! 1×1, pad 0: the input pixel of output row m as one element offset (-1 past M). Any stride.
NTRT_HD int64_t pixelOffset1x1(const ConvArgs& a, int m) {
  if (m >= a.M) return -1;
  const int pq = a.P * a.Q;
  const int img = m / pq;
  const int rem = m - img * pq;
  const int pp = rem / a.Q;
  const int qq = rem - pp * a.Q;
  return ((int64_t(img) * a.H + int64_t(pp) * a.strideH) * a.W + int64_t(qq) * a.strideW) * a.C;
}

//! A reduction index kk and its (r, s, c) decomposition (KRSC order: c fastest).
struct KPos {
  int kk, r, s, c;
};

NTRT_HD KPos kposAt(const ConvArgs& a, int kk) {
  const int rs = kk / a.C;
  const int r = rs / a.S;
  return {kk, r, rs - r * a.S, kk - rs * a.C};
}

//! Moves kp forward by `step` without divisions (the loop runs step / C + 1 times at most).
NTRT_HD void kposAdvance(const ConvArgs& a, KPos& kp, int step) {
  kp.kk += step;
  kp.c += step;
  while (kp.c >= a.C) {
    kp.c -= a.C;
    if (++kp.s == a.S) {
      kp.s = 0;
      ++kp.r;
    }
  }
}

//! Element offset of A[m][kk] in x, or -1 for zero padding, a row past M or kk past Kg.
NTRT_HD int64_t inputOffset(const ConvArgs& a, const PixelOrigin& o, const KPos& kp) {
  const int ih = o.ih0 + kp.r * a.dilH;
  const int iw = o.iw0 + kp.s * a.dilW;
  if (kp.kk >= a.Kg || unsigned(ih) >= unsigned(a.H) || unsigned(iw) >= unsigned(a.W)) return -1;
  return o.base + (int64_t(ih) * a.W + iw) * a.C + kp.c;
}

//! Split-K plan: k-tiles per split and the number of non-empty splits for a requested count.
struct SplitPlan {
  int perSplit, splits;
};

NTRT_HD SplitPlan splitPlan(int kTiles, int requested) {
  if (kTiles < 1) kTiles = 1;
  if (requested < 1) requested = 1;
  const int per = (kTiles + requested - 1) / requested;
  return {per, (kTiles + per - 1) / per};
}

// ---- fragment layouts of mma.m16n8k16 / ldmatrix.x4 (one warp) -----------------------------------

//! Row/column (within a 16×16 A block) whose address `lane` gives to ldmatrix.x4: matrices 0..3 are
//! (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (rows 8-15, k 8-15) = a0a1, a2a3, a4a5, a6a7.
NTRT_HD int ldsmARow(int lane) { return lane & 15; }
NTRT_HD int ldsmACol(int lane) { return (lane >> 4) << 3; }
//! Same for a 16(n)×16(k) B block stored n-major: matrices (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7),
//! (n 8-15, k 8-15) = b0b1 and b2b3 of n-tile 0, then of n-tile 1.
NTRT_HD int ldsmBRow(int lane) { return (lane & 7) + ((lane >> 4) << 3); }
NTRT_HD int ldsmBCol(int lane) { return ((lane >> 3) & 1) << 3; }
//! Row/column within the 16×8 accumulator tile of accumulator j (0..3) of `lane`.
NTRT_HD int accRow(int lane, int j) { return (lane >> 2) + ((j >> 1) << 3); }
NTRT_HD int accCol(int lane, int j) { return ((lane & 3) << 1) + (j & 1); }

// ---- PTX wrappers ------------------------------------------------------------------------------

__device__ __forceinline__ uint32_t smemAddr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

//! 16-byte global → shared copy, zero-filled when !valid. Asynchronous (cp.async) on sm_80+, a plain copy before.
__device__ __forceinline__ void cpAsync16(uint32_t dst, const void* src, bool valid) {
#if __CUDA_ARCH__ >= 800
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0));
#else
  uint4 v = make_uint4(0, 0, 0, 0);
  if (valid) v = __ldg(reinterpret_cast<const uint4*>(src));
  asm volatile("st.shared.v4.u32 [%0], {%1, %2, %3, %4};\n" ::"r"(dst), "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w));
#endif
}

__device__ __forceinline__ void cpAsyncCommit() {
#if __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}

template <int N>
__device__ __forceinline__ void cpAsyncWait() {
#if __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

__device__ __forceinline__ void ldsmX4(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

//! ldmatrix.x4.trans: each 8×8 matrix transposed on the way, so a k-major [k][n] block gives B fragments.
__device__ __forceinline__ void ldsmX4T(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

//! d += a·b for one m16n8k16 tile, f16 inputs, f32 accumulators; two m16n8k8 on sm_75.
__device__ __forceinline__ void mma16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if __CUDA_ARCH__ >= 800
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  asm("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5}, {%6}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(b[0]));
  asm("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5}, {%6}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[2]), "r"(a[3]), "r"(b[1]));
#endif
}

// ---- epilogue ----------------------------------------------------------------------------------

//! y = act(v + bias + residual) for one element of row m, column n (n < K).
template <typename T>
__device__ __forceinline__ void storeOne(const ConvArgs& a, int64_t off, int n, float v) {
  if (a.bias) v += __ldg(a.bias + n);
  if (a.residual) v += toFloat<T>(static_cast<const T*>(a.residual)[off]);
  static_cast<T*>(a.y)[off] = fromFloat<T>(applyAct(a.act, v, a.alpha, a.beta));
}

//! Stores 8 consecutive outputs of row m from column n: a split-K partial (raw sums) or the fused epilogue.
//! Vector loads/stores when K % 8 == 0 (pointers are 16-byte aligned, checked by the launcher).
__device__ __forceinline__ void storeRow8(const ConvArgs& a, int m, int n, const float (&v)[8]) {
  const int64_t off = int64_t(m) * a.K + n;
  if (a.partial) {
    float* dst = a.partial + int64_t(blockIdx.z) * a.M * a.K + off;
    if ((a.K & 3) == 0) {  // n % 8 == 0 and n < K, so the first half always fits
      reinterpret_cast<float4*>(dst)[0] = make_float4(v[0], v[1], v[2], v[3]);
      if (n + 4 < a.K) reinterpret_cast<float4*>(dst)[1] = make_float4(v[4], v[5], v[6], v[7]);
    } else {
#pragma unroll
      for (int j = 0; j < 8; ++j)
        if (n + j < a.K) dst[j] = v[j];
    }
    return;
  }
  if ((a.K & 7) == 0) {
    float t[8];
#pragma unroll
    for (int j = 0; j < 8; ++j) t[j] = v[j];
    if (a.bias) {
      const float4 b0 = __ldg(reinterpret_cast<const float4*>(a.bias + n));
      const float4 b1 = __ldg(reinterpret_cast<const float4*>(a.bias + n) + 1);
      t[0] += b0.x, t[1] += b0.y, t[2] += b0.z, t[3] += b0.w;
      t[4] += b1.x, t[5] += b1.y, t[6] += b1.z, t[7] += b1.w;
    }
    if (a.residual) {
      const uint4 r = __ldg(reinterpret_cast<const uint4*>(static_cast<const __half*>(a.residual) + off));
      const __half2* h = reinterpret_cast<const __half2*>(&r);
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const float2 f = __half22float2(h[j]);
        t[2 * j] += f.x;
        t[2 * j + 1] += f.y;
      }
    }
    uint4 out;
    __half2* o = reinterpret_cast<__half2*>(&out);
#pragma unroll
    for (int j = 0; j < 4; ++j)
      o[j] = __floats2half2_rn(applyAct(a.act, t[2 * j], a.alpha, a.beta), applyAct(a.act, t[2 * j + 1], a.alpha, a.beta));
    *reinterpret_cast<uint4*>(static_cast<__half*>(a.y) + off) = out;
  } else {
#pragma unroll
    for (int j = 0; j < 8; ++j)
      if (n + j < a.K) storeOne<__half>(a, off + j, n + j, v[j]);
  }
}

}  // namespace ntrt::kernels::convimpl
