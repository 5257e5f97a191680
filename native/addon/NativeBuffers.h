// NativeDeviceBuffer ↔ lib/cuda.ts DeviceBuffer, NativePinnedBuffer ↔ lib/cuda.ts PinnedBuffer.
#pragma once
#include <napi.h>

#include <memory>

#include "../cuda/memory.h"

namespace ntrt::addon {

//! Device memory owned by JS.
class NativeDeviceBuffer : public Napi::ObjectWrap<NativeDeviceBuffer> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NativeDeviceBuffer(const Napi::CallbackInfo& info);
  ~NativeDeviceBuffer() override;
  void Finalize(Napi::Env env) override;  //!< gives back what was reported to V8 when JS drops it undisposed
  //! The live device pointer; throws ERR_DISPOSED once freed.
  void* ptr() const;
  //! The memory, for work that must keep it alive after dispose() (freed with the last owner).
  std::shared_ptr<cuda::DeviceBuffer> shared() const;
  size_t bytes() const { return buf_ ? buf_->bytes() : 0; }
  int device() const { return device_; }
  static NativeDeviceBuffer* Unwrap(const Napi::Value& v);

 private:
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Bytes(const Napi::CallbackInfo& info);
  void release(Napi::Env env);
  std::shared_ptr<cuda::DeviceBuffer> buf_;
  int device_ = 0;
  bool disposed_ = false;
  int64_t reported_ = 0;
};

//! Page-locked host memory; JS sees it as an external ArrayBuffer that dispose() detaches.
class NativePinnedBuffer : public Napi::ObjectWrap<NativePinnedBuffer> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NativePinnedBuffer(const Napi::CallbackInfo& info);
  ~NativePinnedBuffer() override;
  void Finalize(Napi::Env env) override;  //!< gives back what was reported to V8 when JS drops it undisposed
  void* ptr() const;
  size_t bytes() const { return mem_ ? mem_->bytes() : 0; }
  static NativePinnedBuffer* Unwrap(const Napi::Value& v);

 private:
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value GetArrayBuffer(const Napi::CallbackInfo& info);
  std::shared_ptr<cuda::PinnedBuffer> mem_;
  Napi::Reference<Napi::ArrayBuffer> view_;
  size_t reported_ = 0;
};

//! An ArrayBuffer over pinned memory that keeps the memory alive as long as V8 holds it.
Napi::ArrayBuffer externalView(Napi::Env env, const std::shared_ptr<cuda::PinnedBuffer>& mem);

}  // namespace ntrt::addon
