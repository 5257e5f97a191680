// Fused multi-head attention, O = softmax(scale · Q·Kᵀ + mask) · V, with an online softmax so the Sq×Sk scores are
// never written to memory (FlashAttention's recurrence: running max m, running sum l, O rescaled by exp(m_old − m)).
//   flash_mma   FP16, FlashAttention-2 on mma.sync with everything in registers (attention_mma.cu), 64 query rows
//               per block; flash_mma_w2 and flash_mma_w8 the same with 32 and 128 rows (fewer idle rows on short
//               sequences; K/V tiles shared by more rows on long ones)
//   flash_wmma  FP16: a block of 4 warps takes 64 query rows; per 64-key tile, Q·Kᵀ and P·V on tensor cores
//               (wmma 16x16x16, float32 accumulation), the softmax in float32 on the scores of the tile
//   flash_warp  any float type: a warp per query row, 32 keys at a time (a lane per key), O in registers
//   unfused     the plain ops: scores = scale · Q·Kᵀ into workspace, a masked softmax in place, then P·V
#include <mma.h>

#include <atomic>
#include <type_traits>

#include "attention_mma.cuh"
#include "common.cuh"

namespace ntrt::kernels {
namespace {

using namespace detail;


__device__ __forceinline__ float expDiff(float x, float m) { return x == -INFINITY ? 0.f : __expf(x - m); }

// ---- flash_wmma -----------------------------------------------------------------------------------------------

constexpr int kRows = 64, kKeys = 64, kWarps = 4;
constexpr int kLdS = kKeys + 4, kLdP = kKeys + 8;

struct WmmaLayout {
  int ldq, ldv, ldo;
  size_t q, k, v, s, p, o, stats, bytes;
};

__host__ __device__ inline size_t alignUp(size_t x) { return (x + 127) / 128 * 128; }

__host__ __device__ inline WmmaLayout wmmaLayout(int d, int dv) {
  WmmaLayout L{};
  L.ldq = d + 8, L.ldv = dv + 8, L.ldo = dv + 4;
  L.q = 0;
  L.k = alignUp(L.q + size_t(kRows) * L.ldq * 2);
  L.v = alignUp(L.k + size_t(kKeys) * L.ldq * 2);
  L.s = alignUp(L.v + size_t(kKeys) * L.ldv * 2);
  L.p = alignUp(L.s + size_t(kRows) * kLdS * 4);
  L.o = alignUp(L.p + size_t(kRows) * kLdP * 2);
  L.stats = alignUp(L.o + size_t(kRows) * L.ldo * 4);
  L.bytes = alignUp(L.stats + size_t(kRows) * 4);
  return L;
}

__global__ void __launch_bounds__(kWarps * 32)
    flashWmmaKernel(AttentionDesc p, const __half* __restrict__ Q, const __half* __restrict__ K,
                    const __half* __restrict__ V, AttentionMask mask, __half* __restrict__ O) {
  using namespace nvcuda;
  extern __shared__ __align__(128) unsigned char smem[];
  const WmmaLayout L = wmmaLayout(p.d, p.dv);
  __half* qs = reinterpret_cast<__half*>(smem + L.q);
  __half* ks = reinterpret_cast<__half*>(smem + L.k);
  __half* vs = reinterpret_cast<__half*>(smem + L.v);
  float* ss = reinterpret_cast<float*>(smem + L.s);
  __half* ps = reinterpret_cast<__half*>(smem + L.p);
  float* os = reinterpret_cast<float*>(smem + L.o);
  float* alphas = reinterpret_cast<float*>(smem + L.stats);

  const int t = threadIdx.x, warp = t / 32, lane = t % 32;
  const int64_t bh = blockIdx.y;
  const int64_t b = bh / p.heads, h = bh % p.heads;
  const int q0 = blockIdx.x * kRows;
  const __half zero = __float2half_rn(0.f);
  const __half* qb = Q + b * p.q[0] + h * p.q[1];
  const __half* kb = K + b * p.k[0] + h * p.k[1];
  const __half* vb = V + b * p.v[0] + h * p.v[1];

  for (int i = t; i < kRows * p.d; i += blockDim.x) {
    int r = i / p.d, c = i % p.d;
    qs[r * L.ldq + c] = q0 + r < p.sq ? qb[(q0 + r) * p.q[2] + c * p.q[3]] : zero;
  }
  for (int i = t; i < kRows * p.dv; i += blockDim.x) os[(i / p.dv) * L.ldo + i % p.dv] = 0.f;
  // Two lanes per row of the warp's 16: lane/2 is the row, lane%2 the half of the 64 keys it scores.
  const int myRow = warp * 16 + lane / 2, half = lane % 2;
  float m = -INFINITY, l = 0.f;

  for (int k0 = 0; k0 < p.sk; k0 += kKeys) {
    __syncthreads();  // the previous tile's K/V are consumed (and Q is loaded, on the first pass)
    for (int i = t; i < kKeys * p.d; i += blockDim.x) {
      int r = i / p.d, c = i % p.d;
      ks[r * L.ldq + c] = k0 + r < p.sk ? kb[(k0 + r) * p.k[2] + c * p.k[3]] : zero;
    }
    for (int i = t; i < kKeys * p.dv; i += blockDim.x) {
      int r = i / p.dv, c = i % p.dv;
      vs[r * L.ldv + c] = k0 + r < p.sk ? vb[(k0 + r) * p.v[2] + c * p.v[3]] : zero;
    }
    __syncthreads();

    // S = Q_w · Kᵀ for this warp's 16 rows.
    float* sw = ss + warp * 16 * kLdS;
    for (int j = 0; j < kKeys / 16; ++j) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.f);
      for (int kk = 0; kk < p.d; kk += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> fb;
        wmma::load_matrix_sync(fa, qs + warp * 16 * L.ldq + kk, L.ldq);
        wmma::load_matrix_sync(fb, ks + j * 16 * L.ldq + kk, L.ldq);
        wmma::mma_sync(acc, fa, fb, acc);
      }
      wmma::store_matrix_sync(sw + j * 16, acc, kLdS, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax over the tile, two lanes per row.
    const int gq = q0 + myRow;
    float sv[32];
    float tileMax = -INFINITY;
#pragma unroll
    for (int c = 0; c < 32; ++c) {
      int key = k0 + half * 32 + c;
      float x = -INFINITY;
      if (key < p.sk && gq < p.sq) x = sw[(lane / 2) * kLdS + half * 32 + c] * p.scale + mask.at(b, h, gq, key);
      sv[c] = x;
      tileMax = fmaxf(tileMax, x);
    }
    tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, 1));
    const float mNew = fmaxf(m, tileMax);
    const float alpha = mNew == -INFINITY ? 1.f : expDiff(m, mNew);
    float sum = 0.f;
    __half* pw = ps + myRow * kLdP + half * 32;
#pragma unroll
    for (int c = 0; c < 32; ++c) {
      float e = mNew == -INFINITY ? 0.f : expDiff(sv[c], mNew);
      sum += e;
      pw[c] = __float2half_rn(e);
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    l = l * alpha + sum;
    m = mNew;
    if (half == 0) alphas[myRow] = alpha;
    __syncwarp();

    // O_w = O_w · alpha + P_w · V, 16 output columns at a time through the warp's score rows.
    for (int c = 0; c < p.dv; c += 16) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.f);
#pragma unroll
      for (int kk = 0; kk < kKeys; kk += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> fb;
        wmma::load_matrix_sync(fa, ps + warp * 16 * kLdP + kk, kLdP);
        wmma::load_matrix_sync(fb, vs + kk * L.ldv + c, L.ldv);
        wmma::mma_sync(acc, fa, fb, acc);
      }
      wmma::store_matrix_sync(sw, acc, kLdS, wmma::mem_row_major);
      __syncwarp();
      for (int e = lane; e < 256; e += 32) {
        int r = e / 16, cc = e % 16;
        float* o = os + (warp * 16 + r) * L.ldo + c + cc;
        *o = *o * alphas[warp * 16 + r] + sw[r * kLdS + cc];
      }
      __syncwarp();
    }
  }
  __syncthreads();
  if (half == 0) alphas[myRow] = l;  // reuse: the final row sums
  __syncthreads();
  __half* ob = O + b * p.o[0] + h * p.o[1];
  for (int i = t; i < kRows * p.dv; i += blockDim.x) {
    int r = i / p.dv, c = i % p.dv;
    if (q0 + r >= p.sq) continue;
    float lr = alphas[r];
    ob[(q0 + r) * p.o[2] + c * p.o[3]] = __float2half_rn(lr > 0.f ? os[r * L.ldo + c] / lr : 0.f);
  }
}

