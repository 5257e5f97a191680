// Validation rule of the convolution: parameters as kernels::conv validates them, dtypes as its kernels read them,
// and tactic names as the kernel registry (kernels/conv_*.cu) and the external sources (sources/sources.h) spell them.
#include <cctype>
#include <cstring>

#include "validate_rules.h"

namespace ntrt::builtin::validation {
namespace {

using Conv = ConvShape;

Conv convOf(const LayerCheck& c) {
  const int64_t M = kInt32Max;
  Conv v{};
  v.n = c.mul(c.integer("n", 1, M), c.scale());
  if (v.n > M) c.fail("has a batch too large for the convolution kernels");
  v.h = c.integer("h", 1, M), v.w = c.integer("w", 1, M), v.c = c.integer("c", 1, M), v.k = c.integer("k", 1, M);
  v.r = c.integer("r", 1, M), v.s = c.integer("s", 1, M), v.p = c.integer("p", 1, M), v.q = c.integer("q", 1, M);
  v.sh = c.integer("sh", 1, M), v.sw = c.integer("sw", 1, M), v.ph = c.integer("ph", 0, M), v.pw = c.integer("pw", 0, M);
  v.dh = c.integer("dh", 1, M), v.dw = c.integer("dw", 1, M), v.g = c.integer("g", 1, M);
  if (v.c % v.g || v.k % v.g) c.fail("has groups that do not divide the channels");
  // kernels::conv's own limits (32-bit GEMM extents), and the int32 coordinate math of every conv kernel.
  if (c.mul(c.mul(v.n, v.p), v.q) > M || c.mul(c.mul(v.r, v.s), v.c) > M || c.mul(c.mul(v.n, v.h), v.w) > M) {
    c.fail("is too large for 32-bit indexing");
  }
  if (c.add(c.mul(v.p - 1, v.sh), c.mul(v.r - 1, v.dh)) > M || c.add(c.mul(v.q - 1, v.sw), c.mul(v.s - 1, v.dw)) > M ||
      c.add(v.h, v.ph) > M || c.add(v.w, v.pw) > M) {
    c.fail("has a window that overflows 32-bit coordinates");
  }
  return v;
}

bool depthwise(const Conv& v) { return v.g == v.c && v.g == v.k && v.g > 1; }

void checkConv(const LayerCheck& c) {
  const Conv v = convOf(c);
  c.integerOr("act", 0, 0, kMaxAct);
  c.real("alpha", 0);
  c.real("beta", 0);
  const int x = c.in(0), w = c.in(1), bias = c.in(2), res = c.in(3), y = c.out();
  c.floatType(x, "input");
  const DType t = c.dtype(x);
  c.dtypeIs(w, t, "weights");
  c.dtypeIs(res, t, "residual");
  c.dtypeIs(y, t, "output");
  c.dtypeIs(bias, DType::F32, "bias");
  const int64_t out = c.mul(c.mul(c.mul(v.n, v.p), v.q), v.k);
  c.contiguous(x, c.mul(c.mul(c.mul(v.n, v.h), v.w), v.c), "input");
  // Depthwise weights are [R][S][C]: the same count as KRSC with one channel per group.
  c.contiguous(w, c.mul(c.mul(c.mul(v.k, v.r), v.s), v.c / v.g), "weights");
  if (bias >= 0) c.contiguous(bias, v.k, "bias");
  if (res >= 0) c.contiguous(res, out, "residual");
  c.contiguous(y, out, "output");
}

// ---- tactic names --------------------------------------------------------------------------------

//! Own-kernel tactics: name, family, split-K factor, depthwise vector slot.
enum class Family { Tc, TcGeneric, Simt, Depthwise, Direct, Gemv, Wgmma };
struct Own {
  const char* name;
  Family family;
  int splits;
  int slot;
};

// As registered by addWgmmaTactics, addTensorCoreTactics, addSimtTactics, addDepthwiseTactics and addDirectTactics.
const Own kOwn[] = {
    {"wg_128x128", Family::Wgmma, 1, 0},       {"wg_128x64", Family::Wgmma, 1, 0},
    {"wg_64x256", Family::Wgmma, 1, 0},        {"wg_64x128", Family::Wgmma, 1, 0},
    {"wg_64x64", Family::Wgmma, 1, 0},
    {"tc_256x128x32_s3", Family::Tc, 1, 0},     {"tc_128x256x32_s3", Family::Tc, 1, 0},
    {"tc_128x128x32_s4", Family::Tc, 1, 0},     {"tc_128x128x64_s3", Family::Tc, 1, 0},
    {"tc_128x64x32_s4", Family::Tc, 1, 0},      {"tc_64x128x32_s4", Family::Tc, 1, 0},
    {"tc_64x64x32_s4", Family::Tc, 1, 0},       {"tc_128x32x32_s4", Family::Tc, 1, 0},
    {"tc_64x64x64_s3", Family::Tc, 1, 0},       {"tc_64x64x64_s3_sk2", Family::Tc, 2, 0},
    {"tc_64x64x64_s3_sk4", Family::Tc, 4, 0},   {"tc_64x64x64_s3_sk8", Family::Tc, 8, 0},
    {"tc_64x64x64_s3_sk16", Family::Tc, 16, 0}, {"tc_64x32x64_s4", Family::Tc, 1, 0},
    {"tc_32x64x64_s4", Family::Tc, 1, 0},       {"tc_32x64x64_s4_sk4", Family::Tc, 4, 0},
    {"tc_32x64x64_s4_sk16", Family::Tc, 16, 0}, {"tcg_128x64x32", Family::TcGeneric, 1, 0},
    {"tcg_64x64x32", Family::TcGeneric, 1, 0},  {"simt_128x64", Family::Simt, 1, 0},
    {"simt_64x64", Family::Simt, 1, 0},         {"simt_64x64_sk4", Family::Simt, 4, 0},
    {"simt_64x64_sk16", Family::Simt, 16, 0},   {"simt_32x32", Family::Simt, 1, 0},
    {"dw_b4_px1", Family::Depthwise, 1, 0},     {"dw_b4_px2", Family::Depthwise, 1, 0},
    {"dw_b4_px4", Family::Depthwise, 1, 0},     {"dw_b8_px1", Family::Depthwise, 1, 1},
    {"dw_b8_px2", Family::Depthwise, 1, 1},     {"dw_b8_px4", Family::Depthwise, 1, 1},
    {"dw_b16_px1", Family::Depthwise, 1, 2},    {"dw_b16_px2", Family::Depthwise, 1, 2},
    {"dw_b16_px4", Family::Depthwise, 1, 2},    {"direct", Family::Direct, 1, 0},
    {"gemv", Family::Gemv, 1, 0},
};

const char* const kCudnnAlgos[] = {"implicit_gemm", "implicit_precomp_gemm", "gemm", "direct",
                                   "fft", "fft_tiling", "winograd", "winograd_nonfused"};

bool startsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// "cudnn_<algo>" or "cudnn_<algo>_fused".
bool cudnnName(const std::string& s) {
  std::string rest = s.substr(6);
  if (rest.size() > 6 && rest.compare(rest.size() - 6, 6, "_fused") == 0) rest.resize(rest.size() - 6);
  for (const char* a : kCudnnAlgos) {
    if (rest == a) return true;
  }
  return false;
}

// "cublaslt_<rank>_<128 hex digits>" (the 64 bytes of a cublasLtMatmulAlgo_t).
bool cublasLtName(const std::string& s) {
  size_t i = 9, digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (digits == 0 || digits > 4 || i >= s.size() || s[i] != '_') return false;
  const std::string hex = s.substr(i + 1);
  if (hex.size() != 128) return false;
  for (char ch : hex) {
    if (!std::isxdigit(static_cast<unsigned char>(ch))) return false;
  }
  return true;
}

}  // namespace

int64_t convTacticOf(const LayerCheck& c, const ConvShape& v, DType t, const std::string& name) {
  if (startsWith(name, "cudnn_") || startsWith(name, "cublaslt_")) {
    if (!(startsWith(name, "cudnn_") ? cudnnName(name) : cublasLtName(name))) c.fail("has a malformed tactic '" + name + "'");
    // cuBLASLt runs GEMM-shaped convolutions only (sources/cublaslt_source.cc isGemm); cuDNN only what its
    // symmetric-padding descriptor expresses (cudnn_source.cc `expressible`).
    const bool gemm = v.r == 1 && v.s == 1 && v.sh == 1 && v.sw == 1 && v.ph == 0 && v.pw == 0 && v.g == 1 &&
                      v.p == v.h && v.q == v.w;
    if (startsWith(name, "cublaslt_") && !gemm) c.fail("uses cuBLASLt for a convolution that is not a GEMM");
    const int64_t p = (v.h + 2 * v.ph - v.dh * (v.r - 1) - 1) / v.sh + 1, q = (v.w + 2 * v.pw - v.dw * (v.s - 1) - 1) / v.sw + 1;
    if (startsWith(name, "cudnn_") && (p != v.p || q != v.q)) c.fail("uses cuDNN for an output size its descriptor cannot express");
    return -1;  // sized and re-validated by the source on the device (ERR_PLAN_MISMATCH there)
  }
  const Own* own = nullptr;
  for (const Own& o : kOwn) {
    if (name == o.name) own = &o;
  }
  if (!own) c.fail("has unknown tactic '" + name + "'");
  bool ok = false;
  switch (own->family) {
    case Family::Tc:
      ok = t == DType::F16 && v.g == 1 && v.c % 8 == 0;
      break;
    case Family::TcGeneric:
      ok = t == DType::F16 && v.g == 1;
      break;
    case Family::Simt:
      ok = t == DType::F32 && v.g == 1;
      break;
    case Family::Depthwise: {
      const int vec = t == DType::F16 ? (2 << own->slot) : (1 << own->slot);
      ok = depthwise(v) && v.r == v.s && (v.r == 3 || v.r == 5) && v.sh == v.sw && (v.sh == 1 || v.sh == 2) &&
           v.dh >= 1 && v.dw >= 1 && v.c % vec == 0;
      break;
    }
    case Family::Direct:
      ok = true;
      break;
    case Family::Wgmma:  // conv_wgmma.cu wgUse: a GEMM whose rows are 16-byte multiples
      ok = t == DType::F16 && v.g == 1 && v.r == 1 && v.s == 1 && v.sh == 1 && v.sw == 1 && v.ph == 0 && v.pw == 0 &&
           v.p == v.h && v.q == v.w && v.c % 8 == 0;
      break;
    case Family::Gemv:
      ok = v.g == 1 && v.r == 1 && v.s == 1 && v.ph == 0 && v.pw == 0 && (v.p - 1) * v.sh < v.h && (v.q - 1) * v.sw < v.w;
      break;
  }
  if (!ok) c.fail("uses tactic '" + name + "', which cannot run this shape and dtype");
  if (own->splits == 1) return 0;
  // Split-K partials: splits × M × K float32, rounded up to 256 bytes (convimpl::splitWorkspace).
  const int64_t bytes = c.mul(c.mul(c.mul(c.mul(c.mul(own->splits, v.n), v.p), v.q), v.k), 4);
  return c.add(bytes, 255) / 256 * 256;
}

namespace {

int64_t convTactic(const LayerCheck& c, const std::string& name) { return convTacticOf(c, convOf(c), c.dtype(c.in(0)), name); }

}  // namespace

OpRule convRule() {
  return {Op::Conv, {{"x", true}, {"w", true}, {"bias", false}, {"residual", false}}, 1, &checkConv, &convTactic};
}

}  // namespace ntrt::builtin::validation
