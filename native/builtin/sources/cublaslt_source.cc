// The cuBLASLt tactic source: 1x1, stride-1, unpadded, ungrouped convolutions are GEMMs over NHWC rows,
// y[M][K] = x[M][C] · w[K][C]ᵀ, run by cublasLtMatmul with bias/ReLU epilogues and the residual as C (beta = 1).
// Every entry point is resolved with dlsym from libcublasLt.so.13 or .12 (never linked), as declared by
// shim/cublaslt_api.h, so the build needs no cuBLAS headers.
//
// cuBLASLt is column-major, so it computes Yᵀ (K x M, ld K) = op(A) · B with A = w viewed as C x K (ld C,
// transposed) and B = x viewed as C x M (ld C). The bias broadcasts along D's rows, i.e. per output channel.
#include <dlfcn.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

#include "../../cuda/check.h"
#include "internal.h"
#include "shim/cublaslt_api.h"

namespace ntrt::sources::detail {
namespace {

using namespace ::ntrt::cublaslt_api;

using kernels::Act;
using kernels::ConvParams;
using kernels::DType;

#define NTRT_CUBLASLT_FUNCTIONS(X)  \
  X(cublasLtGetVersion)             \
  X(cublasLtGetStatusString)        \
  X(cublasLtCreate)                 \
  X(cublasLtDestroy)                \
  X(cublasLtMatmulDescCreate)       \
  X(cublasLtMatmulDescDestroy)      \
  X(cublasLtMatmulDescSetAttribute) \
  X(cublasLtMatrixLayoutCreate)     \
  X(cublasLtMatrixLayoutDestroy)    \
  X(cublasLtMatmulPreferenceCreate) \
  X(cublasLtMatmulPreferenceDestroy) \
  X(cublasLtMatmulPreferenceSetAttribute) \
  X(cublasLtMatmulAlgoGetHeuristic) \
  X(cublasLtMatmulAlgoCheck)        \
  X(cublasLtMatmul)

struct Api {
#define NTRT_MEMBER(f) decltype(&cublaslt_api::f) f = nullptr;
  NTRT_CUBLASLT_FUNCTIONS(NTRT_MEMBER)
#undef NTRT_MEMBER
  SourceInfo info{true, false, "", ""};
};

Api load() {
  Api a;
  std::vector<std::string> names;
  if (const char* env = std::getenv("NODE_TENSORRT_CUBLASLT_LIBRARY")) names.push_back(env);
  for (int major : kMajors) {
    std::string so = "libcublasLt.so." + std::to_string(major);
    bool dup = false;
    for (const auto& n : names) dup = dup || n == so;
    if (dup) continue;
    names.push_back(so);
    names.push_back("/usr/local/cuda/lib64/" + so);
    names.push_back("/usr/lib/x86_64-linux-gnu/" + so);
  }
  std::string tried;
  void* lib = openLibrary(names, &tried);
  if (!lib) {
    a.info.reason = "libcublasLt " + tried;
    return a;
  }
#define NTRT_RESOLVE(f)                                    \
  a.f = reinterpret_cast<decltype(a.f)>(dlsym(lib, #f));   \
  if (!a.f) {                                              \
    a.info.reason = "libcublasLt does not export " #f;     \
    return a;                                              \
  }
  NTRT_CUBLASLT_FUNCTIONS(NTRT_RESOLVE)
#undef NTRT_RESOLVE
  size_t v = a.cublasLtGetVersion();  // major*10000 + minor*100 + patch
  a.info.version = std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
  if (v / 10000 < 12) {
    a.info.reason = "cuBLASLt " + a.info.version + " is older than 12";
    return a;
  }
  a.info.available = true;
  return a;
}

const Api& api() {
  static const Api a = load();
  return a;
}

void check(cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  bool unsupported = s == CUBLAS_STATUS_NOT_SUPPORTED || s == CUBLAS_STATUS_ARCH_MISMATCH;
  fail(unsupported ? "ERR_INVALID_ARGUMENT" : "ERR_CUBLAS",
       std::string("cuBLASLt ") + what + " failed: " + api().cublasLtGetStatusString(s));
}

bool isGemm(const ConvParams& p) {
  return p.r == 1 && p.s == 1 && p.strideH == 1 && p.strideW == 1 && p.padH == 0 && p.padW == 0 && p.groups == 1 &&
         p.p == p.h && p.q == p.w;
}

// Alignment every operand is promised to have (checked at run time); the bias is staged when it has less.
constexpr uint32_t kMinAlign = 16;
constexpr size_t kMaxWorkspace = size_t(32) << 20;
constexpr int kRequested = 32;

// Matmul and layout descriptors of one GEMM shape and dtype, built once per thread. The epilogue attributes are
// set before every call, so one descriptor serves every epilogue.
struct Descs {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  std::map<std::pair<std::string, int>, int64_t> checked;  // (algo hex, epilogue) -> workspace, or -1
  ~Descs() {
    const Api& x = api();
    if (op) x.cublasLtMatmulDescDestroy(op);
    if (a) x.cublasLtMatrixLayoutDestroy(a);
    if (b) x.cublasLtMatrixLayoutDestroy(b);
    if (d) x.cublasLtMatrixLayoutDestroy(d);
  }
};

using Key = std::array<int64_t, 5>;  // device, dtype, M, K, C

cublasLtHandle_t createHandle() {
  // cuBLASLt asks the driver for the current context: on a thread-pool thread that has not used CUDA yet, none is
  // current until the runtime makes the device's primary context so (compute-sanitizer saw cuCtxGetLimit fail).
  CUDA_CHECK(cudaFree(nullptr));
  cublasLtHandle_t h = nullptr;
  check(api().cublasLtCreate(&h), "handle creation");
  return h;
}
void destroyHandle(cublasLtHandle_t h) { api().cublasLtDestroy(h); }

thread_local ThreadCache<cublasLtHandle_t, Key, Descs> tls(createHandle, destroyHandle);
cublasLtHandle_t handle(int dev) { return tls.handle(dev); }

Descs& descsFor(const ConvParams& p, DType t) {
  int dev = currentDevice();
  int64_t m = int64_t(p.n) * p.h * p.w;
  Key key{dev, static_cast<int64_t>(t), m, p.k, p.c};
  auto it = tls.descs.find(key);
  if (it != tls.descs.end()) return *it->second;
  handle(dev);
  const Api& x = api();
  auto d = std::make_unique<Descs>();
  cudaDataType_t dt = t == DType::F16 ? CUDA_R_16F : CUDA_R_32F;
  // COMPUTE_32F: true FP32 for float32 (no TF32), FP32 accumulation on tensor cores for float16.
  check(x.cublasLtMatmulDescCreate(&d->op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "descriptor creation");
  cublasOperation_t transA = CUBLAS_OP_T, transB = CUBLAS_OP_N;
  check(x.cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_TRANSA, &transA, sizeof(transA)), "transA");
  check(x.cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_TRANSB, &transB, sizeof(transB)), "transB");
  check(x.cublasLtMatrixLayoutCreate(&d->a, dt, uint64_t(p.c), uint64_t(p.k), p.c), "layout");
  check(x.cublasLtMatrixLayoutCreate(&d->b, dt, uint64_t(p.c), uint64_t(m), p.c), "layout");
  check(x.cublasLtMatrixLayoutCreate(&d->d, dt, uint64_t(p.k), uint64_t(m), p.k), "layout");
  return *tls.descs.emplace(key, std::move(d)).first->second;
}

// Whether cuBLASLt's GELU epilogue may stand for `act` in dtype t. Its GELU is the tanh form, exactly GeluTanh. From
// the erf form it differs by at most 4.7e-4 in absolute value (at x = ±2.70; relatively large only in the negative
// tail, where GELU is near 0): about half an ulp of float16 values between 1 and 2, accepted in float16 engines (held
// to 1e-2 relative) and nowhere else, so a float32 engine keeps the exact erf, run as a separate pass.
bool geluEpilogue(Act act, DType t) { return act == Act::GeluTanh || (act == Act::Gelu && t == DType::F16); }

// Epilogue of the cublasLtMatmul call; other activations run afterwards as a separate kernel.
cublasLtEpilogue_t epilogueFor(const kernels::Epilogue& ep, DType t) {
  if (ep.act == Act::Relu) return ep.bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
  if (geluEpilogue(ep.act, t)) return ep.bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
  return ep.bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
}

bool fusesAct(cublasLtEpilogue_t e) { return e != CUBLASLT_EPILOGUE_BIAS && e != CUBLASLT_EPILOGUE_DEFAULT; }

void setEpilogue(Descs& d, cublasLtEpilogue_t e, const void* bias) {
  const Api& x = api();
  check(x.cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &e, sizeof(e)), "epilogue");
  check(x.cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)), "bias");
}

