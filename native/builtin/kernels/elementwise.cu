// Element-wise kernels: unary activations, fills and broadcasting binary ops (up to 6-D), vectorised where aligned.
#include <atomic>
#include <type_traits>

#include "common.cuh"

namespace ntrt::kernels {
namespace detail {

int smCount() {
  static std::atomic<int> cache[64];
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  if (dev < 0 || dev >= 64) dev = 0;
  int v = cache[dev].load(std::memory_order_relaxed);
  if (v == 0) {
    CUDA_CHECK(cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, dev));
    cache[dev].store(v, std::memory_order_relaxed);
  }
  return v;
}

}  // namespace detail

namespace {

using namespace detail;
constexpr int kBlock = 256;

__device__ __forceinline__ float applyBinary(Binary op, float a, float b) {
  switch (op) {
    case Binary::Add:
      return a + b;
    case Binary::Sub:
      return a - b;
    case Binary::Mul:
      return a * b;
    case Binary::Div:
      return a / b;
    case Binary::Max:
      return fmaxf(a, b);
    case Binary::Min:
      return fminf(a, b);
    default:
      return powf(a, b);
  }
}

// y = act(x): V-element vectors over the bulk, then the < V tail by the first threads. x may equal y.
template <typename T, int V>
__global__ void unaryKernel(Act act, float alpha, float beta, int64_t n, const T* x, T* y) {
  using Vt = Vec<T, V>;
  int64_t nv = n / V;
  for (int64_t i = globalThread(); i < nv; i += globalThreads()) {
    Vt v = reinterpret_cast<const Vt*>(x)[i];
#pragma unroll
    for (int j = 0; j < V; ++j) v.v[j] = fromFloat<T>(applyAct(act, toFloat(v.v[j]), alpha, beta));
    reinterpret_cast<Vt*>(y)[i] = v;
  }
  int64_t t = nv * V + globalThread();
  if (t < n) y[t] = fromFloat<T>(applyAct(act, toFloat(x[t]), alpha, beta));
}

template <typename T, int V>
__global__ void fillKernel(int64_t n, T* y, T value) {
  using Vt = Vec<T, V>;
  Vt v;
#pragma unroll
  for (int j = 0; j < V; ++j) v.v[j] = value;
  int64_t nv = n / V;
  for (int64_t i = globalThread(); i < nv; i += globalThreads()) reinterpret_cast<Vt*>(y)[i] = v;
  int64_t t = nv * V + globalThread();
  if (t < n) y[t] = value;
}

// Same-shape contiguous a, b, y.
template <typename T, int V>
__global__ void binaryFlatKernel(Binary op, int64_t n, const T* a, const T* b, T* y, Act act, float alpha, float beta) {
  using Vt = Vec<T, V>;
  int64_t nv = n / V;
  for (int64_t i = globalThread(); i < nv; i += globalThreads()) {
    Vt va = reinterpret_cast<const Vt*>(a)[i];
    Vt vb = reinterpret_cast<const Vt*>(b)[i];
#pragma unroll
    for (int j = 0; j < V; ++j)
      va.v[j] = fromFloat<T>(applyAct(act, applyBinary(op, toFloat(va.v[j]), toFloat(vb.v[j])), alpha, beta));
    reinterpret_cast<Vt*>(y)[i] = va;
  }
  int64_t t = nv * V + globalThread();
  if (t < n) y[t] = fromFloat<T>(applyAct(act, applyBinary(op, toFloat(a[t]), toFloat(b[t])), alpha, beta));
}

// Contiguous x against a small broadcast operand v. Element e of y reads
//   scalar:  v[e / period]                    (one v value per `period` elements)
//   channel: v[(e / period) * c + e % c]      (a per-channel vector, repeated per batch of `period` elements)
// `vFirst` puts v on the left of the op (for Sub/Div/Pow with a broadcast left operand).
// Vectorised when each V-group of elements shares its batch and, for channel, c % V == 0. Idx is int32 where n
// fits, so the divisions by period and c are 32-bit ones.
template <typename T, int V, bool kScalar, typename Idx>
__global__ void binaryBroadcastKernel(Binary op, int64_t n, const T* x, const T* v, Idx c, Idx period,
                                      bool vFirst, T* y, Act act, float alpha, float beta) {
  using Vt = Vec<T, V>;
  int64_t nv = n / V;
  for (int64_t i = globalThread(); i < nv; i += globalThreads()) {
    Idx e = Idx(i) * V;
    Idx batch = e / period;
    Vt vx = reinterpret_cast<const Vt*>(x)[i];
    float bv[V];
    if constexpr (kScalar) {
      float s = toFloat(v[batch]);
#pragma unroll
      for (int j = 0; j < V; ++j) bv[j] = s;
    } else {
      Vt vb = *reinterpret_cast<const Vt*>(v + batch * c + e % c);
#pragma unroll
      for (int j = 0; j < V; ++j) bv[j] = toFloat(vb.v[j]);
    }
#pragma unroll
    for (int j = 0; j < V; ++j) {
      float xv = toFloat(vx.v[j]);
      float r = vFirst ? applyBinary(op, bv[j], xv) : applyBinary(op, xv, bv[j]);
      vx.v[j] = fromFloat<T>(applyAct(act, r, alpha, beta));
    }
    reinterpret_cast<Vt*>(y)[i] = vx;
  }
  int64_t t = nv * V + globalThread();
  if (t < n) {
    int64_t batch = t / period;
    float bv = toFloat(kScalar ? v[batch] : v[batch * c + t % c]);
    float xv = toFloat(x[t]);
    float r = vFirst ? applyBinary(op, bv, xv) : applyBinary(op, xv, bv);
    y[t] = fromFloat<T>(applyAct(act, r, alpha, beta));
  }
}

// Any broadcast pattern: decompose the output index (y is contiguous) into per-dim coordinates.
// The loop counter stays 64-bit even for Idx = int32: with n just under 2^31, i + grid stride would wrap negative.
template <typename T, typename Idx>
__global__ void binaryGeneralKernel(Binary op, int64_t n, StridedPair<Idx> g, const T* a, const T* b, T* y, Act act,
                                    float alpha, float beta) {
  for (int64_t i = globalThread(); i < n; i += globalThreads()) {
    Idx oa, ob;
    g.offsets(i, oa, ob);
    y[i] = fromFloat<T>(applyAct(act, applyBinary(op, toFloat(a[oa]), toFloat(b[ob])), alpha, beta));
  }
}

template <typename T>
void binaryLaunch(Binary op, const Layout<2>& l, const T* a, const T* b, T* y, Act act, float alpha, float beta,
                  cudaStream_t stream) {
  constexpr int V = kVec16<T>;
  const int64_t n = l.total();
  const int r = l.rank;
  const int64_t* sa = l.strides[0];
  const int64_t* sb = l.strides[1];
  bool aligned16 = aligned(a, 16) && aligned(b, 16) && aligned(y, 16);

  // Same shape, both contiguous.
  if (r == 1 && sa[0] == 1 && sb[0] == 1) {
    if (aligned16) {
      binaryFlatKernel<T, V><<<gridFor(n / V + 1, kBlock), kBlock, 0, stream>>>(op, n, a, b, y, act, alpha, beta);
    } else {
      binaryFlatKernel<T, 1><<<gridFor(n, kBlock), kBlock, 0, stream>>>(op, n, a, b, y, act, alpha, beta);
    }
    return;
  }

  // One operand contiguous (x), the other (v) a scalar or channel vector broadcast over it.
  for (int side = 0; side < 2; ++side) {
    const int64_t* sx = side == 0 ? sa : sb;
    const int64_t* sv = side == 0 ? sb : sa;
    const T* x = side == 0 ? a : b;
    const T* v = side == 0 ? b : a;
    bool vFirst = side == 1;
    bool xContig = sx[r - 1] == 1;
    for (int d = r - 2; d >= 0; --d) xContig = xContig && sx[d] == sx[d + 1] * l.dims[d + 1];
    if (!xContig) continue;
    bool scalar = false, channel = false;
    int64_t c = 1, period = n;
    if (r == 1 && sv[0] == 0) {
      scalar = true;
    } else if (r == 2 && sv[0] == 1 && sv[1] == 0) {
      scalar = true, period = l.dims[1];
    } else if (r == 2 && sv[0] == 0 && sv[1] == 1) {
      channel = true, c = l.dims[1];
    } else if (r == 3 && sv[0] == l.dims[2] && sv[1] == 0 && sv[2] == 1) {
      channel = true, c = l.dims[2], period = l.dims[1] * l.dims[2];
    }
    if (scalar || channel) {
      bool vec = scalar ? aligned(x, 16) && aligned(y, 16) && period % V == 0 : aligned16 && c % V == 0;
      auto launch = [&](auto scalarTag, auto idxTag) {
        constexpr bool kScalar = decltype(scalarTag)::value;
        using Idx = typename decltype(idxTag)::type;
        if (vec) {
          binaryBroadcastKernel<T, V, kScalar, Idx><<<gridFor(n / V + 1, kBlock), kBlock, 0, stream>>>(
              op, n, x, v, Idx(c), Idx(period), vFirst, y, act, alpha, beta);
        } else {
          binaryBroadcastKernel<T, 1, kScalar, Idx><<<gridFor(n, kBlock), kBlock, 0, stream>>>(
              op, n, x, v, Idx(c), Idx(period), vFirst, y, act, alpha, beta);
        }
      };
      // Every index the kernel forms (e, batch * c + e % c) is below n + c: int32 when that fits.
      bool narrow = n + c < INT32_MAX;
      if (scalar && narrow) launch(std::true_type{}, TypeTag<int32_t>{});
      if (scalar && !narrow) launch(std::true_type{}, TypeTag<int64_t>{});
      if (!scalar && narrow) launch(std::false_type{}, TypeTag<int32_t>{});
      if (!scalar && !narrow) launch(std::false_type{}, TypeTag<int64_t>{});
      return;
    }
  }

  // General broadcast: 32-bit index math when every offset fits.
  auto general = [&](auto idxTag) {
    using Idx = typename decltype(idxTag)::type;
    StridedPair<Idx> g{};
    g.rank = r;
    for (int d = 0; d < r; ++d) {
      g.dims[d] = Idx(l.dims[d]);
      g.s0[d] = Idx(sa[d]);
      g.s1[d] = Idx(sb[d]);
    }
    binaryGeneralKernel<T, Idx><<<gridFor(n, kBlock), kBlock, 0, stream>>>(op, n, g, a, b, y, act, alpha, beta);
  };
  if (n < INT32_MAX && maxExtent(l, 0) < INT32_MAX && maxExtent(l, 1) < INT32_MAX) {
    general(TypeTag<int32_t>{});
  } else {
    general(TypeTag<int64_t>{});
  }
}

}  // namespace

