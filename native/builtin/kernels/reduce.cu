// Reductions over the middle axis of [outer, len, inner], accumulated in float32.
//   inner == 1  rows: a group of 1..32 lanes per row (shuffle reduction), or a whole block per row when rows are
//               long and few; 16-byte loads when rows are aligned.
//   inner > 1   columns (e.g. global average pooling of NHWC [n, h*w, c]): threads run along inner (coalesced),
//               a block's threads split len between them and combine through shared memory.
#include "common.cuh"

namespace ntrt::kernels {
namespace {

using namespace detail;

enum Op { kSum = 0, kMax = 1, kMin = 2 };

template <int kOp>
__device__ __forceinline__ float identity() {
  return kOp == kSum ? 0.f : (kOp == kMax ? -INFINITY : INFINITY);
}
template <int kOp>
__device__ __forceinline__ float combine(float a, float b) {
  return kOp == kSum ? a + b : (kOp == kMax ? fmaxf(a, b) : fminf(a, b));
}

// `group` lanes (a power of two ≤ 32) per row; every lane of a warp takes part in the shuffles.
template <typename Ti, typename To, int kOp, int V>
__global__ void reduceRowsKernel(int64_t rows, int64_t len, int group, float scale, const Ti* __restrict__ x,
                                 To* __restrict__ y) {
  using Vt = Vec<Ti, V>;
  const int lane = threadIdx.x % group;
  const int rowsPerWarp = 32 / group;
  const int64_t warp = globalThread() / 32;
  const int64_t warps = globalThreads() / 32;
  const int64_t lv = len / V;
  for (int64_t base = warp * rowsPerWarp; base < rows; base += warps * rowsPerWarp) {
    int64_t r = base + (threadIdx.x % 32) / group;
    float acc = identity<kOp>();
    if (r < rows) {
      const Ti* row = x + r * len;
      for (int64_t i = lane; i < lv; i += group) {
        Vt v = reinterpret_cast<const Vt*>(row)[i];
#pragma unroll
        for (int j = 0; j < V; ++j) acc = combine<kOp>(acc, toFloat(v.v[j]));
      }
      for (int64_t i = lv * V + lane; i < len; i += group) acc = combine<kOp>(acc, toFloat(row[i]));
    }
    for (int off = group / 2; off > 0; off >>= 1)
      acc = combine<kOp>(acc, __shfl_xor_sync(0xffffffffu, acc, off, group));
    if (r < rows && lane == 0) y[r] = fromFloat<To>(kOp == kSum ? acc * scale : acc);
  }
}

// A block per row, for long rows.
template <typename Ti, typename To, int kOp, int V>
__global__ void __launch_bounds__(512)
    reduceRowsBlockKernel(int64_t rows, int64_t len, float scale, const Ti* __restrict__ x, To* __restrict__ y) {
  using Vt = Vec<Ti, V>;
  __shared__ float partial[32];
  const int64_t lv = len / V;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const Ti* row = x + r * len;
    float acc = identity<kOp>();
    for (int64_t i = threadIdx.x; i < lv; i += blockDim.x) {
      Vt v = reinterpret_cast<const Vt*>(row)[i];
#pragma unroll
      for (int j = 0; j < V; ++j) acc = combine<kOp>(acc, toFloat(v.v[j]));
    }
    for (int64_t i = lv * V + threadIdx.x; i < len; i += blockDim.x) acc = combine<kOp>(acc, toFloat(row[i]));
    for (int off = 16; off > 0; off >>= 1) acc = combine<kOp>(acc, __shfl_xor_sync(0xffffffffu, acc, off));
    if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = acc;
    __syncthreads();
    if (threadIdx.x < 32) {
      int nw = blockDim.x / 32;
      acc = threadIdx.x < nw ? partial[threadIdx.x] : identity<kOp>();
      for (int off = 16; off > 0; off >>= 1) acc = combine<kOp>(acc, __shfl_xor_sync(0xffffffffu, acc, off));
      if (threadIdx.x == 0) y[r] = fromFloat<To>(kOp == kSum ? acc * scale : acc);
    }
    __syncthreads();
  }
}

// blockDim = (bx, by), both powers of two: x runs along inner in V-element groups, y splits len.
template <typename Ti, typename To, int kOp, int V>
__global__ void reduceColsKernel(int64_t outer, int64_t len, int64_t inner, float scale, const Ti* __restrict__ x,
                                 To* __restrict__ y) {
  using Vt = Vec<Ti, V>;
  extern __shared__ float sm[];  // [by][bx * V]
  const int64_t innerV = inner / V;
  const int64_t cv = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  const int width = blockDim.x * V;
  float* mine = sm + threadIdx.y * width + threadIdx.x * V;
  for (int64_t o = blockIdx.y; o < outer; o += gridDim.y) {
    float acc[V];
#pragma unroll
    for (int j = 0; j < V; ++j) acc[j] = identity<kOp>();
    if (cv < innerV) {
      const Ti* p = x + o * len * inner + cv * V;
#pragma unroll 4
      for (int64_t l = threadIdx.y; l < len; l += blockDim.y) {
        Vt v = *reinterpret_cast<const Vt*>(p + l * inner);
#pragma unroll
        for (int j = 0; j < V; ++j) acc[j] = combine<kOp>(acc[j], toFloat(v.v[j]));
      }
    }
#pragma unroll
    for (int j = 0; j < V; ++j) mine[j] = acc[j];
    __syncthreads();
    for (int s = blockDim.y / 2; s > 0; s >>= 1) {
      if (threadIdx.y < s) {
#pragma unroll
        for (int j = 0; j < V; ++j) mine[j] = combine<kOp>(mine[j], mine[s * width + j]);
      }
      __syncthreads();
    }
    if (threadIdx.y == 0 && cv < innerV) {
#pragma unroll
      for (int j = 0; j < V; ++j) y[o * inner + cv * V + j] = fromFloat<To>(kOp == kSum ? mine[j] * scale : mine[j]);
    }
    __syncthreads();
  }
}

inline int pow2Ceil(int64_t v) {
  int p = 1;
  while (p < v && p < 1024) p <<= 1;
  return p;
}

template <typename Ti, typename To, int kOp, int V>
void rowsLaunch(int64_t rows, int64_t len, float scale, const Ti* x, To* y, cudaStream_t stream) {
  if (len > 1024 && (rows < int64_t(smCount()) * 8 || len > 8192)) {
    unsigned grid = static_cast<unsigned>(std::min<int64_t>(rows, int64_t(smCount()) * 8));
    reduceRowsBlockKernel<Ti, To, kOp, V><<<grid, 512, 0, stream>>>(rows, len, scale, x, y);
    return;
  }
  int group = std::min(32, pow2Ceil((len + V - 1) / V));
  int64_t threads = (rows + 32 / group - 1) / (32 / group) * 32;
  reduceRowsKernel<Ti, To, kOp, V><<<gridFor(threads, 256), 256, 0, stream>>>(rows, len, group, scale, x, y);
}

template <typename Ti, typename To, int kOp, int V>
void colsLaunch(int64_t outer, int64_t len, int64_t inner, float scale, const Ti* x, To* y, cudaStream_t stream) {
  int64_t innerV = inner / V;
  int bx = std::min(32, pow2Ceil(innerV));
  // Few blocks (one image's pooling over many pixels): narrower blocks, so more of them share the columns, down to
  // one 32-byte sector of a row per block row.
  const int64_t want = 2 * int64_t(smCount());
  while (bx > 1 && size_t(bx) * V * sizeof(Ti) > 32 && (innerV + bx - 1) / bx * std::min<int64_t>(outer, 65535) < want) bx /= 2;
  int by = 256 / bx;
  while (by > 1 && by / 2 >= len) by /= 2;  // no idle rows of threads for short len
  dim3 block(bx, by);
  dim3 grid(static_cast<unsigned>((innerV + bx - 1) / bx), static_cast<unsigned>(std::min<int64_t>(outer, 65535)));
  size_t smem = size_t(bx) * by * V * sizeof(float);
  reduceColsKernel<Ti, To, kOp, V><<<grid, block, smem, stream>>>(outer, len, inner, scale, x, y);
}

template <typename Ti, typename To, int kOp>
void reduceTyped(int64_t outer, int64_t len, int64_t inner, float scale, const Ti* x, To* y, cudaStream_t stream) {
  constexpr int V = kVec16<Ti>;
  if (inner == 1) {
    if (len % V == 0 && aligned(x, 16)) {
      rowsLaunch<Ti, To, kOp, V>(outer, len, scale, x, y, stream);
    } else {
      rowsLaunch<Ti, To, kOp, 1>(outer, len, scale, x, y, stream);
    }
    return;
  }
  // 16-byte vectors wherever they fit; colsLaunch narrows the blocks when there are too few of them.
  bool wide = inner % V == 0 && aligned(x, 16);
  if (wide) {
    colsLaunch<Ti, To, kOp, V>(outer, len, inner, scale, x, y, stream);
  } else if (inner % 2 == 0 && aligned(x, 2 * sizeof(Ti))) {
    colsLaunch<Ti, To, kOp, 2>(outer, len, inner, scale, x, y, stream);
  } else {
    colsLaunch<Ti, To, kOp, 1>(outer, len, inner, scale, x, y, stream);
  }
}

}  // namespace

