// Adds the TensorRT backend's functions to the module's exports (typed in lib/native.ts as trtBuild / trtLoadEngine).
#include <napi.h>

#include "TrtContext.h"
#include "TrtEngine.h"
#include "common.h"

namespace ntrt::trt {

Napi::Value TrtBuild(const Napi::CallbackInfo& info);

//! Registers trtBuild and trtLoadEngine; the wrapper classes are reachable only through them.
void Register(Napi::Env env, Napi::Object exports) {
  auto* classes = new Classes();
  env.AddCleanupHook([classes] { delete classes; });
  NativeTrtEngine::Init(env, classes);
  NativeTrtContext::Init(env, classes);
  exports.Set("trtBuild", Napi::Function::New(env, TrtBuild, "trtBuild"));
  exports.Set("trtLoadEngine", Napi::Function::New(env, TrtLoadEngine, "trtLoadEngine", classes));
}

}  // namespace ntrt::trt
