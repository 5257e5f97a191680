#include "TrtContext.h"

#include <algorithm>

#include "../addon/NativeBuffers.h"
#include "../addon/addon.h"
#include "../addon/worker.h"
#include "../cuda/device.h"
#include "loader.h"

namespace ntrt::trt {
namespace {

[[noreturn]] void failContext(const LogCapture& log, const std::string& what) {
  if (log.outOfMemory()) fail("ERR_CUDA_OUT_OF_MEMORY", log.explain("Out of GPU memory: " + what));
  fail("ERR_TENSORRT", log.explain(what));
}

std::shared_ptr<ContextState> createContext(const std::shared_ptr<EngineState>& engine, int maxBatch, bool graph) {
  cuda::DeviceGuard guard(engine->device);
  LogCapture log;
  auto s = std::make_shared<ContextState>();  // stream and events are made on the engine's device
  s->engine = engine;
  s->device = engine->device;
  s->maxBatch = maxBatch;
  s->useGraph = graph;
  s->activations = cuda::DeviceBuffer(static_cast<size_t>(std::max<int64_t>(engine->activationBytes, 0)));
  for (const IOTensor& t : engine->io) {
    const size_t bytes = std::max<size_t>(t.bytesFor(maxBatch), 1);
    s->deviceBuffers.emplace_back(bytes);
    s->hostBuffers.push_back(std::make_shared<cuda::PinnedBuffer>(bytes));
  }
  s->ctx = s->makeContext(log);
  return s;
}

//! Collects reportLayerTime per layer, in the order the engine runs them.
class LayerTimer final : public nvinfer1::IProfiler {
 public:
  void reportLayerTime(char const* name, float ms) noexcept override {
    try {
      std::string n = name ? name : "";
      auto it = index_.find(n);
      if (it == index_.end()) {
        it = index_.emplace(n, order_.size()).first;
        order_.push_back(n);
        samples_.emplace_back();
      }
      samples_[it->second].push_back(ms);
    } catch (...) {
    }
  }
  void clear() {
    for (auto& s : samples_) s.clear();
  }
  size_t size() const { return order_.size(); }
  const std::string& name(size_t i) const { return order_[i]; }
  double median(size_t i) const {
    std::vector<float> v = samples_[i];
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : (static_cast<double>(v[m - 1]) + v[m]) / 2;
  }

 private:
  std::map<std::string, size_t> index_;
  std::vector<std::string> order_;
  std::vector<std::vector<float>> samples_;
};

struct LayerTime {
  std::string name, op, tactic;
  double ms = 0;
};

// Profiling uses its own execution context over the same memory, so the run context never carries a profiler
// (which would add per-layer events to every run and to captured graphs).
class ProfileWorker final : public Napi::AsyncWorker {
 public:
  ProfileWorker(Napi::Env env, std::shared_ptr<ContextState> state, int batch, std::vector<nvinfer1::Dims> shapes, int iterations)
      : Napi::AsyncWorker(env, "node-tensorrt:profile"),
        deferred_(Napi::Promise::Deferred::New(env)),
        state_(std::move(state)),
        batch_(batch),
        shapes_(std::move(shapes)),
        iterations_(iterations) {
    state_->profiling = true;
  }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      profile();
    } catch (const ntrt::Error& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::exception& e) {
      code_ = "ERR_INTERNAL";
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    finish();
    Napi::Array out = Napi::Array::New(env, result_.size());
    for (size_t i = 0; i < result_.size(); ++i) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", result_[i].name);
      o.Set("op", result_[i].op);
      o.Set("tactic", result_[i].tactic);
      o.Set("ms", result_[i].ms);
      out.Set(static_cast<uint32_t>(i), o);
    }
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& e) override {
    finish();
    deferred_.Reject(addon::makeError(Env(), code_, e.Message()).Value());
  }

 private:
  void finish() {
    state_->profiling = false;
    if (state_->disposed) state_->release();  // dispose() came while we ran: it left the freeing to us
  }

