// Resize over NHWC from per-axis taps: a thread per output pixel and group of V channels (16-byte loads when the
// channels allow), taps read from one small float32 table that stays in L1. The host computes the taps with the
// reference's coordinate arithmetic, so nearest-mode ties land exactly where onnxruntime puts them.
#include "common.cuh"

namespace ntrt::kernels {
namespace {

using namespace detail;
constexpr int kBlock = 256;

struct ResizeArgs {
  int n, h, w, c, p, q, taps;
};

template <typename T, int V>
__global__ void resizeKernel(ResizeArgs a, const T* __restrict__ x, const float* __restrict__ tab, T* __restrict__ y) {
  using Vt = Vec<T, V>;
  const int cv = a.c / V;
  const int64_t total = int64_t(a.n) * a.p * a.q * cv;
  const float* hIdx = tab;
  const float* hWgt = tab + a.p * a.taps;
  const float* wIdx = tab + 2 * a.p * a.taps;
  const float* wWgt = wIdx + a.q * a.taps;
  for (int64_t idx = globalThread(); idx < total; idx += globalThreads()) {
    int cg = int(idx % cv);
    int64_t t = idx / cv;
    int oq = int(t % a.q);
    t /= a.q;
    int op = int(t % a.p);
    int n = int(t / a.p);
    float acc[V];
#pragma unroll
    for (int j = 0; j < V; ++j) acc[j] = 0.f;
    const T* base = x + int64_t(n) * a.h * a.w * a.c + cg * V;
    for (int ky = 0; ky < a.taps; ++ky) {
      float wy = hWgt[op * a.taps + ky];
      if (wy == 0.f) continue;
      // The taps come from the plan's weights: clamped, so no table can make the kernel read outside the image.
      const int iy = min(max(static_cast<int>(hIdx[op * a.taps + ky]), 0), a.h - 1);
      const T* row = base + int64_t(iy) * a.w * a.c;
      for (int kx = 0; kx < a.taps; ++kx) {
        float wgt = wy * wWgt[oq * a.taps + kx];
        if (wgt == 0.f) continue;
        const int ix = min(max(static_cast<int>(wIdx[oq * a.taps + kx]), 0), a.w - 1);
        Vt v = *reinterpret_cast<const Vt*>(row + int64_t(ix) * a.c);
#pragma unroll
        for (int j = 0; j < V; ++j) acc[j] += wgt * toFloat(v.v[j]);
      }
    }
    Vt o;
#pragma unroll
    for (int j = 0; j < V; ++j) o.v[j] = fromFloat<T>(acc[j]);
    *reinterpret_cast<Vt*>(y + ((int64_t(n) * a.p + op) * a.q + oq) * a.c + cg * V) = o;
  }
}

// Output NCHW (row-major, as an ONNX output is) in float32 or T: a thread per output element with the output's W
// fastest, so stores coalesce; the NHWC input of a segmentation head is small enough to stay in L2.
template <typename T, typename TO>
__global__ void resizeNchwKernel(ResizeArgs a, const T* __restrict__ x, const float* __restrict__ tab, TO* __restrict__ y) {
  const int64_t total = int64_t(a.n) * a.c * a.p * a.q;
  const float* hIdx = tab;
  const float* hWgt = tab + a.p * a.taps;
  const float* wIdx = tab + 2 * a.p * a.taps;
  const float* wWgt = wIdx + a.q * a.taps;
  for (int64_t idx = globalThread(); idx < total; idx += globalThreads()) {
    const int oq = int(idx % a.q);
    int64_t t = idx / a.q;
    const int op = int(t % a.p);
    t /= a.p;
    const int ch = int(t % a.c);
    const int n = int(t / a.c);
    const T* base = x + int64_t(n) * a.h * a.w * a.c + ch;
    float acc = 0.f;
    for (int ky = 0; ky < a.taps; ++ky) {
      const float wy = hWgt[op * a.taps + ky];
      if (wy == 0.f) continue;
      const int iy = min(max(static_cast<int>(hIdx[op * a.taps + ky]), 0), a.h - 1);
      const T* row = base + int64_t(iy) * a.w * a.c;
      for (int kx = 0; kx < a.taps; ++kx) {
        const float wgt = wy * wWgt[oq * a.taps + kx];
        if (wgt == 0.f) continue;
        const int ix = min(max(static_cast<int>(wIdx[oq * a.taps + kx]), 0), a.w - 1);
        acc += wgt * toFloat(row[int64_t(ix) * a.c]);
      }
    }
    y[idx] = fromFloat<TO>(acc);
  }
}

template <typename T, int V>
void resizeLaunch(const ResizeArgs& a, const T* x, const float* tab, T* y, cudaStream_t stream) {
  int64_t work = int64_t(a.n) * a.p * a.q * (a.c / V);
  resizeKernel<T, V><<<gridFor(work, kBlock), kBlock, 0, stream>>>(a, x, tab, y);
}

}  // namespace

void resize(int n, int h, int w, int c, int p, int q, int taps, DType t, const void* x, const float* table, void* y,
            cudaStream_t stream) {
  if (n < 0 || h <= 0 || w <= 0 || c < 0 || p < 0 || q < 0 || taps < 1 || taps > 4)
    fail("ERR_INVALID_ARGUMENT", "resize: invalid shape or taps");
  ResizeArgs a{n, h, w, c, p, q, taps};
  dispatchFloat(t, "resize", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (int64_t(n) * p * q * c == 0) return;
    const T* xs = static_cast<const T*>(x);
    T* ys = static_cast<T*>(y);
    constexpr int V = kVec16<T>;
    if (c % V == 0 && aligned(x, 16) && aligned(y, 16)) {
      resizeLaunch<T, V>(a, xs, table, ys, stream);
    } else if (c % 2 == 0 && aligned(x, 2 * sizeof(T)) && aligned(y, 2 * sizeof(T))) {
      resizeLaunch<T, 2>(a, xs, table, ys, stream);
    } else {
      resizeLaunch<T, 1>(a, xs, table, ys, stream);
    }
    CUDA_CHECK_LAUNCH();
  });
}

void resizeToNchw(int n, int h, int w, int c, int p, int q, int taps, DType t, const void* x, const float* table,
                  DType yt, void* y, cudaStream_t stream) {
  if (n < 0 || h <= 0 || w <= 0 || c < 0 || p < 0 || q < 0 || taps < 1 || taps > 4)
    fail("ERR_INVALID_ARGUMENT", "resize: invalid shape or taps");
  if (yt != t && yt != DType::F32) fail("ERR_INVALID_ARGUMENT", "resize: the output is the input's dtype or float32");
  ResizeArgs a{n, h, w, c, p, q, taps};
  dispatchFloat(t, "resize", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t work = int64_t(n) * p * q * c;
    if (work == 0) return;
    if (yt == DType::F32)
      resizeNchwKernel<T, float><<<gridFor(work, kBlock), kBlock, 0, stream>>>(a, static_cast<const T*>(x), table, static_cast<float*>(y));
    else
      resizeNchwKernel<T, T><<<gridFor(work, kBlock), kBlock, 0, stream>>>(a, static_cast<const T*>(x), table, static_cast<T*>(y));
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace ntrt::kernels
