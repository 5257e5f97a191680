// flash_mma: FP16 multi-head attention on mma.sync tensor cores, FlashAttention-2's structure.
//   A block of W warps owns 16·W query rows of one (batch, head); each warp keeps its 16 rows' Q fragments, the
//   scores of a 64-key tile, the running max/sum and the whole O accumulator in registers. Per tile:
//   S = Q·Kᵀ (ldmatrix + m16n8k16), scale and mask in the log2 domain, online softmax on the accumulator fragments,
//   P re-packed as A fragments without touching shared memory, O += P·V (V through ldmatrix.trans).
//   K/V tiles are double-buffered with cp.async, so the next tile loads while this one computes; a key-padding mask
//   ([b, 1, 1, sk], the same for every query) is staged per tile in shared memory with them.
// Conditions (attentionMmaFits): d == dv ∈ {16, 32, 64, 128}; Q, K, V rows contiguous (feature stride 1) with every
// other stride a multiple of 8 elements and 16-byte aligned bases (cp.async moves 16 bytes); O rows contiguous with
// even strides (half2 stores). A fully masked query row gives zeros, as the other tactics do.
#include <cuda_fp16.h>

#include <cfloat>
#include <type_traits>

#include "attention_mma.cuh"
#include "common.cuh"
#include "conv_registry.cuh"

