// Resize over NHWC from per-axis taps: a thread per output pixel and group of V channels (16-byte loads when the
// channels allow), taps read from one small float32 table that stays in L1. The host computes the taps with the
// reference's coordinate arithmetic, so nearest-mode ties land exactly where onnxruntime puts them.
#include <algorithm>

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

// Output NCHW (row-major, as an ONNX output is) in float32 or T: a thread per output pixel (W fastest, so each
// channel's stores coalesce) computes its taps once and walks the channels; the NHWC input of a segmentation head is
// small and its channels of one pixel are contiguous, so the channel walk reads cached lines. Batch on grid.y.
template <typename T, typename TO>
__global__ void resizeNchwKernel(ResizeArgs a, const T* __restrict__ x, const float* __restrict__ tab, TO* __restrict__ y) {
  const int64_t pq = int64_t(a.p) * a.q;
  const int64_t pix = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (pix >= pq) return;
  const int op = int(pix / a.q), oq = int(pix - int64_t(op) * a.q);
  int iy[4], ix[4];
  float wy[4], wx[4];
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    const bool on = k < a.taps;
    // The taps come from the plan's weights: clamped, so no table can make the kernel read outside the image.
    iy[k] = on ? min(max(static_cast<int>(tab[op * a.taps + k]), 0), a.h - 1) : 0;
    wy[k] = on ? tab[a.p * a.taps + op * a.taps + k] : 0.f;
    ix[k] = on ? min(max(static_cast<int>(tab[2 * a.p * a.taps + oq * a.taps + k]), 0), a.w - 1) : 0;
    wx[k] = on ? tab[2 * a.p * a.taps + a.q * a.taps + oq * a.taps + k] : 0.f;
  }
  for (int n = blockIdx.y; n < a.n; n += gridDim.y) {
    const T* img = x + int64_t(n) * a.h * a.w * a.c;
    TO* out = y + int64_t(n) * a.c * pq + pix;
    for (int ch = 0; ch < a.c; ++ch) {
      float acc = 0.f;
#pragma unroll
      for (int ky = 0; ky < 4; ++ky) {
        if (wy[ky] == 0.f) continue;  // also every tap past `taps`
        const T* row = img + int64_t(iy[ky]) * a.w * a.c + ch;
#pragma unroll
        for (int kx = 0; kx < 4; ++kx) {
          const float wgt = wy[ky] * wx[kx];
          if (wgt == 0.f) continue;
          acc += wgt * toFloat(row[int64_t(ix[kx]) * a.c]);
        }
      }
      out[int64_t(ch) * pq] = fromFloat<TO>(acc);
    }
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
    if (int64_t(n) * p * q * c == 0) return;
    const dim3 grid(static_cast<unsigned>((int64_t(p) * q + kBlock - 1) / kBlock), static_cast<unsigned>(std::min(n, 65535)));
    if (yt == DType::F32)
      resizeNchwKernel<T, float><<<grid, kBlock, 0, stream>>>(a, static_cast<const T*>(x), table, static_cast<float*>(y));
    else
      resizeNchwKernel<T, T><<<grid, kBlock, 0, stream>>>(a, static_cast<const T*>(x), table, static_cast<T*>(y));
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace ntrt::kernels
