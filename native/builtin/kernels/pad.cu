// N-D pad of a contiguous tensor: constant, reflect (mirror without repeating the edge) or edge; wrap (mode 3) as
// ONNX opset 19 adds it. Negative leading pads crop. Trailing dims that are not padded move as one block per
// thread group, 16 bytes at a time when aligned (NHWC spatial pads copy whole channel rows).
#include <type_traits>

#include "common.cuh"

namespace ntrt::kernels {
namespace {

using namespace detail;
constexpr int kBlock = 256;

struct PadDims {
  int rank;  // padded (outer) dims only
  int64_t outDims[kMaxRank], inDims[kMaxRank], inStrides[kMaxRank], before[kMaxRank];
};

// Input coordinate for output coordinate o along a dim of size n, or -1 for the constant.
__device__ __forceinline__ int64_t source(int mode, int64_t o, int64_t before, int64_t n) {
  int64_t i = o - before;
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case 1: {  // reflect
      if (n == 1) return 0;
      int64_t period = 2 * (n - 1);
      i %= period;
      if (i < 0) i += period;
      return i < n ? i : period - i;
    }
    case 2:  // edge
      return i < 0 ? 0 : n - 1;
    case 3:  // wrap
      i %= n;
      return i < 0 ? i + n : i;
    default:
      return -1;
  }
}

template <typename T, int V>
__global__ void padKernel(int mode, PadDims pd, int64_t inner, int64_t total, const T* __restrict__ x,
                          T* __restrict__ y, T value) {
  using Vt = Vec<T, V>;
  const int64_t innerV = inner / V;
  Vt fillv;
#pragma unroll
  for (int j = 0; j < V; ++j) fillv.v[j] = value;
  for (int64_t t = globalThread(); t < total; t += globalThreads()) {
    int64_t outer = t / innerV;
    int64_t v = t - outer * innerV;
    int64_t rem = outer, src = 0;
    bool inside = true;
    for (int d = pd.rank - 1; d >= 0; --d) {
      int64_t q = rem / pd.outDims[d];
      int64_t o = rem - q * pd.outDims[d];
      rem = q;
      int64_t i = source(mode, o, pd.before[d], pd.inDims[d]);
      inside = inside && i >= 0;
      src += i * pd.inStrides[d];
    }
    reinterpret_cast<Vt*>(y)[t] = inside ? reinterpret_cast<const Vt*>(x + src * inner)[v] : fillv;
  }
}

}  // namespace

void pad(int mode, const NdShape& in, const NdShape& out, const int64_t* before, float value, DType t, const void* x,
         void* y, cudaStream_t stream) {
  int64_t nIn = checkShape(in, "pad");
  int64_t nOut = checkShape(out, "pad");
  if (in.rank != out.rank) fail("ERR_INVALID_ARGUMENT", "pad: input and output ranks differ");
  if (mode < 0 || mode > 3) fail("ERR_INVALID_ARGUMENT", "pad: unknown mode " + std::to_string(mode));
  for (int d = 0; d < in.rank; ++d) {
    if (mode != 0 && in.dims[d] == 0 && out.dims[d] > 0)
      fail("ERR_INVALID_ARGUMENT", "pad: reflect, edge and wrap modes need a non-empty input");
  }
  dispatchAll(t, "pad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (nOut == 0) return;
    // Trailing dims without padding form one contiguous block in both tensors.
    int last = in.rank;
    int64_t inner = 1;
    while (last > 0 && before[last - 1] == 0 && in.dims[last - 1] == out.dims[last - 1]) {
      --last;
      inner *= in.dims[last];
    }
    PadDims pd{};
    pd.rank = last;
    int64_t stride = 1;
    for (int d = last - 1; d >= 0; --d) {
      pd.outDims[d] = out.dims[d];
      pd.inDims[d] = in.dims[d];
      pd.before[d] = before[d];
      pd.inStrides[d] = stride;
      stride *= in.dims[d];
    }
    T v = castFloat<T>(value);
    const T* xs = static_cast<const T*>(x);
    T* ys = static_cast<T*>(y);
    auto launch = [&](auto vtag) {
      constexpr int V = decltype(vtag)::value;
      int64_t total = nOut / V;
      padKernel<T, V><<<gridFor(total, kBlock), kBlock, 0, stream>>>(mode, pd, inner, total, xs, ys, v);
    };
    constexpr int V16 = kVec16<T>;
    if (inner % V16 == 0 && aligned(x, 16) && aligned(y, 16)) {
      launch(std::integral_constant<int, V16>{});
    } else if (inner % 2 == 0 && aligned(x, 2 * sizeof(T)) && aligned(y, 2 * sizeof(T))) {
      launch(std::integral_constant<int, 2>{});
    } else {
      launch(std::integral_constant<int, 1>{});
    }
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace ntrt::kernels
