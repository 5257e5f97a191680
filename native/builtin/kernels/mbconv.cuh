// The fused inverted-residual (MBConv) kernel, FP16 NHWC, FP32 accumulation. One CTA owns a TP×TQ tile of output
// pixels of one image and every output channel. It loads the input tile with its halo once, then walks the
// expanded channels in chunks of kEc: expand (1×1, tensor cores) into shared memory, depthwise k×k from shared
// memory, and project (1×1, tensor cores) into register accumulators. The expanded activation never leaves the SM.
#pragma once
#include <cuda_fp16.h>

#include <vector>

#include "conv_common.cuh"

namespace ntrt::kernels::mbimpl {

using convimpl::accCol;
using convimpl::accRow;
using convimpl::cpAsync16;
using convimpl::ldsmACol;
using convimpl::ldsmARow;
using convimpl::ldsmBCol;
using convimpl::ldsmBRow;
using convimpl::ldsmX4;
using convimpl::mma16816;
using convimpl::smemAddr;

constexpr int kThreads = 256;  //!< 8 warps
constexpr int kEc = 48;        //!< expanded channels per chunk (divides 6·C for C % 8 == 0)
constexpr int kPitchE = kEc + 8;  //!< halves per row of the expanded / depthwise chunks (16-byte padded)
constexpr int kMaxNj = 20;     //!< n8 tiles of the projection per warp, at most

//! Everything the kernel reads, by value.
struct MbArgs {
  const __half* x;
  const __half* w1;  //!< [E][C]
  const float* b1;
  const __half* wd;  //!< [KS][KS][E]
  const float* bd;
  const __half* w2;  //!< [K][E]
  const float* b2;
  const __half* residual;  //!< [N][P][Q][K] or null
  __half* y;
  int n, h, w, c, e, k, p, q, padH, padW;
  int cp;  //!< c rounded up to 16
  Act act1, act2, act3;
  float alpha1, beta1, alpha2, beta2, alpha3, beta3;
};

//! Compile-time geometry of a tile.
template <int KS, int ST, int TP, int TQ>
struct MbTile {
  static constexpr int IH = (TP - 1) * ST + KS, IW = (TQ - 1) * ST + KS;
  static constexpr int HP = IH * IW, HPp = (HP + 15) / 16 * 16;  //!< halo pixels, padded to whole m16 blocks
  static constexpr int TPQ = TP * TQ;
  static constexpr int MB = TPQ / 16;  //!< m16 blocks of the projection
  static constexpr int WC = 8 / MB;    //!< warps side by side along the output channels
  static_assert(TPQ % 16 == 0 && 8 % MB == 0, "tile of whole m16 blocks dividing the 8 warps");

  //! Shared bytes for c (rounded to 16) input and k output channels; the weight chunks are double-buffered.
  static constexpr int smemBytes(int cp, int k) {
    return 2 * ((HPp + 2 * kEc) * (cp + 8) + (HPp + TPQ + 2 * k) * kPitchE);
  }
};

__device__ __forceinline__ void ldsmX2(uint32_t (&r)[2], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(addr));
}

