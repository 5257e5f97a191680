// Helpers for the non-convolution kernel tests: typed device buffers, CPU references, error expectations.
#pragma once
#include <cuda_fp16.h>

#include <functional>
#include <string>
#include <vector>

#include "../../../cuda/error.h"
#include "../kernels.h"
#include "harness.h"

namespace misc {

using ntrt::kernels::Act;
using ntrt::kernels::DType;
using ntrt::kernels::NdShape;
using ntrt::kernels::NdStrides;

inline const char* dtName(DType t) {
  switch (t) {
    case DType::F32:
      return "f32";
    case DType::F16:
      return "f16";
    case DType::I32:
      return "i32";
    case DType::I64:
      return "i64";
    case DType::U8:
      return "u8";
    case DType::I8:
      return "i8";
    default:
      return "bool";
  }
}
inline int hd(DType t) { return t == DType::F32 ? 0 : 1; }  // harness dtype
inline double tol(DType t) { return t == DType::F32 ? 1e-5 : 1e-2; }
inline double tol2(DType a, DType b) { return std::max(tol(a), tol(b)); }

//! Host values as the device will hold them (rounded through fp16 for F16).
inline std::vector<float> asStored(std::vector<float> v, DType t) {
  if (t == DType::F16)
    for (auto& x : v) x = harness::roundHalf(x);
  return v;
}

inline std::vector<float> randomVec(size_t n, uint64_t seed, float scale = 1.f, float offset = 0.f) {
  harness::Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = r.next() * scale + offset;
  return v;
}

//! Device buffer with a leading offset of `shift` elements (to force unaligned paths); frees itself.
struct DevBuf {
  void* base = nullptr;
  void* ptr = nullptr;
  size_t bytes = 0;  // the elements asked for, from ptr on (the slack past them does not count)
  DevBuf() = default;
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
  ~DevBuf() {
    if (base) cudaFree(base);
  }
};

inline size_t dsize(DType t) { return ntrt::cuda::dtypeSize(t); }

//! Whether b holds n elements of dtype t from its ptr on.
inline bool holds(const DevBuf& b, size_t n, DType t) { return b.ptr && n * dsize(t) <= b.bytes; }

//! The value `upload` stores for v as dtype t, read back as float (what a CPU reference must start from).
inline float storedAs(float v, DType t) {
  switch (t) {
    case DType::F32:
      return v;
    case DType::F16:
      return harness::roundHalf(v);
    case DType::I32:
      return float(int32_t(v));
    case DType::I64:
      return float(int64_t(v));
    case DType::U8:
      return float(static_cast<unsigned char>(v));
    case DType::I8:
      return float(static_cast<int8_t>(v));
    default:
      return v != 0.f ? 1.f : 0.f;
  }
}

//! Uploads floats converted to dtype t (F32/F16 or an integer type by truncation), at element offset `shift`.
inline void upload(DevBuf& b, const std::vector<float>& h, DType t, int shift = 0) {
  size_t es = dsize(t), n = h.size();
  std::vector<unsigned char> raw((n + shift) * es + 64, 0);
  for (size_t i = 0; i < n; ++i) {
    unsigned char* p = raw.data() + (i + shift) * es;
    switch (t) {
      case DType::F32: {
        float v = h[i];
        std::memcpy(p, &v, 4);
        break;
      }
      case DType::F16: {
        __half v = __float2half_rn(h[i]);
        std::memcpy(p, &v, 2);
        break;
      }
      case DType::I32: {
        int32_t v = int32_t(h[i]);
        std::memcpy(p, &v, 4);
        break;
      }
      case DType::I64: {
        int64_t v = int64_t(h[i]);
        std::memcpy(p, &v, 8);
        break;
      }
      case DType::U8:
        *p = static_cast<unsigned char>(h[i]);
        break;
      case DType::I8:
        *reinterpret_cast<int8_t*>(p) = static_cast<int8_t>(h[i]);
        break;
      default:
        *p = h[i] != 0.f;
    }
  }
  H_CUDA(cudaMalloc(&b.base, raw.size()));
  H_CUDA(cudaMemcpy(b.base, raw.data(), raw.size(), cudaMemcpyHostToDevice));
  b.ptr = static_cast<char*>(b.base) + shift * es;
  b.bytes = n * es;
}

//! n elements of dtype t at element offset `shift`, every byte 0xff (NaN for floats) so unwritten outputs show.
inline void poison(DevBuf& b, size_t n, DType t, int shift = 0) {
  size_t bytes = (n + shift) * dsize(t) + 64;
  H_CUDA(cudaMalloc(&b.base, bytes));
  H_CUDA(cudaMemset(b.base, 0xff, bytes));
  b.ptr = static_cast<char*>(b.base) + shift * dsize(t);
  b.bytes = n * dsize(t);
}

inline std::vector<float> download(const void* d, size_t n, DType t) {
  size_t es = dsize(t);
  std::vector<unsigned char> raw(n * es);
  H_CUDA(cudaMemcpy(raw.data(), d, raw.size(), cudaMemcpyDeviceToHost));
  std::vector<float> h(n);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char* p = raw.data() + i * es;
    switch (t) {
      case DType::F32:
        std::memcpy(&h[i], p, 4);
        break;
      case DType::F16: {
        __half v;
        std::memcpy(&v, p, 2);
        h[i] = __half2float(v);
        break;
      }
      case DType::I32: {
        int32_t v;
        std::memcpy(&v, p, 4);
        h[i] = float(v);
        break;
      }
      case DType::I64: {
        int64_t v;
        std::memcpy(&v, p, 8);
        h[i] = float(v);
        break;
      }
      case DType::U8:
        h[i] = float(*p);
        break;
      case DType::I8:
        h[i] = float(*reinterpret_cast<const int8_t*>(p));
        break;
      default:
        h[i] = *p == 1 ? 1.f : (*p == 0 ? 0.f : NAN);  // anything but 0/1 is an unwritten or corrupt bool
    }
  }
  return h;
}