void reduce(Reduce op, int64_t outer, int64_t len, int64_t inner, DType inT, const void* x, DType outT, void* y,
            cudaStream_t stream) {
  if (outer < 0 || len < 0 || inner < 0) fail("ERR_INVALID_ARGUMENT", "reduce: negative extent");
  int o = static_cast<int>(op);
  if (o < 0 || o > static_cast<int>(Reduce::Min))
    fail("ERR_INVALID_ARGUMENT", "reduce: unknown op " + std::to_string(o));
  dispatchFloat(inT, "reduce", [&](auto ti) {
    dispatchFloat(outT, "reduce", [&](auto to) {
      using Ti = typename decltype(ti)::type;
      using To = typename decltype(to)::type;
      if (outer * inner == 0) return;
      if (len == 0) fail("ERR_INVALID_ARGUMENT", "reduce: empty reduction axis");
      const Ti* xs = static_cast<const Ti*>(x);
      To* ys = static_cast<To*>(y);
      float scale = op == Reduce::Mean ? 1.f / float(len) : 1.f;
      switch (op) {
        case Reduce::Mean:
        case Reduce::Sum:
          reduceTyped<Ti, To, kSum>(outer, len, inner, scale, xs, ys, stream);
          break;
        case Reduce::Max:
          reduceTyped<Ti, To, kMax>(outer, len, inner, scale, xs, ys, stream);
          break;
        default:
          reduceTyped<Ti, To, kMin>(outer, len, inner, scale, xs, ys, stream);
      }
      CUDA_CHECK_LAUNCH();
    });
  });
}

}  // namespace ntrt::kernels
