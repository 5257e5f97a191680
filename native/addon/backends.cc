// Registers the engine classes and functions of each backend.
#include <napi.h>

#include "NativeBuiltinEngine.h"

namespace ntrt::addon {

void RegisterTrt(Napi::Env env, Napi::Object exports);  // native/trt, or a no-op without the SDK

void RegisterBackends(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeBuiltinEngine", NativeBuiltinEngine::Init(env));
  exports.Set("NativeBuiltinContext", NativeBuiltinContext::Init(env));
  exports.Set("builtinLoad", Napi::Function::New(env, NativeBuiltinEngine::Load, "builtinLoad"));
  exports.Set("builtinBuild", Napi::Function::New(env, BuiltinBuild, "builtinBuild"));
  RegisterTrt(env, exports);
}

}  // namespace ntrt::addon