  void profile() {
    ContextState& s = *state_;
    cuda::DeviceGuard guard(s.device);
    LogCapture log;
    LayerTimer timer;  // declared before the context that points at it
    Owned<nvinfer1::IExecutionContext> c = s.makeContext(log);
    s.setShapes(*c, batch_, shapes_, log);
    c->setProfiler(&timer);
    c->setEnqueueEmitsProfile(false);
    for (int i = 0; i <= iterations_; ++i) {  // the first run warms up and is not counted
      if (!c->enqueueV3(s.stream.get())) failContext(log, "TensorRT could not enqueue the engine for profiling");
      s.stream.synchronize();
      if (!c->reportToProfiler()) failContext(log, "TensorRT could not report layer times");
      if (i == 0) timer.clear();
    }
    c.reset();
    std::map<std::string, const LayerInfo*> layers;
    for (const LayerInfo& l : s.engine->layers) layers[l.name] = &l;
    for (size_t i = 0; i < timer.size(); ++i) {
      LayerTime t;
      t.name = timer.name(i);
      t.ms = timer.median(i);
      if (auto it = layers.find(t.name); it != layers.end()) {
        t.op = it->second->op;
        t.tactic = it->second->tactic;
      }
      result_.push_back(std::move(t));
    }
  }

  Napi::Promise::Deferred deferred_;
  std::shared_ptr<ContextState> state_;
  int batch_;
  std::vector<nvinfer1::Dims> shapes_;
  int iterations_;
  std::string code_ = "ERR_TENSORRT";
  std::vector<LayerTime> result_;
};

// Input shapes from run(batch, transfers, dims, shapes): one list of integers per input, in I/O order; an engine
// that varies only in the batch needs none (an empty result).
std::vector<nvinfer1::Dims> shapesFromJs(const EngineState& e, const Napi::Value& v) {
  if (!e.dynamicOther) return {};
  NTRT_REQUIRE(v.IsArray(), "ERR_INVALID_ARGUMENT", "This engine varies in a dimension besides the batch: runs need every input's shape");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<nvinfer1::Dims> out(e.io.size());
  uint32_t k = 0;
  for (size_t i = 0; i < e.io.size(); ++i) {
    if (!e.io[i].isInput) continue;
    Napi::Value sv = k < a.Length() ? a.Get(k) : Napi::Value();
    ++k;
    const IOTensor& t = e.io[i];
    NTRT_REQUIRE(!sv.IsEmpty() && sv.IsArray() && sv.As<Napi::Array>().Length() == static_cast<uint32_t>(t.dims.nbDims), "ERR_INVALID_ARGUMENT",
                 "Expected a shape of rank " + std::to_string(t.dims.nbDims) + " for input '" + t.name + "'");
    Napi::Array dims = sv.As<Napi::Array>();
    nvinfer1::Dims d = t.dims;
    for (int j = 0; j < d.nbDims; ++j) {
      Napi::Value x = dims.Get(static_cast<uint32_t>(j));
      const double n = x.IsNumber() ? x.As<Napi::Number>().DoubleValue() : -1;
      NTRT_REQUIRE(n >= 1 && n <= 2147483647.0 && n == static_cast<double>(static_cast<int64_t>(n)), "ERR_INVALID_ARGUMENT",
                   "Dimension " + std::to_string(j) + " of input '" + t.name + "' must be a positive integer");
      d.d[j] = static_cast<int64_t>(n);
    }
    out[i] = d;
  }
  return out;
}

}  // namespace

// ---- ContextState --------------------------------------------------------------------------------

Owned<nvinfer1::IExecutionContext> ContextState::makeContext(const LogCapture& log) const {
  Owned<nvinfer1::IExecutionContext> c(
      engine->engine->createExecutionContext(nvinfer1::ExecutionContextAllocationStrategy::kUSER_MANAGED));
  if (!c) failContext(log, "TensorRT could not create an execution context");
  c->setDeviceMemoryV2(activations.get(), static_cast<int64_t>(activations.bytes()));
  for (size_t i = 0; i < engine->io.size(); ++i) {
    if (!c->setTensorAddress(engine->io[i].name.c_str(), deviceBuffers[i].get())) {
      failContext(log, "TensorRT refused the device buffer of '" + engine->io[i].name + "'");
    }
  }
  return c;
}

