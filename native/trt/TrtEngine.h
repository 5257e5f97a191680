// NativeTrtEngine ↔ lib/engine.ts Engine for the tensorrt backend: a deserialized ICudaEngine and its I/O.
#pragma once
#include "sdk.h"
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "common.h"

namespace ntrt::trt {

struct LayerInfo {
  std::string name, op, tactic;
};

//! A deserialized engine, shared by its wrapper and every context made from it, so it outlives them all.
struct EngineState {
  int device = 0;
  Owned<nvinfer1::IRuntime> runtime;  // declared before the engine: destroyed after it
  Owned<nvinfer1::ICudaEngine> engine;
  std::vector<IOTensor> io;
  bool dynamicBatch = false;
  bool dynamicOther = false;  //!< some input varies in a dimension besides the batch: runs give the input shapes
  int batchMin = 1, batchOpt = 1, batchMax = 1;
  int64_t weightBytes = 0;      //!< device bytes of the weights
  int64_t activationBytes = 0;  //!< device bytes each execution context allocates
  std::vector<LayerInfo> layers;
  ~EngineState();
};

//! The JS-facing engine; dispose() drops its share of the state, contexts keep theirs.
class NativeTrtEngine : public Napi::ObjectWrap<NativeTrtEngine> {
 public:
  static Napi::Function Init(Napi::Env env, Classes* classes);
  //! Wraps a loaded engine in a new JS object (the constructor is not callable from JS).
  static Napi::Object wrap(Napi::Env env, Classes* classes, std::shared_ptr<EngineState> state);
  explicit NativeTrtEngine(const Napi::CallbackInfo& info);
  void Finalize(Napi::Env env) override;  //!< gives back what was reported to V8 when JS drops it undisposed

 private:
  Napi::Value Io(const Napi::CallbackInfo& info);
  Napi::Value CreateContext(const Napi::CallbackInfo& info);
  Napi::Value DeviceMemory(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  const std::shared_ptr<EngineState>& live() const;

  std::shared_ptr<EngineState> state_;
  Classes* classes_ = nullptr;
  int64_t reported_ = 0;
};

//! trtLoadEngine(engine: Uint8Array, device: number) → Promise<NativeTrtEngine>; deserializes off the JS thread.
Napi::Value TrtLoadEngine(const Napi::CallbackInfo& info);

}  // namespace ntrt::trt
