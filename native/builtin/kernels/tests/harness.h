// A tiny standalone harness for kernel tests on the GPU machine: seeded random data, CPU references,
// relative-error checks, poisoned outputs, and a one-line verdict per case. No framework needed.
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace harness {

inline int& failures() {
  static int n = 0;
  return n;
}
inline int& cases() {
  static int n = 0;
  return n;
}

#define H_CUDA(expr)                                                                              \
  do {                                                                                            \
    cudaError_t e_ = (expr);                                                                      \
    if (e_ != cudaSuccess) {                                                                      \
      std::fprintf(stderr, "CUDA error %s at %s:%d: %s\n", cudaGetErrorName(e_), __FILE__, __LINE__, #expr); \
      std::exit(2);                                                                               \
    }                                                                                             \
  } while (0)

//! Seeded uniform [-1, 1) values (never zeros-only).
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 6364136223846793005ULL + 1442695040888963407ULL) {}
  float next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<float>((s >> 40) * (1.0 / 16777216.0)) * 2.f - 1.f;
  }
  void fill(std::vector<float>& v, float scale = 1.f) {
    for (auto& x : v) x = next() * scale;
  }
};

inline float roundHalf(float x) { return __half2float(__float2half_rn(x)); }

//! Device copy of host floats as dtype (0 = f32, 1 = f16).
inline void* upload(const std::vector<float>& h, int dtype) {
  void* d = nullptr;
  size_t n = h.size();
  if (dtype == 0) {
    H_CUDA(cudaMalloc(&d, n * 4 + 16));
    H_CUDA(cudaMemcpy(d, h.data(), n * 4, cudaMemcpyHostToDevice));
  } else {
    std::vector<__half> t(n);
    for (size_t i = 0; i < n; ++i) t[i] = __float2half_rn(h[i]);
    H_CUDA(cudaMalloc(&d, n * 2 + 16));
    H_CUDA(cudaMemcpy(d, t.data(), n * 2, cudaMemcpyHostToDevice));
  }
  return d;
}

//! Device buffer of n elements of dtype, filled with NaN so unwritten outputs show.
inline void* poisoned(size_t n, int dtype) {
  void* d = nullptr;
  size_t bytes = n * (dtype == 0 ? 4 : 2) + 16;
  H_CUDA(cudaMalloc(&d, bytes));
  H_CUDA(cudaMemset(d, 0xff, bytes));  // 0xffff.. is NaN in f16 and f32
  return d;
}

inline std::vector<float> download(const void* d, size_t n, int dtype) {
  std::vector<float> h(n);
  if (dtype == 0) {
    H_CUDA(cudaMemcpy(h.data(), d, n * 4, cudaMemcpyDeviceToHost));
  } else {
    std::vector<__half> t(n);
    H_CUDA(cudaMemcpy(t.data(), d, n * 2, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < n; ++i) h[i] = __half2float(t[i]);
  }
  return h;
}

//! ‖got − ref‖ / ‖ref‖, with NaN anywhere counting as failure (returns +inf).
inline double relError(const std::vector<float>& got, const std::vector<float>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    double d = double(got[i]) - ref[i];
    num += d * d;
    den += double(ref[i]) * ref[i];
  }
  return std::sqrt(num / (den > 0 ? den : 1));
}

//! Records one case: passes when err ≤ tol. Prints "PASS|FAIL name err=… tol=…".
inline bool check(const std::string& name, double err, double tol) {
  ++cases();
  bool ok = err <= tol;
  if (!ok) ++failures();
  std::printf("%s %-60s err=%.3e tol=%.1e\n", ok ? "PASS" : "FAIL", name.c_str(), err, tol);
  return ok;
}

//! Median of `reps` timed runs of f() (after `warm` untimed ones), in ms, via CUDA events. A CUDA error is returned
//! (ms stays NaN) rather than ending the process, so a caller can report it and go on.
template <typename F>
cudaError_t tryTimeMs(F&& f, float& ms, int warm = 3, int reps = 20, cudaStream_t s = nullptr) {
  ms = NAN;
  cudaEvent_t a = nullptr, b = nullptr;
  cudaError_t e = cudaEventCreate(&a);
  if (e == cudaSuccess) e = cudaEventCreate(&b);
  for (int i = 0; i < warm && e == cudaSuccess; ++i) f();
  if (e == cudaSuccess) e = cudaStreamSynchronize(s);
  std::vector<float> t;
  for (int i = 0; i < reps && e == cudaSuccess; ++i) {
    float one = 0;
    e = cudaEventRecord(a, s);
    if (e == cudaSuccess) {
      f();
      e = cudaEventRecord(b, s);
    }
    if (e == cudaSuccess) e = cudaEventSynchronize(b);
    if (e == cudaSuccess) e = cudaEventElapsedTime(&one, a, b);
    t.push_back(one);
  }
  if (a) cudaEventDestroy(a);
  if (b) cudaEventDestroy(b);
  if (e != cudaSuccess || t.empty()) return e;
  std::sort(t.begin(), t.end());
  ms = t[t.size() / 2];
  return cudaSuccess;
}

//! As tryTimeMs, but a CUDA error ends the process.
template <typename F>
float timeMs(F&& f, int warm = 3, int reps = 20, cudaStream_t s = nullptr) {
  float ms;
  H_CUDA(tryTimeMs(f, ms, warm, reps, s));
  return ms;
}

//! Prints the device the tests run on (the first line of every test program).
inline void printDevice() {
  int dev = 0;
  cudaDeviceProp prop{};
  H_CUDA(cudaGetDevice(&dev));
  H_CUDA(cudaGetDeviceProperties(&prop, dev));
  std::printf("device: %s (sm_%d%d, %d SMs)\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);
}

//! Prints the totals and returns the process exit code.
inline int finish() {
  std::printf("\n%d cases, %d failed\n", cases(), failures());
  return failures() ? 1 : 0;
}

}  // namespace harness