void ContextState::setShapes(nvinfer1::IExecutionContext& c, int batch, const std::vector<nvinfer1::Dims>& shapes,
                             const LogCapture& log) const {
  for (size_t i = 0; i < engine->io.size(); ++i) {
    const IOTensor& t = engine->io[i];
    if (!t.isInput || !t.needsShape) continue;
    nvinfer1::Dims d = t.dims;
    if (t.dynamicBatch) d.d[0] = batch;
    if (t.dynamicOther) {
      NTRT_REQUIRE(i < shapes.size() && shapes[i].nbDims == d.nbDims, "ERR_INVALID_ARGUMENT", "No shape given for input '" + t.name + "'");
      for (int j = 0; j < d.nbDims; ++j) {
        // The batch and the fixed dimensions are the engine's; only the open ones come from the run.
        NTRT_REQUIRE(d.d[j] < 0 || shapes[i].d[j] == d.d[j], "ERR_SHAPE_MISMATCH",
                     "Input '" + t.name + "' has shape " + dimsText(shapes[i]) + " at batch " + std::to_string(batch) + "; the engine expects " + dimsText(d));
        d.d[j] = shapes[i].d[j];
      }
    }
    if (!c.setInputShape(t.name.c_str(), d)) {
      fail(t.dynamicOther ? "ERR_SHAPE_OUT_OF_RANGE" : "ERR_BATCH_OUT_OF_RANGE",
           log.explain("TensorRT refused input shape " + dimsText(d) + " for '" + t.name + "'"));
    }
  }
}

ContextState::ShapeKey ContextState::keyOf(int batch, const std::vector<nvinfer1::Dims>& shapes) const {
  ShapeKey key{batch};
  for (size_t i = 0; i < engine->io.size() && i < shapes.size(); ++i) {
    if (!engine->io[i].isInput || !engine->io[i].dynamicOther) continue;
    for (int j = 1; j < shapes[i].nbDims; ++j) {
      if (engine->io[i].dims.d[j] < 0) key.push_back(shapes[i].d[j]);
    }
  }
  return key;
}

void ContextState::compute(const ShapeKey& key, const LogCapture& log) {
  cudaStream_t st = stream.get();
  auto enqueue = [&] {
    if (!ctx->enqueueV3(st)) failContext(log, "TensorRT could not enqueue the engine");
  };
  if (useGraph && !ungraphable.count(key)) {
    auto g = graphs.find(key);
    if (g != graphs.end()) return g->second.launch(st);
    if (warmed.count(key)) {
      cuda::Graph graph;
      try {
        graph.capture(st, enqueue);
      } catch (const ntrt::Error&) {
        ungraphable.insert(key);  // some engines cannot be captured: they keep running through enqueueV3
        return enqueue();
      }
      graph.launch(st);
      graphs.emplace(key, std::move(graph));
      return;
    }
  }
  enqueue();
  warmed.insert(key);
}

void ContextState::release() noexcept {
  try {
    cuda::DeviceGuard guard(device);
    cudaStreamSynchronize(stream.get());  // nothing may still read or write what is freed below
    (void)cudaGetLastError();
  } catch (...) {
  }
  graphs.clear();
  ctx.reset();
  deviceBuffers.clear();
  if (viewsDetached) {
    for (auto& h : hostBuffers) h->reset();  // the detached views' finalizers only drop empty shells
  }
  hostBuffers.clear();  // otherwise live views keep their memory
  activations.reset();
  engine.reset();
}

ContextState::~ContextState() { release(); }

// ---- NativeTrtContext ----------------------------------------------------------------------------

Napi::Function NativeTrtContext::Init(Napi::Env env, Classes* classes) {
  Napi::Function f = DefineClass(env, "NativeTrtContext",
                                 {InstanceAccessor<&NativeTrtContext::Buffers>("buffers"), InstanceMethod<&NativeTrtContext::Run>("run"),
                                  InstanceMethod<&NativeTrtContext::Timings>("timings"), InstanceMethod<&NativeTrtContext::Profile>("profile"),
                                  InstanceMethod<&NativeTrtContext::Dispose>("dispose")},
                                 classes);
  classes->context = Napi::Persistent(f);
  return f;
}

