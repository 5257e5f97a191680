// Dispatch over the external tactic sources. Both are always compiled (their APIs are declared in shim/) and report
// available: false, with the reason, where the library does not load.
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

}  // namespace

SourceInfo cudnnInfo() {
  static const SourceInfo info = detail::cudnnProbe();
  return info;
}

SourceInfo cublasLtInfo() {
  static const SourceInfo info = detail::cublasLtProbe();
  return info;
}

bool isExternalTactic(const std::string& name) { return startsWith(name, "cudnn_") || startsWith(name, "cublaslt_"); }

std::vector<kernels::Tactic> externalConvTactics(const kernels::ConvParams& p, kernels::DType t) {
  std::vector<kernels::Tactic> out;
  if (t != kernels::DType::F32 && t != kernels::DType::F16) return out;
  if (cudnnInfo().available) {
    auto v = detail::cudnnTactics(p, t);
    out.insert(out.end(), v.begin(), v.end());
  }
  if (cublasLtInfo().available) {
    auto v = detail::cublasLtTactics(p, t);
    out.insert(out.end(), v.begin(), v.end());
  }
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
  if (sourceOf(tactic) == Source::Cudnn) return detail::cudnnConv(tactic, p, t, x, w, y, ep, ws, wsBytes, stream);
  detail::cublasLtConv(tactic, p, t, x, w, y, ep, ws, wsBytes, stream);
}

size_t externalConvWorkspace(const std::string& tactic, const kernels::ConvParams& p, kernels::DType t) {
  if (sourceOf(tactic) == Source::Cudnn) return detail::cudnnWorkspace(tactic, p, t);
  return detail::cublasLtWorkspace(tactic, p, t);
}

void prepareExternalConv(const std::string& tactic, const kernels::ConvParams& p, kernels::DType t) {
  (void)externalConvWorkspace(tactic, p, t);
}

}  // namespace ntrt::sources
