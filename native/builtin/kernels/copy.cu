// Strided N-D copy with type conversion: transposes (tiled through shared memory), casts, slices, concat pieces.
//
// Conversions: any same-type copy (every DType); float32/float16 to and from every other DType; between int32,
// int64 and bool.
// Anything else fails with ERR_INVALID_ARGUMENT. Float to integer truncates toward zero; to bool is `value != 0`.
//
// Paths, picked at run time after merging dims that are contiguous in both tensors:
//   contiguous, same type     cudaMemcpyAsync
//   contiguous f32 <-> f16    vectorised flat conversion
//   transpose-like            one dim contiguous in x, another in y: 32x32 shared-memory tiles, or, when one of
//                             the two dims is thin (<= 8, e.g. 3 colour channels), a thread per element of the wide dim
//   otherwise                 index decomposition per element; same-type copies move 16/8/4-byte units when the
//                             innermost dim is contiguous in both and everything is aligned to the unit.
#include <type_traits>

#include "common.cuh"

namespace ntrt::kernels {
namespace {

using namespace detail;
constexpr int kBlock = 256;
constexpr int kTile = 32;
constexpr int kThin = 8;

template <int kBytes>
struct Unit;
template <>
struct Unit<1> {
  using type = uint8_t;
};
template <>
struct Unit<2> {
  using type = uint16_t;
};
template <>
struct Unit<4> {
  using type = uint32_t;
};
template <>
struct Unit<8> {
  using type = uint64_t;
};
template <>
struct Unit<16> {
  using type = uint4;
};

template <typename D, typename S>
__device__ __forceinline__ D cvt(S v) {
  if constexpr (std::is_same_v<D, S>) {
    return v;
  } else if constexpr (std::is_same_v<S, __half>) {
    return cvt<D, float>(__half2float(v));
  } else if constexpr (std::is_same_v<D, __half>) {
    return __float2half_rn(static_cast<float>(v));
  } else if constexpr (std::is_same_v<D, bool>) {
    return v != S(0);
  } else {
    return static_cast<D>(v);
  }
}

template <typename D, typename S, int V>
__global__ void convertFlatKernel(int64_t n, const S* x, D* y) {
  using Vs = Vec<S, V>;
  using Vd = Vec<D, V>;
  int64_t nv = n / V;
  for (int64_t i = globalThread(); i < nv; i += globalThreads()) {
    Vs a = reinterpret_cast<const Vs*>(x)[i];
    Vd b;
#pragma unroll
    for (int j = 0; j < V; ++j) b.v[j] = cvt<D, S>(a.v[j]);
    reinterpret_cast<Vd*>(y)[i] = b;
  }
  int64_t t = nv * V + globalThread();
  if (t < n) y[t] = cvt<D, S>(x[t]);
}

// x's strides are s0, y's s1.
template <typename Idx>
using General = StridedPair<Idx>;

// The loop counter stays 64-bit even for Idx = int32: with n just under 2^31, i + grid stride would wrap negative.
template <typename D, typename S, typename Idx>
__global__ void copyGeneralKernel(int64_t n, General<Idx> g, const S* x, D* y) {
  for (int64_t i = globalThread(); i < n; i += globalThreads()) {
    Idx ox, oy;
    g.offsets(i, ox, oy);
    y[oy] = cvt<D, S>(x[ox]);
  }
}

// The dims other than the two transposed ones, flattened into one batch index.
struct Batch {
  int rank;
  int64_t dims[kMaxRank];
  int64_t xs[kMaxRank], ys[kMaxRank];
  int64_t count;
};

__device__ __forceinline__ void batchOffsets(const Batch& b, int64_t idx, int64_t& ox, int64_t& oy) {
  ox = 0, oy = 0;
  for (int d = b.rank - 1; d >= 0; --d) {
    int64_t q = idx / b.dims[d];
    int64_t c = idx - q * b.dims[d];
    idx = q;
    ox += c * b.xs[d];
    oy += c * b.ys[d];
  }
}

// Dim a is contiguous in y, dim b in x. A block moves a 32x32 (a, b) tile: reads coalesced along b, writes along a.
template <typename D, typename S>
__global__ void transposeTiledKernel(Batch batch, int64_t na, int64_t nb, int64_t xsA, int64_t ysB, const S* x, D* y) {
  __shared__ S tile[kTile][kTile + 1];
  int64_t tilesB = (nb + kTile - 1) / kTile;
  int64_t a0 = (blockIdx.x / tilesB) * kTile;
  int64_t b0 = (blockIdx.x % tilesB) * kTile;
  for (int64_t bi = blockIdx.y; bi < batch.count; bi += gridDim.y) {
    int64_t ox, oy;
    batchOffsets(batch, bi, ox, oy);
    int64_t b = b0 + threadIdx.x;
#pragma unroll
    for (int r = threadIdx.y; r < kTile; r += kTile / 4) {
      int64_t a = a0 + r;
      if (a < na && b < nb) tile[r][threadIdx.x] = x[ox + a * xsA + b];
    }
    __syncthreads();
    int64_t a = a0 + threadIdx.x;
#pragma unroll
    for (int r = threadIdx.y; r < kTile; r += kTile / 4) {
      int64_t bb = b0 + r;
      if (a < na && bb < nb) y[oy + bb * ysB + a] = cvt<D, S>(tile[threadIdx.x][r]);
    }
    __syncthreads();
  }
}

// One of the two transposed dims is thin: a thread per element of the wide dim loops over the thin one.
template <typename D, typename S>
__global__ void transposeThinKernel(Batch batch, int64_t nWide, int64_t nThin, int64_t xsW, int64_t ysW, int64_t xsT,
                                    int64_t ysT, const S* x, D* y) {
  int64_t n = batch.count * nWide;
  for (int64_t t = globalThread(); t < n; t += globalThreads()) {
    int64_t bi = t / nWide;
    int64_t w = t - bi * nWide;
    int64_t ox, oy;
    batchOffsets(batch, bi, ox, oy);
    ox += w * xsW;
    oy += w * ysW;
    for (int64_t k = 0; k < nThin; ++k) y[oy + k * ysT] = cvt<D, S>(x[ox + k * xsT]);
  }
}

// Tries the transpose kernels; false when the layout is not transpose-like.
template <typename D, typename S>
bool transposeLaunch(const Layout<2>& l, const S* x, D* y, cudaStream_t stream) {
  int dA = -1, dB = -1;  // dA: stride 1 in y; dB: stride 1 in x
  for (int d = 0; d < l.rank; ++d) {
    if (l.strides[1][d] == 1) dA = d;
    if (l.strides[0][d] == 1) dB = d;
  }
  if (dA < 0 || dB < 0 || dA == dB) return false;
  Batch batch{};
  batch.count = 1;
  for (int d = 0; d < l.rank; ++d) {
    if (d == dA || d == dB) continue;
    batch.dims[batch.rank] = l.dims[d];
    batch.xs[batch.rank] = l.strides[0][d];
    batch.ys[batch.rank] = l.strides[1][d];
    batch.count *= l.dims[d];
    ++batch.rank;
  }
  int64_t na = l.dims[dA], nb = l.dims[dB];
  if (na <= kThin || nb <= kThin) {
    bool thinA = na <= nb;  // thin dim contiguous in y: threads run along b, coalesced reads of x
    int dW = thinA ? dB : dA, dT = thinA ? dA : dB;
    int64_t work = batch.count * l.dims[dW];
    transposeThinKernel<D, S><<<gridFor(work, kBlock), kBlock, 0, stream>>>(
        batch, l.dims[dW], l.dims[dT], l.strides[0][dW], l.strides[1][dW], l.strides[0][dT], l.strides[1][dT], x, y);
    return true;
  }
  int64_t tiles = ((na + kTile - 1) / kTile) * ((nb + kTile - 1) / kTile);
  if (tiles > INT32_MAX) return false;
  dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(std::min<int64_t>(batch.count, 65535)));
  transposeTiledKernel<D, S><<<grid, dim3(kTile, kTile / 4), 0, stream>>>(batch, na, nb, l.strides[0][dA],
                                                                        l.strides[1][dB], x, y);
  return true;
}

template <typename D, typename S>
void generalLaunch(const Layout<2>& l, const S* x, D* y, cudaStream_t stream) {
  int64_t n = l.total();
  auto run = [&](auto idxTag) {
    using Idx = typename decltype(idxTag)::type;
    General<Idx> g{};
    g.rank = l.rank;
    for (int d = 0; d < l.rank; ++d) {
      g.dims[d] = Idx(l.dims[d]);
      g.s0[d] = Idx(l.strides[0][d]);
      g.s1[d] = Idx(l.strides[1][d]);
    }
    copyGeneralKernel<D, S, Idx><<<gridFor(n, kBlock), kBlock, 0, stream>>>(n, g, x, y);
  };
  if (n < INT32_MAX && maxExtent(l, 0) < INT32_MAX && maxExtent(l, 1) < INT32_MAX) {
    run(TypeTag<int32_t>{});
  } else {
    run(TypeTag<int64_t>{});
  }
}

// A converting copy whose innermost dim is contiguous on both sides, V elements at a time: one index computation
// and one vector load and store per V elements instead of per element (ViT's patch gather: 16-pixel runs,
// float32 to float16). `g` counts the innermost dim in runs of V, with strides of V elements.
template <typename D, typename S, typename Idx, int V>
__global__ void copyRunsKernel(int64_t n, General<Idx> g, const S* x, D* y) {
  for (int64_t i = globalThread(); i < n; i += globalThreads()) {
    Idx ox, oy;
    g.offsets(i, ox, oy);
    const Vec<S, V> a = *reinterpret_cast<const Vec<S, V>*>(x + ox);
    Vec<D, V> b;
#pragma unroll
    for (int e = 0; e < V; ++e) b.v[e] = cvt<D, S>(a.v[e]);
    *reinterpret_cast<Vec<D, V>*>(y + oy) = b;
  }
}

template <typename D, typename S, int V>
bool tryRuns(const Layout<2>& l, const S* x, D* y, cudaStream_t stream) {
  const int r = l.rank - 1;
  if (l.rank < 2 || l.strides[0][r] != 1 || l.strides[1][r] != 1 || l.dims[r] % V != 0) return false;
  if (!aligned(x, V * sizeof(S)) || !aligned(y, V * sizeof(D))) return false;
  for (int d = 0; d < r; ++d)
    if (l.strides[0][d] % V != 0 || l.strides[1][d] % V != 0) return false;
  const int64_t n = l.total() / V;
  if (n >= INT32_MAX || maxExtent(l, 0) >= INT32_MAX || maxExtent(l, 1) >= INT32_MAX) return false;
  General<int32_t> g{};
  g.rank = l.rank;
  for (int d = 0; d < l.rank; ++d) {
    g.dims[d] = int32_t(d == r ? l.dims[d] / V : l.dims[d]);
    g.s0[d] = int32_t(d == r ? V : l.strides[0][d]);
    g.s1[d] = int32_t(d == r ? V : l.strides[1][d]);
  }
  copyRunsKernel<D, S, int32_t, V><<<gridFor(n, kBlock), kBlock, 0, stream>>>(n, g, x, y);
  return true;
}

// Same-type copy as moves of U-byte units: the innermost dim (contiguous in both) is regrouped into units.
template <int U>
bool tryUnits(const Layout<2>& l, size_t es, const char* x, char* y, cudaStream_t stream) {
  int r = l.rank - 1;
  if (l.strides[0][r] != 1 || l.strides[1][r] != 1) return false;
  if ((l.dims[r] * int64_t(es)) % U != 0 || !aligned(x, U) || !aligned(y, U)) return false;
  for (int d = 0; d < r; ++d)
    if ((l.strides[0][d] * int64_t(es)) % U != 0 || (l.strides[1][d] * int64_t(es)) % U != 0) return false;
  Layout<2> u = l;
  u.dims[r] = l.dims[r] * int64_t(es) / U;
  for (int d = 0; d < r; ++d) {
    u.strides[0][d] = l.strides[0][d] * int64_t(es) / U;
    u.strides[1][d] = l.strides[1][d] * int64_t(es) / U;
  }
  using T = typename Unit<U>::type;
  generalLaunch<T, T>(u, reinterpret_cast<const T*>(x), reinterpret_cast<T*>(y), stream);
  return true;
}

template <typename T>
void sameTypeLaunch(const Layout<2>& l, const char* x, char* y, cudaStream_t stream) {
  constexpr size_t es = sizeof(T);
  if (l.rank == 1 && l.strides[0][0] == 1 && l.strides[1][0] == 1) {
    CUDA_CHECK(cudaMemcpyAsync(y, x, l.dims[0] * es, cudaMemcpyDeviceToDevice, stream));
    return;
  }
  if (transposeLaunch<T, T>(l, reinterpret_cast<const T*>(x), reinterpret_cast<T*>(y), stream)) return;
  if (es < 16 && tryUnits<16>(l, es, x, y, stream)) return;
  if (es < 8 && tryUnits<8>(l, es, x, y, stream)) return;
  if (es < 4 && tryUnits<4>(l, es, x, y, stream)) return;
  generalLaunch<T, T>(l, reinterpret_cast<const T*>(x), reinterpret_cast<T*>(y), stream);
}

// Same-type copies only move bytes: one instantiation per element size.
void sameTypeBySize(size_t es, const Layout<2>& l, const char* x, char* y, cudaStream_t stream) {
  switch (es) {
    case 1:
      return sameTypeLaunch<uint8_t>(l, x, y, stream);
    case 2:
      return sameTypeLaunch<uint16_t>(l, x, y, stream);
    case 4:
      return sameTypeLaunch<uint32_t>(l, x, y, stream);
    default:
      return sameTypeLaunch<uint64_t>(l, x, y, stream);
  }
}

template <typename D, typename S>
void convertLaunch(const Layout<2>& l, const S* x, D* y, cudaStream_t stream) {
  constexpr bool floats = std::is_same_v<S, float> || std::is_same_v<S, __half>;
  constexpr bool floatd = std::is_same_v<D, float> || std::is_same_v<D, __half>;
  if (l.rank == 1 && l.strides[0][0] == 1 && l.strides[1][0] == 1) {
    int64_t n = l.dims[0];
    if constexpr (floats && floatd) {
      if (aligned(x, 16) && aligned(y, 16)) {
        convertFlatKernel<D, S, 4><<<gridFor(n / 4 + 1, kBlock), kBlock, 0, stream>>>(n, x, y);
        return;
      }
    }
    convertFlatKernel<D, S, 1><<<gridFor(n, kBlock), kBlock, 0, stream>>>(n, x, y);
    return;
  }
  if constexpr (floats && floatd) {
    if (transposeLaunch<D, S>(l, x, y, stream)) return;
    if (tryRuns<D, S, 8>(l, x, y, stream) || tryRuns<D, S, 4>(l, x, y, stream)) return;
  }
  generalLaunch<D, S>(l, x, y, stream);
}

template <typename S>
void convertFrom(DType outT, const Layout<2>& l, const S* x, void* y, cudaStream_t stream, DType inT) {
  constexpr bool floats = std::is_same_v<S, float> || std::is_same_v<S, __half>;
  constexpr bool ints = std::is_same_v<S, int32_t> || std::is_same_v<S, int64_t> || std::is_same_v<S, bool>;
  auto bad = [&] {
    fail("ERR_INVALID_ARGUMENT", "copy cannot convert " + dtypeName(inT) + " to " + dtypeName(outT) +
                                     " (supported: float32/float16 to or from any type, between int32, int64 and bool)");
  };
  dispatchAll(outT, "copy", [&](auto tag) {
    using D = typename decltype(tag)::type;
    constexpr bool floatd = std::is_same_v<D, float> || std::is_same_v<D, __half>;
    constexpr bool intd = std::is_same_v<D, int32_t> || std::is_same_v<D, int64_t> || std::is_same_v<D, bool>;
    if constexpr (!std::is_same_v<D, S> && (floats || floatd || (ints && intd))) {
      convertLaunch<D, S>(l, x, static_cast<D*>(y), stream);
    } else {
      bad();
    }
  });
}

}  // namespace

void copy(const NdShape& shape, DType inT, const void* x, int64_t xOff, const NdStrides& xs, DType outT, void* y,
          int64_t yOff, const NdStrides& ys, cudaStream_t stream) {
  int64_t n = checkShape(shape, "copy");
  dispatchAll(outT, "copy", [](auto) {});  // rejects unknown dtypes before any work
  dispatchAll(inT, "copy", [&](auto tag) {
    using S = typename decltype(tag)::type;
    if (n == 0) return;
    const int64_t* strides[2] = {xs.s, ys.s};
    Layout<2> l = collapse<2>(shape, strides);
    const char* xb = static_cast<const char*>(x) + xOff * int64_t(sizeof(S));
    char* yb = static_cast<char*>(y) + yOff * int64_t(dtypeSize(outT));
    if (inT == outT) {
      sameTypeBySize(sizeof(S), l, xb, yb, stream);
    } else {
      convertFrom<S>(outT, l, reinterpret_cast<const S*>(xb), yb, stream, inT);
    }
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace ntrt::kernels