Napi::Object NativeTrtContext::wrap(Napi::Env env, Classes* classes, std::shared_ptr<ContextState> state) {
  auto* holder = new std::shared_ptr<ContextState>(std::move(state));
  auto ext = Napi::External<std::shared_ptr<ContextState>>::New(env, holder, [](Napi::Env, std::shared_ptr<ContextState>* h) { delete h; });
  return classes->context.New({ext});
}

NativeTrtContext::NativeTrtContext(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeTrtContext>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsExternal()) throw addon::makeError(env, "ERR_INVALID_ARGUMENT", "NativeTrtContext is created by engine.createContext()");
  state_ = *info[0].As<Napi::External<std::shared_ptr<ContextState>>>().Data();
  Napi::Array views = Napi::Array::New(env, state_->hostBuffers.size());
  int64_t bytes = static_cast<int64_t>(state_->activations.bytes());
  for (size_t i = 0; i < state_->hostBuffers.size(); ++i) {
    views.Set(static_cast<uint32_t>(i), addon::externalView(env, state_->hostBuffers[i]));
    bytes += static_cast<int64_t>(state_->hostBuffers[i]->bytes() + state_->deviceBuffers[i].bytes());
  }
  buffers_ = Napi::Persistent(views);
  reported_ = bytes;
  addon::adjustExternal(env, reported_);
}

ContextState& NativeTrtContext::live() {
  NTRT_REQUIRE(state_ && !state_->disposed, "ERR_DISPOSED", "InferenceContext has been disposed");
  return *state_;
}

Napi::Value NativeTrtContext::Buffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    live();
    return buffers_.Value();
  }
  NTRT_CATCH(env)
}

// run(batch, transfers, dims?, shapes?) → Promise<void>: H2D of the batch rows, compute, D2H, settled from a host
// callback. An engine that varies besides the batch takes every input's shape (`shapes`, I/O order) at each run.
Napi::Value NativeTrtContext::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    ContextState& s = live();
    NTRT_REQUIRE(!s.running && !s.profiling, "ERR_CONTEXT_BUSY", "This context is already running");
    const int batch = info[0].As<Napi::Number>().Int32Value();
    const bool transfers = info[1].ToBoolean().Value();
    const EngineState& e = *s.engine;
    NTRT_REQUIRE(batch >= 1 && batch <= s.maxBatch && (!e.dynamicBatch || batch >= e.batchMin), "ERR_BATCH_OUT_OF_RANGE",
                 "Batch " + std::to_string(batch) + " is outside this context's range " + std::to_string(e.dynamicBatch ? e.batchMin : 1) +
                     ".." + std::to_string(s.maxBatch));
    const std::vector<nvinfer1::Dims> shapes = shapesFromJs(e, info[3]);
    cuda::DeviceGuard guard(s.device);
    LogCapture log;
    const ContextState::ShapeKey key = s.keyOf(batch, shapes);
    if (s.shapeSet != key) {
      s.shapeSet.clear();  // a refused shape may leave some inputs changed: set them all again next time
      s.setShapes(*s.ctx, batch, shapes, log);
      s.shapeSet = key;
    }
    // Bytes each I/O tensor moves at this shape: packed rows of the run's shape, never past its buffer.
    std::vector<size_t> bytes(e.io.size());
    for (size_t i = 0; i < e.io.size(); ++i) {
      const IOTensor& t = e.io[i];
      if (!t.dynamicOther) {
        bytes[i] = t.bytesFor(batch);
        continue;
      }
      const nvinfer1::Dims d = s.ctx->getTensorShape(t.name.c_str());
      NTRT_REQUIRE(d.nbDims == t.dims.nbDims && volume(d) >= 0, "ERR_TENSORRT", "TensorRT gave no shape for '" + t.name + "' at this run");
      bytes[i] = t.bytesAt(d);
      NTRT_REQUIRE(bytes[i] <= s.deviceBuffers[i].bytes(), "ERR_SHAPE_OUT_OF_RANGE",
                   "'" + t.name + "' at shape " + dimsText(d) + " does not fit this context's buffer (" + std::to_string(s.deviceBuffers[i].bytes()) + " bytes)");
    }
    cudaStream_t st = s.stream.get();
    s.start.record(st);
    for (size_t i = 0; transfers && i < e.io.size(); ++i) {
      if (!e.io[i].isInput) continue;
      CUDA_CHECK(cudaMemcpyAsync(s.deviceBuffers[i].get(), s.hostBuffers[i]->get(), bytes[i], cudaMemcpyHostToDevice, st));
    }
    s.afterH2D.record(st);
    s.compute(key, log);
    s.afterCompute.record(st);
    for (size_t i = 0; transfers && i < e.io.size(); ++i) {
      if (e.io[i].isInput) continue;
      CUDA_CHECK(cudaMemcpyAsync(s.hostBuffers[i]->get(), s.deviceBuffers[i].get(), bytes[i], cudaMemcpyDeviceToHost, st));
    }
    s.end.record(st);
    std::shared_ptr<ContextState> keep = state_;
    Napi::Promise p = addon::whenStreamDone(env, s.device, st, [keep](Napi::Env env) -> Napi::Value {
      keep->running = false;
      if (!keep->disposed) {
        keep->timings[0] = keep->afterH2D.elapsedSince(keep->start);
        keep->timings[1] = keep->afterCompute.elapsedSince(keep->afterH2D);
        keep->timings[2] = keep->end.elapsedSince(keep->afterCompute);
      }
      return env.Undefined();
    });
    s.running = true;
    return p;
  }
  NTRT_CATCH(env)
}

