// Hopper GEMM tactics for 1×1 convolutions (and the Gemm/MatMul layers lowered to them): TMA loads the A (pixels ×
// channels) and B (filters × channels) tiles into a multi-stage ring, one warpgroup runs wgmma on them, and the
// fused epilogue (bias, residual, activation) writes float16 through shared memory in 16-byte rows.
// Built for sm_90a only (native/builtin/builtin.cmake); offered on compute capability 9.0 when the kernel image and
// the driver's cuTensorMapEncodeTiled are both there.
#include <cuda.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <string>

#include "../../cuda/check.h"
#include "../../cuda/error.h"
#include "conv_registry.cuh"
#include "wgmma.cuh"

namespace ntrt::kernels::convimpl {
namespace {

//! BM × BN output tile per CTA of one warpgroup (BM / 64 wgmma row blocks), k in steps of 64 halves (one
//! 128-byte swizzle row), up to kStages loads in flight.
template <int BM_, int BN_>
struct WgTile {
  static constexpr int BM = BM_, BN = BN_, BK = 64, MI = BM / 64, kStages = 4;
  static constexpr int kAccs = BN / 2;  // per thread per 64-row block
  static constexpr int kABytes = BM * BK * 2, kBBytes = BN * BK * 2, kStageBytes = kABytes + kBBytes;
  static constexpr int kPitch = BN + 8;  // floats per staged output row: conflict-free float2 stores
  static constexpr int kEpiBytes = BM * kPitch * 4;
  //! Dynamic shared memory for `stages` stages, with room to align the ring to 1024 bytes (the swizzle atom).
  static constexpr int smemBytes(int stages) { return 1024 + std::max(stages * kStageBytes, kEpiBytes); }
  static_assert(MI * kAccs <= 128, "accumulators must fit the register file");
};

template <class T>
__global__ void __launch_bounds__(128, 1)
    wgKernel(const __grid_constant__ CUtensorMap tmA, const __grid_constant__ CUtensorMap tmB, const ConvArgs a,
             const int stages) {
#ifdef NTRT_WGMMA_DEVICE
  extern __shared__ unsigned char smemRaw[];
  __shared__ __align__(8) uint64_t full[T::kStages];
  unsigned char* ring = reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(smemRaw) + 1023) & ~uintptr_t(1023));
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int nTiles = (a.K + T::BN - 1) / T::BN;
  // n fastest: the CTAs sharing an A tile run together and find it in L2.
  const int m0 = (blockIdx.x / nTiles) * T::BM, n0 = (blockIdx.x % nTiles) * T::BN;
  const int nk = (a.Kg + T::BK - 1) / T::BK;

  if (tid == 0) {
    for (int s = 0; s < stages; ++s) wg::mbarInit(&full[s], 1);
    wg::fenceBarrierInit();
  }
  __syncthreads();
  auto issue = [&](int kt, int slot) {
    const uint32_t sa = wg::smem(ring + slot * T::kStageBytes);
    wg::mbarExpectTx(&full[slot], T::kStageBytes);
    wg::tmaLoad2d(sa, &tmA, kt * T::BK, m0, &full[slot]);
    wg::tmaLoad2d(sa + T::kABytes, &tmB, kt * T::BK, n0, &full[slot]);
  };
  if (tid == 0) {
    for (int s = 0; s < stages && s < nk; ++s) issue(s, s);
  }

  float acc[T::MI][T::kAccs];
#pragma unroll
  for (int mi = 0; mi < T::MI; ++mi)
#pragma unroll
    for (int j = 0; j < T::kAccs; ++j) acc[mi][j] = 0.f;

  for (int kt = 0; kt < nk; ++kt) {
    const int slot = kt % stages;
    wg::mbarWait(&full[slot], (kt / stages) & 1);
    const uint32_t sa = wg::smem(ring + slot * T::kStageBytes);
    wg::fence();
#pragma unroll
    for (int k16 = 0; k16 < T::BK / 16; ++k16) {
      const uint64_t descB = wg::sw128Desc(sa + T::kABytes + k16 * 32);
#pragma unroll
      for (int mi = 0; mi < T::MI; ++mi) wg::mma<T::BN>(acc[mi], wg::sw128Desc(sa + mi * 64 * 128 + k16 * 32), descB);
    }
    wg::commit();
    // Tile kt-1's MMAs are done in every warp once each has waited and all have met: its slot can be refilled
    // (stages >= 2 whenever nk >= 2, so the refill always lands before it is consumed).
    wg::wait<1>();
    __syncthreads();
    if (tid == 0 && kt >= 1 && kt - 1 + stages < nk) issue(kt - 1 + stages, (kt - 1) % stages);
  }
  wg::wait<0>();
  __syncthreads();  // the ring is reused for the output tile

