// Tensor-core implicit GEMM convolution, FP16 in / FP32 accumulate: mma.sync m16n8k16 fed by ldmatrix from a
// multi-stage cp.async shared-memory pipeline (16-byte chunks, needs c % 8 == 0), a register-staged variant for any
// c, and a fused epilogue staged through shared memory so every global store is a 16-byte vector.
#pragma once
#include "conv_common.cuh"
#include "../../cuda/check.h"
#include "conv_registry.cuh"

#include <initializer_list>
#include <string>
#include <vector>

namespace ntrt::kernels::convimpl {

//! A CTA tile: BM×BN outputs, BK reduction slice per stage, WM×WN warps, STAGES pipeline stages.
template <int BM_, int BN_, int BK_, int WM_, int WN_, int STAGES_>
struct TcTile {
  static constexpr int BM = BM_, BN = BN_, BK = BK_, WM = WM_, WN = WN_, STAGES = STAGES_;
  static constexpr int kThreads = WM * WN * 32;
  static constexpr int TM = BM / WM, TN = BN / WN;  // warp tile
  static constexpr int MI = TM / 16, NI = TN / 8;   // mma tiles per warp
  // Shared rows are padded by 16 bytes: 8 consecutive rows of an ldmatrix then start in 8 distinct bank groups.
  static constexpr int kPitch = BK + 8;  // halves
  static constexpr int kChunks = BK / 8;  // 16-byte chunks per row
  static constexpr int kRowsPerPass = kThreads / kChunks;
  static constexpr int kAIters = BM / kRowsPerPass, kBIters = BN / kRowsPerPass;
  static constexpr int kStageBytes = (BM + BN) * kPitch * 2;
  static constexpr int kPipeBytes = STAGES * kStageBytes;
  // The accumulators go through shared memory (fp32, rows padded by 8 floats) in passes of kEpiRows rows.
  static constexpr int kEpiPasses = BM * BN > 128 * 128 ? BM * BN / (128 * 128) : 1;
  static constexpr int kEpiRows = BM / kEpiPasses;
  static constexpr int kCPitch = BN + 8;
  static constexpr int kEpiBytes = kEpiRows * kCPitch * 4;
  static constexpr int kSmemBytes = kPipeBytes > kEpiBytes ? kPipeBytes : kEpiBytes;
  // CTAs per SM that shared memory allows on an H100 (capped at 4): registers are budgeted not to lower it.
  static constexpr int kMinBlocks =
      kThreads > 128 ? 1 : (200 * 1024 / kSmemBytes < 1 ? 1 : (200 * 1024 / kSmemBytes > 4 ? 4 : 200 * 1024 / kSmemBytes));
  // Register-staged (any c) loader: each thread owns one row of the tile and kElems consecutive k of it.
  static constexpr int kASegs = kThreads / BM, kBSegs = kThreads / BN;
  static constexpr int kAElems = BK / (kASegs ? kASegs : 1), kBElems = BK / (kBSegs ? kBSegs : 1);

