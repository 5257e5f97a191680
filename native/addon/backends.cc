// Registers the engine classes and functions of each backend.
#include <napi.h>

#ifdef NTRT_HAVE_BUILTIN
#include "builtin/NativeBuiltinEngine.h"
#include "builtin/program_js.h"
#endif

namespace ntrt::addon {

void RegisterTrt(Napi::Env env, Napi::Object exports);  // native/trt, or a no-op without the SDK

void RegisterBackends(Napi::Env env, Napi::Object exports) {
#ifdef NTRT_HAVE_BUILTIN
  exports.Set("NativeBuiltinEngine", NativeBuiltinEngine::Init(env));
  exports.Set("NativeBuiltinContext", NativeBuiltinContext::Init(env));
  exports.Set("builtinLoad", Napi::Function::New(env, NativeBuiltinEngine::Load, "builtinLoad"));
  exports.Set("builtinBuild", Napi::Function::New(env, BuiltinBuild, "builtinBuild"));
  exports.Set("validateBuiltinProgram", Napi::Function::New(env, ValidateBuiltinProgram, "validateBuiltinProgram"));
  exports.Set("validatedOps", Napi::Function::New(env, ValidatedOps, "validatedOps"));
#endif
  RegisterTrt(env, exports);
}

}  // namespace ntrt::addon
