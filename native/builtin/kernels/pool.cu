// Max / average pooling over NHWC, a thread per output pixel and group of V channels (16-byte loads when aligned).
// Padding never contributes to max. Average divides by the valid window, or with countIncludePad by the window
// clipped to the padded input [-pad, size + pad) (PyTorch's rule; equals r*s unless a ceil-mode window overhangs).
#include "common.cuh"

namespace ntrt::kernels {
namespace {

using namespace detail;
constexpr int kBlock = 256;

template <typename T, int V, bool kMax>
__global__ void poolKernel(PoolParams p, const T* __restrict__ x, T* __restrict__ y) {
  using Vt = Vec<T, V>;
  const int cv = p.c / V;
  const int64_t total = int64_t(p.n) * p.p * p.q * cv;
  for (int64_t idx = globalThread(); idx < total; idx += globalThreads()) {
    int cg = int(idx % cv);
    int64_t t = idx / cv;
    int oq = int(t % p.q);
    t /= p.q;
    int op = int(t % p.p);
    int n = int(t / p.p);
    int hs = op * p.strideH - p.padH, ws = oq * p.strideW - p.padW;
    int h0 = max(hs, 0), h1 = min(hs + p.r, p.h);
    int w0 = max(ws, 0), w1 = min(ws + p.s, p.w);
    float acc[V];
#pragma unroll
    for (int j = 0; j < V; ++j) acc[j] = kMax ? -INFINITY : 0.f;
    const T* base = x + (int64_t(n) * p.h * p.w) * p.c + cg * V;
    for (int ih = h0; ih < h1; ++ih) {
      const T* row = base + int64_t(ih) * p.w * p.c;
      for (int iw = w0; iw < w1; ++iw) {
        Vt v = *reinterpret_cast<const Vt*>(row + int64_t(iw) * p.c);
#pragma unroll
        for (int j = 0; j < V; ++j) {
          float f = toFloat(v.v[j]);
          acc[j] = kMax ? fmaxf(acc[j], f) : acc[j] + f;
        }
      }
    }
    if (!kMax) {
      int count = p.countIncludePad ? (min(hs + p.r, p.h + p.padH) - hs) * (min(ws + p.s, p.w + p.padW) - ws)
                                    : (h1 - h0) * (w1 - w0);
      float inv = count > 0 ? 1.f / float(count) : 0.f;
#pragma unroll
      for (int j = 0; j < V; ++j) acc[j] *= inv;
    }
    Vt o;
#pragma unroll
    for (int j = 0; j < V; ++j) o.v[j] = fromFloat<T>(acc[j]);
    *reinterpret_cast<Vt*>(y + ((int64_t(n) * p.p + op) * p.q + oq) * p.c + cg * V) = o;
  }
}

template <typename T, int V>
void poolLaunch(const PoolParams& p, const T* x, T* y, cudaStream_t stream) {
  int64_t work = int64_t(p.n) * p.p * p.q * (p.c / V);
  if (p.max) {
    poolKernel<T, V, true><<<gridFor(work, kBlock), kBlock, 0, stream>>>(p, x, y);
  } else {
    poolKernel<T, V, false><<<gridFor(work, kBlock), kBlock, 0, stream>>>(p, x, y);
  }
}

}  // namespace

void pool(const PoolParams& p, DType t, const void* x, void* y, cudaStream_t stream) {
  if (p.n < 0 || p.h < 0 || p.w < 0 || p.c < 0 || p.p < 0 || p.q < 0 || p.r <= 0 || p.s <= 0 || p.strideH <= 0 ||
      p.strideW <= 0 || p.padH < 0 || p.padW < 0)
    fail("ERR_INVALID_ARGUMENT", "pool: invalid window, stride, padding or shape");
  dispatchFloat(t, "pool", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (int64_t(p.n) * p.p * p.q * p.c == 0) return;
    const T* xs = static_cast<const T*>(x);
    T* ys = static_cast<T*>(y);
    constexpr int V = kVec16<T>;
    if (p.c % V == 0 && aligned(x, 16) && aligned(y, 16)) {
      poolLaunch<T, V>(p, xs, ys, stream);
    } else if (p.c % 2 == 0 && aligned(x, 2 * sizeof(T)) && aligned(y, 2 * sizeof(T))) {
      poolLaunch<T, 2>(p, xs, ys, stream);
    } else {
      poolLaunch<T, 1>(p, xs, ys, stream);
    }
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace ntrt::kernels
