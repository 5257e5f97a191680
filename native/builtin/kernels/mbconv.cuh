// The fused inverted-residual (MBConv) kernel, FP16 NHWC, FP32 accumulation. One CTA owns a TP×TQ tile of output
// pixels of one image and every output channel. It loads the input tile with its halo once, then walks the
// expanded channels in chunks of kEc: expand (1×1, tensor cores) into shared memory, depthwise k×k from shared
// memory, and project (1×1, tensor cores) into register accumulators. The expanded activation never leaves the SM.
#pragma once
#include <cuda_fp16.h>

#include <type_traits>
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

//! One stage's activation: the identity, a clamp for Relu and Clip (two min/max, no compare chain per value), or
//! the generic switch for the others. NaN goes where applyAct sends it: through the identity, to the lower bound
//! of a clamp.
struct StageAct {
  Act act;
  float alpha, beta;
  float lo, hi;  //!< the clamp's bounds
  bool identity, clamp;
};

//! The stage activation of `act` with its ONNX parameters.
inline StageAct stageAct(Act act, float alpha, float beta) {
  const float inf = __builtin_huge_valf();
  if (act == Act::None) return {act, alpha, beta, 0.f, 0.f, true, false};
  if (act == Act::Relu) return {act, alpha, beta, 0.f, inf, false, true};
  if (act == Act::Clip) return {act, alpha, beta, alpha, beta, false, true};
  return {act, alpha, beta, 0.f, 0.f, false, false};
}

//! A stage activation of one kind (0 identity, 1 clamp, 2 generic), its parameters in registers.
template <int Kind>
struct ActOp {
  float lo, hi, alpha, beta;
  Act act;
  __device__ explicit ActOp(const StageAct& s) : lo(s.lo), hi(s.hi), alpha(s.alpha), beta(s.beta), act(s.act) {}
  __device__ __forceinline__ float operator()(float v) const {
    if constexpr (Kind == 0) return v;
    else if constexpr (Kind == 1) return fminf(fmaxf(v, lo), hi);
    else return applyAct(act, v, alpha, beta);
  }
  //! act(v0), act(v1) as float16, or zeros where !ok. A clamp runs on the rounded pair: rounding is monotonic, so
  //! clamping round(v) to [round(lo), round(hi)] gives round(clamp(v)) exactly, and a zero-width [0, 0] range
  //! gives the zeros (NaN included, as fmaxf would).
  __device__ __forceinline__ __half2 pair(float v0, float v1, bool ok) const {
    if constexpr (Kind == 1) {
      const __half2 l = ok ? __float2half2_rn(lo) : __float2half2_rn(0.f), h = ok ? __float2half2_rn(hi) : __float2half2_rn(0.f);
      return __hmin2(__hmax2(__floats2half2_rn(v0, v1), l), h);
    } else {
      const __half2 r = __floats2half2_rn((*this)(v0), (*this)(v1));
      return ok ? r : __float2half2_rn(0.f);
    }
  }
};

//! Runs f(ActOp<kind>) for the stage's kind: the branch is taken once per phase, not once per value (per value,
//! it cost a compare, a branch and a reconvergence barrier, 40% of the kernel's instructions).
template <class F>
__device__ __forceinline__ void withAct(const StageAct& s, F&& f) {
  if (s.identity) f(ActOp<0>(s));
  else if (s.clamp) f(ActOp<1>(s));
  else f(ActOp<2>(s));
}

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
  StageAct act1, act2, act3;
};

template <int KS, int ST, int TP, int TQ>
struct MbTile {
  static constexpr int IH = (TP - 1) * ST + KS, IW = (TQ - 1) * ST + KS;
  static constexpr int HP = IH * IW, HPp = (HP + 15) / 16 * 16;  //!< halo pixels, padded to whole m16 blocks
  static constexpr int TPQ = TP * TQ;
  static constexpr int MB = TPQ / 16;  //!< m16 blocks of the projection
  static constexpr int WC = 8 / MB;    //!< warps side by side along the output channels
  static_assert(TPQ % 16 == 0 && 8 % MB == 0, "tile of whole m16 blocks dividing the 8 warps");