Napi::Value NativeTrtContext::Timings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    ContextState& s = live();
    Napi::Array a = Napi::Array::New(env, 3);
    for (uint32_t i = 0; i < 3; ++i) a.Set(i, static_cast<double>(s.timings[i]));
    return a;
  }
  NTRT_CATCH(env)
}

// profile(batch, iterations, dims?, shapes?) → Promise<NativeLayerTime[]>: per-layer median device time, off the JS
// thread, at the shape `shapes` gives (engines that vary besides the batch).
Napi::Value NativeTrtContext::Profile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    ContextState& s = live();
    NTRT_REQUIRE(!s.running && !s.profiling, "ERR_CONTEXT_BUSY", "This context is already running");
    const int batch = info[0].As<Napi::Number>().Int32Value();
    const int iterations = info[1].As<Napi::Number>().Int32Value();
    const EngineState& e = *s.engine;
    NTRT_REQUIRE(batch >= 1 && batch <= s.maxBatch && (!e.dynamicBatch || batch >= e.batchMin), "ERR_BATCH_OUT_OF_RANGE",
                 "Batch " + std::to_string(batch) + " is outside this context's range");
    NTRT_REQUIRE(iterations >= 1, "ERR_INVALID_ARGUMENT", "iterations must be at least 1");
    auto* w = new ProfileWorker(env, state_, batch, shapesFromJs(e, info[3]), iterations);
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }
  NTRT_CATCH(env)
}

// dispose(): idempotent; frees now unless a profile() is running, which then frees when it finishes.
Napi::Value NativeTrtContext::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!state_ || state_->disposed) return env.Undefined();
  state_->disposed = true;
  Napi::Array views = buffers_.Value();
  for (uint32_t i = 0; i < views.Length(); ++i) {
    Napi::ArrayBuffer ab = views.Get(i).As<Napi::ArrayBuffer>();
    if (!ab.IsDetached()) ab.Detach();  // every typed array over the pinned memory now has length 0
  }
  buffers_.Reset();
  state_->viewsDetached = true;
  if (!state_->profiling) state_->release();
  addon::adjustExternal(env, -reported_);
  reported_ = 0;
  return env.Undefined();
}

Napi::Promise createTrtContext(Napi::Env env, Classes* classes, std::shared_ptr<EngineState> engine, int maxBatch, bool cudaGraph) {
  return addon::PromiseWorker<std::shared_ptr<ContextState>>::Run(
      env, [engine, maxBatch, cudaGraph] { return createContext(engine, maxBatch, cudaGraph); },
      [classes](Napi::Env env, std::shared_ptr<ContextState>& s) -> Napi::Value { return NativeTrtContext::wrap(env, classes, std::move(s)); });
}

void NativeTrtContext::Finalize(Napi::Env env) {
  addon::adjustExternal(env, -reported_);
  reported_ = 0;
}

}  // namespace ntrt::trt