namespace ntrt::kernels {
namespace {

using convimpl::cpAsync16;
using convimpl::cpAsyncCommit;
using convimpl::cpAsyncWait;
using convimpl::ldsmX4;
using convimpl::ldsmX4T;
using convimpl::mma16816;
using convimpl::smemAddr;

constexpr int kKeyTile = 64;
constexpr float kLog2e = 1.4426950408889634f;

__device__ __forceinline__ float fastExp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

__device__ __forceinline__ uint32_t packHalf2(float lo, float hi) {
  __half2 h = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&h);
}

template <int D, int W>
constexpr size_t mmaSmemBytes() {
  return size_t(16 * W + 4 * kKeyTile) * (D + 8) * sizeof(__half);
}

// How the mask is read: none, per key ([b, 1, 1, sk]: staged per tile in shared memory, already in the log2 domain),
// or per score (any other strides).
enum MaskKind { kNoMask = 0, kKeyMask = 1, kScoreMask = 2 };

// Up to head size 64, blocks of 4 and 8 warps cap registers for 16 warps per SM (128 per thread): the key-mask form
// would take 130 and lose a quarter of its warps. Blocks of 2 warps are held to 5 per SM by shared memory anyway,
// so a cap would only spill; the per-score form (its mask reads need registers) and d = 128 keep theirs too.
template <int D, int W, int MK>
__global__ void __launch_bounds__(W * 32, D <= 64 && W >= 4 && MK != kScoreMask ? 16 / W : 1)
    flashMmaKernel(AttentionDesc p, const __half* __restrict__ Q, const __half* __restrict__ K,
                   const __half* __restrict__ V, AttentionMask mask, __half* __restrict__ O) {
  constexpr int R = 16 * W;    // query rows per block
  constexpr int LD = D + 8;    // shared row pitch in halves: 16 bytes of padding keep ldmatrix conflict-free
  constexpr int C = D / 8;     // 16-byte chunks per row
  constexpr int kThreads = W * 32;
  constexpr uint32_t kTileBytes = kKeyTile * LD * sizeof(__half);
  constexpr uint32_t kRowBytes = LD * sizeof(__half);
  static_assert(kKeyTile == 64, "the tile body is instantiated for 1, 2 and 4 live 16-key steps of a 64-key tile");
  extern __shared__ __align__(16) unsigned char smem[];
  __half* qs = reinterpret_cast<__half*>(smem);
  __half* ks = qs + R * LD;                 // [2][kKeyTile][LD]
  __half* vs = ks + 2 * kKeyTile * LD;      // [2][kKeyTile][LD]

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int64_t bh = blockIdx.y;
  const int64_t b = bh / p.heads, h = bh % p.heads;
  const int q0 = blockIdx.x * R;
  const __half* qb = Q + b * p.q[0] + h * p.q[1];
  const __half* kb = K + b * p.k[0] + h * p.k[1];
  const __half* vb = V + b * p.v[0] + h * p.v[1];

  // This thread's 16-byte chunks of a [rows][D] operand: column ldCol of rows ldRow + i·kRowsPerPass.
  constexpr int kRowsPerPass = kThreads / C;
  const int ldRow = tid / C, ldCol = (tid % C) * 8;
  // Q rows [q0, q0 + R) once; rows past sq become zeros.
  for (int r = ldRow; r < R; r += kRowsPerPass) {
    const int g = q0 + r;
    const bool ok = g < p.sq;
    cpAsync16(smemAddr(qs + r * LD + ldCol), ok ? qb + int64_t(g) * p.q[2] + ldCol : qb, ok);
  }
  // K and V rows of key tile `tile` into buffer `buf`; keys at or past sk become zeros.
  const uint32_t ksAddr = smemAddr(ks), vsAddr = smemAddr(vs);
  auto loadKV = [&](int buf, int tile) {
    const int key0 = tile * kKeyTile;
#pragma unroll
    for (int i = 0; i < (kKeyTile + kRowsPerPass - 1) / kRowsPerPass; ++i) {
      const int r = ldRow + i * kRowsPerPass;
      if (kRowsPerPass > kKeyTile && r >= kKeyTile) break;
      const int g = key0 + r;
      const bool ok = g < p.sk;
      const uint32_t off = buf * kTileBytes + r * kRowBytes + ldCol * sizeof(__half);
      cpAsync16(ksAddr + off, ok ? kb + int64_t(g) * p.k[2] + ldCol : kb, ok);
      cpAsync16(vsAddr + off, ok ? vb + int64_t(g) * p.v[2] + ldCol : vb, ok);
    }
  };
  // A mask that does not vary over the queries (a key-padding mask, [b, 1, 1, sk]) is staged per key tile in
  // shared memory beside K and V: one global load per key and block instead of one per score.
  __shared__ float keyMask[MK == kKeyMask ? 2 : 1][kKeyTile];
  const int64_t keyMaskRow = MK == kKeyMask ? mask.row(b, h, 0) : 0;
  auto loadMask = [&](int buf, int tile) {
    if constexpr (MK == kKeyMask) {
      for (int j = tid; j < kKeyTile; j += kThreads) {
        const int key = tile * kKeyTile + j;
        // Added in the log2 domain; a finite bias stays finite there (a mask of torch.finfo(float32).min would
        // overflow to −inf on the way, and a row masked that way must average V as the other tactics do).
        const float bias = key < p.sk ? mask.at(keyMaskRow, key) : 0.f;
        const float b2 = bias * kLog2e;
        keyMask[buf][j] = isinf(b2) && !isinf(bias) ? copysignf(FLT_MAX, b2) : b2;
      }
    }
  };
  const int tiles = (p.sk + kKeyTile - 1) / kKeyTile;
  if (tiles > 0) {
    loadKV(0, 0);
    loadMask(0, 0);
  }
  cpAsyncCommit();

  const float scaleLog2 = p.scale * kLog2e;
  // This thread's two rows of the warp's 16 (accumulator rows lane/4 and lane/4 + 8) and its column pair.
  const int rowA = q0 + warp * 16 + lane / 4, rowB = rowA + 8;
  const int colPair = 2 * (lane % 4);
  // A warp whose 16 rows all lie past the sequence (the last block of a ragged sq) only helps load: one
  // warp-uniform test per tile, so the tensor-core code below runs unpredicated.
  const bool rowsLive = q0 + warp * 16 < p.sq;
  float o[D / 8][4];
#pragma unroll
  for (int i = 0; i < D / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
  uint32_t qf[D / 16][4];
  // The mask rows of this thread's two query rows (a row past the sequence reads the last one; it is not written).
  const int64_t maskRow[2] = {MK == kScoreMask ? mask.row(b, h, min(rowA, p.sq - 1)) : 0,
                              MK == kScoreMask ? mask.row(b, h, min(rowB, p.sq - 1)) : 0};
  // ldmatrix addresses of this lane within a tile buffer: K as B fragments (rows are keys), V transposed.
  const uint32_t kLane = ksAddr + ((lane & 7) + ((lane >> 4) << 3)) * kRowBytes + (((lane >> 3) & 1) << 4);
  const uint32_t vLane = vsAddr + ((lane & 7) + (((lane >> 3) & 1) << 3)) * kRowBytes + ((lane >> 4) << 4);

  // One key tile whose first 16·STEPS keys are loaded (STEPS 4: a whole tile; fewer: the ragged last tile, whose
  // 16-key steps past sk are not multiplied). Everything is unrolled at compile time: no per-step predicates, so no
  // per-mma branches and warp syncs.
  auto tileBody = [&](auto stepsC, int t) {
    constexpr int STEPS = decltype(stepsC)::value;
    constexpr int SN = 2 * STEPS;  // live n-tiles of 8 keys
    const uint32_t kt = kLane + (t & 1) * kTileBytes, vt = vLane + (t & 1) * kTileBytes;
    float s[SN][4];
#pragma unroll
    for (int i = 0; i < SN; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
      for (int np = 0; np < STEPS; ++np) {
        uint32_t r[4];
        ldsmX4(r, kt + np * 16 * kRowBytes + kk * 32);
        const uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
        mma16816(s[2 * np], qf[kk], b0);
        mma16816(s[2 * np + 1], qf[kk], b1);
      }
    }

    // Scale into the log2 domain and mask; keys past the end (last tile only) become −inf. Then the online
    // softmax per row, against a running max that reads 0 while the row has nothing unmasked (so −inf scores give
    // 0, never −inf − −inf): four operations per score.
    const int key0 = t * kKeyTile + colPair;
#pragma unroll
    for (int nt = 0; nt < SN; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        if (MK == kKeyMask) {
          s[nt][e] = fmaf(s[nt][e], scaleLog2, keyMask[t & 1][colPair + nt * 8 + (e & 1)]);
        } else if (MK == kScoreMask) {
          // In the natural domain first, as the other tactics add it; a finite sum that overflows on the way to
          // log2 (a mask of torch.finfo(float32).min) stays finite, so a row masked that way averages V as they do.
          const int key = key0 + nt * 8 + (e & 1);
          const float nat = fmaf(s[nt][e], p.scale, key < p.sk ? mask.at(maskRow[e >> 1], key) : 0.f);
          float x = nat * kLog2e;
          if (x == -INFINITY && nat != -INFINITY) x = -FLT_MAX;
          s[nt][e] = x;
        } else {
          s[nt][e] *= scaleLog2;
        }
      }
    }
    if (t * kKeyTile + 16 * STEPS > p.sk) {
#pragma unroll
      for (int nt = 0; nt < SN; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          if (key0 + nt * 8 + (e & 1) >= p.sk) s[nt][e] = -INFINITY;
    }
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      float mx = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < SN; ++nt) mx = fmaxf(mx, fmaxf(s[nt][2 * i], s[nt][2 * i + 1]));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float mNew = fmaxf(m[i], mx);
      const float mUse = mNew == -INFINITY ? 0.f : mNew;
      const float alpha = fastExp2(m[i] - mUse);  // 0 while m[i] is −inf: o and l are still 0 then
      float sum = 0.f;
#pragma unroll
      for (int nt = 0; nt < SN; ++nt) {
        const float e0 = fastExp2(s[nt][2 * i] - mUse);
        const float e1 = fastExp2(s[nt][2 * i + 1] - mUse);
        s[nt][2 * i] = e0, s[nt][2 * i + 1] = e1;
        sum += e0 + e1;
      }
      l[i] = l[i] * alpha + sum;  // this thread's share; the quad's shares are added at the end
      m[i] = mNew;
#pragma unroll
      for (int dn = 0; dn < D / 8; ++dn) o[dn][2 * i] *= alpha, o[dn][2 * i + 1] *= alpha;
    }

    // O += P·V: the score accumulators of n-tiles 2j and 2j+1 are exactly the A fragment of key step j.
#pragma unroll
    for (int j = 0; j < STEPS; ++j) {
      const uint32_t a[4] = {packHalf2(s[2 * j][0], s[2 * j][1]), packHalf2(s[2 * j][2], s[2 * j][3]),
                             packHalf2(s[2 * j + 1][0], s[2 * j + 1][1]), packHalf2(s[2 * j + 1][2], s[2 * j + 1][3])};
#pragma unroll
      for (int dp = 0; dp < D / 16; ++dp) {
        uint32_t r[4];
        ldsmX4T(r, vt + j * 16 * kRowBytes + dp * 32);
        const uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
        mma16816(o[2 * dp], a, b0);
        mma16816(o[2 * dp + 1], a, b1);
      }
    }
  };