template <int KS, int ST, int TP, int TQ, int NJ>
__global__ void __launch_bounds__(kThreads, 1) mbconvKernel(const MbArgs a) {
  using T = MbTile<KS, ST, TP, TQ>;
  extern __shared__ __align__(128) unsigned char smem[];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int pitchX = a.cp + 8;
  __half* sX = reinterpret_cast<__half*>(smem);
  __half* sW1 = sX + T::HPp * pitchX;  // two chunk buffers
  __half* sE = sW1 + 2 * kEc * pitchX;
  __half* sD = sE + T::HPp * kPitchE;
  __half* sW2 = sD + T::TPQ * kPitchE;

  const int tilesQ = (a.q + TQ - 1) / TQ, tilesP = (a.p + TP - 1) / TP;
  const int img = blockIdx.x / (tilesP * tilesQ);
  const int rem = blockIdx.x - img * tilesP * tilesQ;
  const int p0 = (rem / tilesQ) * TP, q0 = (rem % tilesQ) * TQ;
  const int ih0 = p0 * ST - a.padH, iw0 = q0 * ST - a.padW;

  // The input tile with its halo; pixels outside the image, past the halo or channels past c are zeros.
  const int xChunks = a.cp / 8;
  for (int i = tid; i < T::HPp * xChunks; i += kThreads) {
    const int hp = i / xChunks, ch = i - hp * xChunks;
    const int ih = ih0 + hp / T::IW, iw = iw0 + hp % T::IW;
    const bool ok = hp < T::HP && unsigned(ih) < unsigned(a.h) && unsigned(iw) < unsigned(a.w) && ch * 8 < a.c;
    const __half* src = ok ? a.x + ((int64_t(img) * a.h + ih) * a.w + iw) * a.c + ch * 8 : a.x;
    cpAsync16(smemAddr(sX + hp * pitchX + ch * 8), src, ok);
  }

  const int mb = warp % T::MB, wc = warp / T::MB;
  float acc[NJ][4];
#pragma unroll
  for (int j = 0; j < NJ; ++j)
#pragma unroll
    for (int v = 0; v < 4; ++v) acc[j][v] = 0.f;

  // Chunk t's expand rows and project columns (zeros past e) into buffer t & 1, as one cp.async group.
  auto loadChunk = [&](int e0, int buf) {
    __half* w1 = sW1 + buf * kEc * pitchX;
    __half* w2 = sW2 + buf * a.k * kPitchE;
    for (int i = tid; i < kEc * xChunks; i += kThreads) {
      const int r = i / xChunks, ch = i - r * xChunks;
      const bool ok = e0 + r < a.e && ch * 8 < a.c;
      cpAsync16(smemAddr(w1 + r * pitchX + ch * 8), ok ? a.w1 + int64_t(e0 + r) * a.c + ch * 8 : a.w1, ok);
    }
    constexpr int eChunks = kEc / 8;
    for (int i = tid; i < a.k * eChunks; i += kThreads) {
      const int r = i / eChunks, ch = i - r * eChunks;
      const bool ok = e0 + ch * 8 < a.e;
      cpAsync16(smemAddr(w2 + r * kPitchE + ch * 8), ok ? a.w2 + int64_t(r) * a.e + e0 + ch * 8 : a.w2, ok);
    }
    convimpl::cpAsyncCommit();
  };
  loadChunk(0, 0);  // same group as the input tile

  for (int e0 = 0, t = 0; e0 < a.e; e0 += kEc, ++t) {
    // Prefetch the next chunk into the other buffer (last read in chunk t-1, which ended with a barrier).
    if (e0 + kEc < a.e) {
      loadChunk(e0 + kEc, (t + 1) & 1);
      convimpl::cpAsyncWait<1>();
    } else {
      convimpl::cpAsyncWait<0>();
    }
    __syncthreads();
    const __half* cW1 = sW1 + (t & 1) * kEc * pitchX;
    const __half* cW2 = sW2 + (t & 1) * a.k * kPitchE;

    // Expand: sE[hp][ec] = act1(x[hp] · w1[e0 + ec] + b1), zero where the depthwise conv sees padding.
    constexpr int kNb = kEc / 16;
    for (int item = warp; item < (T::HPp / 16) * kNb; item += kThreads / 32) {
      const int m = item / kNb, nb = item - m * kNb;
      float ex[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
      for (int ks = 0; ks < a.cp / 16; ++ks) {
        uint32_t af[4], r[4];
        ldsmX4(af, smemAddr(sX + (m * 16 + ldsmARow(lane)) * pitchX + ks * 16 + ldsmACol(lane)));
        ldsmX4(r, smemAddr(cW1 + (nb * 16 + ldsmBRow(lane)) * pitchX + ks * 16 + ldsmBCol(lane)));
        const uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
        mma16816(ex[0], af, b0);
        mma16816(ex[1], af, b1);
      }
#pragma unroll
      for (int ni = 0; ni < 2; ++ni)
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
          const int row = m * 16 + accRow(lane, 2 * hf);
          const int col = nb * 16 + ni * 8 + accCol(lane, 0);
          const int ih = ih0 + row / T::IW, iw = iw0 + row % T::IW;
          const int ec = e0 + col;
          float v0 = 0.f, v1 = 0.f;
          if (row < T::HP && unsigned(ih) < unsigned(a.h) && unsigned(iw) < unsigned(a.w) && ec < a.e) {
            v0 = applyAct(a.act1, ex[ni][2 * hf] + (a.b1 ? __ldg(a.b1 + ec) : 0.f), a.alpha1, a.beta1);
            v1 = applyAct(a.act1, ex[ni][2 * hf + 1] + (a.b1 ? __ldg(a.b1 + ec + 1) : 0.f), a.alpha1, a.beta1);
          }
          *reinterpret_cast<__half2*>(sE + row * kPitchE + col) = __floats2half2_rn(v0, v1);
        }
    }
    __syncthreads();

    // Depthwise from shared memory: sD[pixel][ec] = act2(Σ sE · wd + bd), two channels per thread.
    constexpr int kPairs = kEc / 2;
    for (int i = tid; i < T::TPQ * kPairs; i += kThreads) {
      const int pix = i / kPairs, c2 = (i - pix * kPairs) * 2;
      const int ec = e0 + c2;
      float2 o = make_float2(0.f, 0.f);
      if (ec < a.e) {
        const int pp = pix / TQ, qq = pix - pp * TQ;
        float s0 = a.bd ? __ldg(a.bd + ec) : 0.f, s1 = a.bd ? __ldg(a.bd + ec + 1) : 0.f;
#pragma unroll
        for (int r = 0; r < KS; ++r)
#pragma unroll
          for (int s = 0; s < KS; ++s) {
            const float2 v = __half22float2(*reinterpret_cast<const __half2*>(sE + ((pp * ST + r) * T::IW + qq * ST + s) * kPitchE + c2));
            const float2 wv = __half22float2(__ldg(reinterpret_cast<const __half2*>(a.wd + (r * KS + s) * a.e + ec)));
            s0 = fmaf(v.x, wv.x, s0);
            s1 = fmaf(v.y, wv.y, s1);
          }
        o = make_float2(applyAct(a.act2, s0, a.alpha2, a.beta2), applyAct(a.act2, s1, a.alpha2, a.beta2));
      }
      *reinterpret_cast<__half2*>(sD + pix * kPitchE + c2) = __float22half2_rn(o);
    }
    __syncthreads();

    // Project: acc[pixel][k] += sD[pixel][ec] · w2[k][e0 + ec]; warp (mb, wc) owns n8 tiles wc·NJ .. wc·NJ+NJ-1.
#pragma unroll
    for (int ks = 0; ks < kEc / 16; ++ks) {
      uint32_t af[4];
      ldsmX4(af, smemAddr(sD + (mb * 16 + ldsmARow(lane)) * kPitchE + ks * 16 + ldsmACol(lane)));
#pragma unroll
      for (int j = 0; j < NJ; ++j) {
        const int nt = wc * NJ + j;
        if (nt * 8 >= a.k) break;  // warp-uniform
        uint32_t bf[2];
        ldsmX2(bf, smemAddr(cW2 + (nt * 8 + (lane & 7)) * kPitchE + ks * 16 + ((lane >> 3) & 1) * 8));
        mma16816(acc[j], af, bf);
      }
    }
    __syncthreads();  // the next chunk overwrites sE, sD and (prefetching) this chunk's weight buffer
  }

  // Epilogue: bias, residual, activation, two channels per store.
#pragma unroll
  for (int j = 0; j < NJ; ++j) {
    const int col = (wc * NJ + j) * 8 + accCol(lane, 0);
    if (col >= a.k) continue;
    const float bb0 = a.b2 ? __ldg(a.b2 + col) : 0.f, bb1 = a.b2 ? __ldg(a.b2 + col + 1) : 0.f;
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      const int pix = mb * 16 + accRow(lane, 2 * hf);
      const int pp = p0 + pix / TQ, qq = q0 + pix % TQ;
      if (pp >= a.p || qq >= a.q) continue;
      const int64_t off = ((int64_t(img) * a.p + pp) * a.q + qq) * a.k + col;
      float v0 = acc[j][2 * hf] + bb0, v1 = acc[j][2 * hf + 1] + bb1;
      if (a.residual) {
        const float2 r = __half22float2(*reinterpret_cast<const __half2*>(a.residual + off));
        v0 += r.x;
        v1 += r.y;
      }
      *reinterpret_cast<__half2*>(a.y + off) =
          __floats2half2_rn(applyAct(a.act3, v0, a.alpha3, a.beta3), applyAct(a.act3, v1, a.alpha3, a.beta3));
    }
  }
}