//! Relative error that also fails on any integer/bool mismatch through NaN poisoning (exact types compare exactly).
inline double compare(const std::vector<float>& got, const std::vector<float>& ref, DType t) {
  if (t == DType::F32 || t == DType::F16) return harness::relError(got, ref);
  for (size_t i = 0; i < ref.size(); ++i)
    if (!(got[i] == ref[i])) return INFINITY;
  return 0;
}

//! Largest element-wise error |got − ref| / max(|ref|, 1) (+inf on NaN): unlike the norm in `compare`, one misplaced
//! element among millions still shows. For data movement, where every element is exact or one rounding off.
inline double compareEach(const std::vector<float>& got, const std::vector<float>& ref) {
  double worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    worst = std::max(worst, std::fabs(double(got[i]) - ref[i]) / std::max(std::fabs(double(ref[i])), 1.0));
  }
  return worst;
}

inline float actRef(Act a, float x, float al, float be) {
  switch (a) {
    case Act::Relu:
      return std::max(x, 0.f);
    case Act::Clip:
      return std::min(std::max(x, al), be);
    case Act::LeakyRelu:
      return x < 0 ? al * x : x;
    case Act::Sigmoid:
      return 1.f / (1.f + std::exp(-x));
    case Act::HardSigmoid:
      return std::min(std::max(al * x + be, 0.f), 1.f);
    case Act::HardSwish:
      return x * std::min(std::max(x / 6.f + 0.5f, 0.f), 1.f);
    case Act::Tanh:
      return std::tanh(x);
    case Act::Gelu:
      return 0.5f * x * (1.f + std::erf(x * 0.70710678f));
    case Act::GeluTanh:
      return 0.5f * x * (1.f + std::tanh(0.7978845608f * (x + 0.044715f * x * x * x)));
    case Act::Silu:
      return x / (1.f + std::exp(-x));
    default:
      return x;
  }
}

