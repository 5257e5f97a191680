// Convolution kernels: host checks of the index math, then every tactic of every shape against a double-precision
// CPU reference (F16 and F32, each epilogue), error paths, CUDA-graph capture, two threads at once, and a timing
// table of MobileNetV2 / ResNet-50 layers against the H100 roofline.
//   test_conv            everything
//   test_conv --quick    a reduced correctness set, no timing
//   test_conv --host     host checks only (no GPU needed)
//   test_conv --perf     timing only
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../../../cuda/error.h"
#include "conv_host_checks.cuh"
#include "conv_perf.cuh"
#include "conv_ref.cuh"
#include "harness.h"

using namespace convtest;
using ntrt::kernels::Epilogue;
using ntrt::kernels::Tactic;

namespace {

std::vector<std::string> g_failed;

void record(const std::string& name, double err, double tol) {
  ++harness::cases();
  if (!(err <= tol)) {
    ++harness::failures();
    g_failed.push_back(name);
    std::printf("FAIL %-70s err=%.3e tol=%.1e\n", name.c_str(), err, tol);
  }
}

struct EpiCfg {
  Act act;
  float alpha, beta;
  bool bias, residual;
};

//! Every activation with its usual parameters; the cases rotate through them.
const EpiCfg kActs[] = {{Act::None, 0, 0, true, false},       {Act::Relu, 0, 0, true, true},
                        {Act::Clip, 0, 6, true, false},       {Act::LeakyRelu, 0.1f, 0, false, true},
                        {Act::Sigmoid, 0, 0, true, true},     {Act::HardSigmoid, 0.2f, 0.5f, true, false},
                        {Act::HardSwish, 0, 0, true, true},   {Act::Tanh, 0, 0, false, false},
                        {Act::Silu, 0, 0, true, true}};

struct Case {
  const char* name;
  ConvParams p;
  bool quick;  // part of the --quick set
};

std::vector<Case> cases() {
  return {
      {"1x1", makeParams(2, 7, 9, 64, 72, 1, 1, 1, 1, 0, 0), true},
      {"1x1-tails", makeParams(1, 5, 3, 24, 40, 1, 1, 1, 1, 0, 0), false},
      {"1x1-s2", makeParams(2, 14, 13, 32, 64, 1, 1, 2, 2, 0, 0), true},
      {"1x1-pad1", makeParams(1, 6, 6, 8, 8, 1, 1, 1, 1, 1, 1), false},
      {"3x3", makeParams(2, 13, 11, 32, 48, 3, 3, 1, 1, 1, 1), true},
      {"3x3-s2", makeParams(1, 17, 15, 64, 96, 3, 3, 2, 2, 1, 1), false},
      {"3x3-c16", makeParams(1, 9, 10, 16, 16, 3, 3, 1, 1, 1, 1), false},
      {"3x3-s2-c8", makeParams(2, 11, 9, 8, 24, 3, 3, 2, 2, 1, 1), false},
      {"3x3-pad0", makeParams(3, 5, 5, 8, 8, 3, 3, 1, 1, 0, 0), false},
      {"3x3-k13", makeParams(1, 8, 7, 32, 13, 3, 3, 1, 1, 1, 1), true},
      {"1x1-k12", makeParams(2, 6, 5, 64, 12, 1, 1, 1, 1, 0, 0), false},
      // wgmma: nine k-tiles through a four-stage ring (each slot refilled twice), and c = 24 inside one 64-wide box.
      {"1x1-c576", makeParams(2, 9, 11, 576, 160, 1, 1, 1, 1, 0, 0), true},
      {"1x1-c24-k144", makeParams(3, 10, 13, 24, 144, 1, 1, 1, 1, 0, 0), true},
      {"3x3-big", makeParams(1, 28, 28, 128, 128, 3, 3, 1, 1, 1, 1), false},
      {"first-c3-3x3s2", makeParams(2, 33, 31, 3, 32, 3, 3, 2, 2, 1, 1), true},
      {"first-c3-7x7s2", makeParams(1, 45, 45, 3, 64, 7, 7, 2, 2, 3, 3), true},
      {"first-c4-k8", makeParams(3, 19, 21, 4, 8, 3, 3, 2, 2, 1, 1), true},
      {"5x5", makeParams(1, 12, 12, 16, 24, 5, 5, 1, 1, 2, 2), false},
      {"dil2", makeParams(1, 16, 16, 16, 32, 3, 3, 1, 1, 2, 2, 2, 2), true},
      {"s3-pad2", makeParams(1, 20, 19, 16, 16, 3, 3, 3, 3, 2, 2), false},
      {"1x7", makeParams(1, 9, 12, 16, 16, 1, 7, 1, 1, 0, 3), false},
      {"groups2", makeParams(1, 10, 10, 16, 32, 3, 3, 1, 1, 1, 1, 1, 1, 2), true},
      {"groups4-1x1", makeParams(2, 5, 6, 32, 16, 1, 1, 1, 1, 0, 0, 1, 1, 4), false},
      {"dw3-s1", makeParams(2, 14, 15, 96, 96, 3, 3, 1, 1, 1, 1, 1, 1, 96), true},
      {"dw3-s2", makeParams(2, 15, 14, 144, 144, 3, 3, 2, 2, 1, 1, 1, 1, 144), true},
      {"dw5-s1", makeParams(1, 9, 11, 40, 40, 5, 5, 1, 1, 2, 2, 1, 1, 40), false},
      {"dw5-s2", makeParams(1, 16, 16, 24, 24, 5, 5, 2, 2, 2, 2, 1, 1, 24), false},
      {"dw3-c6", makeParams(1, 7, 9, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6), false},
      {"dw3-c5", makeParams(1, 7, 9, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5), false},
      {"dw3-dil2", makeParams(1, 12, 12, 32, 32, 3, 3, 1, 1, 2, 2, 2, 2, 32), false},
      {"dw5-dil2", makeParams(2, 13, 14, 48, 48, 5, 5, 1, 1, 4, 4, 2, 2, 48), true},  // DeepLab's atrous backbone
      {"dw3-s2-dil3", makeParams(1, 17, 16, 16, 16, 3, 3, 2, 2, 3, 3, 3, 3, 16), false},
      {"gemm-m1", makeParams(1, 1, 1, 1280, 1000, 1, 1, 1, 1, 0, 0), true},
      {"gemm-m7", makeParams(7, 1, 1, 256, 72, 1, 1, 1, 1, 0, 0), false},
      {"gemm-m256", makeParams(256, 1, 1, 1280, 1000, 1, 1, 1, 1, 0, 0), false},
      {"gemm-odd", makeParams(3, 1, 1, 100, 37, 1, 1, 1, 1, 0, 0), false},
      {"l4-1x1", makeParams(2, 7, 7, 512, 2048, 1, 1, 1, 1, 0, 0), false},
  };
}

//! Valid-but-not-offered tactics worth running too (skipped where conv refuses them).
const char* kExtras[] = {"direct", "gemv", "tcg_64x64x32", "tc_64x64x64_s3_sk16", "simt_64x64_sk16"};

void testCase(const Case& c, DType t, bool quick, int caseIndex) {
  const ConvParams& p = c.p;
  const int dt = t == DType::F16 ? 1 : 0;
  const double tol = t == DType::F16 ? 1e-2 : 1e-4;
  const size_t nx = inputCount(p), nw = weightCount(p), ny = outputCount(p);
  harness::Rng rng(1000 + caseIndex * 2 + dt);
  std::vector<float> x(nx), w(nw), bias(p.k), res(ny);
  rng.fill(x);
  rng.fill(w, 1.f / std::sqrt(float(p.r * p.s * (p.c / p.groups))));
  rng.fill(bias, 0.5f);
  rng.fill(res);
  if (t == DType::F16) {
    for (auto* v : {&x, &w, &res})
      for (auto& e : *v) e = harness::roundHalf(e);
  }
  const std::vector<double> ref = referenceConv(p, x, w);
  void* dx = harness::upload(x, dt);
  void* dw = harness::upload(w, dt);
  void* db = harness::upload(bias, 0);
  void* dr = harness::upload(res, dt);
  const size_t esz = t == DType::F16 ? 2 : 4, guard = 4096;
  void* dy = nullptr;
  H_CUDA(cudaMalloc(&dy, ny * esz + guard));
  const size_t wsBytes = 16 * ny * 4 + 256;
  void* dws = nullptr;
  H_CUDA(cudaMalloc(&dws, wsBytes));

  std::vector<Tactic> list = ntrt::kernels::convTactics(p, t);
  const size_t listed = list.size();
  if (listed == 0) record(std::string(c.name) + " has tactics", 1, 0);
  for (const char* e : kExtras) {
    bool have = false;
    for (auto& l : list) have = have || l.name == e;
    if (!have) list.push_back({e, wsBytes});
  }
  std::vector<EpiCfg> epis;
  if (!quick) epis.push_back({Act::None, 0, 0, false, false});
  epis.push_back(kActs[1]);
  if (!quick) epis.push_back(kActs[2 + caseIndex % (std::size(kActs) - 2)]);

  int ran = 0;
  for (size_t ti = 0; ti < list.size(); ++ti) {
    const Tactic& tac = list[ti];
    for (const EpiCfg& e : epis) {
      std::vector<float> expect(ny);
      for (size_t i = 0; i < ny; ++i) {
        double v = ref[i] + (e.bias ? bias[i % p.k] : 0.0) + (e.residual ? res[i] : 0.0);
        expect[i] = static_cast<float>(actHost(e.act, v, e.alpha, e.beta));
      }
      Epilogue ep;
      ep.act = e.act, ep.alpha = e.alpha, ep.beta = e.beta;
      ep.bias = e.bias ? static_cast<const float*>(db) : nullptr;
      ep.residual = e.residual ? dr : nullptr;
      H_CUDA(cudaMemset(dy, 0xff, ny * esz + guard));
      const std::string name = std::string(c.name) + (dt ? " f16 " : " f32 ") + tac.name + " " + actName(e.act) +
                               (e.bias ? "+b" : "") + (e.residual ? "+r" : "");
      try {
        ntrt::kernels::conv(tac.name, p, t, dx, dw, dy, ep, tac.workspace ? dws : nullptr, tac.workspace, nullptr);
      } catch (const ntrt::Error& err) {
        if (ti >= listed && err.code() == "ERR_INVALID_ARGUMENT") break;  // an extra that does not apply
        record(name + " threw " + err.code() + ": " + err.what(), 1, 0);
        continue;
      }
      const cudaError_t ke = cudaDeviceSynchronize();
      if (ke != cudaSuccess) {
        std::printf("FATAL %s: %s (%s)\n", name.c_str(), cudaGetErrorName(ke), describe(p).c_str());
        std::exit(3);
      }
      ++ran;
      std::vector<float> got = harness::download(dy, ny, dt);
      std::vector<unsigned char> tail(guard);
      H_CUDA(cudaMemcpy(tail.data(), static_cast<char*>(dy) + ny * esz, guard, cudaMemcpyDeviceToHost));
      bool clean = true;
      for (unsigned char b : tail) clean = clean && b == 0xff;
      record(name + " (" + describe(p) + ")", clean ? harness::relError(got, expect) : INFINITY, tol);
    }
  }
  std::printf("ok   %-16s %s %-40s %d runs of %zu offered tactics\n", c.name, dt ? "f16" : "f32", describe(p).c_str(),
              ran, listed);
  for (void* d : {dx, dw, db, dr, dy, dws}) cudaFree(d);
}

template <typename F>
bool throwsCode(F&& f, const char* code) {
  try {
    f();
  } catch (const ntrt::Error& e) {
    return e.code() == code;
  }
  return false;
}

void testErrors() {
  const ConvParams p = makeParams(1, 8, 8, 16, 16, 3, 3, 1, 1, 1, 1);
  void *x, *w, *y, *ws;
  H_CUDA(cudaMalloc(&x, 1 << 16));
  H_CUDA(cudaMalloc(&w, 1 << 16));
  H_CUDA(cudaMalloc(&y, 1 << 16));
  H_CUDA(cudaMalloc(&ws, 1 << 16));
  Epilogue ep;
  auto run = [&](const char* name, DType t, const ConvParams& q, void* yy, void* wsp, size_t wsb) {
    return [=] { ntrt::kernels::conv(name, q, t, x, w, yy, ep, wsp, wsb, nullptr); };
  };
  record("error: unknown tactic", !throwsCode(run("no_such_tactic", DType::F16, p, y, nullptr, 0), "ERR_INVALID_ARGUMENT"), 0);
  record("error: tensor-core tactic on float32",
         !throwsCode(run("tc_64x64x32_s4", DType::F32, p, y, nullptr, 0), "ERR_INVALID_ARGUMENT"), 0);
  record("error: simt tactic on float16", !throwsCode(run("simt_128x64", DType::F16, p, y, nullptr, 0), "ERR_INVALID_ARGUMENT"), 0);
  record("error: depthwise tactic on a dense conv",
         !throwsCode(run("dw_b16_px4", DType::F16, p, y, nullptr, 0), "ERR_INVALID_ARGUMENT"), 0);
  record("error: split-K without workspace",
         !throwsCode(run("tc_64x64x64_s3_sk4", DType::F16, p, y, nullptr, 0), "ERR_INVALID_ARGUMENT"), 0);
  record("error: split-K with too little workspace",
         !throwsCode(run("tc_64x64x64_s3_sk4", DType::F16, p, y, ws, 64), "ERR_INVALID_ARGUMENT"), 0);
  record("error: misaligned output",
         !throwsCode(run("tc_64x64x32_s4", DType::F16, p, static_cast<char*>(y) + 2, nullptr, 0), "ERR_INVALID_ARGUMENT"), 0);
  ConvParams bad = p;
  bad.groups = 3;
  record("error: groups not dividing c", !throwsCode([&] { ntrt::kernels::convTactics(bad, DType::F16); }, "ERR_INVALID_ARGUMENT"), 0);
  record("error: int8 convolution", !throwsCode([&] { ntrt::kernels::convTactics(p, DType::I8); }, "ERR_INVALID_ARGUMENT"), 0);
  for (void* d : {x, w, y, ws}) cudaFree(d);
}

//! The process's first convolutions are captured into a CUDA graph (so any one-time setup happens inside a
//! capture), replayed, and compared with direct launches; then two host threads run them concurrently.
void testGraphAndThreads() {
  const ConvParams p = makeParams(1, 7, 7, 256, 128, 3, 3, 1, 1, 1, 1);
  const size_t nx = inputCount(p), nw = weightCount(p), ny = outputCount(p);
  harness::Rng rng(99);
  std::vector<float> x(nx), w(nw);
  rng.fill(x);
  rng.fill(w, 0.05f);
  void* dx = harness::upload(x, 1);
  void* dw = harness::upload(w, 1);
  void* ws = nullptr;
  const size_t wsb = 16 * ny * 4 + 256;
  H_CUDA(cudaMalloc(&ws, wsb));
  const char* names[2] = {"tc_128x128x64_s3", "tc_64x64x64_s3_sk4"};
  Epilogue ep;
  ep.act = Act::Relu;
  cudaStream_t s;
  H_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  void* ys[2] = {harness::poisoned(ny, 1), harness::poisoned(ny, 1)};
  cudaGraph_t g = nullptr;
  H_CUDA(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  std::string captureError;
  try {
    for (int i = 0; i < 2; ++i) ntrt::kernels::conv(names[i], p, DType::F16, dx, dw, ys[i], ep, ws, wsb, s);
  } catch (const ntrt::Error& e) {
    captureError = e.code() + ": " + e.what();
  }
  const cudaError_t endErr = cudaStreamEndCapture(s, &g);
  record("first convolutions inside a graph capture " + captureError,
         captureError.empty() && endErr == cudaSuccess ? 0 : 1, 0);
  if (captureError.empty() && endErr == cudaSuccess) {
    cudaGraphExec_t ge;
    H_CUDA(cudaGraphInstantiate(&ge, g, 0));
    for (int rep = 0; rep < 3; ++rep) H_CUDA(cudaGraphLaunch(ge, s));
    H_CUDA(cudaStreamSynchronize(s));
    cudaGraphExecDestroy(ge);
  }
  if (g) cudaGraphDestroy(g);
  cudaStreamDestroy(s);
  (void)cudaGetLastError();
  std::vector<float> refs[2];
  for (int i = 0; i < 2; ++i) {
    void* y = harness::poisoned(ny, 1);
    ntrt::kernels::conv(names[i], p, DType::F16, dx, dw, y, ep, ws, wsb, nullptr);
    H_CUDA(cudaDeviceSynchronize());
    refs[i] = harness::download(y, ny, 1);
    cudaFree(y);
    record(std::string("graph replay ") + names[i], harness::relError(harness::download(ys[i], ny, 1), refs[i]), 1e-6);
  }
  // Both tactics agree with each other (and the per-tactic tests check them against the CPU).
  record("graph tactics agree", harness::relError(refs[1], refs[0]), 1e-2);

  double errs[2] = {0, 0};
  auto worker = [&](int i) {
    cudaStream_t st;
    H_CUDA(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    void* wsi = nullptr;
    H_CUDA(cudaMalloc(&wsi, wsb));
    for (int rep = 0; rep < 20; ++rep) {
      H_CUDA(cudaMemsetAsync(ys[i], 0xff, ny * 2, st));
      ntrt::kernels::conv(names[(i + rep) % 2], p, DType::F16, dx, dw, ys[i], ep, wsi, wsb, st);
      H_CUDA(cudaStreamSynchronize(st));
      errs[i] = std::max(errs[i], harness::relError(harness::download(ys[i], ny, 1), refs[(i + rep) % 2]));
    }
    cudaFree(wsi);
    cudaStreamDestroy(st);
  };
  std::thread t0(worker, 0), t1(worker, 1);
  t0.join();
  t1.join();
  record("two threads, two streams", std::max(errs[0], errs[1]), 1e-6);
  for (void* d : {dx, dw, ws, ys[0], ys[1]}) cudaFree(d);
}

}  // namespace

//! The wgmma tiles for 1×1 float16 GEMMs on compute capability 9.0 when this build has them (an sm_90a image that
//! failed to load would leave them silently unoffered), and never for other shapes.
void checkFamiliesOffered(int cc) {
  auto offers = [](const ConvParams& p, const char* prefix) {
    for (const Tactic& t : ntrt::kernels::convTactics(p, DType::F16))
      if (t.name.rfind(prefix, 0) == 0) return true;
    return false;
  };
#ifdef NTRT_HAVE_WGMMA
  if (cc == 90) hostCheck("wgmma tactics offered for a 1x1 float16 GEMM on sm_90", offers(makeParams(2, 7, 9, 64, 72, 1, 1, 1, 1, 0, 0), "wg_"));
#endif
  hostCheck("no wgmma tactic for a 3x3 convolution", !offers(makeParams(2, 13, 11, 32, 48, 3, 3, 1, 1, 1, 1), "wg_"));
}

int main(int argc, char** argv) {
  bool quick = false, hostOnly = false, perfOnly = false;
  for (int i = 1; i < argc; ++i) {
    quick = quick || !std::strcmp(argv[i], "--quick");
    hostOnly = hostOnly || !std::strcmp(argv[i], "--host");
    perfOnly = perfOnly || !std::strcmp(argv[i], "--perf");
  }
  runHostChecks();
  if (hostOnly) return harness::finish();
  int dev = 0;
  cudaDeviceProp prop{};
  if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&prop, dev) != cudaSuccess) {
    std::printf("no CUDA device: only the host checks ran\n");
    return harness::finish() ? 1 : 2;
  }
  std::printf("device: %s, cc %d.%d, %d SMs\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);
  if (!perfOnly) {
    testGraphAndThreads();  // first: it must be the process's first use of the kernels
    int idx = 0;
    for (const Case& c : cases()) {
      ++idx;
      if (quick && !c.quick) continue;
      for (DType t : {DType::F16, DType::F32}) testCase(c, t, quick, idx);
    }
    testErrors();
    checkTacticListsIgnoreBatch();
    checkFamiliesOffered(prop.major * 10 + prop.minor);
  }
  if (!quick) runPerf();
  if (!g_failed.empty()) {
    std::printf("\nFailed cases:\n");
    for (const auto& f : g_failed) std::printf("  %s\n", f.c_str());
  }
  const int rc = harness::finish();
  std::printf("test_conv: %d passed, %d failed\n", harness::cases() - harness::failures(), harness::failures());
  return rc;
}
