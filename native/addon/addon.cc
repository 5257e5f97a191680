#include "addon.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <new>
#include <optional>
#include <vector>

#include "../cuda/check.h"
#include "../cuda/device.h"
#include "../cuda/error.h"

namespace ntrt::addon {
namespace {

struct Pending;
void settleOnJsThread(Napi::Env env, Napi::Function, std::nullptr_t*, Pending* p);
using Completion = Napi::TypedThreadSafeFunction<std::nullptr_t, Pending, settleOnJsThread>;

using Clock = std::chrono::steady_clock;

struct State {
  Napi::FunctionReference errorClass;
  Constructors ctors;
  Completion completion;
  int pending = 0;
  // Polling near a run's end (postHot): a native callback re-armed with setImmediate while runs are hot, so that
  // the loop turns instead of sleeping in epoll, and each turn queries the hot runs' end events itself.
  Napi::FunctionReference tick;
  bool ticking = false;  //!< a HotTick is scheduled
  Clock::time_point lastTick{};
  std::vector<Pending*> hot;  //!< runs a wake-up was taken for and that are not yet settled
  Clock::time_point hotUntil{};
};

//! A promise to settle once its work is done, or (`wakeFor` set, no deferred) a request to poll for that one.
struct Pending {
  std::optional<Napi::Promise::Deferred> deferred;
  Settle settle;
  OnFault onFault;
  State* state = nullptr;
  cudaError_t status = cudaSuccess;
  std::shared_ptr<void> owner;  //!< keeps what the work belongs to (its stream, its end event) alive until freed
  // A completion the JS thread may settle itself, before its poster hands it over (postHot).
  cudaEvent_t event = nullptr;
  std::atomic<bool> settled{false};     //!< resolved or rejected already (by a poll): the handover only frees it
  std::atomic<int64_t> pollFromNs{0};   //!< when the JS thread began polling for it (steady clock)
  std::atomic<int64_t> sawEndNs{0};     //!< when its poll saw the event complete (set before `settled`)
  // A wake-up request.
  Pending* wakeFor = nullptr;
  int64_t hotUs = 0;
};

int64_t nowNs() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

//! Resolves (or, after a GPU fault, rejects) `p`'s promise with `status`; on the JS thread.
void resolve(Napi::Env env, Pending* p, cudaError_t status) {
  Napi::HandleScope scope(env);
  try {
    if (status != cudaSuccess) {
      if (p->onFault) p->onFault(status);
      throw asyncCudaError(status, "work on this stream");
    }
    p->deferred->Resolve(p->settle(env));
  } catch (const Napi::Error& err) {
    p->deferred->Reject(err.Value());
  } catch (const ntrt::Error& err) {
    p->deferred->Reject(makeError(env, err.code(), err.what()).Value());
  } catch (const std::exception& err) {
    p->deferred->Reject(makeError(env, "ERR_CUDA", err.what()).Value());
  }
}

void unhot(State& s, Pending* p) {
  for (size_t i = 0; i < s.hot.size(); ++i) {
    if (s.hot[i] == p) {
      s.hot[i] = s.hot.back();
      s.hot.pop_back();
      return;
    }
  }
}

// Each turn of the loop while runs are hot: settles those whose end event has completed, then re-arms itself while
// any is left and the window lasts. A run that ends later than the window is settled by its poster's handover.
// (cudaEventQuery needs no particular current device.)
void armTick(Napi::Env env, State& s);

Napi::Value HotTick(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State& s = *static_cast<State*>(info.Data());
  s.ticking = false;
  s.lastTick = Clock::now();
  for (size_t i = 0; i < s.hot.size();) {
    Pending* p = s.hot[i];
    cudaError_t e = cudaEventQuery(p->event);
    if (e == cudaErrorNotReady) {
      ++i;
      continue;
    }
    if (e != cudaSuccess) (void)cudaGetLastError();
    s.hot[i] = s.hot.back();
    s.hot.pop_back();
    p->sawEndNs.store(nowNs(), std::memory_order_relaxed);
    p->settled.store(true, std::memory_order_release);
    resolve(env, p, e);
  }
  if (!s.hot.empty() && Clock::now() < s.hotUntil) armTick(env, s);
  return env.Undefined();
}

// Schedules the next HotTick with the global setImmediate as it is now (a test's fake timers come and go). Never
// throws: polling is only a faster path, the handover settles every run anyway.
void armTick(Napi::Env env, State& s) {
  try {
    Napi::Value si = env.Global().Get("setImmediate");
    if (!si.IsFunction()) return;
    if (s.tick.IsEmpty()) s.tick = Napi::Persistent(Napi::Function::New(env, HotTick, "nodeTensorrtHotTick", &s));
    si.As<Napi::Function>().Call({s.tick.Value()});
    s.ticking = true;
    s.lastTick = Clock::now();
  } catch (...) {
    s.ticking = false;
    if (env.IsExceptionPending()) (void)env.GetAndClearPendingException();
  }
}

void keepHot(Napi::Env env, State& s, int64_t us) {
  const Clock::time_point now = Clock::now();
  const Clock::time_point until = now + std::chrono::microseconds(us);
  if (until > s.hotUntil) s.hotUntil = until;
  if (s.hot.empty()) return;
  // A tick that never came (its immediate dropped, say by fake timers) must not stop polling for good.
  if (s.ticking && now - s.lastTick < std::chrono::milliseconds(10)) return;
  armTick(env, s);
}

State& state(Napi::Env env) {
  State* s = env.GetInstanceData<State>();
  if (!s) {
    s = new State();
    env.SetInstanceData<State>(s);
    s->completion = Completion::New(env, "node-tensorrt completion", 0, 1, nullptr);
    s->completion.Unref(env);
  }
  return *s;
}

void settleOnJsThread(Napi::Env env, Napi::Function, std::nullptr_t*, Pending* raw) {
  std::unique_ptr<Pending> p(raw);
  State& s = *p->state;
  if (p->wakeFor) {  // a wake-up; it always arrives before the completion it is for (one queue)
    Pending* run = p->wakeFor;
    if (env == nullptr || run->settled.load(std::memory_order_relaxed)) return;
    run->pollFromNs.store(nowNs(), std::memory_order_relaxed);
    s.hot.push_back(run);
    keepHot(env, s, p->hotUs);  // never throws: the handover settles the run anyway
    return;
  }
  unhot(s, p.get());
  if (--s.pending == 0 && env != nullptr) s.completion.Unref(env);
  if (env == nullptr) return;  // environment is shutting down
  if (!p->settled.load(std::memory_order_relaxed)) resolve(env, p.get(), p->status);
}

void post(Pending* p, cudaError_t status) {
  p->status = status;
  p->state->completion.NonBlockingCall(p);
}

// Unlike a cudaLaunchHostFunc function, a stream callback runs after a device fault too, with the error.
void CUDART_CB onStream(cudaStream_t, cudaError_t status, void* data) { post(static_cast<Pending*>(data), status); }

}  // namespace

Napi::Error makeError(Napi::Env env, const std::string& code, const std::string& message) {
  State& s = state(env);
  if (!s.errorClass.IsEmpty()) {
    Napi::Object o = s.errorClass.New({Napi::String::New(env, code), Napi::String::New(env, message)});
    return Napi::Error(env, o);
  }
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

void rethrowAsJs(Napi::Env env) {
  try {
    throw;
  } catch (const Napi::Error&) {
    throw;
  } catch (const ntrt::Error& e) {
    throw makeError(env, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    throw makeError(env, "ERR_OUT_OF_MEMORY", "Out of host memory");
  } catch (const std::exception& e) {
    throw makeError(env, "ERR_INTERNAL", e.what());
  }
}

Constructors& constructors(Napi::Env env) { return state(env).ctors; }

void adjustExternal(Napi::Env env, int64_t delta) {
  if (delta != 0) Napi::MemoryManagement::AdjustExternalMemory(env, delta);
}

ntrt::Error asyncCudaError(cudaError_t status, const std::string& what) {
  std::string msg = std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status) + " (reported by the GPU for " + what + ")";
  if (cuda::isSticky(status)) msg += cuda::kStickyAdvice;
  return ntrt::Error(cuda::codeFor(status), msg);
}

Napi::Promise whenStreamDone(Napi::Env env, int device, cudaStream_t stream, Settle settle, OnFault onFault) {
  State& s = state(env);
  std::unique_ptr<Pending> p(new Pending{Napi::Promise::Deferred::New(env), std::move(settle), std::move(onFault), &s, cudaSuccess, nullptr});
  Napi::Promise promise = p->deferred->Promise();
  {
    cuda::DeviceGuard guard(device);
    CUDA_CHECK(cudaStreamAddCallback(stream, onStream, p.get(), 0));
  }
  if (s.pending++ == 0) s.completion.Ref(env);
  p.release();
  return promise;
}

Napi::Promise whenEventDone(Napi::Env env, int device, cudaEvent_t event, cudaStream_t helper, Settle settle) {
  cuda::DeviceGuard guard(device);
  CUDA_CHECK(cudaStreamWaitEvent(helper, event, 0));
  return whenStreamDone(env, device, helper, std::move(settle));
}

void* preparePending(Napi::Env env, Settle settle, OnFault onFault, Napi::Promise* promise, std::shared_ptr<void> owner) {
  State& s = state(env);
  auto* p = new Pending{Napi::Promise::Deferred::New(env), std::move(settle), std::move(onFault), &s, cudaSuccess, std::move(owner)};
  *promise = p->deferred->Promise();
  if (s.pending++ == 0) s.completion.Ref(env);
  return p;
}

void postPending(void* pending, cudaError_t status) { post(static_cast<Pending*>(pending), status); }

void postHot(void* pending, cudaEvent_t event, int64_t us) {
  Pending* run = static_cast<Pending*>(pending);
  run->event = event;
  auto* p = new Pending{std::nullopt, nullptr, nullptr, run->state, cudaSuccess, nullptr};
  p->wakeFor = run;
  p->hotUs = us;
  if (run->state->completion.NonBlockingCall(p) != napi_ok) delete p;
}

PollOutcome pollOutcome(void* pending) {
  const Pending* run = static_cast<const Pending*>(pending);
  const bool settled = run->settled.load(std::memory_order_acquire);
  return {settled, run->pollFromNs.load(std::memory_order_relaxed), settled ? run->sawEndNs.load(std::memory_order_relaxed) : 0};
}

std::pair<uint8_t*, size_t> viewBytes(const Napi::TypedArray& t) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  // The data pointer as N-API gives it (offset included): unlike ArrayBuffer().Data(), it works for shared memory.
  NAPI_THROW_IF_FAILED(t.Env(), napi_get_typedarray_info(t.Env(), t, &type, &length, &data, nullptr, nullptr),
                       (std::pair<uint8_t*, size_t>{nullptr, 0}));
  return {static_cast<uint8_t*>(data), t.ByteLength()};
}

int32_t intOption(const Napi::Object& o, const char* key, int32_t dflt) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : dflt;
}

//! Called once by lib/native.ts so native code throws the library's own error class.
Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  State& s = state(info.Env());
  s.errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

}  // namespace ntrt::addon