//! Output tiles the fused kernel is built for: 8×8, 4×8 and 4×4 pixels.
constexpr int kTiles[3][2] = {{8, 8}, {4, 8}, {4, 4}};


// ---- instantiation (mbconv_k3.cu, mbconv_k5.cu) ---------------------------------------------------

template <int KS, int ST, int TP, int TQ>
struct MbLaunch {
  using T = MbTile<KS, ST, TP, TQ>;
  static constexpr int kMaxTiles = 40 / T::WC;  // n8 tiles per warp for k <= 320

  static int need(int k) { return (k / 8 + T::WC - 1) / T::WC; }

  template <int NJ>
  static void go(const MbArgs& a, int bytes, cudaStream_t stream) {
    const long long ctas = (long long)a.n * ((a.p + TP - 1) / TP) * ((a.q + TQ - 1) / TQ);
    mbconvKernel<KS, ST, TP, TQ, NJ><<<static_cast<unsigned>(ctas), kThreads, bytes, stream>>>(a);
  }

  static bool launch(const MbArgs& a, int smemOptin, cudaStream_t stream) {
    const int bytes = T::smemBytes(a.cp, a.k), nj = need(a.k);
    if (bytes > smemOptin || nj > kMaxTiles) return false;
    if (nj <= 2) go<2>(a, bytes, stream);
    else if (nj <= 5) go<5>(a, bytes, stream);
    else if constexpr (kMaxTiles >= 10) {
      if (nj <= 10) go<10>(a, bytes, stream);
      else if constexpr (kMaxTiles >= 20) go<20>(a, bytes, stream);
    }
    return true;
  }