// ---- flash_warp ---------------------------------------------------------------------------------------------------

constexpr int kWarpRows = 4;  // warps (query rows) per block
constexpr int kMaxHead = 256;

template <typename T, int kPer>
__global__ void __launch_bounds__(kWarpRows * 32)
    flashWarpKernel(AttentionDesc p, const T* __restrict__ Q, const T* __restrict__ K, const T* __restrict__ V,
                    AttentionMask mask, T* __restrict__ O) {
  __shared__ float qsm[kWarpRows][kMaxHead];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t rows = int64_t(p.batch) * p.heads * p.sq;
  const int64_t row = int64_t(blockIdx.x) * kWarpRows + warp;
  if (row >= rows) return;
  const int64_t qi = row % p.sq, bh = row / p.sq;
  const int64_t b = bh / p.heads, h = bh % p.heads;
  const T* qr = Q + b * p.q[0] + h * p.q[1] + qi * p.q[2];
  const T* kb = K + b * p.k[0] + h * p.k[1];
  const T* vb = V + b * p.v[0] + h * p.v[1];
  for (int c = lane; c < p.d; c += 32) qsm[warp][c] = toFloat(qr[c * p.q[3]]);
  __syncwarp();
  float o[kPer];
#pragma unroll
  for (int i = 0; i < kPer; ++i) o[i] = 0.f;
  float m = -INFINITY, l = 0.f;
  for (int k0 = 0; k0 < p.sk; k0 += 32) {
    const int key = k0 + lane;
    float s = -INFINITY;
    if (key < p.sk) {
      const T* kr = kb + key * p.k[2];
      float dot = 0.f;
      for (int c = 0; c < p.d; ++c) dot = fmaf(qsm[warp][c], toFloat(kr[c * p.k[3]]), dot);
      s = dot * p.scale + mask.at(b, h, qi, key);
    }
    float tileMax = s;
    for (int off = 16; off > 0; off >>= 1) tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, off));
    const float mNew = fmaxf(m, tileMax);
    if (mNew == -INFINITY) continue;  // everything so far is masked: nothing to add
    const float alpha = expDiff(m, mNew);
    const float e = expDiff(s, mNew);
    float sum = e;
    for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    l = l * alpha + sum;
    m = mNew;
