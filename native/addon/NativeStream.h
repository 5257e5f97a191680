// NativeStream ↔ lib/cuda.ts Stream, NativeEvent ↔ lib/cuda.ts Event.
#pragma once
#include <napi.h>

#include <memory>

#include "../cuda/stream.h"

namespace ntrt::addon {

//! A CUDA stream with async copies, a conversion kernel, and a promise for "everything so far is done".
class NativeStream : public Napi::ObjectWrap<NativeStream> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NativeStream(const Napi::CallbackInfo& info);
  cudaStream_t get() const;
  //! The stream, for work that must keep it alive after dispose() (it is destroyed with the last owner).
  std::shared_ptr<cuda::Stream> shared() const;
  int device() const { return device_; }
  static NativeStream* Unwrap(const Napi::Value& v);

 private:
  Napi::Value Copy(const Napi::CallbackInfo& info);
  Napi::Value CopyFromHost(const Napi::CallbackInfo& info);
  Napi::Value Convert(const Napi::CallbackInfo& info);
  Napi::Value Synchronize(const Napi::CallbackInfo& info);
  Napi::Value Query(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  std::shared_ptr<cuda::Stream> stream_;
  int device_ = 0;
};

//! A CUDA event: record on a stream, await it, read elapsed time.
class NativeEvent : public Napi::ObjectWrap<NativeEvent> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NativeEvent(const Napi::CallbackInfo& info);
  cudaEvent_t get() const;
  static NativeEvent* Unwrap(const Napi::Value& v);

 private:
  Napi::Value Record(const Napi::CallbackInfo& info);
  Napi::Value Synchronize(const Napi::CallbackInfo& info);
  Napi::Value Query(const Napi::CallbackInfo& info);
  Napi::Value ElapsedSince(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  std::unique_ptr<cuda::Event> event_;
  std::shared_ptr<cuda::Stream> helper_;  //!< waits on this event alone for synchronize()
  int device_ = 0;
};

}  // namespace ntrt::addon
