#include "TrtEngine.h"

#include "../addon/addon.h"
#include "../addon/worker.h"
#include "../cuda/device.h"
#include "TrtContext.h"
#include "loader.h"
#include "logger.h"

namespace ntrt::trt {
namespace {

using nvinfer1::OptProfileSelector;

std::string text(const char* s) { return s ? s : ""; }

// Open input dimensions: the batch (0), dimensions the profile pins (min = max, fixed here), and dimensions that vary
// (left -1; each run gives the input's shape, and buffers hold the profile's max).
IOTensor describeInput(const nvinfer1::ICudaEngine& e, const char* name, nvinfer1::Dims dims) {
  IOTensor t;
  t.name = name;
  t.isInput = true;
  t.dtype = dtypeOf(e.getTensorDataType(name), name);
  const nvinfer1::Dims lo = e.getProfileShape(name, 0, OptProfileSelector::kMIN);
  const nvinfer1::Dims hi = e.getProfileShape(name, 0, OptProfileSelector::kMAX);
  nvinfer1::Dims most = dims;
  for (int i = 0; i < dims.nbDims; ++i) {
    if (dims.d[i] >= 0) continue;
    t.needsShape = true;
    if (lo.nbDims != dims.nbDims || hi.nbDims != dims.nbDims || lo.d[i] < 0 || hi.d[i] < lo.d[i]) {
      fail("ERR_SHAPE_MISMATCH", "Engine input '" + t.name + "' " + dimsText(dims) + " has no profile range for dimension " + std::to_string(i));
    }
    most.d[i] = hi.d[i];
    if (i == 0) {
      t.dynamicBatch = true;
    } else if (lo.d[i] == hi.d[i]) {
      dims.d[i] = most.d[i] = lo.d[i];
    } else {
      t.dynamicOther = true;
    }
  }
  t.dims = dims;
  t.maxDims = most;
  return t;
}

// Output shapes follow from the inputs: a context without device memory resolves the ones the engine leaves open, with
// every input at its largest shape. With inputs that vary besides the batch, an open output dimension varies too
// (left -1, its largest size in `most`); otherwise it is fixed.
void resolveOutputs(EngineState& s, std::vector<std::pair<std::string, nvinfer1::Dims>>& outputs,
                    std::vector<nvinfer1::Dims>& most, const LogCapture& log) {
  bool open = false;
  for (auto& [name, d] : outputs) {
    most.push_back(d);
    for (int i = 1; i < d.nbDims; ++i) open |= d.d[i] < 0;
  }
  if (!open) return;
  Owned<nvinfer1::IExecutionContext> probe(s.engine->createExecutionContext(nvinfer1::ExecutionContextAllocationStrategy::kUSER_MANAGED));
  if (!probe) fail("ERR_TENSORRT", log.explain("TensorRT could not create a context to resolve output shapes"));
  for (const IOTensor& t : s.io) {
    nvinfer1::Dims d = t.maxDims;
    if (!probe->setInputShape(t.name.c_str(), d)) fail("ERR_TENSORRT", log.explain("TensorRT refused input shape " + dimsText(d) + " for '" + t.name + "'"));
  }
  for (size_t k = 0; k < outputs.size(); ++k) {
    auto& [name, d] = outputs[k];
    nvinfer1::Dims r = probe->getTensorShape(name.c_str());
    for (int i = 1; i < d.nbDims; ++i) {
      if (d.d[i] >= 0) continue;
      if (r.nbDims != d.nbDims || r.d[i] < 0) {
        fail("ERR_SHAPE_MISMATCH", "Engine output '" + name + "' " + dimsText(d) +
                                       " has a data-dependent shape, which node-tensorrt contexts do not support");
      }
      most[k].d[i] = r.d[i];
      if (!s.dynamicOther) d.d[i] = r.d[i];
    }
  }
}

void describe(EngineState& s, const LogCapture& log) {
  nvinfer1::ICudaEngine& e = *s.engine;
  std::vector<std::pair<std::string, nvinfer1::Dims>> outputs;
  const int n = e.getNbIOTensors();
  for (int i = 0; i < n; ++i) {
    const char* name = e.getIOTensorName(i);
    if (e.getTensorLocation(name) != nvinfer1::TensorLocation::kDEVICE || e.isShapeInferenceIO(name)) {
      fail("ERR_TENSORRT", std::string("Engine I/O tensor '") + name + "' is a host shape tensor, which node-tensorrt contexts do not support");
    }
    nvinfer1::Dims d = e.getTensorShape(name);
    if (e.getTensorIOMode(name) == nvinfer1::TensorIOMode::kINPUT) {
      s.io.push_back(describeInput(e, name, d));
    } else {
      outputs.emplace_back(name, d);
    }
  }
  for (const IOTensor& t : s.io) {
    if (!t.dynamicBatch) continue;
    s.dynamicBatch = true;
    s.batchMin = static_cast<int>(e.getProfileShape(t.name.c_str(), 0, OptProfileSelector::kMIN).d[0]);
    s.batchOpt = static_cast<int>(e.getProfileShape(t.name.c_str(), 0, OptProfileSelector::kOPT).d[0]);
    s.batchMax = static_cast<int>(e.getProfileShape(t.name.c_str(), 0, OptProfileSelector::kMAX).d[0]);
    break;
  }
  if (!s.dynamicBatch && !s.io.empty() && s.io[0].dims.nbDims > 0) s.batchMin = s.batchOpt = s.batchMax = static_cast<int>(s.io[0].dims.d[0]);
  for (const IOTensor& t : s.io) s.dynamicOther |= t.dynamicOther;
  std::vector<nvinfer1::Dims> most;
  resolveOutputs(s, outputs, most, log);
  for (size_t k = 0; k < outputs.size(); ++k) {
    const auto& [name, d] = outputs[k];
    IOTensor t;
    t.name = name;
    t.dtype = dtypeOf(e.getTensorDataType(name.c_str()), name.c_str());
    t.dynamicBatch = d.nbDims > 0 && d.d[0] < 0;
    t.dims = d;
    t.maxDims = most[k];
    for (int i = 1; i < d.nbDims; ++i) t.dynamicOther |= d.d[i] < 0;
    s.io.push_back(t);
  }
  for (IOTensor& t : s.io) {
    t.rowBytes = cuda::dtypeSize(t.dtype) * static_cast<size_t>(volume(t.maxDims, t.dynamicBatch ? 1 : 0));
  }
  s.weightBytes = e.getEngineStat(nvinfer1::EngineStat::kTOTAL_WEIGHTS_SIZE);
  s.activationBytes = e.getDeviceMemorySizeV2();
  Owned<nvinfer1::IEngineInspector> inspector(e.createEngineInspector());
  for (int l = 0; inspector && l < e.getNbLayers(); ++l) {
    std::string j = text(inspector->getLayerInformation(l, nvinfer1::LayerInformationFormat::kJSON));
    LayerInfo info;
    if (!j.empty() && j[0] == '{') {  // built with ProfilingVerbosity::kDETAILED
      info.name = jsonStringField(j, "Name");
      info.op = jsonStringField(j, "LayerType");
      info.tactic = jsonStringField(j, "TacticName");
      if (info.tactic.empty()) info.tactic = jsonStringField(j, "TacticValue");
    } else {  // names only: a JSON string
      info.name = j.size() >= 2 && j.front() == '"' ? j.substr(1, j.size() - 2) : j;
    }
    s.layers.push_back(std::move(info));
  }
}

std::shared_ptr<EngineState> loadEngine(const uint8_t* plan, size_t bytes, int device) {
  library();
  cuda::requireDevice(device);
  cuda::DeviceGuard guard(device);
  LogCapture log;
  auto s = std::make_shared<EngineState>();
  s->device = device;
  s->runtime.reset(createRuntime(logger()));
  if (!s->runtime) fail("ERR_TENSORRT", log.explain("TensorRT could not create a runtime"));
  s->engine.reset(s->runtime->deserializeCudaEngine(plan, bytes));
  if (!s->engine) {
    if (log.outOfMemory()) fail("ERR_CUDA_OUT_OF_MEMORY", log.explain("Out of GPU memory loading the engine"));
    if (log.mentions("version")) fail("ERR_PLAN_MISMATCH", log.explain("The engine was serialized by another TensorRT version"));
    fail("ERR_PLAN_CORRUPT", log.explain("TensorRT could not deserialize the engine"));
  }
  describe(*s, log);
  return s;
}

}  // namespace

std::string jsonStringField(const std::string& json, const char* key) {
  const std::string k = std::string("\"") + key + "\"";
  size_t at = json.find(k);
  if (at == std::string::npos) return "";
  at = json.find_first_not_of(" \t\n:", at + k.size());
  if (at == std::string::npos) return "";
  if (json[at] != '"') {  // a number or a literal: up to the next delimiter
    size_t end = json.find_first_of(",}", at);
    return json.substr(at, end == std::string::npos ? std::string::npos : end - at);
  }
  std::string out;
  for (size_t i = at + 1; i < json.size(); ++i) {
    char c = json[i];
    if (c == '"') return out;
    if (c == '\\' && i + 1 < json.size()) c = json[++i];
    out += c;
  }
  return out;
}

EngineState::~EngineState() {
  try {
    cuda::DeviceGuard guard(device);
    engine.reset();
    runtime.reset();
  } catch (...) {
    engine.reset();
    runtime.reset();
  }
}

Napi::Function NativeTrtEngine::Init(Napi::Env env, Classes* classes) {
  Napi::Function f = DefineClass(env, "NativeTrtEngine",
                                 {InstanceMethod<&NativeTrtEngine::Io>("io"), InstanceMethod<&NativeTrtEngine::CreateContext>("createContext"),
                                  InstanceMethod<&NativeTrtEngine::DeviceMemory>("deviceMemory"), InstanceMethod<&NativeTrtEngine::Info>("info"),
                                  InstanceMethod<&NativeTrtEngine::Dispose>("dispose")},
                                 classes);
  classes->engine = Napi::Persistent(f);
  return f;
}

Napi::Object NativeTrtEngine::wrap(Napi::Env env, Classes* classes, std::shared_ptr<EngineState> state) {
  auto* holder = new std::shared_ptr<EngineState>(std::move(state));
  Napi::External<std::shared_ptr<EngineState>> ext = Napi::External<std::shared_ptr<EngineState>>::New(
      env, holder, [](Napi::Env, std::shared_ptr<EngineState>* h) { delete h; });
  return classes->engine.New({ext});
}

NativeTrtEngine::NativeTrtEngine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeTrtEngine>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsExternal()) throw addon::makeError(env, "ERR_INVALID_ARGUMENT", "NativeTrtEngine is created by trtLoadEngine()");
  state_ = *info[0].As<Napi::External<std::shared_ptr<EngineState>>>().Data();
  classes_ = static_cast<Classes*>(info.Data());
  reported_ = state_->weightBytes > 0 ? state_->weightBytes : 0;
  addon::adjustExternal(env, reported_);
}

