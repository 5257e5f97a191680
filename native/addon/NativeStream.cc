#include "NativeStream.h"

#include <cstring>

#include "../cuda/convert.h"
#include "../cuda/device.h"
#include "NativeBuffers.h"
#include "addon.h"

namespace ntrt::addon {
namespace {

struct Span {
  char* ptr;
  size_t bytes;
  bool device;
};

// A DeviceBuffer or PinnedBuffer argument, as a raw span.
Span spanOf(const Napi::Value& v) {
  Napi::Env env = v.Env();
  if (v.IsObject()) {
    Napi::Object o = v.As<Napi::Object>();
    if (o.InstanceOf(constructors(env).deviceBuffer.Value())) {
      auto* b = NativeDeviceBuffer::Unwrap(v);
      return {static_cast<char*>(b->ptr()), b->bytes(), true};
    }
    if (o.InstanceOf(constructors(env).pinnedBuffer.Value())) {
      auto* b = NativePinnedBuffer::Unwrap(v);
      return {static_cast<char*>(b->ptr()), b->bytes(), false};
    }
  }
  throw makeError(env, "ERR_INVALID_ARGUMENT", "Expected a DeviceBuffer or a PinnedBuffer");
}

size_t sizeArg(const Napi::Value& v) { return static_cast<size_t>(v.As<Napi::Number>().Int64Value()); }

void requireRange(Napi::Env env, const Span& s, size_t offset, size_t bytes, const char* what) {
  if (offset > s.bytes || bytes > s.bytes - offset) {
    throw makeError(env, "ERR_INVALID_ARGUMENT",
                    std::string(what) + " range [" + std::to_string(offset) + ", " + std::to_string(offset + bytes) +
                        ") exceeds the buffer's " + std::to_string(s.bytes) + " bytes");
  }
}

// Pageable host → device copy on the thread pool: the staging copy blocks, so it must not run on the JS thread.
class PageableCopy : public Napi::AsyncWorker {
 public:
  PageableCopy(Napi::Env env, NativeStream* stream, Napi::Object owner, void* dst, const void* src, size_t bytes)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), stream_(stream->get()),
        device_(stream->device()), dst_(dst), src_(src), bytes_(bytes) {
    keep_ = Napi::Persistent(owner);
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      cuda::DeviceGuard guard(device_);
      CUDA_CHECK(cudaMemcpyAsync(dst_, src_, bytes_, cudaMemcpyHostToDevice, stream_));
      CUDA_CHECK(cudaStreamSynchronize(stream_));
    } catch (const ntrt::Error& e) {
      code_ = e.code();
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(makeError(Env(), code_.empty() ? "ERR_CUDA" : code_, e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference keep_;
  cudaStream_t stream_;
  int device_;
  void* dst_;
  const void* src_;
  size_t bytes_;
  std::string code_;
};

}  // namespace

// ---- NativeStream -----------------------------------------------------------------------------

Napi::Function NativeStream::Init(Napi::Env env) {
  Napi::Function f = DefineClass(env, "NativeStream",
                                 {InstanceMethod<&NativeStream::Copy>("copy"),
                                  InstanceMethod<&NativeStream::CopyFromHost>("copyFromHost"),
                                  InstanceMethod<&NativeStream::Convert>("convert"),
                                  InstanceMethod<&NativeStream::Synchronize>("synchronize"),
                                  InstanceMethod<&NativeStream::Query>("query"),
                                  InstanceMethod<&NativeStream::Dispose>("dispose")});
  constructors(env).stream = Napi::Persistent(f);
  return f;
}

// new NativeStream(device: number)
NativeStream::NativeStream(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeStream>(info) {
  try {
    device_ = info[0].As<Napi::Number>().Int32Value();
    cuda::requireDevice(device_);
    cuda::DeviceGuard guard(device_);
    stream_ = std::make_unique<cuda::Stream>();
  }
  NTRT_CATCH(info.Env())
}

cudaStream_t NativeStream::get() const {
  NTRT_REQUIRE(stream_ != nullptr, "ERR_DISPOSED", "Stream has been disposed");
  return stream_->get();
}

NativeStream* NativeStream::Unwrap(const Napi::Value& v) {
  Napi::Env env = v.Env();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(constructors(env).stream.Value())) {
    throw makeError(env, "ERR_INVALID_ARGUMENT", "Expected a Stream");
  }
  return ObjectWrap<NativeStream>::Unwrap(v.As<Napi::Object>());
}

// copy(dst, dstOffset, src, srcOffset, bytes): enqueues an async copy between device and/or pinned memory.
Napi::Value NativeStream::Copy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    Span dst = spanOf(info[0]), src = spanOf(info[2]);
    size_t dOff = sizeArg(info[1]), sOff = sizeArg(info[3]), bytes = sizeArg(info[4]);
    requireRange(env, dst, dOff, bytes, "Destination");
    requireRange(env, src, sOff, bytes, "Source");
    cuda::DeviceGuard guard(device_);
    CUDA_CHECK(cudaMemcpyAsync(dst.ptr + dOff, src.ptr + sOff, bytes, cudaMemcpyDefault, get()));
  }
  NTRT_CATCH(env)
  return env.Undefined();
}

// copyFromHost(dst: DeviceBuffer, dstOffset, src: TypedArray) → Promise: a pageable copy, run off the JS thread.
Napi::Value NativeStream::CopyFromHost(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    Span dst = spanOf(info[0]);
    size_t dOff = sizeArg(info[1]);
    Napi::TypedArray src = info[2].As<Napi::TypedArray>();
    requireRange(env, dst, dOff, src.ByteLength(), "Destination");
    const char* host = static_cast<const char*>(src.ArrayBuffer().Data()) + src.ByteOffset();
    auto* w = new PageableCopy(env, this, src.As<Napi::Object>(), dst.ptr + dOff, host, src.ByteLength());
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }
  NTRT_CATCH(env)
}

