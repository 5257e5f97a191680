// The EfficientNMS-style stage, in three fixed-size launches (so CUDA graphs replay it): clear the per-image
// counters; gather candidates above the score threshold as unique 64-bit keys (ordered score bits, then the inverted
// pair index, so a larger key is a better candidate and ties go to the lower index); then one block per image keeps
// the best kNmsMaxCandidates (radix select when there are more), sorts them (bitonic, shared memory) and runs the
// greedy pass against the kept boxes. Float arithmetic uses _rn intrinsics in lib/reference/efficient-nms.ts order.
// Hostile values: a NaN score is never a candidate (it is above no threshold), a class-agnostic box takes its best
// non-NaN class, −0 scores as +0, and a box with a NaN coordinate has a NaN area, so it neither suppresses nor is
// suppressed (every comparison with NaN is false); the greedy pass only ever reads candidates' boxes.
#include <mutex>
#include <set>

#include "common.cuh"

namespace ntrt::kernels {
namespace {

using namespace detail;
constexpr int kSelectThreads = 1024;

__device__ __forceinline__ uint32_t orderedBits(float f) {
  uint32_t u = __float_as_uint(f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
__device__ __forceinline__ float fromOrdered(uint32_t o) {
  return __uint_as_float((o & 0x80000000u) ? (o & 0x7fffffffu) : ~o);
}

//! Best class of a box (first on ties; NaN scores skipped) and its score (NaN when every score is).
__device__ __forceinline__ int bestClass(const float* s, int c, float& best) {
  int cls = 0;
  best = s[0];
  for (int j = 1; j < c; ++j)
    if (s[j] > best || (best != best && s[j] == s[j])) best = s[j], cls = j;
  return cls;
}

__device__ void decode(const NmsParams& p, const float* boxes, const float* anchors, int b, int box, float out[4]) {
  const float* v = boxes + (int64_t(b) * p.n + box) * 4;
  float a = v[0], bb = v[1], c = v[2], d = v[3];
  if (anchors) {
    const float* an = anchors + int64_t(box) * 4;
    if (!p.cxcywh) {
      a = __fadd_rn(a, an[0]), bb = __fadd_rn(bb, an[1]), c = __fadd_rn(c, an[2]), d = __fadd_rn(d, an[3]);
    } else {
      float cx = __fadd_rn(an[0], __fmul_rn(a, an[2])), cy = __fadd_rn(an[1], __fmul_rn(bb, an[3]));
      float w = __fmul_rn(an[2], expf(c)), h = __fmul_rn(an[3], expf(d));
      a = cx, bb = cy, c = w, d = h;
    }
  }
  if (!p.cxcywh) {
    out[0] = a, out[1] = bb, out[2] = c, out[3] = d;
    return;
  }
  float hw = __fmul_rn(c, 0.5f), hh = __fmul_rn(d, 0.5f);
  out[0] = __fsub_rn(a, hw), out[1] = __fsub_rn(bb, hh), out[2] = __fadd_rn(a, hw), out[3] = __fadd_rn(bb, hh);
}

__device__ __forceinline__ bool suppresses(const float* a, const float* b, float thr) {
  float iw = __fsub_rn(fminf(a[2], b[2]), fmaxf(a[0], b[0]));
  float ih = __fsub_rn(fminf(a[3], b[3]), fmaxf(a[1], b[1]));
  float inter = __fmul_rn(fmaxf(iw, 0.f), fmaxf(ih, 0.f));
  float areaA = __fmul_rn(__fsub_rn(a[2], a[0]), __fsub_rn(a[3], a[1]));
  float areaB = __fmul_rn(__fsub_rn(b[2], b[0]), __fsub_rn(b[3], b[1]));
  float uni = __fsub_rn(__fadd_rn(areaA, areaB), inter);
  return uni > 0.f && __fdiv_rn(inter, uni) > thr;
}

__global__ void clearCounts(int batch, int64_t stride, int64_t* scratch) {
  int b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b < batch) scratch[b * stride] = 0;
}

__global__ void gatherCandidates(NmsParams p, const float* __restrict__ scores, int64_t* __restrict__ scratch) {
  const int b = blockIdx.y;
  const int64_t pairs = p.agnostic ? p.n : int64_t(p.n) * p.c;
  const int64_t stride = 1 + pairs;
  unsigned long long* counter = reinterpret_cast<unsigned long long*>(scratch + b * stride);
  uint64_t* keys = reinterpret_cast<uint64_t*>(scratch + b * stride + 1);
  const float* s = scores + int64_t(b) * p.n * p.c;
  for (int64_t pair = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; pair < pairs; pair += int64_t(gridDim.x) * blockDim.x) {
    float score;
    if (p.agnostic) bestClass(s + pair * p.c, p.c, score);
    else score = s[pair];
    if (!(score > p.scoreThreshold)) continue;  // NaN scores too
    if (score == 0.f) score = 0.f;                // −0 ties with +0 by index, as the reference's sort has it
    unsigned long long at = atomicAdd(counter, 1ull);
    keys[at] = (uint64_t(orderedBits(score)) << 32) | uint64_t(0xffffffffu - uint32_t(pair));
  }
}

__global__ void __launch_bounds__(kSelectThreads) selectAndSuppress(NmsParams p, const float* __restrict__ boxes,
    const float* __restrict__ scores, const float* __restrict__ anchors, int32_t* count, float* outBoxes,
    float* outScores, int32_t* outClasses, const int64_t* __restrict__ scratch) {
  extern __shared__ uint64_t smem[];
  uint64_t* sk = smem;                                                 // [kNmsMaxCandidates]
  float* keptBox = reinterpret_cast<float*>(sk + kNmsMaxCandidates);   // [k][4]
  int* keptCls = reinterpret_cast<int*>(keptBox + 4 * p.k);            // [k]
  float* keptScore = reinterpret_cast<float*>(keptCls + p.k);          // [k]
  __shared__ unsigned hist[256];
  __shared__ uint64_t prefix, mask;
  __shared__ int remaining, taken, kept;
  __shared__ float cand[4];
  __shared__ int candCls;
  __shared__ float candScore;
  const int b = blockIdx.x, tid = threadIdx.x, nt = blockDim.x;
  const int64_t pairs = p.agnostic ? p.n : int64_t(p.n) * p.c;
  const int64_t stride = 1 + pairs;
  const int64_t total = scratch[b * stride];
  const uint64_t* keys = reinterpret_cast<const uint64_t*>(scratch + b * stride + 1);
  const int m = int(total < kNmsMaxCandidates ? total : kNmsMaxCandidates);
  if (total > kNmsMaxCandidates) {
    // Radix select of the m-th largest key (keys are unique), 8 bits at a time from the top.
    if (tid == 0) prefix = 0, mask = 0, remaining = m;
    for (int shift = 56; shift >= 0; shift -= 8) {
      for (int i = tid; i < 256; i += nt) hist[i] = 0;
      __syncthreads();
      for (int64_t i = tid; i < total; i += nt)
        if ((keys[i] & mask) == prefix) atomicAdd(&hist[(keys[i] >> shift) & 255], 1u);
      __syncthreads();
      if (tid == 0) {
        int cum = 0;
        for (int d = 255; d >= 0; --d) {
          if (cum + int(hist[d]) >= remaining) {
            prefix |= uint64_t(d) << shift;
            remaining -= cum;
            break;
          }
          cum += hist[d];
        }
        mask |= uint64_t(255) << shift;
      }
      __syncthreads();
    }
    if (tid == 0) taken = 0;
    __syncthreads();
    for (int64_t i = tid; i < total; i += nt)
      if (keys[i] >= prefix) sk[atomicAdd(&taken, 1)] = keys[i];
  } else {
    for (int i = tid; i < m; i += nt) sk[i] = keys[i];
  }
  int size = 1;
  while (size < m) size <<= 1;
  for (int i = m + tid; i < size; i += nt) sk[i] = 0;
  __syncthreads();
  for (int k2 = 2; k2 <= size; k2 <<= 1)
    for (int j = k2 >> 1; j > 0; j >>= 1) {
      for (int i = tid; i < size; i += nt) {
        int ixj = i ^ j;
        if (ixj > i) {
          uint64_t a = sk[i], c = sk[ixj];
          bool desc = (i & k2) == 0;
          if (desc ? a < c : a > c) sk[i] = c, sk[ixj] = a;
        }
      }
      __syncthreads();
    }
  if (tid == 0) kept = 0;
  __syncthreads();
  for (int i = 0; i < m && kept < p.k; ++i) {
    if (tid == 0) {
      uint32_t pair = 0xffffffffu - uint32_t(sk[i]);
      int box = p.agnostic ? int(pair) : int(pair / p.c);
      float best;
      candCls = p.agnostic ? bestClass(scores + (int64_t(b) * p.n + box) * p.c, p.c, best) : int(pair % p.c);
      candScore = fromOrdered(uint32_t(sk[i] >> 32));
      decode(p, boxes, anchors, b, box, cand);
    }
    __syncthreads();
    int s = 0;
    for (int j = tid; j < kept; j += nt)
      if ((p.agnostic || keptCls[j] == candCls) && suppresses(cand, keptBox + 4 * j, p.iouThreshold)) s = 1;
    s = __syncthreads_or(s);
    if (!s && tid == 0) {
      for (int q = 0; q < 4; ++q) keptBox[4 * kept + q] = cand[q];
      keptCls[kept] = candCls;
      keptScore[kept] = candScore;
      ++kept;
    }
    __syncthreads();
  }
  for (int j = tid; j < p.k; j += nt) {
    bool on = j < kept;
    for (int q = 0; q < 4; ++q) outBoxes[(int64_t(b) * p.k + j) * 4 + q] = on ? keptBox[4 * j + q] : 0.f;
    outScores[int64_t(b) * p.k + j] = on ? keptScore[j] : 0.f;
    outClasses[int64_t(b) * p.k + j] = on ? keptCls[j] : -1;
  }
  if (tid == 0) count[b] = kept;
}

}  // namespace

void nmsPrepare() {
  // Once per device, for the largest k: launches inside a CUDA graph capture then make no attribute calls.
  int most = int(kNmsMaxCandidates * sizeof(uint64_t) + kNmsMaxOutput * (4 * sizeof(float) + sizeof(int) + sizeof(float)));
  int id = 0;
  CUDA_CHECK(cudaGetDevice(&id));
  static std::mutex mu;
  static std::set<int> done;
  std::lock_guard<std::mutex> lock(mu);
  if (done.count(id)) return;
  CUDA_CHECK(cudaFuncSetAttribute(selectAndSuppress, cudaFuncAttributeMaxDynamicSharedMemorySize, most));
  done.insert(id);
}

int64_t nmsScratchPerImage(const NmsParams& p) { return 1 + (p.agnostic ? int64_t(p.n) : int64_t(p.n) * p.c); }

void efficientNms(const NmsParams& p, const float* boxes, const float* scores, const float* anchors, int32_t* count,
                  float* outBoxes, float* outScores, int32_t* outClasses, int64_t* scratch, cudaStream_t stream) {
  if (p.batch < 0 || p.n < 0 || p.c < 1 || p.k < 1 || p.k > kNmsMaxOutput || int64_t(p.n) * p.c >= (int64_t(1) << 32))
    fail("ERR_INVALID_ARGUMENT", "efficientNms: invalid batch, box count, class count or maximum output");
  if (p.batch == 0) return;
  const int64_t stride = nmsScratchPerImage(p);
  clearCounts<<<(p.batch + 255) / 256, 256, 0, stream>>>(p.batch, stride, scratch);
  CUDA_CHECK_LAUNCH();
  const int64_t pairs = stride - 1;
  if (pairs > 0) {
    unsigned blocks = unsigned(std::min<int64_t>((pairs + 255) / 256, std::max(1, 4 * smCount() / std::max(1, p.batch))));
    gatherCandidates<<<dim3(std::max(1u, blocks), p.batch), 256, 0, stream>>>(p, scores, scratch);
    CUDA_CHECK_LAUNCH();
  }
  size_t smem = kNmsMaxCandidates * sizeof(uint64_t) + size_t(p.k) * (4 * sizeof(float) + sizeof(int) + sizeof(float));
  nmsPrepare();
  selectAndSuppress<<<p.batch, kSelectThreads, smem, stream>>>(p, boxes, scores, anchors, count, outBoxes, outScores,
                                                                 outClasses, scratch);
  CUDA_CHECK_LAUNCH();
}

}  // namespace ntrt::kernels