const std::shared_ptr<EngineState>& NativeTrtEngine::live() const {
  NTRT_REQUIRE(state_ != nullptr, "ERR_DISPOSED", "Engine has been disposed");
  return state_;
}

// io() → NativeIOInfo[] in binding order: inputs, then outputs; -1 marks the dynamic batch.
Napi::Value NativeTrtEngine::Io(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const EngineState& s = *live();
    Napi::Array out = Napi::Array::New(env, s.io.size());
    for (size_t i = 0; i < s.io.size(); ++i) {
      const IOTensor& t = s.io[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", t.name);
      o.Set("isInput", t.isInput);
      o.Set("dtype", static_cast<int>(t.dtype));
      Napi::Array shape = Napi::Array::New(env, t.dims.nbDims);
      for (int d = 0; d < t.dims.nbDims; ++d) shape.Set(d, static_cast<double>(d == 0 && t.dynamicBatch ? -1 : t.dims.d[d]));
      o.Set("shape", shape);
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  }
  NTRT_CATCH(env)
}

// createContext(maxBatch, cudaGraph) → Promise<NativeTrtContext>
Napi::Value NativeTrtEngine::CreateContext(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const auto& s = live();
    int maxBatch = info[0].As<Napi::Number>().Int32Value();
    bool graph = info[1].ToBoolean().Value();
    NTRT_REQUIRE(maxBatch >= 1 && maxBatch <= s->batchMax, "ERR_BATCH_OUT_OF_RANGE",
                 "maxBatch " + std::to_string(maxBatch) + " is outside the engine's profile (batch " + std::to_string(s->batchMin) + ".." +
                     std::to_string(s->batchMax) + ")");
    return createTrtContext(env, classes_, s, maxBatch, graph);
  }
  NTRT_CATCH(env)
}

