// Per-environment addon state, coded JS errors, and the promise plumbing shared by every class.
#pragma once
#include <cuda_runtime_api.h>
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "../cuda/error.h"

namespace ntrt::addon {

//! Builds a TensorRTError (the JS class registered by lib/native.ts) with a stable code.
Napi::Error makeError(Napi::Env env, const std::string& code, const std::string& message);

//! Inside a catch: rethrows the current exception as a coded JS error.
[[noreturn]] void rethrowAsJs(Napi::Env env);

#define NTRT_CATCH(env)                 \
  catch (...) {                         \
    ::ntrt::addon::rethrowAsJs(env);    \
  }

//! Settles a promise on the JS thread once the stream reaches this point. No polling, no blocked loop.
//! `settle` runs on the JS thread; it may throw ntrt::Error to reject. The host callback sees the stream's status
//! (cudaStreamAddCallback, not cudaLaunchHostFunc, which is never called after a device fault): when the GPU
//! reported an error, `onFault` runs on the JS thread and the promise rejects with a coded error
//! (ERR_CUDA_FAULT for the sticky kind).
using Settle = std::function<Napi::Value(Napi::Env)>;
using OnFault = std::function<void(cudaError_t)>;
Napi::Promise whenStreamDone(Napi::Env env, int device, cudaStream_t stream, Settle settle, OnFault onFault = nullptr);

//! Same, but for an event: `helper` (a stream the caller owns, for this event alone) waits on it, so waits on
//! different events never queue behind each other.
Napi::Promise whenEventDone(Napi::Env env, int device, cudaEvent_t event, cudaStream_t helper, Settle settle);

//! For completion paths other than host callbacks: a pending promise to post (from any thread) once its work is
//! done, with the status the GPU reported for it.
//! `owner` is kept alive until the pending promise is freed: what its work belongs to (a context, whose end event a
//! poll may query).
void* preparePending(Napi::Env env, Settle settle, OnFault onFault, Napi::Promise* promise, std::shared_ptr<void> owner);
//! Hands a prepared pending promise to the JS thread; callable from any thread, once.
void postPending(void* pending, cudaError_t status);

//! Callable from any thread, before `pending` is posted: asks the JS thread to poll `event` on
//! every turn of its event loop, instead of sleeping in epoll, for at most `us` microseconds, and to settle
//! `pending` itself as soon as the event completes. Posted shortly before a run is expected to end, so that the
//! JS thread is awake at the end and no thread hand-over (nor wake-up) lies between the GPU and the promise.
//! Whoever polls, `pending` must still be posted (postPending) once its work is done: that frees it, and settles
//! it if the JS thread has not.
void postHot(void* pending, cudaEvent_t event, int64_t us);
//! Whether the JS thread settled `pending` by polling (read by its poster, before it posts it); when it began
//! polling (0 while it has not) and, once settled, when it saw the event complete (std::chrono::steady_clock,
//! nanoseconds since its epoch).
struct PollOutcome {
  bool settled;
  int64_t fromNs, sawEndNs;
};
PollOutcome pollOutcome(void* pending);


//! The coded error for a failure the GPU reported asynchronously (`what`: the work it was reported for).
ntrt::Error asyncCudaError(cudaError_t status, const std::string& what);

//! The constructors of the wrapped classes, for instanceof checks when unwrapping arguments.
struct Constructors {
  Napi::FunctionReference stream, event, deviceBuffer, pinnedBuffer, builtinEngine, builtinContext;
};
Constructors& constructors(Napi::Env env);

//! Reports memory held outside the V8 heap (GPU and pinned) so GC pressure reflects it.
void adjustExternal(Napi::Env env, int64_t delta);

//! The bytes a typed array views, whatever holds them (an ArrayBuffer or a SharedArrayBuffer).
std::pair<uint8_t*, size_t> viewBytes(const Napi::TypedArray& t);

//! Reads an int32 option from a plain options object, with a default.
int32_t intOption(const Napi::Object& o, const char* key, int32_t dflt);

}  // namespace ntrt::addon