  for (int t = 0; t < tiles; ++t) {
    if (t + 1 < tiles) {
      loadKV((t + 1) & 1, t + 1);
      loadMask((t + 1) & 1, t + 1);
      cpAsyncCommit();
      cpAsyncWait<1>();
    } else {
      cpAsyncWait<0>();
    }
    __syncthreads();
    if (rowsLive) {
      if (t == 0) {
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk)
          ldsmX4(qf[kk], smemAddr(qs + (warp * 16 + (lane & 15)) * LD + kk * 16 + ((lane >> 4) << 3)));
      }
      const int live = min(kKeyTile, p.sk - t * kKeyTile);
      if (live > 32) tileBody(std::integral_constant<int, 4>{}, t);
      else if (live > 16) tileBody(std::integral_constant<int, 2>{}, t);
      else tileBody(std::integral_constant<int, 1>{}, t);
    }
    __syncthreads();  // every warp is done with this buffer before the next iteration refills it
  }
  cpAsyncWait<0>();  // nothing left in flight at exit (sk = 0 loads only Q)

#pragma unroll
  for (int i = 0; i < 2; ++i) {
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 1);
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 2);
  }
  __half* ob = O + b * p.o[0] + h * p.o[1];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int row = i == 0 ? rowA : rowB;
    if (row >= p.sq) continue;
    const float inv = l[i] > 0.f ? 1.f / l[i] : 0.f;
    __half* orow = ob + int64_t(row) * p.o[2];
