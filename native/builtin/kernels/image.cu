// Device-side image preprocessing: RGBA8 pixels to a normalised float tensor, (px / 255 - mean) / std per channel.
// Four pixels per thread when aligned: one 16-byte load, 16- or 8-byte stores into each NCHW plane or the NHWC run.
#include "common.cuh"

namespace ntrt::kernels {
namespace {

using namespace detail;
constexpr int kBlock = 256;

struct Norm {
  float scale[3], bias[3];  // y = px * scale + bias
};

__device__ __forceinline__ float channel(uint32_t px, int ch, const Norm& nm) {
  return float((px >> (8 * ch)) & 0xffu) * nm.scale[ch] + nm.bias[ch];
}

// Pixel p (of `hw` per image) lands at NHWC p*3 + ch, or NCHW (p / hw * 3 + ch) * hw + p % hw.
template <typename T, bool kNhwc>
__global__ void rgbaScalarKernel(int64_t total, int64_t hw, const uint32_t* __restrict__ rgba, Norm nm,
                                 T* __restrict__ y) {
  for (int64_t p = globalThread(); p < total; p += globalThreads()) {
    uint32_t px = rgba[p];
    int64_t img = p / hw, off = p - img * hw;
#pragma unroll
    for (int ch = 0; ch < 3; ++ch) {
      int64_t o = kNhwc ? p * 3 + ch : (img * 3 + ch) * hw + off;
      y[o] = fromFloat<T>(channel(px, ch, nm));
    }
  }
}

// Needs hw % 4 == 0 (a quad never straddles images), rgba 16-byte and y (4 * sizeof(T))-byte aligned.
template <typename T, bool kNhwc>
__global__ void rgbaQuadKernel(int64_t quads, int64_t hw, const uint4* __restrict__ rgba, Norm nm, T* __restrict__ y) {
  using V4 = Vec<T, 4>;
  for (int64_t i = globalThread(); i < quads; i += globalThreads()) {
    uint4 q = rgba[i];
    uint32_t px[4] = {q.x, q.y, q.z, q.w};
    int64_t p = i * 4;
    if (kNhwc) {
      T vals[12];
#pragma unroll
      for (int k = 0; k < 4; ++k)
#pragma unroll
        for (int ch = 0; ch < 3; ++ch) vals[k * 3 + ch] = fromFloat<T>(channel(px[k], ch, nm));
#pragma unroll
      for (int s = 0; s < 3; ++s) {
        V4 v;
#pragma unroll
        for (int j = 0; j < 4; ++j) v.v[j] = vals[s * 4 + j];
        *reinterpret_cast<V4*>(y + p * 3 + s * 4) = v;
      }
    } else {
      int64_t img = p / hw, off = p - img * hw;
#pragma unroll
      for (int ch = 0; ch < 3; ++ch) {
        V4 v;
#pragma unroll
        for (int k = 0; k < 4; ++k) v.v[k] = fromFloat<T>(channel(px[k], ch, nm));
        *reinterpret_cast<V4*>(y + (img * 3 + ch) * hw + off) = v;
      }
    }
  }
}

template <typename T, bool kNhwc>
void rgbaLaunch(int64_t total, int64_t hw, const uint8_t* rgba, const Norm& nm, T* y, cudaStream_t stream) {
  if (hw % 4 == 0 && aligned(rgba, 16) && aligned(y, 4 * sizeof(T))) {
    int64_t quads = total / 4;
    rgbaQuadKernel<T, kNhwc><<<gridFor(quads, kBlock), kBlock, 0, stream>>>(
        quads, hw, reinterpret_cast<const uint4*>(rgba), nm, y);
  } else {
    rgbaScalarKernel<T, kNhwc><<<gridFor(total, kBlock), kBlock, 0, stream>>>(
        total, hw, reinterpret_cast<const uint32_t*>(rgba), nm, y);
  }
}

}  // namespace

void rgbaToTensor(int n, int h, int w, const uint8_t* rgba, const float mean[3], const float stdv[3], bool nhwc,
                  DType outT, void* y, cudaStream_t stream) {
  if (n < 0 || h < 0 || w < 0) fail("ERR_INVALID_ARGUMENT", "rgbaToTensor: negative extent");
  if (!aligned(rgba, 4)) fail("ERR_INVALID_ARGUMENT", "rgbaToTensor: RGBA pixels must be 4-byte aligned");
  Norm nm;
  for (int ch = 0; ch < 3; ++ch) {
    if (!(stdv[ch] != 0.f)) fail("ERR_INVALID_ARGUMENT", "rgbaToTensor: std must be non-zero");
    nm.scale[ch] = 1.f / (255.f * stdv[ch]);
    nm.bias[ch] = -mean[ch] / stdv[ch];
  }
  dispatchFloat(outT, "rgbaToTensor", [&](auto tag) {
    using T = typename decltype(tag)::type;
    int64_t hw = int64_t(h) * w, total = int64_t(n) * hw;
    if (total == 0) return;
    T* ys = static_cast<T*>(y);
    if (nhwc) {
      rgbaLaunch<T, true>(total, hw, rgba, nm, ys, stream);
    } else {
      rgbaLaunch<T, false>(total, hw, rgba, nm, ys, stream);
    }
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace ntrt::kernels
