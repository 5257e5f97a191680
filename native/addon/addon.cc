#include "addon.h"

#include <memory>
#include <new>

#include "../cuda/check.h"
#include "../cuda/device.h"
#include "../cuda/error.h"

namespace ntrt::addon {
namespace {

struct Pending;
void settleOnJsThread(Napi::Env env, Napi::Function, std::nullptr_t*, Pending* p);
using Completion = Napi::TypedThreadSafeFunction<std::nullptr_t, Pending, settleOnJsThread>;

struct State {
  Napi::FunctionReference errorClass;
  Constructors ctors;
  Completion completion;
  int pending = 0;
  std::map<int, cudaStream_t> waiters;  // per device: streams that wait on events for whenEventDone
};

struct Pending {
  Napi::Promise::Deferred deferred;
  Settle settle;
  int device;
  cudaStream_t stream;
  State* state;
};

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
  if (--p->state->pending == 0 && env != nullptr) p->state->completion.Unref(env);
  if (env == nullptr) return;  // environment is shutting down
  Napi::HandleScope scope(env);
  try {
    cudaError_t e;
    {
      cuda::DeviceGuard guard(p->device);
      e = p->stream ? cudaStreamQuery(p->stream) : cudaSuccess;
    }
    if (e != cudaSuccess && e != cudaErrorNotReady) CUDA_CHECK(e);
    p->deferred.Resolve(p->settle(env));
  } catch (const Napi::Error& err) {
    p->deferred.Reject(err.Value());
  } catch (const ntrt::Error& err) {
    p->deferred.Reject(makeError(env, err.code(), err.what()).Value());
  } catch (const std::exception& err) {
    p->deferred.Reject(makeError(env, "ERR_CUDA", err.what()).Value());
  }
}

void CUDART_CB onHost(void* data) {
  auto* p = static_cast<Pending*>(data);
  p->state->completion.NonBlockingCall(p);
}

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

Napi::Promise whenStreamDone(Napi::Env env, int device, cudaStream_t stream, Settle settle) {
  State& s = state(env);
  auto p = std::make_unique<Pending>(Pending{Napi::Promise::Deferred::New(env), std::move(settle), device, stream, &s});
  Napi::Promise promise = p->deferred.Promise();
  {
    cuda::DeviceGuard guard(device);
    CUDA_CHECK(cudaLaunchHostFunc(stream, onHost, p.get()));
  }
  if (s.pending++ == 0) s.completion.Ref(env);
  p.release();
  return promise;
}

Napi::Promise whenEventDone(Napi::Env env, int device, cudaEvent_t event, Settle settle) {
  State& s = state(env);
  cuda::DeviceGuard guard(device);
  auto it = s.waiters.find(device);
  if (it == s.waiters.end()) {
    cudaStream_t w = nullptr;
    CUDA_CHECK(cudaStreamCreateWithFlags(&w, cudaStreamNonBlocking));
    it = s.waiters.emplace(device, w).first;
  }
  CUDA_CHECK(cudaStreamWaitEvent(it->second, event, 0));
  return whenStreamDone(env, device, it->second, std::move(settle));
}

void* preparePending(Napi::Env env, int device, cudaStream_t stream, Settle settle, Napi::Promise* promise) {
  State& s = state(env);
  auto* p = new Pending{Napi::Promise::Deferred::New(env), std::move(settle), device, stream, &s};
  *promise = p->deferred.Promise();
  if (s.pending++ == 0) s.completion.Ref(env);
  return p;
}

void postPending(void* pending) { onHost(pending); }

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