#pragma unroll
    for (int dn = 0; dn < D / 8; ++dn)
      *reinterpret_cast<__half2*>(orow + dn * 8 + colPair) =
          __floats2half2_rn(o[dn][2 * i] * inv, o[dn][2 * i + 1] * inv);
  }
}

template <int D, int W, int MK>
void launchKind(const AttentionDesc& p, const __half* q, const __half* k, const __half* v, AttentionMask mask,
                __half* o, cudaStream_t stream) {
  constexpr size_t bytes = mmaSmemBytes<D, W>();
  convimpl::ensureSmem(reinterpret_cast<const void*>(&flashMmaKernel<D, W, MK>), static_cast<int>(bytes));
  dim3 grid((p.sq + 16 * W - 1) / (16 * W), static_cast<unsigned>(int64_t(p.batch) * p.heads));
  flashMmaKernel<D, W, MK><<<grid, W * 32, bytes, stream>>>(p, q, k, v, mask, o);
}

template <int D, int W>
void launch(const AttentionDesc& p, const __half* q, const __half* k, const __half* v, AttentionMask mask, __half* o,
            cudaStream_t stream) {
  if (!mask.p) return launchKind<D, W, kNoMask>(p, q, k, v, mask, o, stream);
  if (mask.s[2] == 0) return launchKind<D, W, kKeyMask>(p, q, k, v, mask, o, stream);
  launchKind<D, W, kScoreMask>(p, q, k, v, mask, o, stream);
}

template <int W>
void byHead(const AttentionDesc& p, const __half* q, const __half* k, const __half* v, AttentionMask mask, __half* o,
            cudaStream_t stream) {
  switch (p.d) {
    case 16: return launch<16, W>(p, q, k, v, mask, o, stream);
    case 32: return launch<32, W>(p, q, k, v, mask, o, stream);
    case 64: return launch<64, W>(p, q, k, v, mask, o, stream);
    default: return launch<128, W>(p, q, k, v, mask, o, stream);
  }
}

}  // namespace

bool attentionMmaFits(const AttentionDesc& p, DType t) {
  if (t != DType::F16 || p.d != p.dv || (p.d != 16 && p.d != 32 && p.d != 64 && p.d != 128)) return false;
  if (int64_t(p.batch) * p.heads > 65535) return false;
  for (const int64_t* s : {p.q, p.k, p.v})
    if (s[3] != 1 || s[0] % 8 || s[1] % 8 || s[2] % 8) return false;
  return p.o[3] == 1 && p.o[0] % 2 == 0 && p.o[1] % 2 == 0 && p.o[2] % 2 == 0;
}

void attentionMma(int warps, const AttentionDesc& p, const void* q, const void* k, const void* v,
                  const AttentionMask& mask, void* o, cudaStream_t stream) {
  if (!attentionMmaFits(p, DType::F16))
    fail("ERR_INVALID_ARGUMENT", "attention: flash_mma needs float16, d == dv in {16, 32, 64, 128}, contiguous rows "
                                 "and strides in multiples of 8");
  if (!detail::aligned(q, 16) || !detail::aligned(k, 16) || !detail::aligned(v, 16) || !detail::aligned(o, 4))
    fail("ERR_INVALID_ARGUMENT", "attention: flash_mma needs 16-byte aligned Q, K, V and a 4-byte aligned output");
  if (int64_t(p.batch) * p.heads == 0 || p.sq == 0) return;
  const auto* qh = static_cast<const __half*>(q);
  const auto* kh = static_cast<const __half*>(k);
  const auto* vh = static_cast<const __half*>(v);
  auto* oh = static_cast<__half*>(o);
  if (warps == 2) byHead<2>(p, qh, kh, vh, mask, oh, stream);
  else if (warps == 8) byHead<8>(p, qh, kh, vh, mask, oh, stream);
  else byHead<4>(p, qh, kh, vh, mask, oh, stream);
  CUDA_CHECK_LAUNCH();
}

}  // namespace ntrt::kernels
