// Dispatch over the external tactic sources; the parts for a library missing at build time report compiled: false.
#include <dlfcn.h>

#include "../../cuda/error.h"
#include "internal.h"

namespace ntrt::sources {
namespace detail {

void* openLibrary(const std::vector<std::string>& names, std::string* tried) {
  std::string missing, broken;
  for (const auto& name : names) {
    if (name.empty()) continue;
    if (void* h = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL)) return h;
    const char* e = dlerror();
    std::string why = e ? e : "";
    // A library that exists but fails to load (missing dependency, wrong architecture) is worth its own message.
    if (why.find("No such file") == std::string::npos && !why.empty()) {
      broken += (broken.empty() ? "" : "; ") + why;
    } else {
      missing += (missing.empty() ? "" : ", ") + name;
    }
  }
  if (tried) *tried = broken.empty() ? "not found (searched " + missing + ")" : broken;
  return nullptr;
}

}  // namespace detail

namespace {

bool startsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

#if !defined(NTRT_HAVE_CUDNN) || !defined(NTRT_HAVE_CUBLASLT)
SourceInfo notCompiled(const char* what) {
  return {false, false, "", std::string(what) + " headers were not found when the addon was built"};
}
#endif

}  // namespace

SourceInfo cudnnInfo() {
#ifdef NTRT_HAVE_CUDNN
  static const SourceInfo info = detail::cudnnProbe();
  return info;
#else
  return notCompiled("cuDNN");
#endif
}

SourceInfo cublasLtInfo() {
#ifdef NTRT_HAVE_CUBLASLT
  static const SourceInfo info = detail::cublasLtProbe();
  return info;
#else
  return notCompiled("cuBLASLt");
#endif
}

bool isExternalTactic(const std::string& name) { return startsWith(name, "cudnn_") || startsWith(name, "cublaslt_"); }

std::vector<kernels::Tactic> externalConvTactics(const kernels::ConvParams& p, kernels::DType t) {
  std::vector<kernels::Tactic> out;
  if (t != kernels::DType::F32 && t != kernels::DType::F16) return out;
#ifdef NTRT_HAVE_CUDNN
  if (cudnnInfo().available) {
    auto v = detail::cudnnTactics(p, t);
    out.insert(out.end(), v.begin(), v.end());
  }
#endif
#ifdef NTRT_HAVE_CUBLASLT
  if (cublasLtInfo().available) {
    auto v = detail::cublasLtTactics(p, t);
    out.insert(out.end(), v.begin(), v.end());
  }
#endif
  return out;
}

namespace {

// The source behind a tactic name, or a coded error saying why it cannot run here.
enum class Source { Cudnn, CublasLt };
Source sourceOf(const std::string& tactic) {
  bool cudnn = startsWith(tactic, "cudnn_");
  if (!cudnn && !startsWith(tactic, "cublaslt_"))
    fail("ERR_INVALID_ARGUMENT", "Unknown external tactic '" + tactic + "'");
  SourceInfo info = cudnn ? cudnnInfo() : cublasLtInfo();
  if (!info.available)
    fail("ERR_PLAN_MISMATCH", "Tactic '" + tactic + "' needs " + (cudnn ? "cuDNN" : "cuBLASLt") +
                                       ", which is unavailable: " + info.reason);
  return cudnn ? Source::Cudnn : Source::CublasLt;
}

}  // namespace

void externalConv(const std::string& tactic, const kernels::ConvParams& p, kernels::DType t, const void* x,
                  const void* w, void* y, const kernels::Epilogue& ep, void* ws, size_t wsBytes, cudaStream_t stream) {
  Source s = sourceOf(tactic);
#ifdef NTRT_HAVE_CUDNN
  if (s == Source::Cudnn) return detail::cudnnConv(tactic, p, t, x, w, y, ep, ws, wsBytes, stream);
#endif
#ifdef NTRT_HAVE_CUBLASLT
  if (s == Source::CublasLt) return detail::cublasLtConv(tactic, p, t, x, w, y, ep, ws, wsBytes, stream);
#endif
  (void)s;
}

size_t externalConvWorkspace(const std::string& tactic, const kernels::ConvParams& p, kernels::DType t) {
  Source s = sourceOf(tactic);
#ifdef NTRT_HAVE_CUDNN
  if (s == Source::Cudnn) return detail::cudnnWorkspace(tactic, p, t);
#endif
#ifdef NTRT_HAVE_CUBLASLT
  if (s == Source::CublasLt) return detail::cublasLtWorkspace(tactic, p, t);
#endif
  (void)s;
  return 0;
}

void prepareExternalConv(const std::string& tactic, const kernels::ConvParams& p, kernels::DType t) {
  (void)externalConvWorkspace(tactic, p, t);
}

}  // namespace ntrt::sources