std::string toHex(const cublasLtMatmulAlgo_t& algo) {
  static const char digits[] = "0123456789abcdef";
  const auto* bytes = reinterpret_cast<const unsigned char*>(&algo);
  std::string s;
  for (size_t i = 0; i < sizeof(algo); ++i) {
    s += digits[bytes[i] >> 4];
    s += digits[bytes[i] & 15];
  }
  return s;
}

cublasLtMatmulAlgo_t fromHex(const std::string& tactic) {
  size_t us = tactic.rfind('_');
  std::string hex = us == std::string::npos ? "" : tactic.substr(us + 1);
  cublasLtMatmulAlgo_t algo{};
  if (hex.size() != 2 * sizeof(algo) || tactic.compare(0, 9, "cublaslt_") != 0)
    fail("ERR_INVALID_ARGUMENT", "Malformed cuBLASLt tactic '" + tactic + "'");
  auto* bytes = reinterpret_cast<unsigned char*>(&algo);
  for (size_t i = 0; i < sizeof(algo); ++i) {
    auto nib = [&](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      fail("ERR_INVALID_ARGUMENT", "Malformed cuBLASLt tactic '" + tactic + "'");
    };
    bytes[i] = static_cast<unsigned char>(nib(hex[2 * i]) * 16 + nib(hex[2 * i + 1]));
  }
  return algo;
}