  static_assert(BK % 16 == 0 && TM % 16 == 0 && TN % 16 == 0, "warp tiles are whole 16x16 blocks");
  static_assert(kThreads % kChunks == 0 && BM % kRowsPerPass == 0 && BN % kRowsPerPass == 0, "loader covers tile");
  static_assert(kEpiRows % TM == 0, "an epilogue pass holds whole warp rows");
  static_assert(BM * BN / 8 >= kThreads, "epilogue work per thread");
};

//! One BK slice of the CTA tile: ldmatrix fragments and MI×NI mma per 16-wide k step.
template <class T>
__device__ __forceinline__ void mmaSlice(uint32_t sA, uint32_t sB, int wm, int wn, int lane,
                                         float (&acc)[T::MI][T::NI][4]) {
#pragma unroll
  for (int ks = 0; ks < T::BK / 16; ++ks) {
    uint32_t af[T::MI][4], bf[T::NI][2];
#pragma unroll
    for (int mi = 0; mi < T::MI; ++mi) {
      const int row = wm * T::TM + mi * 16 + ldsmARow(lane);
      ldsmX4(af[mi], sA + (row * T::kPitch + ks * 16 + ldsmACol(lane)) * 2);
    }
#pragma unroll
    for (int nj = 0; nj < T::NI / 2; ++nj) {
      const int row = wn * T::TN + nj * 16 + ldsmBRow(lane);
      uint32_t r[4];
      ldsmX4(r, sB + (row * T::kPitch + ks * 16 + ldsmBCol(lane)) * 2);
      bf[2 * nj][0] = r[0];
      bf[2 * nj][1] = r[1];
      bf[2 * nj + 1][0] = r[2];
      bf[2 * nj + 1][1] = r[3];
    }
#pragma unroll
    for (int mi = 0; mi < T::MI; ++mi)
#pragma unroll
      for (int ni = 0; ni < T::NI; ++ni) mma16816(acc[mi][ni], af[mi], bf[ni]);
  }
}

//! Accumulators → shared (fp32) → bias/residual/activation → 16-byte stores (or split-K partials).
//! Must be entered after a __syncthreads() that retires every read of the pipeline buffers.
template <class T>
__device__ __forceinline__ void tcEpilogue(const ConvArgs& a, unsigned char* smem, int m0, int n0, int wm, int wn,
                                           int tid, int lane, const float (&acc)[T::MI][T::NI][4]) {
  float* sC = reinterpret_cast<float*>(smem);
#pragma unroll
  for (int pass = 0; pass < T::kEpiPasses; ++pass) {
    if (pass) __syncthreads();
    if ((wm * T::TM) / T::kEpiRows == pass) {
#pragma unroll
      for (int mi = 0; mi < T::MI; ++mi)
#pragma unroll
        for (int ni = 0; ni < T::NI; ++ni)
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            const int row = wm * T::TM - pass * T::kEpiRows + mi * 16 + accRow(lane, 2 * h);
            const int col = wn * T::TN + ni * 8 + accCol(lane, 0);
            *reinterpret_cast<float2*>(sC + row * T::kCPitch + col) =
                make_float2(acc[mi][ni][2 * h], acc[mi][ni][2 * h + 1]);
          }
    }
    __syncthreads();
    constexpr int kRowChunks = T::BN / 8;
    for (int idx = tid; idx < T::kEpiRows * kRowChunks; idx += T::kThreads) {
      const int row = idx / kRowChunks, cc = idx - row * kRowChunks;
      const int m = m0 + pass * T::kEpiRows + row, n = n0 + cc * 8;
      if (m >= a.M || n >= a.K) continue;
      // Threads 4..7 of each quarter warp read their halves in the other order: no 2-way bank conflict.
      const int sw = (idx >> 2) & 1;
      const float* src = sC + row * T::kCPitch + cc * 8;
      const float4 lo = *reinterpret_cast<const float4*>(src + 4 * sw);
      const float4 hi = *reinterpret_cast<const float4*>(src + 4 * (sw ^ 1));
      const float4 f0 = sw ? hi : lo, f1 = sw ? lo : hi;
      const float v[8] = {f0.x, f0.y, f0.z, f0.w, f1.x, f1.y, f1.z, f1.w};
      storeRow8(a, m, n, v);
    }
  }
}

//! Tile coordinates: N-tiles vary fastest so concurrent CTAs share their A rows (activations) in L2.
template <class T>
__device__ __forceinline__ void tileOrigin(const ConvArgs& a, int& m0, int& n0) {
  const int tilesN = (a.K + T::BN - 1) / T::BN;
  const int mt = blockIdx.x / tilesN;
  m0 = mt * T::BM;
  n0 = (blockIdx.x - mt * tilesN) * T::BN;
}

