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
};

struct Pending {
  Napi::Promise::Deferred deferred;
  Settle settle;
  OnFault onFault;
  State* state;
  cudaError_t status = cudaSuccess;
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
    if (p->status != cudaSuccess) {
      if (p->onFault) p->onFault(p->status);
      throw asyncCudaError(p->status, "work on this stream");
    }
    p->deferred.Resolve(p->settle(env));
  } catch (const Napi::Error& err) {
    p->deferred.Reject(err.Value());
  } catch (const ntrt::Error& err) {
    p->deferred.Reject(makeError(env, err.code(), err.what()).Value());
  } catch (const std::exception& err) {
    p->deferred.Reject(makeError(env, "ERR_CUDA", err.what()).Value());
  }
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
  auto p = std::make_unique<Pending>(Pending{Napi::Promise::Deferred::New(env), std::move(settle), std::move(onFault), &s});
  Napi::Promise promise = p->deferred.Promise();
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

void* preparePending(Napi::Env env, Settle settle, OnFault onFault, Napi::Promise* promise) {
  State& s = state(env);
  auto* p = new Pending{Napi::Promise::Deferred::New(env), std::move(settle), std::move(onFault), &s};
  *promise = p->deferred.Promise();
  if (s.pending++ == 0) s.completion.Ref(env);
  return p;
}

void postPending(void* pending, cudaError_t status) { post(static_cast<Pending*>(pending), status); }

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
