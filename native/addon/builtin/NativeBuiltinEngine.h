// NativeBuiltinEngine / NativeBuiltinContext ↔ the builtin backend behind lib/engine.ts and lib/context.ts.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>

#include "../../builtin/runtime.h"
#include "../waiter.h"

namespace ntrt::addon {

//! A loaded builtin engine: the program's executor and the weights on one device.
class NativeBuiltinEngine : public Napi::ObjectWrap<NativeBuiltinEngine> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NativeBuiltinEngine(const Napi::CallbackInfo& info);
  ~NativeBuiltinEngine() override;
  void Finalize(Napi::Env env) override;  //!< gives back what was reported to V8 when JS drops it undisposed
  //! builtinLoad(program, weights: Uint8Array, device) → Promise<NativeBuiltinEngine>
  static Napi::Value Load(const Napi::CallbackInfo& info);

 private:
  Napi::Value Io(const Napi::CallbackInfo& info);
  Napi::Value CreateContext(const Napi::CallbackInfo& info);
  Napi::Value DeviceMemory(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  std::shared_ptr<const builtin::Engine> engine_;
  int64_t reported_ = 0;
};

//! One execution context of a builtin engine.
class NativeBuiltinContext : public Napi::ObjectWrap<NativeBuiltinContext> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NativeBuiltinContext(const Napi::CallbackInfo& info);
  ~NativeBuiltinContext() override;
  void Finalize(Napi::Env env) override;  //!< gives back what was reported to V8 when JS drops it undisposed

 private:
  Napi::Value Buffers(const Napi::CallbackInfo& info);
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value RunRows(const Napi::CallbackInfo& info);
  Napi::Value CopyIn(const Napi::CallbackInfo& info);
  Napi::Value Timings(const Napi::CallbackInfo& info);
  Napi::Value Profile(const Napi::CallbackInfo& info);
  Napi::Value ImageBuffer(const Napi::CallbackInfo& info);
  Napi::Value RunImages(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  //! Throws ERR_DISPOSED, or ERR_CUDA_FAULT once a run has faulted.
  void requireUsable(Napi::Env env) const;
  //! Enqueues a run (`image` < 0) or an image run into input `image`, then settles on completion.
  Napi::Promise enqueue(Napi::Env env, int batch, bool transfers, int s, int image = -1, const float* mean = nullptr,
                        const float* stdv = nullptr);
  using GraphKind = builtin::Context::GraphKind;
  Napi::Value afterCapture(Napi::Env env, int batch, int s, GraphKind kind, std::function<Napi::Value(Napi::Env)> go);
  //! The dim value a call's `dims` object names (0 for an engine without a dynamic dim); coded errors when it is
  //! missing, not an integer or outside the engine's range.
  int dimOf(Napi::Env env, const Napi::Value& dims) const;
  void release(Napi::Env env);
  std::shared_ptr<builtin::Context> ctx_;
  std::unique_ptr<EventWaiter> waiter_;  //!< set for the 'spin', 'blocking' and 'auto' completion modes
  int sync_ = 0;
  Napi::Reference<Napi::Array> buffers_;
  Napi::Reference<Napi::ArrayBuffer> image_;
  float last_[3] = {0, 0, 0};
  int64_t reported_ = 0;
};

//! builtinBuild(program, weights, options, onProgress) → Promise<{ layers, workspaceBytes }>
Napi::Value BuiltinBuild(const Napi::CallbackInfo& info);

}  // namespace ntrt::addon