//! The cp.async pipeline kernel. k1x1: 1×1 filter, pad 0 (any stride): A rows are contiguous input pixels.
template <class T, bool k1x1>
__global__ void __launch_bounds__(T::kThreads, T::kMinBlocks) tcConvKernel(const ConvArgs a) {
  extern __shared__ __align__(128) unsigned char smem[];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp % T::WM, wn = warp / T::WM;
  int m0, n0;
  tileOrigin<T>(a, m0, n0);
  const int kTiles = (a.Kg + T::BK - 1) / T::BK;
  const int ktBegin = blockIdx.z * a.kTilesPerSplit;
  const int nkt = min(kTiles - ktBegin, a.kTilesPerSplit);

  const __half* x = static_cast<const __half*>(a.x);
  const __half* w = static_cast<const __half*>(a.w);
  const int chunk = tid % T::kChunks, row0 = tid / T::kChunks;

  PixelOrigin ao[k1x1 ? 1 : T::kAIters];
  int64_t a1[k1x1 ? T::kAIters : 1];
  int64_t bo[T::kBIters];
#pragma unroll
  for (int i = 0; i < T::kAIters; ++i) {
    if constexpr (k1x1) {
      a1[i] = pixelOffset1x1(a, m0 + row0 + i * T::kRowsPerPass);
    } else {
      ao[i] = pixelOrigin(a, m0 + row0 + i * T::kRowsPerPass);
    }
  }
#pragma unroll
  for (int i = 0; i < T::kBIters; ++i) {
    const int n = n0 + row0 + i * T::kRowsPerPass;
    bo[i] = n < a.K ? int64_t(n) * a.Kg : -1;
  }
  KPos kp = k1x1 ? KPos{ktBegin * T::BK + chunk * 8, 0, 0, 0} : kposAt(a, ktBegin * T::BK + chunk * 8);

  const uint32_t sBase = smemAddr(smem);
  const uint32_t sOff = (row0 * T::kPitch + chunk * 8) * 2;
  auto loadStage = [&](int stage, bool on) {
    const uint32_t sA = sBase + stage * T::kStageBytes + sOff;
    const uint32_t sB = sBase + stage * T::kStageBytes + T::BM * T::kPitch * 2 + sOff;
    const bool kOk = on && kp.kk < a.Kg;
#pragma unroll
    for (int i = 0; i < T::kAIters; ++i) {
      int64_t off;
      if constexpr (k1x1) {
        off = a1[i] >= 0 ? a1[i] + kp.kk : -1;
      } else {
        off = inputOffset(a, ao[i], kp);
      }
      const bool ok = kOk && off >= 0;
      cpAsync16(sA + i * T::kRowsPerPass * T::kPitch * 2, x + (ok ? off : 0), ok);
    }
#pragma unroll
    for (int i = 0; i < T::kBIters; ++i) {
      const bool ok = kOk && bo[i] >= 0;
      cpAsync16(sB + i * T::kRowsPerPass * T::kPitch * 2, w + (ok ? bo[i] + kp.kk : 0), ok);
    }
    if constexpr (k1x1) {
      kp.kk += T::BK;
    } else {
      kposAdvance(a, kp, T::BK);
    }
  };

  float acc[T::MI][T::NI][4];
#pragma unroll
  for (int mi = 0; mi < T::MI; ++mi)
#pragma unroll
    for (int ni = 0; ni < T::NI; ++ni)
#pragma unroll
      for (int j = 0; j < 4; ++j) acc[mi][ni][j] = 0.f;

  // Stage s holds k-tile s (mod STAGES). One commit group per k-tile, empty ones included, so that
  // wait_group<STAGES-2> at iteration it always means "k-tile it has landed".
#pragma unroll
  for (int s = 0; s < T::STAGES - 1; ++s) {
    loadStage(s, s < nkt);
    cpAsyncCommit();
  }
  int readStage = 0, writeStage = T::STAGES - 1;
  for (int it = 0; it < nkt; ++it) {
    cpAsyncWait<T::STAGES - 2>();
    __syncthreads();  // k-tile `it` visible to all; everyone is done reading the stage about to be refilled
    loadStage(writeStage, it + T::STAGES - 1 < nkt);
    cpAsyncCommit();
    const uint32_t sA = sBase + readStage * T::kStageBytes;
    mmaSlice<T>(sA, sA + T::BM * T::kPitch * 2, wm, wn, lane, acc);
    readStage = readStage + 1 == T::STAGES ? 0 : readStage + 1;
    writeStage = writeStage + 1 == T::STAGES ? 0 : writeStage + 1;
  }
  cpAsyncWait<0>();
  __syncthreads();
  tcEpilogue<T>(a, smem, m0, n0, wm, wn, tid, lane, acc);
}

__device__ __forceinline__ uint4 pack8(const unsigned short* h) {
  return make_uint4(h[0] | uint32_t(h[1]) << 16, h[2] | uint32_t(h[3]) << 16, h[4] | uint32_t(h[5]) << 16,
                    h[6] | uint32_t(h[7]) << 16);
}