#pragma unroll
    for (int i = 0; i < kPer; ++i) o[i] *= alpha;
    const int n = min(32, p.sk - k0);
    for (int j = 0; j < n; ++j) {
      const float pj = __shfl_sync(0xffffffffu, e, j);
      const T* vr = vb + (k0 + j) * p.v[2];
#pragma unroll
      for (int i = 0; i < kPer; ++i) {
        int c = lane + 32 * i;
        if (c < p.dv) o[i] = fmaf(pj, toFloat(vr[c * p.v[3]]), o[i]);
      }
    }
  }
  T* orow = O + b * p.o[0] + h * p.o[1] + qi * p.o[2];
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    int c = lane + 32 * i;
    if (c < p.dv) orow[c * p.o[3]] = fromFloat<T>(l > 0.f ? o[i] / l : 0.f);
  }
}

// ---- unfused ------------------------------------------------------------------------------------------------------

// In place over scores [batch·heads·sq][sk]: x = x + mask, softmax over the row; a fully masked row becomes zeros.
template <typename T>
__global__ void maskedSoftmaxKernel(AttentionDesc p, AttentionMask mask, T* s) {
  const int lane = threadIdx.x % 32;
  const int64_t rows = int64_t(p.batch) * p.heads * p.sq;
  const int64_t warps = globalThreads() / 32;
  for (int64_t r = globalThread() / 32; r < rows; r += warps) {
    const int64_t qi = r % p.sq, bh = r / p.sq, b = bh / p.heads, h = bh % p.heads;
    T* row = s + r * p.sk;
    float mx = -INFINITY;
    for (int c = lane; c < p.sk; c += 32) mx = fmaxf(mx, toFloat(row[c]) + mask.at(b, h, qi, c));
    for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
    float sum = 0.f;
    for (int c = lane; c < p.sk; c += 32) sum += expDiff(toFloat(row[c]) + mask.at(b, h, qi, c), mx);
    for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    for (int c = lane; c < p.sk; c += 32) {
      float e = mx == -INFINITY ? 0.f : expDiff(toFloat(row[c]) + mask.at(b, h, qi, c), mx) / sum;
      row[c] = fromFloat<T>(e);
    }
  }
}