size_t stagingBytes(const ConvParams& p, DType t) { return alignUp(size_t(p.k) * (t == DType::F16 ? 2 : 4)); }

// Workspace the algo needs with this epilogue, validated by cublasLtMatmulAlgoCheck (cached), or -1.
int64_t validate(Descs& d, const std::string& hex, const cublasLtMatmulAlgo_t& algo, cublasLtEpilogue_t e) {
  auto key = std::make_pair(hex, static_cast<int>(e));
  auto it = d.checked.find(key);
  if (it != d.checked.end()) return it->second;
  // The check reads the bias pointer only for its alignment: promise kMinAlign, as run time guarantees.
  setEpilogue(d, e, reinterpret_cast<const void*>(uintptr_t(kMinAlign)));
  cublasLtMatmulHeuristicResult_t r{};
  cublasStatus_t s =
      api().cublasLtMatmulAlgoCheck(handle(currentDevice()), d.op, d.a, d.b, d.d, d.d, &algo, &r);
  int64_t ws = s == CUBLAS_STATUS_SUCCESS ? int64_t(r.workspaceSize) : -1;
  d.checked[key] = ws;
  return ws;
}

// Workspace covering every epilogue the algo supports (the plan sizes it once), or -1 when even BIAS fails.
int64_t workspaceAllEpilogues(Descs& d, const std::string& hex, const cublasLtMatmulAlgo_t& algo) {
  int64_t ws = validate(d, hex, algo, CUBLASLT_EPILOGUE_BIAS);
  if (ws < 0) return -1;
  for (auto e : {CUBLASLT_EPILOGUE_DEFAULT, CUBLASLT_EPILOGUE_RELU, CUBLASLT_EPILOGUE_RELU_BIAS, CUBLASLT_EPILOGUE_GELU,
                 CUBLASLT_EPILOGUE_GELU_BIAS})
    ws = std::max(ws, validate(d, hex, algo, e));
  return ws;
}

}  // namespace

SourceInfo cublasLtProbe() { return api().info; }

std::vector<kernels::Tactic> cublasLtTactics(const ConvParams& p, DType t) {
  std::vector<kernels::Tactic> out;
  if (!isGemm(p) || int64_t(p.n) * p.h * p.w * p.k * p.c == 0) return out;
  const Api& x = api();
  Descs& d = descsFor(p, t);
  // Candidates for the common case (bias epilogue); other epilogues are re-checked when they run.
  setEpilogue(d, CUBLASLT_EPILOGUE_BIAS, reinterpret_cast<const void*>(uintptr_t(kMinAlign)));
  cublasLtMatmulPreference_t pref = nullptr;
  check(x.cublasLtMatmulPreferenceCreate(&pref), "preference creation");
  std::unique_ptr<std::remove_pointer_t<cublasLtMatmulPreference_t>, decltype(x.cublasLtMatmulPreferenceDestroy)>
      guard(pref, x.cublasLtMatmulPreferenceDestroy);
  size_t maxWs = kMaxWorkspace;
  check(x.cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &maxWs, sizeof(maxWs)),
        "preference");
  for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES}) {
    uint32_t align = kMinAlign;
    check(x.cublasLtMatmulPreferenceSetAttribute(pref, attr, &align, sizeof(align)), "preference");
  }
  cublasLtMatmulHeuristicResult_t results[kRequested] = {};
  int got = 0;
  cublasStatus_t s = x.cublasLtMatmulAlgoGetHeuristic(handle(currentDevice()), d.op, d.a, d.b, d.d, d.d, pref,
                                                      kRequested, results, &got);
  if (s == CUBLAS_STATUS_NOT_SUPPORTED) return out;
  check(s, "heuristic query");
  size_t staging = stagingBytes(p, t);
  for (int i = 0; i < got; ++i) {
    if (results[i].state != CUBLAS_STATUS_SUCCESS) continue;
    std::string hex = toHex(results[i].algo);
    bool dup = false;
    for (const auto& tac : out) dup = dup || tac.name.compare(tac.name.size() - hex.size(), hex.size(), hex) == 0;
    if (dup) continue;
    d.checked[{hex, static_cast<int>(CUBLASLT_EPILOGUE_BIAS)}] = int64_t(results[i].workspaceSize);
    int64_t ws = workspaceAllEpilogues(d, hex, results[i].algo);
    if (ws < 0) continue;
    out.push_back({"cublaslt_" + std::to_string(i) + "_" + hex, size_t(ws) + staging});
  }
  return out;
}

