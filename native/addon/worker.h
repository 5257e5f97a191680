// A promise-returning AsyncWorker: Execute() runs a plain C++ function off the JS thread, reading only
// what was copied into it; the result becomes a JS value on the JS thread. Coded errors survive the trip.
#pragma once
#include <napi.h>

#include <functional>
#include <new>
#include <string>
#include <vector>

#include "../cuda/error.h"
#include "addon.h"

namespace ntrt::addon {

template <typename R>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Exec = std::function<R()>;
  using Done = std::function<Napi::Value(Napi::Env, R&)>;

  //! Queues `exec` on the thread pool; `keep` are JS values held alive (Ref'd) until it settles.
  static Napi::Promise Run(Napi::Env env, Exec exec, Done done, const std::vector<Napi::Value>& keep = {}) {
    auto* w = new PromiseWorker(env, std::move(exec), std::move(done));
    for (const Napi::Value& v : keep) {
      if (v.IsObject()) w->keep_.push_back(Napi::Persistent(v.As<Napi::Object>()));
    }
    Napi::Promise p = w->deferred_.Promise();
    w->Queue();
    return p;
  }

 private:
  PromiseWorker(Napi::Env env, Exec exec, Done done)
      : Napi::AsyncWorker(env, "node-tensorrt"), deferred_(Napi::Promise::Deferred::New(env)), exec_(std::move(exec)),
        done_(std::move(done)) {}

  void Execute() override {
    try {
      result_ = exec_();
    } catch (const ntrt::Error& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      code_ = "ERR_OUT_OF_MEMORY";
      SetError("Out of host memory");
    } catch (const std::exception& e) {
      code_ = "ERR_INTERNAL";
      SetError(e.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(done_(env, result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (const ntrt::Error& e) {
      deferred_.Reject(makeError(env, e.code(), e.what()).Value());
    } catch (const std::exception& e) {
      deferred_.Reject(makeError(env, "ERR_INTERNAL", e.what()).Value());
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(makeError(Env(), code_, e.Message()).Value()); }

  Napi::Promise::Deferred deferred_;
  Exec exec_;
  Done done_;
  R result_{};
  std::string code_ = "ERR_INTERNAL";
  std::vector<Napi::ObjectReference> keep_;
};

}  // namespace ntrt::addon
