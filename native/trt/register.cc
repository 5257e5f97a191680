// Adds the TensorRT backend's functions to the module's exports (typed in lib/native.ts as trtBuild / trtLoadEngine).
#include <napi.h>

#include "TrtContext.h"
#include "TrtEngine.h"
#include "common.h"

namespace ntrt::trt {
Napi::Value TrtBuild(const Napi::CallbackInfo& info);
}  // namespace ntrt::trt

namespace ntrt::addon {

//! Registers trtBuild and trtLoadEngine (called by RegisterBackends; availability_stub.cc's is a no-op).
//! The wrapper classes are reachable only through them.
void RegisterTrt(Napi::Env env, Napi::Object exports) {
  auto* classes = new trt::Classes();
  env.AddCleanupHook([classes] { delete classes; });
  trt::NativeTrtEngine::Init(env, classes);
  trt::NativeTrtContext::Init(env, classes);
  exports.Set("trtBuild", Napi::Function::New(env, trt::TrtBuild, "trtBuild"));
  exports.Set("trtLoadEngine", Napi::Function::New(env, trt::TrtLoadEngine, "trtLoadEngine", classes));
}

}  // namespace ntrt::addon