size_t cublasLtWorkspace(const std::string& tactic, const ConvParams& p, DType t) {
  cublasLtMatmulAlgo_t algo = fromHex(tactic);
  if (t != DType::F32 && t != DType::F16) fail("ERR_INVALID_ARGUMENT", "cuBLASLt tactics support float32 and float16");
  if (!isGemm(p)) fail("ERR_INVALID_ARGUMENT", "cuBLASLt tactics need a 1x1 stride-1 unpadded ungrouped convolution");
  Descs& d = descsFor(p, t);
  int64_t ws = workspaceAllEpilogues(d, toHex(algo), algo);
  if (ws < 0) fail("ERR_PLAN_MISMATCH", "cuBLASLt tactic '" + tactic + "' is not supported by this GPU and library");
  return size_t(ws) + stagingBytes(p, t);
}

void cublasLtConv(const std::string& tactic, const ConvParams& p, DType t, const void* x, const void* w, void* y,
                  const kernels::Epilogue& ep, void* ws, size_t wsBytes, cudaStream_t stream) {
  if (t != DType::F32 && t != DType::F16) fail("ERR_INVALID_ARGUMENT", "cuBLASLt tactics support float32 and float16");
  cublasLtMatmulAlgo_t algo = fromHex(tactic);
  if (!isGemm(p)) fail("ERR_INVALID_ARGUMENT", "cuBLASLt tactics need a 1x1 stride-1 unpadded ungrouped convolution");
  for (const void* ptr : {x, w, static_cast<const void*>(y), ep.residual})
    if (reinterpret_cast<uintptr_t>(ptr) % kMinAlign != 0)
      fail("ERR_INVALID_ARGUMENT", "cuBLASLt tactic '" + tactic + "' needs 16-byte aligned tensors");
  int64_t m = int64_t(p.n) * p.h * p.w;
  if (m * p.k == 0) return;
  Descs& d = descsFor(p, t);
  cublasLtEpilogue_t e = epilogueFor(ep, t);
  int64_t need = validate(d, toHex(algo), algo, e);
  if (need < 0 && e != CUBLASLT_EPILOGUE_BIAS && e != CUBLASLT_EPILOGUE_DEFAULT) {
    // This algo cannot apply the activation itself: the bias only, then the activation as its own pass.
    e = ep.bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
    need = validate(d, toHex(algo), algo, e);
  }
  if (need < 0) fail("ERR_INVALID_ARGUMENT", "cuBLASLt tactic '" + tactic + "' cannot run this epilogue here");
  size_t staging = stagingBytes(p, t);
  if (wsBytes < staging + size_t(need))
    fail("ERR_INVALID_ARGUMENT", "cuBLASLt tactic '" + tactic + "': workspace too small");
  char* work = static_cast<char*>(ws);
  // The bias must be of D's type (half for F16) and as aligned as promised: stage it when it is not already.
  const void* bias = ep.bias;
  if (ep.bias && t == DType::F16) {
    bias = halfBias(ep, p.k, work, stream);
  } else if (ep.bias && reinterpret_cast<uintptr_t>(ep.bias) % kMinAlign != 0) {
    CUDA_CHECK(cudaMemcpyAsync(work, ep.bias, size_t(p.k) * 4, cudaMemcpyDeviceToDevice, stream));
    bias = work;
  }
  setEpilogue(d, e, bias);
  const float alpha = 1.f, beta = ep.residual ? 1.f : 0.f;
  const void* c = ep.residual ? ep.residual : y;
  check(api().cublasLtMatmul(handle(currentDevice()), d.op, &alpha, w, d.a, x, d.b, &beta, c, d.d, y, d.d, &algo,
                             work + staging, wsBytes - staging, stream),
        "matmul");
  if (ep.act != Act::None && !fusesAct(e)) kernels::unary(ep.act, ep.alpha, ep.beta, m * p.k, t, y, y, stream);
}

}  // namespace ntrt::sources::detail
