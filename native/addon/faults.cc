// faultInjection() / faultProbe(): the JS side of the fault-injection switch (native/cuda/fault.h), for tests.
#include <napi.h>

#include "../cuda/check.h"
#include "../cuda/fault.h"
#include "addon.h"

namespace ntrt::addon {
namespace {

Napi::Object perKind(Napi::Env env, const std::atomic<int64_t>* v) {
  Napi::Object o = Napi::Object::New(env);
  for (int k = 0; k < cuda::fault::kKinds; ++k) o.Set(cuda::fault::kKindNames[k], static_cast<double>(v[k].load()));
  return o;
}

}  // namespace

// faultInjection(spec?: string) → { at, counts, fired }: arms the switch ("alloc:3,copy:1"; "" disarms) and resets
// the counters when `spec` is given; reads the state either way.
Napi::Value FaultInjection(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    if (info[0].IsString()) {
      int64_t at[cuda::fault::kKinds];
      std::string err = cuda::fault::parse(info[0].As<Napi::String>().Utf8Value(), at);
      if (!err.empty()) fail("ERR_INVALID_ARGUMENT", "Invalid fault-injection spec: " + err);
      cuda::fault::arm(at);
    }
    cuda::fault::State& s = cuda::fault::state();
    Napi::Object o = Napi::Object::New(env);
    o.Set("at", perKind(env, s.at));
    o.Set("counts", perKind(env, s.count));
    o.Set("fired", perKind(env, s.fired));
    return o;
  }
  NTRT_CATCH(env)
}

// faultProbe(kind: 'alloc' | 'copy' | 'launch') → undefined: one point of that kind through CUDA_CHECK itself, with a
// call that does nothing; it throws the coded error an injected failure gives. Lets CPU-only tests drive the switch.
Napi::Value FaultProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    std::string kind = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    if (kind == "alloc") CUDA_CHECK(cuda::fault::probe_cudaMalloc());
    else if (kind == "copy") CUDA_CHECK(cuda::fault::probe_cudaMemcpy());
    else if (kind == "launch") CUDA_CHECK(cuda::fault::probe_cudaGraphLaunch());
    else fail("ERR_INVALID_ARGUMENT", "Expected 'alloc', 'copy' or 'launch' for kind but received '" + kind + "'");
    return env.Undefined();
  }
  NTRT_CATCH(env)
}

}  // namespace ntrt::addon