//! Register-staged kernel for any c (e.g. c = 3): element loads of the next k-tile are in flight while the
//! current one is multiplied; two shared stages.
template <class T>
__global__ void __launch_bounds__(T::kThreads, 2) tcGenericKernel(const ConvArgs a) {
  static_assert(T::STAGES == 2 && T::kASegs >= 1 && T::kBSegs >= 1, "register-staged tiles");
  static_assert(T::kAElems % 8 == 0 && T::kBElems % 8 == 0, "whole 16-byte chunks per thread");
  extern __shared__ __align__(128) unsigned char smem[];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp % T::WM, wn = warp / T::WM;
  int m0, n0;
  tileOrigin<T>(a, m0, n0);
  const int kTiles = (a.Kg + T::BK - 1) / T::BK;
  const int ktBegin = blockIdx.z * a.kTilesPerSplit;
  const int nkt = min(kTiles - ktBegin, a.kTilesPerSplit);
  const __half* x = static_cast<const __half*>(a.x);
  const __half* w = static_cast<const __half*>(a.w);

  const int aRow = tid % T::BM, aK = (tid / T::BM) * T::kAElems;
  const int bRow = tid % T::BN, bK = (tid / T::BN) * T::kBElems;
  const PixelOrigin ao = pixelOrigin(a, m0 + aRow);
  const int bn = n0 + bRow;
  const unsigned short* wRow = reinterpret_cast<const unsigned short*>(w) + int64_t(bn < a.K ? bn : 0) * a.Kg;
  // Raw fp16 bits (0 is +0.0): packed into 32-bit words for the shared stores without going through memory.
  unsigned short ra[T::kAElems], rb[T::kBElems];
  const unsigned short* xs = reinterpret_cast<const unsigned short*>(x);

  auto loadRegs = [&](int kt) {
    KPos kp = kposAt(a, kt * T::BK + aK);
#pragma unroll
    for (int j = 0; j < T::kAElems; ++j) {
      const int64_t off = inputOffset(a, ao, kp);
      ra[j] = off >= 0 ? __ldg(xs + off) : 0;
      kposAdvance(a, kp, 1);
    }
    const int k0 = kt * T::BK + bK;
#pragma unroll
    for (int j = 0; j < T::kBElems; ++j) rb[j] = bn < a.K && k0 + j < a.Kg ? __ldg(wRow + k0 + j) : 0;
  };
  auto storeRegs = [&](int stage) {
    unsigned char* sA = smem + stage * T::kStageBytes;
    unsigned char* sB = sA + T::BM * T::kPitch * 2;
#pragma unroll
    for (int j = 0; j < T::kAElems; j += 8)
      *reinterpret_cast<uint4*>(sA + (aRow * T::kPitch + aK + j) * 2) = pack8(ra + j);
#pragma unroll
    for (int j = 0; j < T::kBElems; j += 8)
      *reinterpret_cast<uint4*>(sB + (bRow * T::kPitch + bK + j) * 2) = pack8(rb + j);
  };

  float acc[T::MI][T::NI][4];
#pragma unroll
  for (int mi = 0; mi < T::MI; ++mi)
#pragma unroll
    for (int ni = 0; ni < T::NI; ++ni)
#pragma unroll
      for (int j = 0; j < 4; ++j) acc[mi][ni][j] = 0.f;

  const uint32_t sBase = smemAddr(smem);
  if (nkt > 0) {
    loadRegs(ktBegin);
    storeRegs(0);
  }
  __syncthreads();
  for (int it = 0; it < nkt; ++it) {
    const bool more = it + 1 < nkt;
    if (more) loadRegs(ktBegin + it + 1);
    const uint32_t sA = sBase + (it & 1) * T::kStageBytes;
    mmaSlice<T>(sA, sA + T::BM * T::kPitch * 2, wm, wn, lane, acc);
    if (more) storeRegs((it + 1) & 1);
    __syncthreads();
  }
  tcEpilogue<T>(a, smem, m0, n0, wm, wn, tid, lane, acc);
}