//! Typical alpha/beta per activation (Clip gets a window that clips both sides of [-1, 1] inputs).
inline void actParams(Act a, float& al, float& be) {
  al = 0.f, be = 0.f;
  if (a == Act::Clip) al = -0.5f, be = 0.5f;
  if (a == Act::LeakyRelu) al = 0.1f;
  if (a == Act::HardSigmoid) al = 0.2f, be = 0.5f;
}

inline const char* actName(Act a) {
  static const char* n[] = {"none", "relu", "clip", "leaky", "sigmoid", "hsigmoid", "hswish", "tanh", "erf", "gelu",
                            "gelu_tanh", "sqrt", "exp", "log", "neg", "abs", "recip", "scale", "silu"};
  static_assert(sizeof(n) / sizeof(n[0]) == ntrt::kernels::kMaxAct + 1, "a name for every activation");
  return n[static_cast<int>(a)];
}
constexpr Act kActs[] = {Act::None,    Act::Relu,        Act::Clip,      Act::LeakyRelu, Act::Sigmoid,
                         Act::HardSigmoid, Act::HardSwish, Act::Tanh,  Act::Silu};

inline NdShape shapeOf(std::vector<int64_t> d) {
  NdShape s{};
  s.rank = int(d.size());
  for (size_t i = 0; i < d.size(); ++i) s.dims[i] = d[i];
  return s;
}
inline NdStrides contiguous(const NdShape& s) {
  NdStrides r{};
  int64_t acc = 1;
  for (int d = s.rank - 1; d >= 0; --d) {
    r.s[d] = acc;
    acc *= s.dims[d];
  }
  return r;
}
inline int64_t count(const NdShape& s) {
  int64_t n = 1;
  for (int d = 0; d < s.rank; ++d) n *= s.dims[d];
  return n;
}

//! Calls f(index, offsets...) for every index of `shape` in row-major order, with offsets from each stride set.
inline void forEach(const NdShape& shape, const std::vector<const NdStrides*>& sets,
                    const std::function<void(int64_t, const std::vector<int64_t>&)>& f) {
  int64_t n = count(shape);
  std::vector<int64_t> off(sets.size());
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i;
    std::fill(off.begin(), off.end(), 0);
    for (int d = shape.rank - 1; d >= 0; --d) {
      int64_t c = rem % shape.dims[d];
      rem /= shape.dims[d];
      for (size_t k = 0; k < sets.size(); ++k) off[k] += c * sets[k]->s[d];
    }
    f(i, off);
  }
}

//! Records one case like harness::check, but prints PASS lines only with NTRT_TEST_VERBOSE=1 (output stays short).
inline bool check(const std::string& name, double err, double tolerance) {
  static const bool verbose = std::getenv("NTRT_TEST_VERBOSE") && std::getenv("NTRT_TEST_VERBOSE")[0] == '1';
  ++harness::cases();
  bool ok = err <= tolerance;
  if (!ok) ++harness::failures();
  if (!ok || verbose) std::printf("%s %-72s err=%.3e tol=%.1e\n", ok ? "PASS" : "FAIL", name.c_str(), err, tolerance);
  return ok;
}

//! Prints "<name>: N cases, F failed" when a group of cases ends.
struct Group {
  const char* name;
  int cases0 = harness::cases(), failures0 = harness::failures();
  explicit Group(const char* n) : name(n) {}
  ~Group() {
    std::printf("%-10s %4d cases, %d failed\n", name, harness::cases() - cases0, harness::failures() - failures0);
    std::fflush(stdout);
  }
};

//! Passes when f throws ntrt::Error with `code`.
inline void expectError(const std::string& name, const char* code, const std::function<void()>& f) {
  std::string got = "no error";
  try {
    f();
  } catch (const ntrt::Error& e) {
    got = e.code() + ": " + e.what();
    if (e.code() == code) {
      check(name + " (" + code + ")", 0, 0);
      return;
    }
  }
  std::printf("  expected %s, got %s\n", code, got.c_str());
  check(name + " (" + code + ")", INFINITY, 0);
}

}  // namespace misc
