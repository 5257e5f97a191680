// Timing of every offered FP16 tactic on the convolution layers of torchvision MobileNetV2 and ResNet-50
// (the classifier as a 1×1 convolution) at batch 1, 32 and 256, against an H100 roofline.
#pragma once
#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "conv_host_checks.cuh"
#include "conv_ref.cuh"
#include "harness.h"

namespace convtest {

constexpr double kPeakFlops = 700e12;  // dense FP16 tensor-core peak assumed for the floor
constexpr double kPeakBytes = 3.0e12;  // HBM3 bandwidth assumed for the floor

//! One distinct layer shape of a network and how many times it occurs (per image: n is set per batch).
struct Layer {
  const char* name;
  int count, h, w, c, k, r, stride, pad, groups;
  Act act;
  bool residual;
  bool fc;  // a fully connected layer: n = batch rows of h = w = 1
};

inline std::vector<Layer> resnet50() {
  const Act R = Act::Relu, N = Act::None;
  return {
      {"conv1 7x7/2", 1, 224, 224, 3, 64, 7, 2, 3, 1, R, false, false},
      {"l1 1x1 64>64", 1, 56, 56, 64, 64, 1, 1, 0, 1, R, false, false},
      {"l1 1x1 256>64", 2, 56, 56, 256, 64, 1, 1, 0, 1, R, false, false},
      {"l1 3x3 64", 3, 56, 56, 64, 64, 3, 1, 1, 1, R, false, false},
      {"l1 1x1 64>256 +res", 3, 56, 56, 64, 256, 1, 1, 0, 1, R, true, false},
      {"l1 down 64>256", 1, 56, 56, 64, 256, 1, 1, 0, 1, N, false, false},
      {"l2 1x1 256>128", 1, 56, 56, 256, 128, 1, 1, 0, 1, R, false, false},
      {"l2 3x3/2 128", 1, 56, 56, 128, 128, 3, 2, 1, 1, R, false, false},
      {"l2 1x1 512>128", 3, 28, 28, 512, 128, 1, 1, 0, 1, R, false, false},
      {"l2 3x3 128", 3, 28, 28, 128, 128, 3, 1, 1, 1, R, false, false},
      {"l2 1x1 128>512 +res", 4, 28, 28, 128, 512, 1, 1, 0, 1, R, true, false},
      {"l2 down/2 256>512", 1, 56, 56, 256, 512, 1, 2, 0, 1, N, false, false},
      {"l3 1x1 512>256", 1, 28, 28, 512, 256, 1, 1, 0, 1, R, false, false},
      {"l3 3x3/2 256", 1, 28, 28, 256, 256, 3, 2, 1, 1, R, false, false},
      {"l3 1x1 1024>256", 5, 14, 14, 1024, 256, 1, 1, 0, 1, R, false, false},
      {"l3 3x3 256", 5, 14, 14, 256, 256, 3, 1, 1, 1, R, false, false},
      {"l3 1x1 256>1024 +res", 6, 14, 14, 256, 1024, 1, 1, 0, 1, R, true, false},
      {"l3 down/2 512>1024", 1, 28, 28, 512, 1024, 1, 2, 0, 1, N, false, false},
      {"l4 1x1 1024>512", 1, 14, 14, 1024, 512, 1, 1, 0, 1, R, false, false},
      {"l4 3x3/2 512", 1, 14, 14, 512, 512, 3, 2, 1, 1, R, false, false},
      {"l4 1x1 2048>512", 2, 7, 7, 2048, 512, 1, 1, 0, 1, R, false, false},
      {"l4 3x3 512", 2, 7, 7, 512, 512, 3, 1, 1, 1, R, false, false},
      {"l4 1x1 512>2048 +res", 3, 7, 7, 512, 2048, 1, 1, 0, 1, R, true, false},
      {"l4 down/2 1024>2048", 1, 14, 14, 1024, 2048, 1, 2, 0, 1, N, false, false},
      {"fc 2048>1000", 1, 1, 1, 2048, 1000, 1, 1, 0, 1, N, false, true},
  };
}

inline std::vector<Layer> mobilenetV2() {
  const Act C = Act::Clip, N = Act::None;  // ReLU6 = Clip(0, 6)
  return {
      {"conv0 3x3/2 3>32", 1, 224, 224, 3, 32, 3, 2, 1, 1, C, false, false},
      {"b1 dw 32", 1, 112, 112, 32, 32, 3, 1, 1, 32, C, false, false},
      {"b1 pw 32>16", 1, 112, 112, 32, 16, 1, 1, 0, 1, N, false, false},
      {"b2 exp 16>96", 1, 112, 112, 16, 96, 1, 1, 0, 1, C, false, false},
      {"b2 dw/2 96", 1, 112, 112, 96, 96, 3, 2, 1, 96, C, false, false},
      {"b2 pw 96>24", 1, 56, 56, 96, 24, 1, 1, 0, 1, N, false, false},
      {"b3 exp 24>144", 2, 56, 56, 24, 144, 1, 1, 0, 1, C, false, false},
      {"b3 dw 144", 1, 56, 56, 144, 144, 3, 1, 1, 144, C, false, false},
      {"b3 pw 144>24 +res", 1, 56, 56, 144, 24, 1, 1, 0, 1, N, true, false},
      {"b4 dw/2 144", 1, 56, 56, 144, 144, 3, 2, 1, 144, C, false, false},
      {"b4 pw 144>32", 1, 28, 28, 144, 32, 1, 1, 0, 1, N, false, false},
      {"b5 exp 32>192", 3, 28, 28, 32, 192, 1, 1, 0, 1, C, false, false},
      {"b5 dw 192", 2, 28, 28, 192, 192, 3, 1, 1, 192, C, false, false},
      {"b5 pw 192>32 +res", 2, 28, 28, 192, 32, 1, 1, 0, 1, N, true, false},
      {"b7 dw/2 192", 1, 28, 28, 192, 192, 3, 2, 1, 192, C, false, false},
      {"b7 pw 192>64", 1, 14, 14, 192, 64, 1, 1, 0, 1, N, false, false},
      {"b8 exp 64>384", 4, 14, 14, 64, 384, 1, 1, 0, 1, C, false, false},
      {"b8 dw 384", 4, 14, 14, 384, 384, 3, 1, 1, 384, C, false, false},
      {"b8 pw 384>64 +res", 3, 14, 14, 384, 64, 1, 1, 0, 1, N, true, false},
      {"b11 pw 384>96", 1, 14, 14, 384, 96, 1, 1, 0, 1, N, false, false},
      {"b12 exp 96>576", 3, 14, 14, 96, 576, 1, 1, 0, 1, C, false, false},
      {"b12 dw 576", 2, 14, 14, 576, 576, 3, 1, 1, 576, C, false, false},
      {"b12 pw 576>96 +res", 2, 14, 14, 576, 96, 1, 1, 0, 1, N, true, false},
      {"b14 dw/2 576", 1, 14, 14, 576, 576, 3, 2, 1, 576, C, false, false},
      {"b14 pw 576>160", 1, 7, 7, 576, 160, 1, 1, 0, 1, N, false, false},
      {"b15 exp 160>960", 3, 7, 7, 160, 960, 1, 1, 0, 1, C, false, false},
      {"b15 dw 960", 3, 7, 7, 960, 960, 3, 1, 1, 960, C, false, false},
      {"b15 pw 960>160 +res", 2, 7, 7, 960, 160, 1, 1, 0, 1, N, true, false},
      {"b17 pw 960>320", 1, 7, 7, 960, 320, 1, 1, 0, 1, N, false, false},
      {"conv18 320>1280", 1, 7, 7, 320, 1280, 1, 1, 0, 1, C, false, false},
      {"fc 1280>1000", 1, 1, 1, 1280, 1000, 1, 1, 0, 1, N, false, true},
  };
}

inline ConvParams layerParams(const Layer& l, int batch) {
  return makeParams(batch, l.h, l.w, l.c, l.k, l.r, l.r, l.stride, l.stride, l.pad, l.pad, 1, 1, l.groups);
}

//! Bytes a layer must move at least once: input, weights, output, residual (FP16) and bias (FP32).
inline double layerBytes(const ConvParams& p, bool residual) {
  return 2.0 * (inputCount(p) + weightCount(p) + outputCount(p) * (residual ? 2 : 1)) + 4.0 * p.k;
}

//! The runtime looks a plan's tactic up again at other batch sizes: offered names must not depend on n.
inline void checkTacticListsIgnoreBatch() {
  for (const auto& net : {resnet50(), mobilenetV2()})
    for (const Layer& l : net) {
      std::vector<std::string> a, b;
      for (auto& t : ntrt::kernels::convTactics(layerParams(l, 1), DType::F16)) a.push_back(t.name);
      for (auto& t : ntrt::kernels::convTactics(layerParams(l, 256), DType::F16)) b.push_back(t.name);
      hostCheck(std::string("tactic list independent of the batch: ") + l.name, a == b);
    }
}

//! Median time of one tactic in ms: a single timed run sizes the repetitions to about 30 ms.
template <typename F>
float timeTactic(F&& run) {
  const float once = harness::timeMs(run, 1, 1);
  const int reps = std::max(3, std::min(25, static_cast<int>(30.f / std::max(once, 1e-3f))));
  return harness::timeMs(run, 2, reps);
}

struct NetTotals {
  double best = 0, floor = 0;
};

inline NetTotals timeNetwork(const char* net, const std::vector<Layer>& layers, int batch) {
  std::printf("\n=== %s, batch %d, FP16 ===\n", net, batch);
  std::printf("%-22s %4s %9s %9s %8s %8s %6s  %s\n", "layer", "x", "best us", "floor us", "TFLOP/s", "GB/s", "floor%",
              "best tactic | every tactic (us)");
  NetTotals tot;
  for (const Layer& l : layers) {
    const ConvParams p = l.fc ? makeParams(batch, 1, 1, l.c, l.k, 1, 1, 1, 1, 0, 0) : layerParams(l, batch);
    const size_t nx = inputCount(p), nw = weightCount(p), ny = outputCount(p);
    harness::Rng rng(5);
    std::vector<float> hb(p.k);
    rng.fill(hb, 0.1f);
    void *x, *w, *y, *res = nullptr, *ws = nullptr;
    H_CUDA(cudaMalloc(&x, nx * 2));
    H_CUDA(cudaMalloc(&w, nw * 2));
    H_CUDA(cudaMalloc(&y, ny * 2));
    H_CUDA(cudaMemset(x, 0x3c, nx * 2));  // 0x3c3c ≈ 1.06 in fp16: no zeros, no denormals
    H_CUDA(cudaMemset(w, 0x1c, nw * 2));  // 0x1c1c ≈ 0.004
    if (l.residual) {
      H_CUDA(cudaMalloc(&res, ny * 2));
      H_CUDA(cudaMemset(res, 0x3c, ny * 2));
    }
    void* bias = harness::upload(hb, 0);
    const std::vector<Tactic> tactics = ntrt::kernels::convTactics(p, DType::F16);
    size_t wsBytes = 0;
    for (auto& t : tactics) wsBytes = std::max(wsBytes, t.workspace);
    if (wsBytes) H_CUDA(cudaMalloc(&ws, wsBytes));
    ntrt::kernels::Epilogue ep;
    ep.act = l.act, ep.alpha = 0.f, ep.beta = 6.f;
    ep.bias = static_cast<const float*>(bias);
    ep.residual = res;
    std::vector<std::pair<float, std::string>> times;
    for (auto& t : tactics) {
      auto run = [&] { ntrt::kernels::conv(t.name, p, DType::F16, x, w, y, ep, ws, wsBytes, nullptr); };
      times.push_back({timeTactic(run) * 1000.f, t.name});
    }
    H_CUDA(cudaDeviceSynchronize());
    std::sort(times.begin(), times.end());
    const double bestUs = times.empty() ? 0 : times[0].first;
    const double fl = flops(p), by = layerBytes(p, l.residual);
    const double floorUs = std::max(fl / kPeakFlops, by / kPeakBytes) * 1e6;
    tot.best += bestUs * l.count;
    tot.floor += floorUs * l.count;
    std::printf("%-22s %4d %9.1f %9.1f %8.1f %8.0f %5.0f%%  %s |", l.name, l.count, bestUs, floorUs, fl / bestUs * 1e-6,
                by / bestUs * 1e-3, 100.0 * floorUs / bestUs, times.empty() ? "-" : times[0].second.c_str());
    for (auto& t : times) std::printf(" %s:%.1f", t.second.c_str(), t.first);
    std::printf("\n");
    for (void* d : {x, w, y, res, ws, bias}) cudaFree(d);
  }
  std::printf("%s batch %d: sum of best %.3f ms, sum of roofline floors %.3f ms (%.0f%% of floor)\n", net, batch,
              tot.best / 1000, tot.floor / 1000, 100.0 * tot.floor / std::max(tot.best, 1e-9));
  return tot;
}

inline void runPerf() {
  struct Row {
    const char* net;
    int batch;
    NetTotals t;
    double torchMs;  // PyTorch 2.11 + cuDNN, whole network, for scale (0: not measured)
  };
  std::vector<Row> rows;
  for (int batch : {1, 32, 256}) {
    rows.push_back({"MobileNetV2", batch, timeNetwork("MobileNetV2", mobilenetV2(), batch),
                    batch == 1 ? 0.625 : batch == 32 ? 1.56 : 9.47});
    rows.push_back({"ResNet-50", batch, timeNetwork("ResNet-50", resnet50(), batch),
                    batch == 1 ? 0.933 : batch == 256 ? 18.3 : 0});
  }
  std::printf("\n=== summary: convolution layers only (sum over layers of the best tactic) ===\n");
  std::printf("%-12s %6s %12s %12s %16s\n", "network", "batch", "convs ms", "floor ms", "PyTorch net ms");
  for (const Row& r : rows) {
    std::printf("%-12s %6d %12.3f %12.3f %16s\n", r.net, r.batch, r.t.best / 1000, r.t.floor / 1000,
                r.torchMs > 0 ? std::to_string(r.torchMs).substr(0, 5).c_str() : "-");
  }
}

}  // namespace convtest
