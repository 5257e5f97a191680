// The fused inverted-residual kernel: every tactic on every MobileNetV2 block shape (batch 1, 32, 256) and on
// EfficientNet / MobileNetV3-like blocks (5×5, other activations, expansions that are no multiple of the chunk),
// against a double-precision CPU reference, into NaN-poisoned outputs; then the fused time beside the chain of the
// three fastest convolution tactics.
//   test_mbconv            correctness, then timing
//   test_mbconv --quick    correctness at batch 1 and 32 only
//   test_mbconv --perf     timing only; --perf "mbv2 features.2" 256 times one block at one batch (for ncu)
#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../../../cuda/error.h"
#include "../kernels.h"
#include "harness.h"

using ntrt::kernels::Act;
using ntrt::kernels::ConvParams;
using ntrt::kernels::DType;
using ntrt::kernels::Epilogue;
using ntrt::kernels::MBConvParams;
using ntrt::kernels::MBConvTensors;

namespace {

struct Block {
  const char* name;
  int h, c, e, k, ks, stride;
  bool residual;
  Act act1, act2, act3;
};

// torchvision MobileNetV2 at 224×224: every distinct block with an expansion (ReLU6 after expand and depthwise).
const Block kMobileNetV2[] = {
    {"mbv2 features.2", 112, 16, 96, 24, 3, 2, false, Act::Clip, Act::Clip, Act::None},
    {"mbv2 features.3", 56, 24, 144, 24, 3, 1, true, Act::Clip, Act::Clip, Act::None},
    {"mbv2 features.4", 56, 24, 144, 32, 3, 2, false, Act::Clip, Act::Clip, Act::None},
    {"mbv2 features.5", 28, 32, 192, 32, 3, 1, true, Act::Clip, Act::Clip, Act::None},
    {"mbv2 features.7", 28, 32, 192, 64, 3, 2, false, Act::Clip, Act::Clip, Act::None},
    {"mbv2 features.8", 14, 64, 384, 64, 3, 1, true, Act::Clip, Act::Clip, Act::None},
    {"mbv2 features.11", 14, 64, 384, 96, 3, 1, false, Act::Clip, Act::Clip, Act::None},
    {"mbv2 features.12", 14, 96, 576, 96, 3, 1, true, Act::Clip, Act::Clip, Act::None},
    {"mbv2 features.14", 14, 96, 576, 160, 3, 2, false, Act::Clip, Act::Clip, Act::None},
    {"mbv2 features.15", 7, 160, 960, 160, 3, 1, true, Act::Clip, Act::Clip, Act::None},
    {"mbv2 features.17", 7, 160, 960, 320, 3, 1, false, Act::Clip, Act::Clip, Act::None},
};

// Other families: 5×5 windows, HardSwish and SiLU, e = 72 / 200 (no multiple of 48), odd sizes.
const Block kOthers[] = {
    {"effnet 5x5 s2 24-144-40", 28, 24, 144, 40, 5, 2, false, Act::Relu, Act::Relu, Act::None},
    {"effnet 5x5 s1 40-240-40", 14, 40, 240, 40, 5, 1, true, Act::HardSwish, Act::HardSwish, Act::None},
    {"effnet 3x3 s1 40-240-40 silu", 14, 40, 240, 40, 3, 1, true, Act::Silu, Act::Silu, Act::None},
    {"mbv3 3x3 s1 24-72-24", 15, 24, 72, 24, 3, 1, true, Act::Relu, Act::Relu, Act::None},
    {"mbv3 3x3 s1 80-200-80 hswish", 13, 80, 200, 80, 3, 1, true, Act::HardSwish, Act::HardSwish, Act::None},
    {"mbv3 5x5 s2 40-120-48 act3", 11, 40, 120, 48, 5, 2, false, Act::HardSwish, Act::Relu, Act::Tanh},
    {"odd 3x3 s2 8-48-8", 9, 8, 48, 8, 3, 2, false, Act::LeakyRelu, Act::Sigmoid, Act::HardSigmoid},
};

MBConvParams paramsOf(const Block& b, int n) {
  MBConvParams p{};
  p.n = n, p.h = b.h, p.w = b.h, p.c = b.c, p.e = b.e, p.k = b.k, p.ks = b.ks, p.stride = b.stride;
  p.padH = p.padW = b.ks / 2;
  p.p = (b.h + 2 * p.padH - b.ks) / b.stride + 1;
  p.q = p.p;
  p.act1 = b.act1, p.act2 = b.act2, p.act3 = b.act3;
  auto params = [](Act a, float& al, float& be) {
    al = a == Act::Clip ? 0.f : a == Act::LeakyRelu ? 0.1f : a == Act::HardSigmoid ? 0.2f : 0.f;
    be = a == Act::Clip ? 6.f : a == Act::HardSigmoid ? 0.5f : 0.f;
  };
  params(b.act1, p.alpha1, p.beta1);
  params(b.act2, p.alpha2, p.beta2);
  params(b.act3, p.alpha3, p.beta3);
  return p;
}

double act(Act a, double x, double al, double be) {
  switch (a) {
    case Act::Relu: return std::max(x, 0.0);
    case Act::Clip: return std::min(std::max(x, double(al)), double(be));
    case Act::LeakyRelu: return x < 0 ? al * x : x;
    case Act::Sigmoid: return 1 / (1 + std::exp(-x));
    case Act::HardSigmoid: return std::min(std::max(al * x + be, 0.0), 1.0);
    case Act::HardSwish: return x * std::min(std::max(x / 6 + 0.5, 0.0), 1.0);
    case Act::Tanh: return std::tanh(x);
    case Act::Silu: return x / (1 + std::exp(-x));
    default: return x;
  }
}

struct Data {
  std::vector<float> x, w1, b1, wd, bd, w2, b2, res;  // half-rounded where the device holds halves
};

//! Reference output of image `img` (double accumulation; e and d rounded to half, as the kernels store them).
std::vector<float> reference(const MBConvParams& p, const Data& d, int img) {
  std::vector<double> e(size_t(p.h) * p.w * p.e), dw(size_t(p.p) * p.q * p.e);
  for (int y = 0; y < p.h; ++y)
    for (int x = 0; x < p.w; ++x)
      for (int c = 0; c < p.e; ++c) {
        double s = d.b1[c];
        const float* xi = &d.x[((size_t(img) * p.h + y) * p.w + x) * p.c];
        for (int i = 0; i < p.c; ++i) s += double(xi[i]) * d.w1[size_t(c) * p.c + i];
        e[(size_t(y) * p.w + x) * p.e + c] = harness::roundHalf(float(act(p.act1, s, p.alpha1, p.beta1)));
      }
  for (int y = 0; y < p.p; ++y)
    for (int x = 0; x < p.q; ++x)
      for (int c = 0; c < p.e; ++c) {
        double s = d.bd[c];
        for (int r = 0; r < p.ks; ++r)
          for (int t = 0; t < p.ks; ++t) {
            const int iy = y * p.stride - p.padH + r, ix = x * p.stride - p.padW + t;
            if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
            s += e[(size_t(iy) * p.w + ix) * p.e + c] * d.wd[(size_t(r) * p.ks + t) * p.e + c];
          }
        dw[(size_t(y) * p.q + x) * p.e + c] = harness::roundHalf(float(act(p.act2, s, p.alpha2, p.beta2)));
      }
  std::vector<float> out(size_t(p.p) * p.q * p.k);
  for (int px = 0; px < p.p * p.q; ++px)
    for (int k = 0; k < p.k; ++k) {
      double s = d.b2[k];
      for (int c = 0; c < p.e; ++c) s += dw[size_t(px) * p.e + c] * d.w2[size_t(k) * p.e + c];
      if (!d.res.empty()) s += d.res[(size_t(img) * p.p * p.q + px) * p.k + k];
      out[size_t(px) * p.k + k] = float(act(p.act3, s, p.alpha3, p.beta3));
    }
  return out;
}

Data makeData(const MBConvParams& p, bool residual, uint64_t seed) {
  harness::Rng rng(seed);
  Data d;
  auto fill = [&](std::vector<float>& v, size_t n, float scale, bool half) {
    v.resize(n);
    rng.fill(v, scale);
    if (half)
      for (float& f : v) f = harness::roundHalf(f);
  };
  fill(d.x, size_t(p.n) * p.h * p.w * p.c, 1.f, true);
  fill(d.w1, size_t(p.e) * p.c, 1.7f / std::sqrt(float(p.c)), true);
  fill(d.b1, p.e, 0.2f, false);
  fill(d.wd, size_t(p.ks) * p.ks * p.e, 1.7f / p.ks, true);
  fill(d.bd, p.e, 0.2f, false);
  fill(d.w2, size_t(p.k) * p.e, 1.7f / std::sqrt(float(p.e)), true);
  fill(d.b2, p.k, 0.2f, false);
  if (residual) fill(d.res, size_t(p.n) * p.p * p.q * p.k, 1.f, true);
  return d;
}

struct Device {
  void *x, *w1, *b1, *wd, *bd, *w2, *b2, *res;
  explicit Device(const Data& d)
      : x(harness::upload(d.x, 1)), w1(harness::upload(d.w1, 1)), b1(harness::upload(d.b1, 0)),
        wd(harness::upload(d.wd, 1)), bd(harness::upload(d.bd, 0)), w2(harness::upload(d.w2, 1)),
        b2(harness::upload(d.b2, 0)), res(d.res.empty() ? nullptr : harness::upload(d.res, 1)) {}
  ~Device() {
    for (void* p : {x, w1, b1, wd, bd, w2, b2, res}) cudaFree(p);
  }
  MBConvTensors io(void* y) const {
    return {x, w1, static_cast<const float*>(b1), wd, static_cast<const float*>(bd), w2, static_cast<const float*>(b2), res, y};
  }
};

void correctness(const Block& b, int n) {
  const MBConvParams p = paramsOf(b, n);
  const Data d = makeData(p, b.residual, 1000 + n + b.h * 7 + b.k);
  const Device dev(d);
  const size_t per = size_t(p.p) * p.q * p.k, ny = per * n;
  // Images checked against the reference: all of them up to 4, else the first, a middle and the last one.
  std::vector<int> imgs;
  if (n <= 4) {
    for (int i = 0; i < n; ++i) imgs.push_back(i);
  } else {
    imgs = {0, n / 2, n - 1};
  }
  std::vector<std::vector<float>> refs;
  for (int i : imgs) refs.push_back(reference(p, d, i));
  const auto tactics = ntrt::kernels::mbconvTactics(p, DType::F16);
  if (tactics.empty()) harness::check(std::string(b.name) + " offers no fused tactic", 1, 0);
  for (const auto& t : tactics) {
    void* y = harness::poisoned(ny, 1);
    std::string err;
    try {
      ntrt::kernels::mbconv(t.name, p, DType::F16, dev.io(y), nullptr);
      H_CUDA(cudaDeviceSynchronize());
    } catch (const std::exception& e) {
      err = e.what();
    }
    const std::vector<float> got = harness::download(y, ny, 1);
    cudaFree(y);
    bool finite = err.empty();
    for (float v : got) finite = finite && std::isfinite(v);  // every output written (no NaN poison left)
    double worst = finite ? 0 : INFINITY;
    for (size_t i = 0; i < imgs.size() && finite; ++i) {
      const std::vector<float> one(got.begin() + per * imgs[i], got.begin() + per * (imgs[i] + 1));
      worst = std::max(worst, harness::relError(one, refs[i]));
    }
    harness::check(std::string(b.name) + " n=" + std::to_string(n) + " " + t.name + (err.empty() ? "" : " threw: " + err), worst, 1e-2);
  }
}

//! The block's three convolutions: 1×1 expand, depthwise k×k, 1×1 project.
std::array<ConvParams, 3> stageParams(const MBConvParams& p) {
  return {ConvParams{p.n, p.h, p.w, p.c, p.e, 1, 1, p.h, p.w, 1, 1, 0, 0, 1, 1, 1},
          ConvParams{p.n, p.h, p.w, p.e, p.e, p.ks, p.ks, p.p, p.q, p.stride, p.stride, p.padH, p.padW, 1, 1, p.e},
          ConvParams{p.n, p.p, p.q, p.e, p.k, 1, 1, p.p, p.q, 1, 1, 0, 0, 1, 1, 1}};
}

//! Runs the chain of the first own conv tactic of each stage into y (e and dd: its intermediates).
void runChain(const MBConvParams& p, const Device& dev, void* e, void* dd, void* y) {
  const std::array<ConvParams, 3> stages = stageParams(p);
  const Act acts[3] = {p.act1, p.act2, p.act3};
  const float alphas[3] = {p.alpha1, p.alpha2, p.alpha3}, betas[3] = {p.beta1, p.beta2, p.beta3};
  const void* ins[3] = {dev.x, e, dd};
  const void* ws[3] = {dev.w1, dev.wd, dev.w2};
  void* outs[3] = {e, dd, y};
  for (int j = 0; j < 3; ++j) {
    Epilogue ep;
    ep.bias = static_cast<const float*>(j == 0 ? dev.b1 : j == 1 ? dev.bd : dev.b2);
    ep.residual = j == 2 ? dev.res : nullptr;
    ep.act = acts[j];
    ep.alpha = alphas[j];
    ep.beta = betas[j];
    for (const auto& t : ntrt::kernels::convTactics(stages[j], DType::F16)) {
      if (t.workspace) continue;
      ntrt::kernels::conv(t.name, stages[j], DType::F16, ins[j], ws[j], outs[j], ep, nullptr, 0, nullptr);
      break;
    }
  }
  H_CUDA(cudaDeviceSynchronize());
}

//! Every image of a large batch, as the builder checks a fused tactic: each fused tactic against the chain over the
//! whole output (relative L2, finiteness), and against itself run on one image alone (a CTA's result may not depend
//! on the batch it runs in).
void wholeBatch(const Block& b, int n) {
  const MBConvParams p = paramsOf(b, n);
  const Data d = makeData(p, b.residual, 99 + n);
  const Device dev(d);
  const size_t per = size_t(p.p) * p.q * p.k, ny = per * n;
  void* chain = harness::poisoned(ny, 1);
  void* e = harness::poisoned(size_t(n) * p.h * p.w * p.e, 1);
  void* dd = harness::poisoned(size_t(n) * p.p * p.q * p.e, 1);
  runChain(p, dev, e, dd, chain);
  const std::vector<float> want = harness::download(chain, ny, 1);
  for (const auto& t : ntrt::kernels::mbconvTactics(p, DType::F16)) {
    void* y = harness::poisoned(ny, 1);
    ntrt::kernels::mbconv(t.name, p, DType::F16, dev.io(y), nullptr);
    H_CUDA(cudaDeviceSynchronize());
    const std::vector<float> got = harness::download(y, ny, 1);
    harness::check(std::string(b.name) + " n=" + std::to_string(n) + " " + t.name + " vs chain, every image",
                   harness::relError(got, want), 3e-3);
    // The last image alone, through a batch-1 launch on the same input and residual.
    MBConvParams one = p;
    one.n = 1;
    const size_t last = size_t(n - 1);
    MBConvTensors io = dev.io(y);
    io.x = static_cast<const __half*>(dev.x) + last * p.h * p.w * p.c;
    if (dev.res) io.residual = static_cast<const __half*>(dev.res) + last * per;
    void* y1 = harness::poisoned(per, 1);
    io.y = y1;
    ntrt::kernels::mbconv(t.name, one, DType::F16, io, nullptr);
    H_CUDA(cudaDeviceSynchronize());
    const std::vector<float> alone = harness::download(y1, per, 1);
    const std::vector<float> inBatch(got.begin() + last * per, got.end());
    harness::check(std::string(b.name) + " n=" + std::to_string(n) + " " + t.name + " last image = alone", harness::relError(inBatch, alone), 0);
    cudaFree(y1);
    cudaFree(y);
  }
  cudaFree(chain);
  cudaFree(e);
  cudaFree(dd);
}

//! The fused tactics beside the chain of the fastest own/stage conv tactics (what the builder compares).
void perf(const Block& b, int n) {
  const MBConvParams p = paramsOf(b, n);
  const Data d = makeData(p, b.residual, 7);
  const Device dev(d);
  void* y = harness::poisoned(size_t(n) * p.p * p.q * p.k, 1);
  void* e = harness::poisoned(size_t(n) * p.h * p.w * p.e, 1);
  void* dd = harness::poisoned(size_t(n) * p.p * p.q * p.e, 1);
  float best = INFINITY;
  std::string bestName = "-", each;
  for (const auto& t : ntrt::kernels::mbconvTactics(p, DType::F16)) {
    const float ms = harness::timeMs([&] { ntrt::kernels::mbconv(t.name, p, DType::F16, dev.io(y), nullptr); });
    if (ms < best) best = ms, bestName = t.name;
    char buf[64];
    std::snprintf(buf, sizeof buf, " %s %.4f", t.name.c_str(), ms);
    each += buf;
  }
  const std::array<ConvParams, 3> stages = stageParams(p);
  const void* ins[3] = {dev.x, e, dd};
  const void* ws[3] = {dev.w1, dev.wd, dev.w2};
  void* outs[3] = {e, dd, y};
  float chain = 0;
  for (int j = 0; j < 3; ++j) {
    Epilogue ep;
    ep.bias = static_cast<const float*>(j == 0 ? dev.b1 : j == 1 ? dev.bd : dev.b2);
    ep.residual = j == 2 ? dev.res : nullptr;
    float stageBest = INFINITY;
    std::string stageName = "-";
    for (const auto& t : ntrt::kernels::convTactics(stages[j], DType::F16)) {
      if (t.workspace) continue;
      const float ms = harness::timeMs([&] { ntrt::kernels::conv(t.name, stages[j], DType::F16, ins[j], ws[j], outs[j], ep, nullptr, 0, nullptr); });
      if (ms < stageBest) stageBest = ms, stageName = t.name;
    }
    chain += stageBest;
    char buf[96];
    std::snprintf(buf, sizeof buf, " %s %.4f", stageName.c_str(), stageBest);
    each += (j == 0 ? " | chain" : "") + std::string(buf);
  }
  std::printf("%-34s n=%-4d fused %8.4f ms (%-11s)  chain %8.4f ms  %s\n   %s\n", b.name, n, best, bestName.c_str(), chain,
              best < chain ? "fused wins" : "chain wins", each.c_str());
  cudaFree(y);
  cudaFree(e);
  cudaFree(dd);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && !std::strcmp(argv[1], "--quick");
  const bool perfOnly = argc > 1 && !std::strcmp(argv[1], "--perf");
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("test_mbconv: no CUDA device, skipped\n");
    return 0;
  }
  if (!perfOnly) {
    for (int n : {1, 32, 256}) {
      if (quick && n == 256) continue;
      for (const Block& b : kMobileNetV2) correctness(b, n);
    }
    for (const Block& b : kOthers) {
      correctness(b, 1);
      correctness(b, 3);
    }
    for (const Block& b : kMobileNetV2) wholeBatch(b, quick ? 32 : 256);
    // Bad input: an unknown tactic and an unsuitable block are coded errors, not launches.
    const MBConvParams p = paramsOf(kMobileNetV2[0], 1);
    auto threw = [&](const char* tactic, MBConvParams q) {
      try {
        ntrt::kernels::mbconv(tactic, q, DType::F16, MBConvTensors{}, nullptr);
      } catch (const ntrt::Error& e) {
        return std::string(e.code()) == "ERR_INVALID_ARGUMENT";
      }
      return false;
    };
    MBConvParams odd = p;
    odd.c = 12;
    harness::check("unknown tactic is ERR_INVALID_ARGUMENT", threw("mbconv_9x9", p) ? 0 : 1, 0);
    harness::check("c % 8 != 0 is refused", threw("mbconv_8x8", odd) ? 0 : 1, 0);
    harness::check("fp32 offers no fused tactic", ntrt::kernels::mbconvTactics(p, DType::F32).empty() ? 0 : 1, 0);
    // The builder's agreement check (fused tactic vs chain): sums of squares and non-finite values.
    std::vector<float> ref(100003), twice(ref.size());
    harness::Rng(5).fill(ref);
    double want = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      ref[i] = harness::roundHalf(ref[i]);
      twice[i] = 2 * ref[i];
      want += double(ref[i]) * ref[i];
    }
    std::vector<float> poisoned = twice;
    poisoned[77777] = NAN;
    void *dr = harness::upload(ref, 1), *dt = harness::upload(twice, 1), *dp = harness::upload(poisoned, 1);
    double* sums = nullptr;
    H_CUDA(cudaMalloc(&sums, 3 * sizeof(double)));
    auto compare = [&](const void* a) {
      std::vector<double> h(3);
      ntrt::kernels::compareTensors(DType::F16, int64_t(ref.size()), a, dr, sums, nullptr);
      H_CUDA(cudaMemcpy(h.data(), sums, 3 * sizeof(double), cudaMemcpyDeviceToHost));
      return h;
    };
    const std::vector<double> same = compare(dr), two = compare(dt), nan = compare(dp);
    harness::check("compareTensors: equal tensors", same[0] + same[2], 0);
    harness::check("compareTensors: 2x differs by the reference's norm", std::abs(two[0] / want - 1) + std::abs(two[1] / want - 1), 1e-9);
    harness::check("compareTensors: counts a NaN", std::abs(nan[2] - 1), 0);
    for (void* q : {dr, dt, dp}) cudaFree(q);
    cudaFree(sums);
  }
  if (!quick) {
    std::printf("\nfused kernel vs chain of the fastest own conv tactics (H200/H100):\n");
    // test_mbconv --perf [block-name-prefix [batch]]: one block (for ncu), or all of them at 1, 32 and 256.
    const char* only = perfOnly && argc > 2 ? argv[2] : nullptr;
    const int onlyN = perfOnly && argc > 3 ? std::atoi(argv[3]) : 0;
    for (int n : {1, 32, 256})
      for (const Block& b : kMobileNetV2)
        if ((!only || !std::strncmp(b.name, only, std::strlen(only))) && (!onlyN || n == onlyN)) perf(b, n);
  }
  return harness::finish();
}
