#include "NativeBuffers.h"

#include "../cuda/device.h"
#include "addon.h"

namespace ntrt::addon {

// ---- NativeDeviceBuffer -----------------------------------------------------------------------

Napi::Function NativeDeviceBuffer::Init(Napi::Env env) {
  Napi::Function f = DefineClass(env, "NativeDeviceBuffer",
                                 {InstanceMethod<&NativeDeviceBuffer::Dispose>("dispose"),
                                  InstanceAccessor<&NativeDeviceBuffer::Bytes>("bytes")});
  constructors(env).deviceBuffer = Napi::Persistent(f);
  return f;
}

// new NativeDeviceBuffer(bytes: number, device: number)
NativeDeviceBuffer::NativeDeviceBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeDeviceBuffer>(info) {
  try {
    size_t bytes = static_cast<size_t>(info[0].As<Napi::Number>().Int64Value());
    device_ = info[1].As<Napi::Number>().Int32Value();
    cuda::requireDevice(device_);
    cuda::DeviceGuard guard(device_);
    int device = device_;
    // The last owner (this, or a copy still in flight) frees it, on its device.
    buf_ = std::shared_ptr<cuda::DeviceBuffer>(new cuda::DeviceBuffer(bytes), [device](cuda::DeviceBuffer* b) {
      try {
        cuda::DeviceGuard g(device);
        delete b;
      } catch (const ntrt::Error&) {
        delete b;
      }
    });
    reported_ = static_cast<int64_t>(bytes);
    adjustExternal(info.Env(), reported_);
  }
  NTRT_CATCH(info.Env())
}

NativeDeviceBuffer::~NativeDeviceBuffer() = default;  // buf_'s deleter frees on the right device

void NativeDeviceBuffer::Finalize(Napi::Env env) {
  adjustExternal(env, -reported_);
  reported_ = 0;
}

void NativeDeviceBuffer::release(Napi::Env env) {
  if (disposed_) return;
  disposed_ = true;
  adjustExternal(env, -reported_);
  reported_ = 0;
  buf_.reset();
}

Napi::Value NativeDeviceBuffer::Dispose(const Napi::CallbackInfo& info) {
  try {
    release(info.Env());
  }
  NTRT_CATCH(info.Env())
  return info.Env().Undefined();
}

Napi::Value NativeDeviceBuffer::Bytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(disposed_ ? 0 : bytes()));
}

void* NativeDeviceBuffer::ptr() const {
  NTRT_REQUIRE(!disposed_ && buf_, "ERR_DISPOSED", "DeviceBuffer has been disposed");
  return buf_->get();
}

std::shared_ptr<cuda::DeviceBuffer> NativeDeviceBuffer::shared() const {
  NTRT_REQUIRE(!disposed_ && buf_, "ERR_DISPOSED", "DeviceBuffer has been disposed");
  return buf_;
}

NativeDeviceBuffer* NativeDeviceBuffer::Unwrap(const Napi::Value& v) {
  Napi::Env env = v.Env();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(constructors(env).deviceBuffer.Value())) {
    throw makeError(env, "ERR_INVALID_ARGUMENT", "Expected a DeviceBuffer");
  }
  return ObjectWrap<NativeDeviceBuffer>::Unwrap(v.As<Napi::Object>());
}

// ---- NativePinnedBuffer -----------------------------------------------------------------------

Napi::ArrayBuffer externalView(Napi::Env env, const std::shared_ptr<cuda::PinnedBuffer>& mem) {
  auto* keep = new std::shared_ptr<cuda::PinnedBuffer>(mem);
  return Napi::ArrayBuffer::New(
      env, mem->get(), mem->bytes(), [](Napi::Env, void*, std::shared_ptr<cuda::PinnedBuffer>* k) { delete k; }, keep);
}

Napi::Function NativePinnedBuffer::Init(Napi::Env env) {
  Napi::Function f = DefineClass(env, "NativePinnedBuffer",
                                 {InstanceMethod<&NativePinnedBuffer::Dispose>("dispose"),
                                  InstanceAccessor<&NativePinnedBuffer::GetArrayBuffer>("arrayBuffer")});
  constructors(env).pinnedBuffer = Napi::Persistent(f);
  return f;
}

// new NativePinnedBuffer(bytes: number)
NativePinnedBuffer::NativePinnedBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativePinnedBuffer>(info) {
  try {
    size_t bytes = static_cast<size_t>(info[0].As<Napi::Number>().Int64Value());
    cuda::requireDevice(0);  // pinned allocation needs a driver
    mem_ = std::make_shared<cuda::PinnedBuffer>(bytes);
    view_ = Napi::Persistent(externalView(info.Env(), mem_));
    reported_ = bytes;
    adjustExternal(info.Env(), static_cast<int64_t>(bytes));
  }
  NTRT_CATCH(info.Env())
}

NativePinnedBuffer::~NativePinnedBuffer() = default;  // the view's finalizer owns the last reference

void NativePinnedBuffer::Finalize(Napi::Env env) {
  adjustExternal(env, -static_cast<int64_t>(reported_));
  reported_ = 0;
}

Napi::Value NativePinnedBuffer::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!mem_) return env.Undefined();
  if (!view_.IsEmpty()) {
    Napi::ArrayBuffer ab = view_.Value();
    if (!ab.IsDetached()) ab.Detach();  // every typed array over it now has length 0: no use-after-free
    view_.Reset();
  }
  mem_->reset();  // free now, not at the next GC; the detached view's finalizer only drops an empty shell
  mem_.reset();
  adjustExternal(env, -static_cast<int64_t>(reported_));
  reported_ = 0;
  return env.Undefined();
}

Napi::Value NativePinnedBuffer::GetArrayBuffer(const Napi::CallbackInfo& info) {
  if (!mem_ || view_.IsEmpty()) throw makeError(info.Env(), "ERR_DISPOSED", "PinnedBuffer has been disposed");
  return view_.Value();
}

void* NativePinnedBuffer::ptr() const {
  NTRT_REQUIRE(mem_ != nullptr, "ERR_DISPOSED", "PinnedBuffer has been disposed");
  return mem_->get();
}

NativePinnedBuffer* NativePinnedBuffer::Unwrap(const Napi::Value& v) {
  Napi::Env env = v.Env();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(constructors(env).pinnedBuffer.Value())) {
    throw makeError(env, "ERR_INVALID_ARGUMENT", "Expected a PinnedBuffer");
  }
  return ObjectWrap<NativePinnedBuffer>::Unwrap(v.As<Napi::Object>());
}

}  // namespace ntrt::addon