Napi::Value NativeTrtEngine::DeviceMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    return Napi::Number::New(env, static_cast<double>(live()->weightBytes));
  }
  NTRT_CATCH(env)
}

// info() → { weightBytes, activationBytes, batch: {min, opt, max} | null, layers: [{name, op, tactic}] }
Napi::Value NativeTrtEngine::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const EngineState& s = *live();
    Napi::Object o = Napi::Object::New(env);
    o.Set("weightBytes", static_cast<double>(s.weightBytes));
    o.Set("activationBytes", static_cast<double>(s.activationBytes));
    if (s.dynamicBatch) {
      Napi::Object b = Napi::Object::New(env);
      b.Set("min", s.batchMin);
      b.Set("opt", s.batchOpt);
      b.Set("max", s.batchMax);
      o.Set("batch", b);
    } else {
      o.Set("batch", env.Null());
    }
    Napi::Array layers = Napi::Array::New(env, s.layers.size());
    for (size_t i = 0; i < s.layers.size(); ++i) {
      Napi::Object l = Napi::Object::New(env);
      l.Set("name", s.layers[i].name);
      l.Set("op", s.layers[i].op);
      l.Set("tactic", s.layers[i].tactic);
      layers.Set(static_cast<uint32_t>(i), l);
    }
    o.Set("layers", layers);
    return o;
  }
  NTRT_CATCH(env)
}