  float* st = reinterpret_cast<float*>(ring);
#pragma unroll
  for (int mi = 0; mi < T::MI; ++mi) {
    const int row = mi * 64 + warp * 16 + (lane >> 2);
#pragma unroll
    for (int i = 0; i < T::BN / 8; ++i) {
      const int col = i * 8 + 2 * (lane & 3);
      *reinterpret_cast<float2*>(st + row * T::kPitch + col) = make_float2(acc[mi][4 * i], acc[mi][4 * i + 1]);
      *reinterpret_cast<float2*>(st + (row + 8) * T::kPitch + col) = make_float2(acc[mi][4 * i + 2], acc[mi][4 * i + 3]);
    }
  }
  __syncthreads();
  constexpr int kChunks = T::BN / 8;
  for (int idx = tid; idx < T::BM * kChunks; idx += blockDim.x) {
    const int r = idx / kChunks, c = (idx - r * kChunks) * 8;
    const int m = m0 + r, n = n0 + c;
    if (m >= a.M || n >= a.K) continue;
    const float4 lo = *reinterpret_cast<const float4*>(st + r * T::kPitch + c);
    const float4 hi = *reinterpret_cast<const float4*>(st + r * T::kPitch + c + 4);
    const float v[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
    storeRow8(a, m, n, v);
  }
#endif
}

using EncodeTiled = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                                 const cuuint64_t*, const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave,
                                 CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

//! The driver's cuTensorMapEncodeTiled, found through the runtime (the addon links no libcuda); null if absent.
EncodeTiled encoder() {
  static const EncodeTiled fn = []() -> EncodeTiled {
    void* p = nullptr;
    cudaDriverEntryPointQueryResult q{};
#if CUDART_VERSION >= 12050
    const cudaError_t e = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &q);
#else  // CUDA 12.0-12.4: the by-version query does not exist yet
    const cudaError_t e = cudaGetDriverEntryPoint("cuTensorMapEncodeTiled", &p, cudaEnableDefault, &q);
#endif
    if (e != cudaSuccess || q != cudaDriverEntryPointSuccess) {
      cudaGetLastError();
      return nullptr;
    }
    return reinterpret_cast<EncodeTiled>(p);
  }();
  return fn;
}

//! A row-major [rows][inner] float16 matrix read in boxes of 64 × boxRows with the 128-byte swizzle.
CUtensorMap encode(const void* base, int inner, int rows, int boxRows) {
  CUtensorMap m{};
  const cuuint64_t dims[2] = {cuuint64_t(inner), cuuint64_t(rows)};
  const cuuint64_t strides[1] = {cuuint64_t(inner) * 2};
  const cuuint32_t box[2] = {64, cuuint32_t(boxRows)};
  const cuuint32_t elem[2] = {1, 1};
  const CUresult r = encoder()(&m, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, const_cast<void*>(base), dims, strides, box, elem,
                               CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                               CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) {
    fail("ERR_CUDA", "cuTensorMapEncodeTiled failed (" + std::to_string(int(r)) + ") for a " + std::to_string(rows) +
                         " x " + std::to_string(inner) + " float16 matrix");
  }
  return m;
}

//! Whether kernel image `k` loads on device `id` (an sm_90a cubin only runs on compute capability 9.0).
bool loads(const void* k, int id) {
  static std::array<std::atomic<int>, 64> state{};  // per device: 0 unknown, 1 yes, 2 no (same for every tile)
  if (id < 0 || id >= 64) return false;
  int s = state[id].load(std::memory_order_acquire);
  if (s == 0) {
    cudaFuncAttributes attr{};
    s = cudaFuncGetAttributes(&attr, k) == cudaSuccess && encoder() ? 1 : 2;
    cudaGetLastError();
    state[id].store(s, std::memory_order_release);
  }
  return s == 1;
}

template <class T>
Use wgUse(const ConvParams& p, DType t, const Device& d, int) {
  const bool gemm = p.r == 1 && p.s == 1 && p.padH == 0 && p.padW == 0 && p.strideH == 1 && p.strideW == 1 &&
                    p.p == p.h && p.q == p.w && p.groups == 1;
  // TMA rows must be 16-byte multiples: c % 8 for x and w.
  if (t != DType::F16 || !gemm || p.c % 8 || d.cc != 90 || T::smemBytes(T::kStages) > d.smemOptin) return Use::Invalid;
  const void* k = reinterpret_cast<const void*>(&wgKernel<T>);
  if (!loads(k, d.id)) return Use::Invalid;
  // Not registered with registerSmemKernel: that configures every kernel on every device, and this image exists
  // on compute capability 9.0 only. convTactics asks here before any capture, so launches find it configured.
  ensureSmem(k, T::smemBytes(T::kStages));
  return Use::Listed;
}

size_t wgWorkspace(const ConvParams&, DType, int) { return 0; }

template <class T>
void wgRun(const Launch& l, int) {
  const ConvArgs a = makeArgs(l);
  if (a.M == 0 || a.K == 0) return;
  const CUtensorMap ta = encode(l.x, a.C, a.M, T::BM), tb = encode(l.w, a.C, a.K, T::BN);
  const int stages = std::min(T::kStages, (a.Kg + T::BK - 1) / T::BK);
  const long long tiles = (long long)((a.M + T::BM - 1) / T::BM) * ((a.K + T::BN - 1) / T::BN);
  wgKernel<T><<<static_cast<unsigned>(tiles), 128, T::smemBytes(stages), l.stream>>>(ta, tb, a, stages);
  CUDA_CHECK_LAUNCH();
}

template <class T>
void addWg(std::vector<Entry>& out) {
  out.push_back({"wg_" + std::to_string(T::BM) + "x" + std::to_string(T::BN), &wgUse<T>, &wgWorkspace, &wgRun<T>, 1});
}

}  // namespace

void addWgmmaTactics(std::vector<Entry>& out) {
  addWg<WgTile<128, 128>>(out);
  addWg<WgTile<128, 64>>(out);
  addWg<WgTile<64, 256>>(out);
  addWg<WgTile<64, 128>>(out);
  addWg<WgTile<64, 64>>(out);
}

}  // namespace ntrt::kernels::convimpl
