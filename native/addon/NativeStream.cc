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

// A stream owned through shared_ptr whose last owner destroys it on its own device.
std::shared_ptr<cuda::Stream> makeStream(int device) {
  return std::shared_ptr<cuda::Stream>(new cuda::Stream(), [device](cuda::Stream* s) {
    try {
      cuda::DeviceGuard guard(device);
      delete s;
    } catch (const ntrt::Error&) {
      delete s;
    }
  });
}

// Pageable host → device copy on the thread pool: the staging copy blocks, so it must not run on the JS thread.
// It owns the stream and the destination until the copy has settled, and keeps the source's JS object alive:
// disposing any of them mid-copy frees nothing the copy still touches.
class PageableCopy : public Napi::AsyncWorker {
 public:
  PageableCopy(Napi::Env env, std::shared_ptr<cuda::Stream> stream, int device, std::shared_ptr<cuda::DeviceBuffer> dst,
               size_t dstOffset, Napi::Object src, const void* host, size_t bytes)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), stream_(std::move(stream)),
        device_(device), dst_(std::move(dst)), dstOffset_(dstOffset), src_(host), bytes_(bytes) {
    keep_ = Napi::Persistent(src);
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      cuda::DeviceGuard guard(device_);
      try {
        CUDA_CHECK(cudaMemcpyAsync(dst_->as<char>() + dstOffset_, src_, bytes_, cudaMemcpyHostToDevice, stream_->get()));
        CUDA_CHECK(cudaStreamSynchronize(stream_->get()));
      } catch (...) {
        release();
        throw;
      }
      release();  // on this thread, on the right device: may be the last owner of either
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
  void release() {
    dst_.reset();
    stream_.reset();
  }
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference keep_;
  std::shared_ptr<cuda::Stream> stream_;
  int device_;
  std::shared_ptr<cuda::DeviceBuffer> dst_;
  size_t dstOffset_;
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
    stream_ = makeStream(device_);
  }
  NTRT_CATCH(info.Env())
}

cudaStream_t NativeStream::get() const {
  NTRT_REQUIRE(stream_ != nullptr, "ERR_DISPOSED", "Stream has been disposed");
  return stream_->get();
}

std::shared_ptr<cuda::Stream> NativeStream::shared() const {
  NTRT_REQUIRE(stream_ != nullptr, "ERR_DISPOSED", "Stream has been disposed");
  return stream_;
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
    if (!dst.device) throw makeError(env, "ERR_INVALID_ARGUMENT", "Expected a DeviceBuffer");
    size_t dOff = sizeArg(info[1]);
    Napi::TypedArray src = info[2].As<Napi::TypedArray>();
    requireRange(env, dst, dOff, src.ByteLength(), "Destination");
    const char* host = reinterpret_cast<const char*>(viewBytes(src).first);
    auto* w = new PageableCopy(env, shared(), device_, NativeDeviceBuffer::Unwrap(info[0])->shared(), dOff,
                               src.As<Napi::Object>(), host, src.ByteLength());
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
    auto keep = shared();  // a dispose() before the callback leaves the stream to this promise
    return whenStreamDone(env, device_, keep->get(), [keep](Napi::Env e) { return e.Undefined(); });
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
    // A helper stream of this event's own: a wait on another event, however long, never delays this one.
    if (!helper_) {
      cuda::DeviceGuard guard(device_);
      helper_ = makeStream(device_);
    }
    auto helper = helper_;
    return whenEventDone(env, device_, get(), helper->get(), [helper](Napi::Env e) { return e.Undefined(); });
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
      helper_.reset();
    }
  }
  NTRT_CATCH(info.Env())
  return info.Env().Undefined();
}

}  // namespace ntrt::addon