  //! Shared bytes for c (rounded to 16) input and k output channels; the weight chunks (expand rows, depthwise
  //! window, project columns) are double-buffered.
  static constexpr int smemBytes(int cp, int k) {
    return 2 * ((HPp + 2 * kEc) * (cp + 8) + (HPp + TPQ + 2 * k) * kPitchE + 2 * KS * KS * kEc) + 4 * kEc * 4;
  }
};

__device__ __forceinline__ void ldsmX2(uint32_t (&r)[2], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(addr));
}

//! The depthwise weights a thread keeps in registers: float2 for 3×3 windows, __half2 for 5×5 (50 registers
//! would crowd out the projection's accumulators).
template <int KS>
using WReg = typename std::conditional<KS == 3, float2, __half2>::type;
template <int KS>
__device__ __forceinline__ WReg<KS> wLoad(__half2 w) {
  if constexpr (KS == 3) return __half22float2(w);
  else return w;
}
__device__ __forceinline__ float2 wFloat(float2 w) { return w; }
__device__ __forceinline__ float2 wFloat(__half2 w) { return __half22float2(w); }

template <int KS, int ST, int TP, int TQ, int NJ>
__global__ void __launch_bounds__(kThreads, KS == 3 ? (NJ <= 2 ? 3 : NJ <= 10 ? 2 : 1) : (NJ <= 5 ? 2 : 1)) mbconvKernel(const MbArgs a) {
  using T = MbTile<KS, ST, TP, TQ>;
  extern __shared__ __align__(128) unsigned char smem[];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int pitchX = a.cp + 8;
  __half* sX = reinterpret_cast<__half*>(smem);
  __half* sW1 = sX + T::HPp * pitchX;  // two chunk buffers
  __half* sE = sW1 + 2 * kEc * pitchX;
  __half* sD = sE + T::HPp * kPitchE;
  __half* sW2 = sD + T::TPQ * kPitchE;    // two chunk buffers
  __half* sWd = sW2 + 2 * a.k * kPitchE;  // two chunk buffers of [KS·KS][kEc]
  float* sB = reinterpret_cast<float*>(sWd + 2 * KS * KS * kEc);  // two chunk buffers of [b1 | bd][kEc]

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
    __half* wd = sWd + buf * KS * KS * kEc;
    for (int i = tid; i < KS * KS * eChunks; i += kThreads) {
      const int t = i / eChunks, ch = i - t * eChunks;
      const bool ok = e0 + ch * 8 < a.e;
      cpAsync16(smemAddr(wd + t * kEc + ch * 8), ok ? a.wd + int64_t(t) * a.e + e0 + ch * 8 : a.wd, ok);
    }
    // Biases, zeros past e or where there is none.
    float* bias = sB + buf * 2 * kEc;
    for (int i = tid; i < 2 * kEc / 4; i += kThreads) {
      const int which = i / (kEc / 4), j = (i - which * (kEc / 4)) * 4;
      const float* src = which ? a.bd : a.b1;
      const bool ok = src && e0 + j < a.e;
      cpAsync16(smemAddr(bias + which * kEc + j), ok ? static_cast<const void*>(src + e0 + j) : a.wd, ok);
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
    const __half* cWd = sWd + (t & 1) * KS * KS * kEc;
    const float* cB1 = sB + (t & 1) * 2 * kEc;
    const float* cBd = cB1 + kEc;

    // Expand: sE[hp][ec] = act1(x[hp] · w1[e0 + ec] + b1), zero where the depthwise conv sees padding and past e.
    // A warp owns whole m16 row blocks: one A fragment per k-step feeds the chunk's kNb column blocks, and the
    // epilogue's row tests and bias loads are made once per row and column rather than once per value.
    constexpr int kNb = kEc / 16;
    withAct(a.act1, [&](const auto act) {
      for (int m = warp; m < T::HPp / 16; m += kThreads / 32) {
        // Accumulators start at the bias. Channels past e have zero weights and bias: their finite values meet
        // zero depthwise and project weights, and the depthwise phase writes them as zeros.
        float ex[kNb][2][4];
#pragma unroll
        for (int nb = 0; nb < kNb; ++nb)
#pragma unroll
          for (int ni = 0; ni < 2; ++ni) {
            const float2 bb = *reinterpret_cast<const float2*>(cB1 + nb * 16 + ni * 8 + accCol(lane, 0));
            ex[nb][ni][0] = ex[nb][ni][2] = bb.x;
            ex[nb][ni][1] = ex[nb][ni][3] = bb.y;
          }
        for (int ks = 0; ks < a.cp / 16; ++ks) {
          uint32_t af[4];
          ldsmX4(af, smemAddr(sX + (m * 16 + ldsmARow(lane)) * pitchX + ks * 16 + ldsmACol(lane)));
#pragma unroll
          for (int nb = 0; nb < kNb; ++nb) {
            uint32_t r[4];
            ldsmX4(r, smemAddr(cW1 + (nb * 16 + ldsmBRow(lane)) * pitchX + ks * 16 + ldsmBCol(lane)));
            const uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
            mma16816(ex[nb][0], af, b0);
            mma16816(ex[nb][1], af, b1);
          }
        }
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
          const int row = m * 16 + accRow(lane, 2 * hf);
          const int ih = ih0 + row / T::IW, iw = iw0 + row % T::IW;
          const bool inside = row < T::HP && unsigned(ih) < unsigned(a.h) && unsigned(iw) < unsigned(a.w);
          __half* dst = sE + row * kPitchE + accCol(lane, 0);
#pragma unroll
          for (int nb = 0; nb < kNb; ++nb)
#pragma unroll
            for (int ni = 0; ni < 2; ++ni)
              *reinterpret_cast<__half2*>(dst + nb * 16 + ni * 8) = act.pair(ex[nb][ni][2 * hf], ex[nb][ni][2 * hf + 1], inside);
        }
      }
    });
    __syncthreads();

    // Depthwise from shared memory: sD[pixel][ec] = act2(Σ sE · wd + bd). A thread owns one channel pair of one
    // output column (its window's weights in registers) and walks down the column's TP outputs, sliding its
    // window: each input row is read and converted once, not KS/ST times. Channels past e write zeros.
    {
      constexpr int kPairs = kEc / 2;
      if (tid < kPairs * TQ) {
        const int c2 = (tid % kPairs) * 2, qq = tid / kPairs;
        const bool live = e0 + c2 < a.e;
        WReg<KS> wt[KS * KS];
#pragma unroll
        for (int t = 0; t < KS * KS; ++t) wt[t] = wLoad<KS>(*reinterpret_cast<const __half2*>(cWd + t * kEc + c2));
        const float2 bd = *reinterpret_cast<const float2*>(cBd + c2);
        const __half* col = sE + qq * ST * kPitchE + c2;  // the column's first halo row
        WReg<KS> win[T::IH][KS];                          // fully unrolled: only KS rows are live at a time
        withAct(a.act2, [&](const auto act) {
#pragma unroll
          for (int pp = 0; pp < TP; ++pp) {
#pragma unroll
            for (int r = (pp == 0 ? 0 : (pp - 1) * ST + KS); r < pp * ST + KS; ++r)
#pragma unroll
              for (int s = 0; s < KS; ++s) win[r][s] = wLoad<KS>(*reinterpret_cast<const __half2*>(col + (r * T::IW + s) * kPitchE));
            float s0 = bd.x, s1 = bd.y;
#pragma unroll
            for (int r = 0; r < KS; ++r)
#pragma unroll
              for (int s = 0; s < KS; ++s) {
                const float2 v = wFloat(win[pp * ST + r][s]), wv = wFloat(wt[r * KS + s]);
                s0 = fmaf(v.x, wv.x, s0);
                s1 = fmaf(v.y, wv.y, s1);
              }
            *reinterpret_cast<__half2*>(sD + (pp * TQ + qq) * kPitchE + c2) = act.pair(s0, s1, live);
          }
        });
      }
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
  withAct(a.act3, [&](const auto act) {
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
      *reinterpret_cast<__half2*>(a.y + off) = __floats2half2_rn(act(v0), act(v1));
    }
  }
  });
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
