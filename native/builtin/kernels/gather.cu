// Gather along one axis: y[o][j][i] = x[o][idx[j]][i] for x viewed as [outer, len, inner]: embedding lookups
// (a weights table indexed by token ids) and picking rows of activations (a class token).
// Ids follow ONNX: negative ids count from the end. An id outside [-len, len) reads nothing: its output row is
// zeros, and when `bad` is given the number of such ids is added to it (an int32 counter on the device), so a
// caller can report them without a host round trip. No id ever reads outside the table.
#include "common.cuh"

namespace ntrt::kernels {
namespace {

using namespace detail;
constexpr int kBlock = 256;

template <typename T, typename I>
__global__ void gatherKernel(int64_t outer, int64_t len, int64_t inner, const T* __restrict__ x, int64_t n,
                             const I* __restrict__ idx, T* __restrict__ y, int32_t* bad) {
  const int64_t total = outer * n * inner;
  for (int64_t e = globalThread(); e < total; e += globalThreads()) {
    int64_t i = e % inner;
    int64_t rest = e / inner;
    int64_t j = rest % n;
    int64_t o = rest / n;
    int64_t id = static_cast<int64_t>(idx[j]);
    if (id < 0) id += len;
    if (id < 0 || id >= len) {
      y[e] = castFloat<T>(0.f);
      if (bad && i == 0 && o == 0) atomicAdd(bad, 1);  // once per id
      continue;
    }
    y[e] = x[(o * len + id) * inner + i];
  }
}

// Rows of 16-byte chunks (the row is inner·sizeof(T) bytes, a multiple of 16, at 16-byte aligned bases): a warp per
// output row, one id read per row and the row moved as uint4 (an embedding lookup of hidden size 768 in float16 is
// 96 chunks: three per lane), with no per-element index arithmetic.
template <typename I>
__global__ void gatherRowsKernel(int64_t outer, int64_t len, int64_t chunks, const uint4* __restrict__ x, int64_t n,
                                 const I* __restrict__ idx, uint4* __restrict__ y, int32_t* bad) {
  const int lane = threadIdx.x % 32;
  const int64_t warpsPerBlock = blockDim.x / 32;
  const int64_t rows = outer * n, stride = int64_t(gridDim.x) * warpsPerBlock;
  for (int64_t r = int64_t(blockIdx.x) * warpsPerBlock + threadIdx.x / 32; r < rows; r += stride) {
    const int64_t j = r % n, o = r / n;
    int64_t id = static_cast<int64_t>(idx[j]);
    if (id < 0) id += len;
    uint4* dst = y + r * chunks;
    if (id < 0 || id >= len) {
      for (int64_t c = lane; c < chunks; c += 32) dst[c] = make_uint4(0, 0, 0, 0);
      if (bad && lane == 0 && o == 0) atomicAdd(bad, 1);  // once per id
      continue;
    }
    const uint4* src = x + (o * len + id) * chunks;
    for (int64_t c = lane; c < chunks; c += 32) dst[c] = __ldg(src + c);
  }
}

}  // namespace

void gather(int64_t outer, int64_t len, int64_t inner, DType t, const void* x, int64_t n, DType idxT, const void* idx,
            void* y, int32_t* bad, cudaStream_t stream) {
  if (outer < 0 || len < 0 || inner < 0 || n < 0) fail("ERR_INVALID_ARGUMENT", "gather: negative extent");
  if (idxT != DType::I32 && idxT != DType::I64)
    fail("ERR_INVALID_ARGUMENT", "gather: indices must be int32 or int64, not " + dtypeName(idxT));
  dispatchAll(t, "gather", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t total = outer * n * inner;
    if (total == 0) return;
    const int64_t rowBytes = inner * int64_t(sizeof(T));
    const bool rows16 = rowBytes % 16 == 0 && aligned(x, 16) && aligned(y, 16);
    auto launch = [&](auto itag) {
      using I = typename decltype(itag)::type;
      if (rows16) {
        gatherRowsKernel<I><<<gridFor(outer * n * 32, kBlock), kBlock, 0, stream>>>(
            outer, len, rowBytes / 16, static_cast<const uint4*>(x), n, static_cast<const I*>(idx),
            static_cast<uint4*>(y), bad);
        return;
      }
      gatherKernel<T, I><<<gridFor(total, kBlock), kBlock, 0, stream>>>(
          outer, len, inner, static_cast<const T*>(x), n, static_cast<const I*>(idx), static_cast<T*>(y), bad);
    };
    if (idxT == DType::I32) launch(TypeTag<int32_t>{});
    else launch(TypeTag<int64_t>{});
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace ntrt::kernels