//! Launches tile T with `splits` requested (1 = no split-K); the partials are reduced by a second kernel.
template <class T, bool kGeneric>
void launchTc(const Launch& l, int splits) {
  ConvArgs a = makeArgs(l);
  if (a.M == 0 || a.K == 0) return;
  const int kTiles = (a.Kg + T::BK - 1) / T::BK;
  const SplitPlan sp = splitPlan(kTiles, splits);
  a.kTilesPerSplit = sp.perSplit;
  a.splits = sp.splits;
  if (sp.splits > 1) a.partial = static_cast<float*>(l.workspace);
  const long long tiles = (long long)((a.M + T::BM - 1) / T::BM) * ((a.K + T::BN - 1) / T::BN);
  const dim3 grid(static_cast<unsigned>(tiles), 1, sp.splits);
  if constexpr (kGeneric) {
    ensureSmem(reinterpret_cast<const void*>(&tcGenericKernel<T>), T::kSmemBytes);
    tcGenericKernel<T><<<grid, T::kThreads, T::kSmemBytes, l.stream>>>(a);
  } else {
    const bool is1x1 = a.R == 1 && a.S == 1 && a.padH == 0 && a.padW == 0 && (a.P - 1) * a.strideH < a.H &&
                       (a.Q - 1) * a.strideW < a.W;
    if (is1x1) {
      ensureSmem(reinterpret_cast<const void*>(&tcConvKernel<T, true>), T::kSmemBytes);
      tcConvKernel<T, true><<<grid, T::kThreads, T::kSmemBytes, l.stream>>>(a);
    } else {
      ensureSmem(reinterpret_cast<const void*>(&tcConvKernel<T, false>), T::kSmemBytes);
      tcConvKernel<T, false><<<grid, T::kThreads, T::kSmemBytes, l.stream>>>(a);
    }
  }
  CUDA_CHECK_LAUNCH();
  if (sp.splits > 1) launchSplitReduce(a, l.t, l.stream);
}

//! Whether tile T can run a shape: F16, ungrouped, sm_75+, enough shared memory, c % 8 == 0 unless generic.
//! Split-K variants are offered when every split gets two k-tiles or more (independent of the batch).
template <class T, bool kGeneric>
Use tcUse(const ConvParams& p, DType t, const Device& d, int splits) {
  if (t != DType::F16 || p.groups != 1 || d.cc < 75 || T::kSmemBytes > d.smemOptin) return Use::Invalid;
  if (kGeneric) return p.c % 8 ? Use::Listed : Use::Valid;
  if (p.c % 8) return Use::Invalid;
  if (splits > 1) {
    const long long kTiles = (static_cast<long long>(p.r) * p.s * p.c + T::BK - 1) / T::BK;
    return kTiles >= 2LL * splits ? Use::Listed : Use::Valid;
  }
  return Use::Listed;
}

template <class T>
size_t tcWorkspace(const ConvParams& p, DType, int splits) {
  return splits > 1 ? splitWorkspace(p, splits) : 0;
}

template <class T, bool kGeneric>
void tcRun(const Launch& l, int splits) {
  launchTc<T, kGeneric>(l, splits);
}

//! Registers tile T as "tc_BMxBNxBK_sSTAGES[_skN]" (or "tcg_BMxBNxBK" for the any-c kernel), one per split count.
template <class T, bool kGeneric>
void addTc(std::vector<Entry>& out, std::initializer_list<int> splits) {
  const std::string base = std::string(kGeneric ? "tcg_" : "tc_") + std::to_string(T::BM) + "x" + std::to_string(T::BN) +
                           "x" + std::to_string(T::BK) + (kGeneric ? "" : "_s" + std::to_string(T::STAGES));
  for (int s : splits) {
    out.push_back({s > 1 ? base + "_sk" + std::to_string(s) : base, &tcUse<T, kGeneric>, &tcWorkspace<T>,
                   &tcRun<T, kGeneric>, s});
  }
  if constexpr (kGeneric) {
    registerSmemKernel(reinterpret_cast<const void*>(&tcGenericKernel<T>), T::kSmemBytes);
  } else {
    registerSmemKernel(reinterpret_cast<const void*>(&tcConvKernel<T, true>), T::kSmemBytes);
    registerSmemKernel(reinterpret_cast<const void*>(&tcConvKernel<T, false>), T::kSmemBytes);
  }
}

//! The large tiles live in their own translation unit (compile time).
void addTcLargeTiles(std::vector<Entry>& out);

}  // namespace ntrt::kernels::convimpl
