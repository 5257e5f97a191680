// Convolution entry points: the tactic registry, validation and dispatch to the kernel families.
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "../../cuda/check.h"
#include "../../cuda/error.h"
#include "conv_registry.cuh"

namespace ntrt::kernels {
namespace convimpl {

const Device& currentDevice() {
  int id = 0;
  CUDA_CHECK(cudaGetDevice(&id));
  static std::mutex mu;
  static std::map<int, Device> cache;  // node-stable: returned references stay valid
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(id);
  if (it != cache.end()) return it->second;
  Device d;
  d.id = id;
  int major = 0, minor = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, id));
  CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, id));
  CUDA_CHECK(cudaDeviceGetAttribute(&d.sms, cudaDevAttrMultiProcessorCount, id));
  CUDA_CHECK(cudaDeviceGetAttribute(&d.smemOptin, cudaDevAttrMaxSharedMemoryPerBlockOptin, id));
  d.cc = major * 10 + minor;
  return cache.emplace(id, d).first->second;
}

void ensureSmem(const void* kernel, int bytes) {
  if (bytes <= 48 * 1024) return;
  int id = 0;
  CUDA_CHECK(cudaGetDevice(&id));
  static std::mutex mu;
  static std::set<std::pair<const void*, int>> done;
  std::lock_guard<std::mutex> lock(mu);
  if (done.count({kernel, id})) return;
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  // These kernels stream through shared memory and barely use L1: ask for the largest carveout.
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, cudaSharedmemCarveoutMaxShared));
  done.insert({kernel, id});
}

namespace {

std::vector<std::pair<const void*, int>>& smemKernels() {
  static std::vector<std::pair<const void*, int>> v;
  return v;
}

}  // namespace

void registerSmemKernel(const void* kernel, int bytes) {
  if (bytes > 48 * 1024) smemKernels().push_back({kernel, bytes});
}

ConvArgs makeArgs(const Launch& l) {
  const ConvParams& p = l.p;
  ConvArgs a{};
  a.x = l.x;
  a.w = l.w;
  a.y = l.y;
  a.residual = l.ep.residual;
  a.bias = l.ep.bias;
  a.partial = nullptr;
  a.N = p.n, a.H = p.h, a.W = p.w, a.C = p.c, a.K = p.k, a.R = p.r, a.S = p.s, a.P = p.p, a.Q = p.q;
  a.strideH = p.strideH, a.strideW = p.strideW, a.padH = p.padH, a.padW = p.padW, a.dilH = p.dilH, a.dilW = p.dilW;
  a.groups = p.groups;
  a.M = p.n * p.p * p.q;
  a.Kg = p.r * p.s * (p.c / p.groups);
  a.kTilesPerSplit = 1 << 30;
  a.splits = 1;
  a.act = l.ep.act;
  a.alpha = l.ep.alpha;
  a.beta = l.ep.beta;
  return a;
}

namespace {

const std::vector<Entry>& registry() {
  static const std::vector<Entry> all = [] {
    std::vector<Entry> v;
#ifdef NTRT_HAVE_WGMMA
    addWgmmaTactics(v);
#endif
    addTensorCoreTactics(v);
    addSimtTactics(v);
    addDepthwiseTactics(v);
    addDirectTactics(v);
    return v;
  }();
  return all;
}

const Entry* findEntry(const std::string& name) {
  static const std::unordered_map<std::string, const Entry*> byName = [] {
    std::unordered_map<std::string, const Entry*> m;
    for (const Entry& e : registry()) m.emplace(e.name, &e);
    return m;
  }();
  auto it = byName.find(name);
  return it == byName.end() ? nullptr : it->second;
}

std::string describe(const ConvParams& p, DType t) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s n=%d h=%d w=%d c=%d k=%d r=%d s=%d p=%d q=%d stride=%dx%d pad=%dx%d dil=%dx%d groups=%d",
                t == DType::F16 ? "float16" : t == DType::F32 ? "float32" : "unsupported-dtype", p.n, p.h, p.w, p.c,
                p.k, p.r, p.s, p.p, p.q, p.strideH, p.strideW, p.padH, p.padW, p.dilH, p.dilW, p.groups);
  return buf;
}