// convert(dst, dstType, src, srcType, count): element conversion on the device (f32 ↔ f16).
Napi::Value NativeStream::Convert(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    Span dst = spanOf(info[0]), src = spanOf(info[2]);
    auto dt = static_cast<cuda::DType>(info[1].As<Napi::Number>().Int32Value());
    auto st = static_cast<cuda::DType>(info[3].As<Napi::Number>().Int32Value());
    size_t n = sizeArg(info[4]);
    if (!dst.device || !src.device) throw makeError(env, "ERR_INVALID_ARGUMENT", "convert works on DeviceBuffers");
    requireRange(env, dst, 0, n * cuda::dtypeSize(dt), "Destination");
    requireRange(env, src, 0, n * cuda::dtypeSize(st), "Source");
    cuda::DeviceGuard guard(device_);
    cuda::convert(dst.ptr, dt, src.ptr, st, n, get());
  }
  NTRT_CATCH(env)
  return env.Undefined();
}

Napi::Value NativeStream::Synchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    return whenStreamDone(env, device_, get(), [](Napi::Env e) { return e.Undefined(); });
  }
  NTRT_CATCH(env)
}

Napi::Value NativeStream::Query(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    cuda::DeviceGuard guard(device_);
    cudaError_t e = cudaStreamQuery(get());
    if (e == cudaErrorNotReady) return Napi::Boolean::New(env, false);
    CUDA_CHECK(e);
    return Napi::Boolean::New(env, true);
  }
  NTRT_CATCH(env)
}

Napi::Value NativeStream::Dispose(const Napi::CallbackInfo& info) {
  try {
    if (stream_) {
      cuda::DeviceGuard guard(device_);
      stream_.reset();
    }
  }
  NTRT_CATCH(info.Env())
  return info.Env().Undefined();
}

// ---- NativeEvent ------------------------------------------------------------------------------

Napi::Function NativeEvent::Init(Napi::Env env) {
  Napi::Function f = DefineClass(env, "NativeEvent",
                                 {InstanceMethod<&NativeEvent::Record>("record"),
                                  InstanceMethod<&NativeEvent::Synchronize>("synchronize"),
                                  InstanceMethod<&NativeEvent::Query>("query"),
                                  InstanceMethod<&NativeEvent::ElapsedSince>("elapsedSince"),
                                  InstanceMethod<&NativeEvent::Dispose>("dispose")});
  constructors(env).event = Napi::Persistent(f);
  return f;
}

// new NativeEvent(device: number, timing: boolean)
NativeEvent::NativeEvent(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeEvent>(info) {
  try {
    device_ = info[0].As<Napi::Number>().Int32Value();
    bool timing = info[1].ToBoolean().Value();
    cuda::requireDevice(device_);
    cuda::DeviceGuard guard(device_);
    event_ = std::make_unique<cuda::Event>(timing);
  }
  NTRT_CATCH(info.Env())
}

cudaEvent_t NativeEvent::get() const {
  NTRT_REQUIRE(event_ != nullptr, "ERR_DISPOSED", "Event has been disposed");
  return event_->get();
}

NativeEvent* NativeEvent::Unwrap(const Napi::Value& v) {
  Napi::Env env = v.Env();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(constructors(env).event.Value())) {
    throw makeError(env, "ERR_INVALID_ARGUMENT", "Expected an Event");
  }
  return ObjectWrap<NativeEvent>::Unwrap(v.As<Napi::Object>());
}

Napi::Value NativeEvent::Record(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    NativeStream* s = NativeStream::Unwrap(info[0]);
    if (s->device() != device_) throw makeError(env, "ERR_INVALID_ARGUMENT", "Event and Stream are on different devices");
    cuda::DeviceGuard guard(device_);
    CUDA_CHECK(cudaEventRecord(get(), s->get()));
  }
  NTRT_CATCH(env)
  return env.Undefined();
}

Napi::Value NativeEvent::Synchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    return whenEventDone(env, device_, get(), [](Napi::Env e) { return e.Undefined(); });
  }
  NTRT_CATCH(env)
}

Napi::Value NativeEvent::Query(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    cuda::DeviceGuard guard(device_);
    cudaError_t e = cudaEventQuery(get());
    if (e == cudaErrorNotReady) return Napi::Boolean::New(env, false);
    CUDA_CHECK(e);
    return Napi::Boolean::New(env, true);
  }
  NTRT_CATCH(env)
}

// elapsedSince(start: NativeEvent) → milliseconds between two completed events.
Napi::Value NativeEvent::ElapsedSince(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    NativeEvent* start = NativeEvent::Unwrap(info[0]);
    cuda::DeviceGuard guard(device_);
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start->get(), get()));
    return Napi::Number::New(env, ms);
  }
  NTRT_CATCH(env)
}

Napi::Value NativeEvent::Dispose(const Napi::CallbackInfo& info) {
  try {
    if (event_) {
      cuda::DeviceGuard guard(device_);
      event_.reset();
    }
  }
  NTRT_CATCH(info.Env())
  return info.Env().Undefined();
}

}  // namespace ntrt::addon
