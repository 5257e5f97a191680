// Module init: registers every native class and function (typed in lib/native.ts).
#include <napi.h>

#include "../cuda/fault.h"
#include "NativeBuffers.h"
#include "NativeStream.h"
#include "addon.h"

namespace ntrt::addon {

Napi::Value SetErrorClass(const Napi::CallbackInfo& info);
Napi::Value Capabilities(const Napi::CallbackInfo& info);
Napi::Value MemoryInfo(const Napi::CallbackInfo& info);
void RegisterBackends(Napi::Env env, Napi::Object exports);
Napi::Value FaultInjection(const Napi::CallbackInfo& info);
Napi::Value FaultProbe(const Napi::CallbackInfo& info);

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // A mistyped switch must not pass silently as "no faults": the addon refuses to load and says why.
  std::string bad = cuda::fault::armFromEnvironment();
  if (!bad.empty()) throw Napi::Error::New(env, bad);
  exports.Set("faultInjection", Napi::Function::New(env, FaultInjection, "faultInjection"));
  exports.Set("faultProbe", Napi::Function::New(env, FaultProbe, "faultProbe"));
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  exports.Set("capabilities", Napi::Function::New(env, Capabilities, "capabilities"));
  exports.Set("memoryInfo", Napi::Function::New(env, MemoryInfo, "memoryInfo"));
  exports.Set("NativeStream", NativeStream::Init(env));
  exports.Set("NativeEvent", NativeEvent::Init(env));
  exports.Set("NativeDeviceBuffer", NativeDeviceBuffer::Init(env));
  exports.Set("NativePinnedBuffer", NativePinnedBuffer::Init(env));
  RegisterBackends(env, exports);
  return exports;
}

}  // namespace ntrt::addon

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return ntrt::addon::Init(env, exports); }
NODE_API_MODULE(node_tensorrt, InitModule)
