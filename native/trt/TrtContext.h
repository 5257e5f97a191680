// NativeTrtContext ↔ lib/context.ts InferenceContext for the tensorrt backend: an IExecutionContext with its own
// stream, device buffers, pinned I/O buffers, timing events and per-batch CUDA graphs.
#pragma once
#include "sdk.h"
#include <napi.h>

#include <map>
#include <memory>
#include <set>
#include <vector>

#include "../cuda/graph.h"
#include "../cuda/memory.h"
#include "../cuda/stream.h"
#include "TrtEngine.h"
#include "logger.h"

namespace ntrt::trt {

//! Everything a context owns; pending promises hold it too, so the stream outlives their settling.
struct ContextState {
  std::shared_ptr<EngineState> engine;  // declared first: the ICudaEngine outlives the IExecutionContext
  int device = 0;
  int maxBatch = 1;
  bool useGraph = true;
  cuda::Stream stream;
  cuda::Event start, afterH2D, afterCompute, end;
  cuda::DeviceBuffer activations;  // the context's scratch memory, ours so profile() can lend it to a profiling context
  Owned<nvinfer1::IExecutionContext> ctx;
  std::vector<cuda::DeviceBuffer> deviceBuffers;
  std::vector<std::shared_ptr<cuda::PinnedBuffer>> hostBuffers;
  //! A run's shape: the batch, then every input dimension that varies besides it (RunShape::key).
  using ShapeKey = std::vector<int64_t>;
  std::map<ShapeKey, cuda::Graph> graphs;  // per shape
  std::set<ShapeKey> warmed;               // shapes enqueued once (TensorRT needs that before a capture)
  std::set<ShapeKey> ungraphable;          // shapes whose capture failed: plain enqueueV3
  ShapeKey shapeSet;                       // the shape the input shapes are set for (empty: none)
  float timings[3] = {0, 0, 0};
  bool running = false, profiling = false, disposed = false;
  bool viewsDetached = false;  // JS can no longer reach the pinned buffers, so release() may free them

  //! A TensorRT execution context over this state's activation memory and I/O buffers.
  Owned<nvinfer1::IExecutionContext> makeContext(const LogCapture& log) const;
  //! Sets the input shapes of `c` for `batch`, and for engines that vary besides the batch, from `shapes` (one per I/O
  //! tensor, inputs filled: checked against the engine's fixed dimensions; TensorRT checks the profile).
  void setShapes(nvinfer1::IExecutionContext& c, int batch, const std::vector<nvinfer1::Dims>& shapes, const LogCapture& log) const;
  //! The key of a run at `batch` and `shapes`.
  ShapeKey keyOf(int batch, const std::vector<nvinfer1::Dims>& shapes) const;
  //! enqueueV3, or a CUDA-graph replay of it for a shape already seen.
  void compute(const ShapeKey& key, const LogCapture& log);
  //! Frees the TensorRT context, graphs and device buffers after the stream drains (pinned ones too once JS's views
  //! are detached); keeps the stream and events for pending settles.
  void release() noexcept;
  ~ContextState();
};

class NativeTrtContext : public Napi::ObjectWrap<NativeTrtContext> {
 public:
  static Napi::Function Init(Napi::Env env, Classes* classes);
  //! Wraps a created context in a new JS object (the constructor is not callable from JS).
  static Napi::Object wrap(Napi::Env env, Classes* classes, std::shared_ptr<ContextState> state);
  explicit NativeTrtContext(const Napi::CallbackInfo& info);
  void Finalize(Napi::Env env) override;  //!< gives back what was reported to V8 when JS drops it undisposed

 private:
  Napi::Value Buffers(const Napi::CallbackInfo& info);
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value Timings(const Napi::CallbackInfo& info);
  Napi::Value Profile(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  ContextState& live();

  std::shared_ptr<ContextState> state_;
  Napi::Reference<Napi::Array> buffers_;
  int64_t reported_ = 0;
};

//! Creates a context off the JS thread; resolves to a NativeTrtContext.
Napi::Promise createTrtContext(Napi::Env env, Classes* classes, std::shared_ptr<EngineState> engine, int maxBatch, bool cudaGraph);

}  // namespace ntrt::trt