void unary(Act act, float alpha, float beta, int64_t n, DType t, const void* x, void* y, cudaStream_t stream) {
  if (n < 0) fail("ERR_INVALID_ARGUMENT", "unary: negative element count");
  dispatchFloat(t, "unary", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (n == 0) return;
    constexpr int V = kVec16<T>;
    const T* xs = static_cast<const T*>(x);
    T* ys = static_cast<T*>(y);
    if (aligned(x, 16) && aligned(y, 16)) {
      unaryKernel<T, V><<<gridFor(n / V + 1, kBlock), kBlock, 0, stream>>>(act, alpha, beta, n, xs, ys);
    } else {
      unaryKernel<T, 1><<<gridFor(n, kBlock), kBlock, 0, stream>>>(act, alpha, beta, n, xs, ys);
    }
    CUDA_CHECK_LAUNCH();
  });
}

void fill(int64_t n, DType t, void* y, float value, cudaStream_t stream) {
  if (n < 0) fail("ERR_INVALID_ARGUMENT", "fill: negative element count");
  dispatchAll(t, "fill", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (n == 0) return;
    constexpr int V = kVec16<T>;
    T v = castFloat<T>(value);
    if (aligned(y, 16)) {
      fillKernel<T, V><<<gridFor(n / V + 1, kBlock), kBlock, 0, stream>>>(n, static_cast<T*>(y), v);
    } else {
      fillKernel<T, 1><<<gridFor(n, kBlock), kBlock, 0, stream>>>(n, static_cast<T*>(y), v);
    }
    CUDA_CHECK_LAUNCH();
  });
}

void binary(Binary op, const NdShape& out, const NdStrides& sa, const void* a, const NdStrides& sb, const void* b,
            DType t, void* y, Act act, float alpha, float beta, cudaStream_t stream) {
  int64_t n = checkShape(out, "binary");
  if (static_cast<int>(op) < 0 || static_cast<int>(op) > static_cast<int>(Binary::Pow))
    fail("ERR_INVALID_ARGUMENT", "binary: unknown op " + std::to_string(static_cast<int>(op)));
  dispatchFloat(t, "binary", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (n == 0) return;
    const int64_t* strides[2] = {sa.s, sb.s};
    Layout<2> l = collapse<2>(out, strides);
    binaryLaunch<T>(op, l, static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(y), act, alpha, beta,
                    stream);
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace ntrt::kernels
