// FP32 implicit GEMM on the CUDA cores (true FP32 FFMA, no TF32): register-tiled, shared-memory staged with a
// register double buffer, float4 loads along k when c % 4 == 0, a 1×1 fast path and split-K.
#include <initializer_list>
#include <string>
#include <vector>

#include "../../cuda/check.h"
#include "conv_registry.cuh"

namespace ntrt::kernels::convimpl {
namespace {

//! BM×BN CTA tile, TM×TN outputs per thread (as TM/4 × TN/4 blocks of 4×4 spread over the tile), BK = 8.
template <int BM_, int BN_, int TM_, int TN_>
struct SimtTile {
  static constexpr int BM = BM_, BN = BN_, TM = TM_, TN = TN_, BK = 8;
  static constexpr int kThreadsM = BM / TM, kThreadsN = BN / TN, kThreads = kThreadsM * kThreadsN;
  static constexpr int kAPitch = BM + 4, kBPitch = BN + 4;  // k-major rows; +4 staggers the transposed stores
  static_assert(TM % 4 == 0 && TN % 4 == 0 && BM * BK / 4 >= kThreads && BN * BK / 4 >= kThreads, "tile shape");
  static_assert(BM % (kThreads / 2) == 0 && BN % (kThreads / 2) == 0 && BM % (kThreads / 8) == 0 &&
                    BN % (kThreads / 8) == 0,
                "loaders cover the tile");
};

//! Four consecutive outputs of row m from column n (n % 4 == 0, n < K): split-K partial or fused epilogue.
__device__ __forceinline__ void storeRow4(const ConvArgs& a, int m, int n, const float (&v)[4]) {
  const int64_t off = int64_t(m) * a.K + n;
  float* dst = a.partial ? a.partial + int64_t(blockIdx.z) * a.M * a.K + off : static_cast<float*>(a.y) + off;
  if ((a.K & 3) == 0) {
    float4 t = make_float4(v[0], v[1], v[2], v[3]);
    if (!a.partial) {
      if (a.bias) {
        const float4 b = __ldg(reinterpret_cast<const float4*>(a.bias + n));
        t.x += b.x, t.y += b.y, t.z += b.z, t.w += b.w;
      }
      if (a.residual) {
        const float4 r = __ldg(reinterpret_cast<const float4*>(static_cast<const float*>(a.residual) + off));
        t.x += r.x, t.y += r.y, t.z += r.z, t.w += r.w;
      }
      t.x = applyAct(a.act, t.x, a.alpha, a.beta);
      t.y = applyAct(a.act, t.y, a.alpha, a.beta);
      t.z = applyAct(a.act, t.z, a.alpha, a.beta);
      t.w = applyAct(a.act, t.w, a.alpha, a.beta);
    }
    *reinterpret_cast<float4*>(dst) = t;
  } else {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      if (n + j >= a.K) break;
      if (a.partial) {
        dst[j] = v[j];
      } else {
        storeOne<float>(a, off + j, n + j, v[j]);
      }
    }
  }
}

template <class T, bool k1x1, bool kVec>
__global__ void __launch_bounds__(T::kThreads, 1) simtConvKernel(const ConvArgs a) {
  __shared__ __align__(16) float As[2][T::BK][T::kAPitch];
  __shared__ __align__(16) float Bs[2][T::BK][T::kBPitch];
  const int tid = threadIdx.x;
  const int tm = tid % T::kThreadsM, tn = tid / T::kThreadsM;
  const int tilesN = (a.K + T::BN - 1) / T::BN;
  const int mt = blockIdx.x / tilesN;
  const int m0 = mt * T::BM, n0 = (blockIdx.x - mt * tilesN) * T::BN;
  const int kTiles = (a.Kg + T::BK - 1) / T::BK;
  const int ktBegin = blockIdx.z * a.kTilesPerSplit;
  const int nkt = min(kTiles - ktBegin, a.kTilesPerSplit);
  const float* x = static_cast<const float*>(a.x);
  const float* w = static_cast<const float*>(a.w);

  // Loader mapping: vector loads take (row, 4-wide k chunk) pairs, scalar loads (row, k) pairs; either way a
  // thread keeps one k position and several rows, so one (r, s, c) walk serves all its rows.
  constexpr int kKPer = kVec ? 4 : 1;
  constexpr int kKLanes = T::BK / kKPer;
  constexpr int kRowsPerPass = T::kThreads / kKLanes;
  constexpr int kARows = T::BM / kRowsPerPass, kBRows = T::BN / kRowsPerPass;
  const int lk = (tid % kKLanes) * kKPer, lrow = tid / kKLanes;

  PixelOrigin ao[k1x1 ? 1 : kARows];
  int64_t a1[k1x1 ? kARows : 1];
  int64_t bo[kBRows];
#pragma unroll
  for (int i = 0; i < kARows; ++i) {
    if constexpr (k1x1) {
      a1[i] = pixelOffset1x1(a, m0 + lrow + i * kRowsPerPass);
    } else {
      ao[i] = pixelOrigin(a, m0 + lrow + i * kRowsPerPass);
    }
  }
#pragma unroll
  for (int i = 0; i < kBRows; ++i) {
    const int n = n0 + lrow + i * kRowsPerPass;
    bo[i] = n < a.K ? int64_t(n) * a.Kg : -1;
  }
  KPos kp = k1x1 ? KPos{ktBegin * T::BK + lk, 0, 0, 0} : kposAt(a, ktBegin * T::BK + lk);

  float ra[kARows][kKPer], rb[kBRows][kKPer];
  auto loadRegs = [&]() {
#pragma unroll
    for (int i = 0; i < kARows; ++i) {
      int64_t off;
      if constexpr (k1x1) {
        off = a1[i] >= 0 && kp.kk < a.Kg ? a1[i] + kp.kk : -1;
      } else {
        off = inputOffset(a, ao[i], kp);
      }
      if constexpr (kVec) {
        const float4 v = off >= 0 ? __ldg(reinterpret_cast<const float4*>(x + off)) : make_float4(0, 0, 0, 0);
        ra[i][0] = v.x, ra[i][1] = v.y, ra[i][2] = v.z, ra[i][3] = v.w;
      } else {
        ra[i][0] = off >= 0 ? __ldg(x + off) : 0.f;
      }
    }
#pragma unroll
    for (int i = 0; i < kBRows; ++i) {
      const bool ok = bo[i] >= 0 && kp.kk < a.Kg;
      if constexpr (kVec) {
        const float4 v = ok ? __ldg(reinterpret_cast<const float4*>(w + bo[i] + kp.kk)) : make_float4(0, 0, 0, 0);
        rb[i][0] = v.x, rb[i][1] = v.y, rb[i][2] = v.z, rb[i][3] = v.w;
      } else {
        rb[i][0] = ok ? __ldg(w + bo[i] + kp.kk) : 0.f;
      }
    }
    if constexpr (k1x1) {
      kp.kk += T::BK;
    } else {
      kposAdvance(a, kp, T::BK);
    }
  };
  auto storeRegs = [&](int buf) {
#pragma unroll
    for (int i = 0; i < kARows; ++i)
#pragma unroll
      for (int j = 0; j < kKPer; ++j) As[buf][lk + j][lrow + i * kRowsPerPass] = ra[i][j];
#pragma unroll
    for (int i = 0; i < kBRows; ++i)
#pragma unroll
      for (int j = 0; j < kKPer; ++j) Bs[buf][lk + j][lrow + i * kRowsPerPass] = rb[i][j];
  };

  float acc[T::TM][T::TN];
#pragma unroll
  for (int i = 0; i < T::TM; ++i)
#pragma unroll
    for (int j = 0; j < T::TN; ++j) acc[i][j] = 0.f;

  if (nkt > 0) {
    loadRegs();
    storeRegs(0);
  }
  __syncthreads();
  for (int it = 0; it < nkt; ++it) {
    const bool more = it + 1 < nkt;
    if (more) loadRegs();
    const int buf = it & 1;
#pragma unroll
    for (int k = 0; k < T::BK; ++k) {
      float av[T::TM], bv[T::TN];
#pragma unroll
      for (int g = 0; g < T::TM / 4; ++g) {
        const float4 v = *reinterpret_cast<const float4*>(&As[buf][k][g * 4 * T::kThreadsM + tm * 4]);
        av[4 * g] = v.x, av[4 * g + 1] = v.y, av[4 * g + 2] = v.z, av[4 * g + 3] = v.w;
      }
#pragma unroll
      for (int h = 0; h < T::TN / 4; ++h) {
        const float4 v = *reinterpret_cast<const float4*>(&Bs[buf][k][h * 4 * T::kThreadsN + tn * 4]);
        bv[4 * h] = v.x, bv[4 * h + 1] = v.y, bv[4 * h + 2] = v.z, bv[4 * h + 3] = v.w;
      }
#pragma unroll
      for (int i = 0; i < T::TM; ++i)
#pragma unroll
        for (int j = 0; j < T::TN; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    if (more) storeRegs(buf ^ 1);
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < T::TM; ++i) {
    const int m = m0 + (i / 4) * 4 * T::kThreadsM + tm * 4 + (i & 3);
    if (m >= a.M) continue;
#pragma unroll
    for (int h = 0; h < T::TN / 4; ++h) {
      const int n = n0 + h * 4 * T::kThreadsN + tn * 4;
      if (n >= a.K) continue;
      const float v[4] = {acc[i][4 * h], acc[i][4 * h + 1], acc[i][4 * h + 2], acc[i][4 * h + 3]};
      storeRow4(a, m, n, v);
    }
  }
}

template <class T>
Use simtUse(const ConvParams& p, DType t, const Device&, int splits) {
  if (t != DType::F32 || p.groups != 1) return Use::Invalid;
  if (splits > 1) {
    const long long kTiles = (static_cast<long long>(p.r) * p.s * p.c + T::BK - 1) / T::BK;
    return kTiles >= 2LL * splits ? Use::Listed : Use::Valid;
  }
  return Use::Listed;
}

size_t simtWorkspace(const ConvParams& p, DType, int splits) { return splits > 1 ? splitWorkspace(p, splits) : 0; }

template <class T, bool k1x1, bool kVec>
void simtLaunch(const ConvArgs& a, dim3 grid, cudaStream_t stream) {
  simtConvKernel<T, k1x1, kVec><<<grid, T::kThreads, 0, stream>>>(a);
}

template <class T>
void simtRun(const Launch& l, int splits) {
  ConvArgs a = makeArgs(l);
  const int kTiles = (a.Kg + T::BK - 1) / T::BK;
  const SplitPlan sp = splitPlan(kTiles, splits);
  a.kTilesPerSplit = sp.perSplit;
  a.splits = sp.splits;
  if (sp.splits > 1) a.partial = static_cast<float*>(l.workspace);
  const long long tiles = (long long)((a.M + T::BM - 1) / T::BM) * ((a.K + T::BN - 1) / T::BN);
  const dim3 grid(static_cast<unsigned>(tiles), 1, sp.splits);
  const bool is1x1 = a.R == 1 && a.S == 1 && a.padH == 0 && a.padW == 0 && (a.P - 1) * a.strideH < a.H &&
                     (a.Q - 1) * a.strideW < a.W;
  const bool vec = a.C % 4 == 0;
  if (is1x1 && vec) {
    simtLaunch<T, true, true>(a, grid, l.stream);
  } else if (is1x1) {
    simtLaunch<T, true, false>(a, grid, l.stream);
  } else if (vec) {
    simtLaunch<T, false, true>(a, grid, l.stream);
  } else {
    simtLaunch<T, false, false>(a, grid, l.stream);
  }
  CUDA_CHECK_LAUNCH();
  if (sp.splits > 1) launchSplitReduce(a, l.t, l.stream);
}

template <class T>
void addSimt(std::vector<Entry>& out, std::initializer_list<int> splits) {
  const std::string base = "simt_" + std::to_string(T::BM) + "x" + std::to_string(T::BN);
  for (int s : splits) out.push_back({s > 1 ? base + "_sk" + std::to_string(s) : base, &simtUse<T>, &simtWorkspace, &simtRun<T>, s});
}

}  // namespace

void addSimtTactics(std::vector<Entry>& out) {
  addSimt<SimtTile<128, 64, 8, 8>>(out, {1});
  addSimt<SimtTile<64, 64, 8, 4>>(out, {1, 4, 16});
  addSimt<SimtTile<32, 32, 4, 4>>(out, {1});
}

}  // namespace ntrt::kernels::convimpl
