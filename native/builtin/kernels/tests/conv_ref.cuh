// CPU reference for the convolution tests: double-precision convolution (all layouts, groups, depthwise RSC),
// the fused epilogue, and shape helpers.
#pragma once
#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "../kernels.h"

namespace convtest {

using ntrt::kernels::Act;
using ntrt::kernels::ConvParams;
using ntrt::kernels::DType;
using ntrt::kernels::Tactic;

//! Params with p, q from the usual formula (symmetric pads).
inline ConvParams makeParams(int n, int h, int w, int c, int k, int r, int s, int sh, int sw, int ph, int pw, int dh = 1,
                             int dw = 1, int groups = 1) {
  ConvParams p{};
  p.n = n, p.h = h, p.w = w, p.c = c, p.k = k, p.r = r, p.s = s;
  p.strideH = sh, p.strideW = sw, p.padH = ph, p.padW = pw, p.dilH = dh, p.dilW = dw, p.groups = groups;
  p.p = (h + 2 * ph - dh * (r - 1) - 1) / sh + 1;
  p.q = (w + 2 * pw - dw * (s - 1) - 1) / sw + 1;
  return p;
}

inline bool isDepthwise(const ConvParams& p) { return p.groups == p.c && p.groups == p.k && p.groups > 1; }
inline size_t inputCount(const ConvParams& p) { return size_t(p.n) * p.h * p.w * p.c; }
inline size_t outputCount(const ConvParams& p) { return size_t(p.n) * p.p * p.q * p.k; }
inline size_t weightCount(const ConvParams& p) {
  return isDepthwise(p) ? size_t(p.r) * p.s * p.c : size_t(p.k) * p.r * p.s * (p.c / p.groups);
}
inline double flops(const ConvParams& p) {
  return 2.0 * p.n * p.p * p.q * double(p.k) * p.r * p.s * (p.c / p.groups);
}

inline std::string describe(const ConvParams& p) {
  char b[160];
  std::snprintf(b, sizeof b, "n%d %dx%dx%d->%d %dx%d s%dx%d p%dx%d d%dx%d g%d", p.n, p.h, p.w, p.c, p.k, p.r, p.s,
                p.strideH, p.strideW, p.padH, p.padW, p.dilH, p.dilW, p.groups);
  return b;
}

//! conv(x, w) in double, [M][K], no epilogue. Parallel over output rows.
inline std::vector<double> referenceConv(const ConvParams& p, const std::vector<float>& x, const std::vector<float>& w) {
  const int64_t M = int64_t(p.n) * p.p * p.q;
  std::vector<double> out(size_t(M) * p.k);
  const int cg = p.c / p.groups, kg = p.k / p.groups;
  const bool rsc = isDepthwise(p);
  auto work = [&](int64_t m0, int64_t m1) {
    std::vector<double> acc(p.k);
    for (int64_t m = m0; m < m1; ++m) {
      const int img = int(m / (int64_t(p.p) * p.q)), pp = int((m / p.q) % p.p), qq = int(m % p.q);
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int r = 0; r < p.r; ++r) {
        const int ih = pp * p.strideH - p.padH + r * p.dilH;
        if (ih < 0 || ih >= p.h) continue;
        for (int s = 0; s < p.s; ++s) {
          const int iw = qq * p.strideW - p.padW + s * p.dilW;
          if (iw < 0 || iw >= p.w) continue;
          const float* xp = &x[((size_t(img) * p.h + ih) * p.w + iw) * p.c];
          for (int k = 0; k < p.k; ++k) {
            const int c0 = (k / kg) * cg;
            double sum = 0;
            if (rsc) {
              sum = double(xp[k]) * w[(size_t(r) * p.s + s) * p.c + k];
            } else {
              const float* wp = &w[((size_t(k) * p.r + r) * p.s + s) * cg];
              for (int c = 0; c < cg; ++c) sum += double(xp[c0 + c]) * wp[c];
            }
            acc[k] += sum;
          }
        }
      }
      std::copy(acc.begin(), acc.end(), out.begin() + m * p.k);
    }
  };
  const int threads = std::max(1, std::min<int>(std::thread::hardware_concurrency(), 16));
  std::vector<std::thread> pool;
  const int64_t per = (M + threads - 1) / threads;
  for (int t = 0; t < threads; ++t) {
    const int64_t a = t * per, b = std::min(M, a + per);
    if (a < b) pool.emplace_back(work, a, b);
  }
  for (auto& th : pool) th.join();
  return out;
}

inline double actHost(Act act, double x, double alpha, double beta) {
  switch (act) {
    case Act::Relu: return std::max(x, 0.0);
    case Act::Clip: return std::min(std::max(x, alpha), beta);
    case Act::LeakyRelu: return x < 0 ? alpha * x : x;
    case Act::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case Act::HardSigmoid: return std::min(std::max(alpha * x + beta, 0.0), 1.0);
    case Act::HardSwish: return x * std::min(std::max(x / 6.0 + 0.5, 0.0), 1.0);
    case Act::Tanh: return std::tanh(x);
    case Act::Silu: return x / (1.0 + std::exp(-x));
    default: return x;
  }
}

inline const char* actName(Act a) {
  static const char* names[] = {"none", "relu", "clip", "leaky", "sigmoid", "hsigmoid", "hswish", "tanh", "erf", "gelu",
                                "gelu_tanh", "sqrt", "exp", "log", "neg", "abs", "recip", "scale", "silu"};
  static_assert(sizeof(names) / sizeof(names[0]) == ntrt::kernels::kMaxAct + 1, "a name for every activation");
  return names[static_cast<int>(a)];
}

}  // namespace convtest
