// Transposed convolution in gather form over NHWC: a thread per output element (channel fastest, so a warp shares
// its input pixels), summing the taps whose input position falls on the stride grid. Weights are [K][R][S][C/g],
// read along C with vector loads when C/g allows. Accumulates in float32.
#include "common.cuh"

namespace ntrt::kernels {
namespace {

using namespace detail;
constexpr int kBlock = 256;

template <typename T, int V>
__global__ void deconvKernel(DeconvParams p, const T* __restrict__ x, const T* __restrict__ w,
                             const float* __restrict__ bias, T* __restrict__ y) {
  using Vt = Vec<T, V>;
  const int cg = p.c / p.groups;
  const int kg = p.k / p.groups;
  const int64_t total = int64_t(p.n) * p.p * p.q * p.k;
  for (int64_t idx = globalThread(); idx < total; idx += globalThreads()) {
    int m = int(idx % p.k);
    int64_t t = idx / p.k;
    int oq = int(t % p.q);
    t /= p.q;
    int op = int(t % p.p);
    int n = int(t / p.p);
    int g = m / kg;
    float acc = bias ? bias[m] : 0.f;
    for (int ky = 0; ky < p.r; ++ky) {
      int ty = op + p.padH - ky * p.dilH;
      if (ty < 0 || ty % p.strideH) continue;
      int iy = ty / p.strideH;
      if (iy >= p.h) continue;
      for (int kx = 0; kx < p.s; ++kx) {
        int tx = oq + p.padW - kx * p.dilW;
        if (tx < 0 || tx % p.strideW) continue;
        int ix = tx / p.strideW;
        if (ix >= p.w) continue;
        const T* xp = x + ((int64_t(n) * p.h + iy) * p.w + ix) * p.c + g * cg;
        const T* wp = w + ((int64_t(m) * p.r + ky) * p.s + kx) * cg;
        for (int ci = 0; ci < cg; ci += V) {
          Vt xv = *reinterpret_cast<const Vt*>(xp + ci);
          Vt wv = *reinterpret_cast<const Vt*>(wp + ci);
#pragma unroll
          for (int j = 0; j < V; ++j) acc += toFloat(xv.v[j]) * toFloat(wv.v[j]);
        }
      }
    }
    y[idx] = fromFloat<T>(acc);
  }
}

template <typename T, int V>
void deconvLaunch(const DeconvParams& p, const T* x, const T* w, const float* bias, T* y, cudaStream_t stream) {
  int64_t work = int64_t(p.n) * p.p * p.q * p.k;
  deconvKernel<T, V><<<gridFor(work, kBlock), kBlock, 0, stream>>>(p, x, w, bias, y);
}

}  // namespace

void deconv(const DeconvParams& p, DType t, const void* x, const void* w, const float* bias, void* y,
            cudaStream_t stream) {
  if (p.n < 0 || p.h <= 0 || p.w <= 0 || p.c <= 0 || p.k <= 0 || p.r <= 0 || p.s <= 0 || p.p < 0 || p.q < 0 ||
      p.strideH <= 0 || p.strideW <= 0 || p.dilH <= 0 || p.dilW <= 0 || p.padH < 0 || p.padW < 0 || p.groups <= 0 ||
      p.c % p.groups || p.k % p.groups)
    fail("ERR_INVALID_ARGUMENT", "deconv: invalid shape, stride, dilation, padding or groups");
  dispatchFloat(t, "deconv", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (int64_t(p.n) * p.p * p.q * p.k == 0) return;
    const T* xs = static_cast<const T*>(x);
    const T* ws = static_cast<const T*>(w);
    T* ys = static_cast<T*>(y);
    constexpr int V = kVec16<T>;
    const int cg = p.c / p.groups;
    if (cg % V == 0 && p.c % V == 0 && aligned(x, 16) && aligned(w, 16)) {
      deconvLaunch<T, V>(p, xs, ws, bias, ys, stream);
    } else if (cg % 2 == 0 && p.c % 2 == 0 && aligned(x, 2 * sizeof(T)) && aligned(w, 2 * sizeof(T))) {
      deconvLaunch<T, 2>(p, xs, ws, bias, ys, stream);
    } else {
      deconvLaunch<T, 1>(p, xs, ws, bias, ys, stream);
    }
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace ntrt::kernels
