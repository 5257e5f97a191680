// The cuDNN tactic source: NHWC/KRSC convolutions through cuDNN's convolution API, every entry point resolved with
// dlsym from libcudnn.so.9 (never linked). Declared by shim/cudnn_api.h, so the build needs no cuDNN headers.
#include <dlfcn.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

#include "../../cuda/check.h"
#include "internal.h"
#include "shim/cudnn_api.h"

namespace ntrt::sources::detail {
namespace {

using namespace ::ntrt::cudnn_api;

using kernels::Act;
using kernels::ConvParams;
using kernels::DType;

#define NTRT_CUDNN_FUNCTIONS(X)                                                                                    \
  X(cudnnGetVersion)                                                                                               \
  X(cudnnGetErrorString)                                                                                           \
  X(cudnnCreate)                                                                                                   \
  X(cudnnDestroy)                                                                                                  \
  X(cudnnSetStream)                                                                                                \
  X(cudnnCreateTensorDescriptor)                                                                                   \
  X(cudnnDestroyTensorDescriptor)                                                                                  \
  X(cudnnSetTensor4dDescriptor)                                                                                    \
  X(cudnnCreateFilterDescriptor)                                                                                   \
  X(cudnnDestroyFilterDescriptor)                                                                                  \
  X(cudnnSetFilter4dDescriptor)                                                                                    \
  X(cudnnCreateConvolutionDescriptor)                                                                              \
  X(cudnnDestroyConvolutionDescriptor)                                                                             \
  X(cudnnSetConvolution2dDescriptor)                                                                               \
  X(cudnnSetConvolutionGroupCount)                                                                                 \
  X(cudnnSetConvolutionMathType)                                                                                   \
  X(cudnnGetConvolution2dForwardOutputDim)                                                                         \
  X(cudnnGetConvolutionForwardAlgorithmMaxCount)                                                                   \
  X(cudnnGetConvolutionForwardAlgorithm_v7)                                                                        \
  X(cudnnGetConvolutionForwardWorkspaceSize)                                                                       \
  X(cudnnConvolutionForward)                                                                                       \
  X(cudnnConvolutionBiasActivationForward)                                                                         \
  X(cudnnCreateActivationDescriptor)                                                                               \
  X(cudnnDestroyActivationDescriptor)                                                                              \
  X(cudnnSetActivationDescriptor)

struct Api {
#define NTRT_MEMBER(f) decltype(&cudnn_api::f) f = nullptr;
  NTRT_CUDNN_FUNCTIONS(NTRT_MEMBER)
#undef NTRT_MEMBER
  SourceInfo info{true, false, "", ""};
};

Api load() {
  Api a;
  const std::string so = "libcudnn.so." + std::to_string(kMajor);
  std::vector<std::string> names;
  if (const char* env = std::getenv("NODE_TENSORRT_CUDNN_LIBRARY")) names.push_back(env);
  names.push_back(so);
  names.push_back("/usr/lib/x86_64-linux-gnu/" + so);
  names.push_back("/usr/local/cuda/lib64/" + so);
  std::string tried;
  void* lib = openLibrary(names, &tried);
  if (!lib) {
    a.info.reason = so + " " + tried;
    return a;
  }
#define NTRT_RESOLVE(f)                                          \
  a.f = reinterpret_cast<decltype(a.f)>(dlsym(lib, #f));         \
  if (!a.f) {                                                    \
    a.info.reason = so + " does not export " #f;                 \
    return a;                                                    \
  }
  NTRT_CUDNN_FUNCTIONS(NTRT_RESOLVE)
#undef NTRT_RESOLVE
  size_t v = a.cudnnGetVersion();
  size_t major = v >= 90000 ? v / 10000 : v / 1000;  // 9.x: M*10000 + m*100 + p; 8.x: M*1000 + m*100 + p
  size_t minor = v >= 90000 ? v / 100 % 100 : v / 100 % 10;
  a.info.version = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(v % 100);
  if (major != size_t(kMajor)) {
    a.info.reason = "loaded cuDNN " + a.info.version + " but the addon was built for cuDNN " +
                    std::to_string(kMajor);
    return a;
  }
  a.info.available = true;
  return a;
}

const Api& api() {
  static const Api a = load();
  return a;
}

// NOT_SUPPORTED statuses (3xxx in cuDNN 9) mean "this tactic does not fit": ERR_INVALID_ARGUMENT, as for own kernels.
void check(cudnnStatus_t s, const char* what) {
  if (s == CUDNN_STATUS_SUCCESS) return;
  int code = static_cast<int>(s);
  bool unsupported = code == CUDNN_STATUS_NOT_SUPPORTED || (code >= 3000 && code < 4000);
  fail(unsupported ? "ERR_INVALID_ARGUMENT" : "ERR_CUDNN",
       std::string("cuDNN ") + what + " failed: " + api().cudnnGetErrorString(s));
}

constexpr int kAlgos = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
const char* const kAlgoNames[kAlgos] = {"implicit_gemm", "implicit_precomp_gemm", "gemm",     "direct",
                                        "fft",           "fft_tiling",            "winograd", "winograd_nonfused"};

// Descriptors of one convolution shape and dtype, built once per thread.
struct Descs {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnActivationDescriptor_t relu = nullptr, identity = nullptr;
  bool expressible = false;                 // cuDNN's output shape equals ours (symmetric padding)
  std::array<int64_t, kAlgos> workspace{};  // bytes, -1 unsupported, 0 unknown until asked (stored +1)
  ~Descs() {
    const Api& a = api();
    if (x) a.cudnnDestroyTensorDescriptor(x);
    if (y) a.cudnnDestroyTensorDescriptor(y);
    if (bias) a.cudnnDestroyTensorDescriptor(bias);
    if (w) a.cudnnDestroyFilterDescriptor(w);
    if (conv) a.cudnnDestroyConvolutionDescriptor(conv);
    if (relu) a.cudnnDestroyActivationDescriptor(relu);
    if (identity) a.cudnnDestroyActivationDescriptor(identity);
  }
};

using Key = std::array<int, 18>;  // device, dtype, the 16 ConvParams fields
static_assert(sizeof(ConvParams) == 16 * sizeof(int), "ConvParams is 16 ints");

cudnnHandle_t createHandle() {
  CUDA_CHECK(cudaFree(nullptr));  // the device's primary context current on this thread first (as for cuBLASLt)
  cudnnHandle_t h = nullptr;
  check(api().cudnnCreate(&h), "handle creation");
  return h;
}
void destroyHandle(cudnnHandle_t h) { api().cudnnDestroy(h); }

thread_local ThreadCache<cudnnHandle_t, Key, Descs> tls(createHandle, destroyHandle);
cudnnHandle_t handle(int dev) { return tls.handle(dev); }

cudnnDataType_t dataType(DType t) { return t == DType::F16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT; }

Descs& descsFor(const ConvParams& p, DType t) {
  int dev = currentDevice();
  Key key{};
  key[0] = dev;
  key[1] = static_cast<int>(t);
  std::memcpy(key.data() + 2, &p, sizeof(ConvParams));
  auto it = tls.descs.find(key);
  if (it != tls.descs.end()) return *it->second;
  handle(dev);
  const Api& a = api();
  auto d = std::make_unique<Descs>();
  cudnnDataType_t dt = dataType(t);
  check(a.cudnnCreateTensorDescriptor(&d->x), "descriptor creation");
  check(a.cudnnCreateTensorDescriptor(&d->y), "descriptor creation");
  check(a.cudnnCreateTensorDescriptor(&d->bias), "descriptor creation");
  check(a.cudnnCreateFilterDescriptor(&d->w), "descriptor creation");
  check(a.cudnnCreateConvolutionDescriptor(&d->conv), "descriptor creation");
  check(a.cudnnCreateActivationDescriptor(&d->relu), "descriptor creation");
  check(a.cudnnCreateActivationDescriptor(&d->identity), "descriptor creation");
  check(a.cudnnSetTensor4dDescriptor(d->x, CUDNN_TENSOR_NHWC, dt, p.n, p.c, p.h, p.w), "input descriptor");
  check(a.cudnnSetFilter4dDescriptor(d->w, dt, CUDNN_TENSOR_NHWC, p.k, p.c / p.groups, p.r, p.s), "filter descriptor");
  check(a.cudnnSetConvolution2dDescriptor(d->conv, p.padH, p.padW, p.strideH, p.strideW, p.dilH, p.dilW,
                                          CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
        "convolution descriptor");
  check(a.cudnnSetConvolutionGroupCount(d->conv, p.groups), "group count");
  // FP32 stays true FP32 (no TF32 tensor cores); FP16 may use tensor cores, accumulating in FP32.
  check(a.cudnnSetConvolutionMathType(d->conv, t == DType::F16 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH), "math type");
  check(a.cudnnSetTensor4dDescriptor(d->y, CUDNN_TENSOR_NHWC, dt, p.n, p.k, p.p, p.q), "output descriptor");
  check(a.cudnnSetTensor4dDescriptor(d->bias, CUDNN_TENSOR_NHWC, dt, 1, p.k, 1, 1), "bias descriptor");
  check(a.cudnnSetActivationDescriptor(d->relu, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0), "activation");
  check(a.cudnnSetActivationDescriptor(d->identity, CUDNN_ACTIVATION_IDENTITY, CUDNN_NOT_PROPAGATE_NAN, 0.0),
        "activation");
  int on = 0, oc = 0, oh = 0, ow = 0;
  check(a.cudnnGetConvolution2dForwardOutputDim(d->conv, d->x, d->w, &on, &oc, &oh, &ow), "output shape");
  d->expressible = on == p.n && oc == p.k && oh == p.p && ow == p.q;
  return *tls.descs.emplace(key, std::move(d)).first->second;
}

// Workspace of `algo` for these descriptors, or -1 when cuDNN does not support it here.
int64_t workspaceOf(Descs& d, int algo) {
  int64_t& slot = d.workspace[algo];
  if (slot == 0) {
    size_t bytes = 0;
    cudnnStatus_t s = api().cudnnGetConvolutionForwardWorkspaceSize(handle(currentDevice()), d.x, d.w, d.conv, d.y,
                                                                     static_cast<cudnnConvolutionFwdAlgo_t>(algo),
                                                                     &bytes);
    slot = s == CUDNN_STATUS_SUCCESS ? int64_t(bytes) + 1 : -1;
  }
  return slot < 0 ? -1 : slot - 1;
}

struct Parsed {
  int algo;
  bool fused;
};

Parsed parse(const std::string& tactic) {
  std::string rest = tactic.substr(6);  // after "cudnn_"
  bool fused = rest.size() > 6 && rest.compare(rest.size() - 6, 6, "_fused") == 0;
  if (fused) rest.resize(rest.size() - 6);
  for (int i = 0; i < kAlgos; ++i)
    if (rest == kAlgoNames[i]) return {i, fused};
  fail("ERR_INVALID_ARGUMENT", "Unknown cuDNN tactic '" + tactic + "'");
}

// Above this a tactic is not worth offering: the builder's workspace limit would reject it anyway.
constexpr int64_t kMaxWorkspace = int64_t(1) << 30;

}  // namespace

SourceInfo cudnnProbe() { return api().info; }

std::vector<kernels::Tactic> cudnnTactics(const ConvParams& p, DType t) {
  std::vector<kernels::Tactic> out;
  Descs& d = descsFor(p, t);
  if (!d.expressible) return out;
  const Api& a = api();
  cudnnHandle_t h = handle(currentDevice());
  int maxCount = 0;
  check(a.cudnnGetConvolutionForwardAlgorithmMaxCount(h, &maxCount), "algorithm count");
  std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(std::max(maxCount, 1));
  int got = 0;
  check(a.cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, int(perf.size()), &got, perf.data()),
        "algorithm query");
  bool seen[kAlgos] = {};
  size_t biasBytes = t == DType::F16 ? alignUp(size_t(p.k) * 2) : 0;
  for (int i = 0; i < got; ++i) {
    const auto& r = perf[i];
    int algo = static_cast<int>(r.algo);
    if (r.status != CUDNN_STATUS_SUCCESS || algo < 0 || algo >= kAlgos || seen[algo]) continue;
    // An FP32 entry measured with tensor-op math would not be what runs under CUDNN_FMA_MATH.
    if (t == DType::F32 && (r.mathType == CUDNN_TENSOR_OP_MATH || r.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION))
      continue;
    int64_t ws = workspaceOf(d, algo);
    if (ws < 0 || ws > kMaxWorkspace) continue;
    seen[algo] = true;
    std::string name = std::string("cudnn_") + kAlgoNames[algo];
    out.push_back({name, size_t(ws)});
    out.push_back({name + "_fused", size_t(ws) + biasBytes});
  }
  return out;
}

size_t cudnnWorkspace(const std::string& tactic, const ConvParams& p, DType t) {
  Parsed pt = parse(tactic);
  if (t != DType::F32 && t != DType::F16) fail("ERR_INVALID_ARGUMENT", "cuDNN tactics support float32 and float16");
  Descs& d = descsFor(p, t);
  int64_t ws = d.expressible ? workspaceOf(d, pt.algo) : -1;
  if (ws < 0) fail("ERR_PLAN_MISMATCH", "cuDNN tactic '" + tactic + "' does not support this convolution here");
  return size_t(ws) + (pt.fused && t == DType::F16 ? alignUp(size_t(p.k) * 2) : 0);
}

void cudnnConv(const std::string& tactic, const ConvParams& p, DType t, const void* x, const void* w, void* y,
               const kernels::Epilogue& ep, void* ws, size_t wsBytes, cudaStream_t stream) {
  if (t != DType::F32 && t != DType::F16) fail("ERR_INVALID_ARGUMENT", "cuDNN tactics support float32 and float16");
  Parsed pt = parse(tactic);
  Descs& d = descsFor(p, t);
  int64_t need = d.expressible ? workspaceOf(d, pt.algo) : -1;
  if (need < 0) fail("ERR_INVALID_ARGUMENT", "cuDNN tactic '" + tactic + "' does not support this convolution");
  if (int64_t(p.n) * p.p * p.q * p.k == 0) return;
  const Api& a = api();
  cudnnHandle_t h = handle(currentDevice());
  check(a.cudnnSetStream(h, stream), "set stream");
  const float one = 1.f, zero = 0.f;
  const auto algo = static_cast<cudnnConvolutionFwdAlgo_t>(pt.algo);
  if (!pt.fused) {
    if (wsBytes < size_t(need)) fail("ERR_INVALID_ARGUMENT", "cuDNN tactic '" + tactic + "': workspace too small");
    check(a.cudnnConvolutionForward(h, &one, d.x, x, d.w, w, d.conv, algo, ws, wsBytes, &zero, d.y, y), "convolution");
    convEpilogue(int64_t(p.n) * p.p * p.q, p.k, t, y, ep, stream);
    return;
  }
  // The fused call computes act(conv + alpha2 * z + bias) with act Relu or Identity (Identity: precomp GEMM only).
  bool fusable = ep.bias && (ep.act == Act::Relu ||
                             (ep.act == Act::None && algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM));
  if (!fusable) fail("ERR_INVALID_ARGUMENT", "cuDNN tactic '" + tactic + "' cannot fuse this epilogue");
  const void* bias = ep.bias;
  char* work = static_cast<char*>(ws);
  size_t workBytes = wsBytes;
  if (t == DType::F16) {
    // cuDNN's half config takes a half bias: the engine's copy, or staged at the head of the workspace. The head is
    // set aside either way, so the workspace keeps one layout (and the tactic its size).
    const size_t b = alignUp(size_t(p.k) * 2);
    if (!hasHalfCopy(ep) && wsBytes < b) fail("ERR_INVALID_ARGUMENT", "cuDNN tactic '" + tactic + "': workspace too small");
    bias = halfBias(ep, p.k, work, stream);
    work += b;
    workBytes -= std::min(workBytes, b);
  }
  if (workBytes < size_t(need)) fail("ERR_INVALID_ARGUMENT", "cuDNN tactic '" + tactic + "': workspace too small");
  const float alpha2 = ep.residual ? 1.f : 0.f;
  check(a.cudnnConvolutionBiasActivationForward(h, &one, d.x, x, d.w, w, d.conv, algo, workBytes ? work : nullptr,
                                                workBytes, &alpha2, d.y, ep.residual ? ep.residual : y, d.bias, bias,
                                                ep.act == Act::Relu ? d.relu : d.identity, d.y, y),
        "fused convolution");
}

}  // namespace ntrt::sources::detail