size_t unfusedBytes(const AttentionDesc& p, DType t) {
  return size_t(p.batch) * p.heads * p.sq * p.sk * dtypeSize(t);
}

bool wmmaFits(const AttentionDesc& p, DType t) {
  return t == DType::F16 && p.d % 16 == 0 && p.dv % 16 == 0 && p.d <= 128 && p.dv <= 128 && p.d > 0 && p.dv > 0;
}

void unfused(const AttentionDesc& p, DType t, const void* q, const void* k, const void* v, AttentionMask mask, void* o,
             void* ws, cudaStream_t stream) {
  MatmulDesc s{};
  s.m = p.sq, s.n = p.sk, s.k = p.d;
  s.batchRank = 2;
  s.batch[0] = p.batch, s.batch[1] = p.heads;
  s.sa[0] = p.q[0], s.sa[1] = p.q[1];
  s.sb[0] = p.k[0], s.sb[1] = p.k[1];
  s.sc[0] = int64_t(p.heads) * p.sq * p.sk, s.sc[1] = int64_t(p.sq) * p.sk;
  s.am = p.q[2], s.ak = p.q[3], s.bk = p.k[3], s.bn = p.k[2], s.cm = p.sk;
  s.alpha = p.scale;
  matmul(s, t, q, k, ws, stream);
  dispatchFloat(t, "attention", [&](auto tag) {
    using T = typename decltype(tag)::type;
    int64_t rows = int64_t(p.batch) * p.heads * p.sq;
    maskedSoftmaxKernel<T><<<gridFor(rows * 32, 256), 256, 0, stream>>>(p, mask, static_cast<T*>(ws));
    CUDA_CHECK_LAUNCH();
  });
  MatmulDesc pv{};
  pv.m = p.sq, pv.n = p.dv, pv.k = p.sk;
  pv.batchRank = 2;
  pv.batch[0] = p.batch, pv.batch[1] = p.heads;
  pv.sa[0] = s.sc[0], pv.sa[1] = s.sc[1];
  pv.sb[0] = p.v[0], pv.sb[1] = p.v[1];
  pv.sc[0] = p.o[0], pv.sc[1] = p.o[1];
  pv.am = p.sk, pv.ak = 1, pv.bk = p.v[2], pv.bn = p.v[3], pv.cm = p.o[2];
  pv.alpha = 1.f;
  matmul(pv, t, ws, v, o, stream);
}

}  // namespace

std::vector<Tactic> attentionTactics(const AttentionDesc& p, DType t) {
  std::vector<Tactic> out;
  if (attentionMmaFits(p, t)) {
    out.push_back({"flash_mma", 0});
    out.push_back({"flash_mma_w2", 0});
    out.push_back({"flash_mma_w8", 0});
  }
  if (wmmaFits(p, t)) out.push_back({"flash_wmma", 0});
  if (p.d <= kMaxHead && p.dv <= kMaxHead) out.push_back({"flash_warp", 0});
  out.push_back({"unfused", unfusedBytes(p, t)});
  return out;
}