  static void kernels(std::vector<const void*>& out) {
    out.push_back(reinterpret_cast<const void*>(&mbconvKernel<KS, ST, TP, TQ, 2>));
    out.push_back(reinterpret_cast<const void*>(&mbconvKernel<KS, ST, TP, TQ, 5>));
    if constexpr (kMaxTiles >= 10) out.push_back(reinterpret_cast<const void*>(&mbconvKernel<KS, ST, TP, TQ, 10>));
    if constexpr (kMaxTiles >= 20) out.push_back(reinterpret_cast<const void*>(&mbconvKernel<KS, ST, TP, TQ, 20>));
  }

  static int smem(int cp, int k) { return need(k) > kMaxTiles ? 0x7fffffff : T::smemBytes(cp, k); }
};

//! Launches the (KS, ST) kernel with tile kTiles[tile]; false when no instantiation covers a.k or shared memory
//! is short. Every kernel's shared-memory limit must have been raised first (kernelsFor + ensureSmem).
template <int KS, int ST>
bool launchMbconv(const MbArgs& a, int tile, int smemOptin, cudaStream_t stream) {
  if (tile == 0) return MbLaunch<KS, ST, 8, 8>::launch(a, smemOptin, stream);
  if (tile == 1) return MbLaunch<KS, ST, 4, 8>::launch(a, smemOptin, stream);
  return MbLaunch<KS, ST, 4, 4>::launch(a, smemOptin, stream);
}

//! The kernels of (KS, ST), for raising their shared-memory limit before any graph capture.
template <int KS, int ST>
void kernelsFor(std::vector<const void*>& out) {
  MbLaunch<KS, ST, 8, 8>::kernels(out);
  MbLaunch<KS, ST, 4, 8>::kernels(out);
  MbLaunch<KS, ST, 4, 4>::kernels(out);
}

//! Shared bytes the tile needs, or INT_MAX when its instantiations cannot cover k output channels.
template <int KS, int ST>
int smemFor(int tile, int cp, int k) {
  if (tile == 0) return MbLaunch<KS, ST, 8, 8>::smem(cp, k);
  if (tile == 1) return MbLaunch<KS, ST, 4, 8>::smem(cp, k);
  return MbLaunch<KS, ST, 4, 4>::smem(cp, k);
}

// Instantiated once each, in mbconv_k3.cu and mbconv_k5.cu.
#define NTRT_MBCONV_EXTERN(EXT, KS, ST)                                                           \
  EXT template bool launchMbconv<KS, ST>(const MbArgs&, int, int, cudaStream_t);                \
  EXT template void kernelsFor<KS, ST>(std::vector<const void*>&);                              \
  EXT template int smemFor<KS, ST>(int, int, int);
#ifndef NTRT_MBCONV_DEFINE
NTRT_MBCONV_EXTERN(extern, 3, 1)
NTRT_MBCONV_EXTERN(extern, 3, 2)
NTRT_MBCONV_EXTERN(extern, 5, 1)
NTRT_MBCONV_EXTERN(extern, 5, 2)
#endif

}  // namespace ntrt::kernels::mbimpl