// dispose(): idempotent; the ICudaEngine itself goes when the last context holding it does.
Napi::Value NativeTrtEngine::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!state_) return env.Undefined();
  state_.reset();
  addon::adjustExternal(env, -reported_);
  reported_ = 0;
  return env.Undefined();
}

Napi::Value TrtLoadEngine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw addon::makeError(env, "ERR_INVALID_ARGUMENT", "trtLoadEngine expects the serialized engine as a Uint8Array");
    }
    Napi::Uint8Array plan = info[0].As<Napi::Uint8Array>();
    const uint8_t* data = plan.Data();
    const size_t bytes = plan.ByteLength();
    const int device = info[1].As<Napi::Number>().Int32Value();
    auto* classes = static_cast<Classes*>(info.Data());
    // The plan's bytes stay referenced (not copied) while TensorRT reads them off the JS thread.
    return addon::PromiseWorker<std::shared_ptr<EngineState>>::Run(
        env, [=] { return loadEngine(data, bytes, device); },
        [classes](Napi::Env env, std::shared_ptr<EngineState>& s) -> Napi::Value { return NativeTrtEngine::wrap(env, classes, std::move(s)); },
        {plan});
  }
  NTRT_CATCH(env)
}

void NativeTrtEngine::Finalize(Napi::Env env) {
  addon::adjustExternal(env, -reported_);
  reported_ = 0;
}

}  // namespace ntrt::trt