void attention(const std::string& tactic, const AttentionDesc& p, DType t, const void* q, const void* k, const void* v,
               DType maskT, const void* mask, void* o, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  if (p.batch < 0 || p.heads < 0 || p.sq < 0 || p.sk < 0 || p.d < 0 || p.dv < 0)
    fail("ERR_INVALID_ARGUMENT", "attention: negative extent");
  if (mask && maskT != DType::F32 && maskT != DType::F16)
    fail("ERR_INVALID_ARGUMENT", "attention: the mask must be float32 or float16, not " + dtypeName(maskT));
  if (o != nullptr && o == q) fail("ERR_INVALID_ARGUMENT", "attention: the output may not alias Q");
  if (p.o[3] != 1 && tactic == "unfused") fail("ERR_INVALID_ARGUMENT", "attention: unfused needs contiguous output rows");
  AttentionMask mk{mask, maskT == DType::F16, {p.mask[0], p.mask[1], p.mask[2], p.mask[3]}};
  const int64_t rows = int64_t(p.batch) * p.heads * p.sq;
  dispatchFloat(t, "attention", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (rows == 0 || p.dv == 0) return;
    const T* qt = static_cast<const T*>(q);
    const T* kt = static_cast<const T*>(k);
    const T* vt = static_cast<const T*>(v);
    T* ot = static_cast<T*>(o);
    if (tactic == "flash_mma" || tactic == "flash_mma_w2" || tactic == "flash_mma_w8") {
      if constexpr (std::is_same_v<T, __half>) {
        attentionMma(tactic == "flash_mma" ? 4 : tactic == "flash_mma_w2" ? 2 : 8, p, q, k, v, mk, o, stream);
        return;
      } else {
        fail("ERR_INVALID_ARGUMENT", "attention: flash_mma runs float16 only");
      }
    } else if (tactic == "flash_wmma") {
      if constexpr (std::is_same_v<T, __half>) {
        if (!wmmaFits(p, t)) fail("ERR_INVALID_ARGUMENT", "attention: flash_wmma does not fit these head sizes");
        if (int64_t(p.batch) * p.heads > 65535) fail("ERR_INVALID_ARGUMENT", "attention: too many batch·heads");
        WmmaLayout L = wmmaLayout(p.d, p.dv);
        // Raised once per device to the largest layout seen (a host-side setting, outside any stream).
        static std::atomic<size_t> raised[64];
        int dev = 0;
        CUDA_CHECK(cudaGetDevice(&dev));
        std::atomic<size_t>& have = raised[dev >= 0 && dev < 64 ? dev : 0];
        if (L.bytes > 48 * 1024 && have.load() < L.bytes) {
          CUDA_CHECK(cudaFuncSetAttribute(flashWmmaKernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(L.bytes)));
          have.store(L.bytes);
        }
        dim3 grid((p.sq + kRows - 1) / kRows, static_cast<unsigned>(int64_t(p.batch) * p.heads));
        flashWmmaKernel<<<grid, kWarps * 32, L.bytes, stream>>>(p, qt, kt, vt, mk, ot);
      } else {
        fail("ERR_INVALID_ARGUMENT", "attention: flash_wmma runs float16 only");
      }
    } else if (tactic == "flash_warp") {
      if (p.d > kMaxHead || p.dv > kMaxHead) fail("ERR_INVALID_ARGUMENT", "attention: head size above 256");
      unsigned grid = static_cast<unsigned>((rows + kWarpRows - 1) / kWarpRows);
      int per = (p.dv + 31) / 32;
      auto go = [&](auto n) {
        flashWarpKernel<T, decltype(n)::value><<<grid, kWarpRows * 32, 0, stream>>>(p, qt, kt, vt, mk, ot);
      };
      if (per <= 1) go(std::integral_constant<int, 1>{});
      else if (per <= 2) go(std::integral_constant<int, 2>{});
      else if (per <= 4) go(std::integral_constant<int, 4>{});
      else go(std::integral_constant<int, 8>{});
    } else if (tactic == "unfused") {
      if (workspaceBytes < unfusedBytes(p, t) || (!workspace && unfusedBytes(p, t)))
        fail("ERR_INVALID_ARGUMENT", "attention: unfused needs " + std::to_string(unfusedBytes(p, t)) +
                                         " bytes of workspace");
      unfused(p, t, q, k, v, mk, o, workspace, stream);
      return;
    } else {
      fail("ERR_INVALID_ARGUMENT", "attention: unknown tactic '" + tactic + "'");
    }
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace ntrt::kernels