//! Shapes the kernels index safely: positive sizes, whole groups, int32 GEMM extents.
void validateParams(const ConvParams& p, DType t) {
  const bool ok = p.n > 0 && p.h > 0 && p.w > 0 && p.c > 0 && p.k > 0 && p.r > 0 && p.s > 0 && p.p > 0 && p.q > 0 &&
                  p.strideH > 0 && p.strideW > 0 && p.padH >= 0 && p.padW >= 0 && p.dilH > 0 && p.dilW > 0 &&
                  p.groups > 0 && p.c % p.groups == 0 && p.k % p.groups == 0;
  if (!ok) fail("ERR_INVALID_ARGUMENT", "Invalid convolution parameters: " + describe(p, t));
  const int64_t m = int64_t(p.n) * p.p * p.q;
  if (m >= (int64_t(1) << 31) || int64_t(p.r) * p.s * p.c >= (int64_t(1) << 31) ||
      int64_t(p.n) * p.h * p.w >= (int64_t(1) << 31)) {
    fail("ERR_INVALID_ARGUMENT", "Convolution too large for 32-bit indexing: " + describe(p, t));
  }
  if (t != DType::F16 && t != DType::F32) {
    fail("ERR_INVALID_ARGUMENT", "Convolution supports float32 and float16 only: " + describe(p, t));
  }
}

bool aligned16(const void* ptr) { return (reinterpret_cast<uintptr_t>(ptr) & 15) == 0; }

//! Once per device: the shared-memory attributes of every registered kernel that fits it.
const Device& prepareDevice() {
  registry();  // registers the kernels
  const Device& d = currentDevice();
  static std::mutex mu;
  static std::set<int> prepared;
  std::lock_guard<std::mutex> lock(mu);
  if (prepared.count(d.id)) return d;
  for (const auto& k : smemKernels()) {
    if (k.second <= d.smemOptin) ensureSmem(k.first, k.second);
  }
  prepared.insert(d.id);
  return d;
}

}  // namespace
}  // namespace convimpl

std::vector<Tactic> convTactics(const ConvParams& p, DType t) {
  using namespace convimpl;
  validateParams(p, t);
  const Device& dev = prepareDevice();
  std::vector<Tactic> out;
  const Entry* direct = nullptr;
  for (const Entry& e : registry()) {
    if (e.name == "direct") direct = &e;
    if (e.use(p, t, dev, e.arg) == Use::Listed) out.push_back({e.name, e.workspace(p, t, e.arg)});
  }
  // The direct kernel is correct for everything: offer it whenever nothing faster was.
  if (out.empty() && direct) out.push_back({direct->name, 0});
  return out;
}

int64_t convTacticWorkspace(const std::string& tactic, const ConvParams& p, DType t) {
  using namespace convimpl;
  const Entry* e = findEntry(tactic);
  validateParams(p, t);
  if (!e || e->use(p, t, prepareDevice(), e->arg) == Use::Invalid) return -1;
  return static_cast<int64_t>(e->workspace(p, t, e->arg));
}

void conv(const std::string& tactic, const ConvParams& p, DType t, const void* x, const void* w, void* y,
          const Epilogue& ep, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  using namespace convimpl;
  const Entry* e = findEntry(tactic);
  if (!e) fail("ERR_INVALID_ARGUMENT", "Unknown convolution tactic '" + tactic + "'");
  validateParams(p, t);
  if (e->use(p, t, prepareDevice(), e->arg) == Use::Invalid) {
    fail("ERR_INVALID_ARGUMENT", "Convolution tactic '" + tactic + "' cannot run " + describe(p, t) + " on this device");
  }
  const size_t need = e->workspace(p, t, e->arg);
  if (need > 0 && (workspace == nullptr || workspaceBytes < need)) {
    fail("ERR_INVALID_ARGUMENT", "Convolution tactic '" + tactic + "' needs " + std::to_string(need) +
                                     " bytes of workspace but was given " + std::to_string(workspace ? workspaceBytes : 0));
  }
  if (!x || !w || !y) fail("ERR_INVALID_ARGUMENT", "Convolution tactic '" + tactic + "' was given a null tensor");
  // Vector loads and stores need 16-byte alignment; every arena and weight offset is 256-byte aligned.
  if (!aligned16(x) || !aligned16(w) || !aligned16(y) || !aligned16(ep.residual) || !aligned16(ep.bias) ||
      !aligned16(need ? workspace : nullptr)) {
    fail("ERR_INVALID_ARGUMENT", "Convolution tactic '" + tactic + "' needs 16-byte aligned tensors");
  }
  e->run(Launch{p, t, x, w, y, ep, workspace, stream}, e->arg);
}

}  // namespace ntrt::kernels
