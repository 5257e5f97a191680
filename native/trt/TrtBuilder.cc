// trtBuild(onnx, options, onProgress, onLog): ONNX bytes → nvonnxparser → IBuilder → serialized engine, off the JS thread.
// Log lines and progress reach JS in order through the worker's queue, all of them before the promise settles.
#include "sdk.h"
#include <napi.h>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "../addon/addon.h"
#include "../cuda/device.h"
#include "common.h"
#include "loader.h"
#include "logger.h"

namespace ntrt::trt {
namespace {

struct Profile {
  std::string input;
  std::vector<int64_t> min, opt, max;
};

//! What the builder needs, copied from JS on the main thread.
struct BuildOptions {
  int device = 0;
  bool fp16Flag = false;
  double workspace = 0;
  std::vector<uint8_t> timingCache;
  std::vector<Profile> profiles;
  int optimizationLevel = -1;
  int logSeverity = static_cast<int>(nvinfer1::ILogger::Severity::kWARNING);
};

//! One queued item for the JS thread: a log line or a progress step.
struct Note {
  bool isLog = false;
  int32_t a = 0;  // severity, or steps done
  int32_t b = 0;  // steps in the phase
  std::string text;
};

std::vector<int64_t> intArray(const Napi::Value& v) {
  std::vector<int64_t> out;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(a.Get(i).As<Napi::Number>().Int64Value());
  return out;
}

BuildOptions readOptions(const Napi::Object& o) {
  BuildOptions b;
  b.device = addon::intOption(o, "device", 0);
  b.fp16Flag = o.Get("fp16Flag").ToBoolean().Value();
  Napi::Value ws = o.Get("workspace");
  b.workspace = ws.IsNumber() ? ws.As<Napi::Number>().DoubleValue() : 0;
  Napi::Value tc = o.Get("timingCache");
  if (tc.IsTypedArray()) {
    Napi::Uint8Array u = tc.As<Napi::Uint8Array>();
    b.timingCache.assign(u.Data(), u.Data() + u.ByteLength());
  }
  Napi::Value ps = o.Get("profiles");
  if (ps.IsArray()) {
    Napi::Array arr = ps.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Object p = arr.Get(i).As<Napi::Object>();
      b.profiles.push_back({p.Get("input").As<Napi::String>().Utf8Value(), intArray(p.Get("min")), intArray(p.Get("opt")), intArray(p.Get("max"))});
    }
  }
  b.optimizationLevel = addon::intOption(o, "optimizationLevel", -1);
  b.logSeverity = addon::intOption(o, "logSeverity", b.logSeverity);
  return b;
}

bool isUnsupportedNode(nvonnxparser::ErrorCode c) {
  using nvonnxparser::ErrorCode;
  switch (c) {
    case ErrorCode::kUNSUPPORTED_NODE:
    case ErrorCode::kUNSUPPORTED_NODE_ATTR:
    case ErrorCode::kUNSUPPORTED_NODE_INPUT:
    case ErrorCode::kUNSUPPORTED_NODE_DATATYPE:
    case ErrorCode::kUNSUPPORTED_NODE_DYNAMIC:
    case ErrorCode::kUNSUPPORTED_NODE_SHAPE:
      return true;
    default:
      return false;
  }
}

std::string text(const char* s) { return s ? s : ""; }

// IParserError::node(), nodeName() and nodeOperator() exist in every 10.x and 11.x parser.
std::string describeNode(const nvonnxparser::IParserError& e) {
  std::string name = text(e.nodeName()), op = text(e.nodeOperator());
  std::string s;
  if (!op.empty()) s += "op '" + op + "'";
  if (!name.empty()) s += std::string(s.empty() ? "" : " in ") + "node '" + name + "'";
  if (e.node() >= 0) s += std::string(s.empty() ? "" : " ") + "(node #" + std::to_string(e.node()) + ")";
  return s;
}

//! Parser errors → ERR_UNSUPPORTED_OP (the first unsupported node, by name and op) or ERR_INVALID_MODEL.
[[noreturn]] void failParse(const nvonnxparser::IParser& parser, const LogCapture& log) {
  const int n = parser.getNbErrors();
  for (int i = 0; i < n; ++i) {
    const nvonnxparser::IParserError* e = parser.getError(i);
    if (e && isUnsupportedNode(e->code())) {
      std::string op = text(e->nodeOperator());
      fail("ERR_UNSUPPORTED_OP", "TensorRT does not support " + (op.empty() ? std::string("an ONNX node") : "the ONNX operator '" + op + "'") +
                                     " (" + describeNode(*e) + "): " + text(e->desc()));
    }
  }
  std::string msg;
  for (int i = 0; i < n && i < 4; ++i) {
    const nvonnxparser::IParserError* e = parser.getError(i);
    if (!e) continue;
    std::string where = describeNode(*e);
    msg += (msg.empty() ? "" : "; ") + text(e->desc()) + (where.empty() ? "" : " [" + where + "]");
  }
  if (msg.empty()) msg = log.errors();
  fail("ERR_INVALID_MODEL", "TensorRT could not parse the ONNX model" + (msg.empty() ? std::string() : ": " + msg));
}

std::mutex& buildMutex() {  // one build at a time: concurrent builds on a GPU skew each other's tactic timings
  static std::mutex m;
  return m;
}

class BuildWorker final : public Napi::AsyncProgressQueueWorker<Note> {
 public:
  BuildWorker(Napi::Env env, Napi::Uint8Array onnx, BuildOptions options, Napi::Value onProgress, Napi::Value onLog)
      : Napi::AsyncProgressQueueWorker<Note>(env, "node-tensorrt:trtBuild"),
        deferred_(Napi::Promise::Deferred::New(env)),
        onnxRef_(Napi::Persistent(onnx)),
        onnx_(onnx.Data()),
        onnxBytes_(onnx.ByteLength()),
        options_(std::move(options)) {
    if (onProgress.IsFunction()) onProgress_ = Napi::Persistent(onProgress.As<Napi::Function>());
    if (onLog.IsFunction()) onLog_ = Napi::Persistent(onLog.As<Napi::Function>());
  }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress& progress) override {
    try {
      build(progress);
    } catch (const ntrt::Error& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      code_ = "ERR_OUT_OF_MEMORY";
      SetError("Out of host memory while building the TensorRT engine");
    } catch (const std::exception& e) {
      code_ = "ERR_INTERNAL";
      SetError(e.what());
    }
  }

  void OnProgress(const Note* notes, size_t count) override {
    Napi::Env env = Env();
    for (size_t i = 0; i < count; ++i) {
      const Note& n = notes[i];
      Napi::FunctionReference& fn = n.isLog ? onLog_ : onProgress_;
      if (fn.IsEmpty() || !callbackError_.IsEmpty()) continue;
      try {
        if (n.isLog) {
          fn.Call({Napi::Number::New(env, n.a), Napi::String::New(env, n.text)});
        } else {
          fn.Call({Napi::String::New(env, n.text), Napi::Number::New(env, n.a), Napi::Number::New(env, n.b)});
        }
      } catch (const Napi::Error& e) {
        callbackError_ = Napi::Persistent(e.Value());  // a throwing callback cancels the build and rejects with its error
        cancelled_ = true;
      }
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (!callbackError_.IsEmpty()) return deferred_.Reject(callbackError_.Value());
    Napi::Object r = Napi::Object::New(env);
    Napi::ArrayBuffer engine = Napi::ArrayBuffer::New(env, engine_.size());
    if (!engine_.empty()) std::memcpy(engine.Data(), engine_.data(), engine_.size());
    r.Set("engine", engine);
    if (cacheOut_.empty()) {
      r.Set("timingCache", env.Null());
    } else {
      Napi::ArrayBuffer cache = Napi::ArrayBuffer::New(env, cacheOut_.size());
      std::memcpy(cache.Data(), cacheOut_.data(), cacheOut_.size());
      r.Set("timingCache", cache);
    }
    r.Set("version", version_);
    deferred_.Resolve(r);
  }

  void OnError(const Napi::Error& e) override {
    if (!callbackError_.IsEmpty()) return deferred_.Reject(callbackError_.Value());
    deferred_.Reject(addon::makeError(Env(), code_.empty() ? "ERR_BUILD_FAILED" : code_, e.Message()).Value());
  }

 private:
  class Monitor final : public nvinfer1::IProgressMonitor {
   public:
    Monitor(const ExecutionProgress& p, const std::atomic<bool>& cancelled) : progress_(p), cancelled_(cancelled) {}
    // Phases nest; JS sees each as its path from the top ("Building engine/Tactic selection").
    void phaseStart(char const* phase, char const* parent, int32_t steps) noexcept override {
      try {
        std::lock_guard<std::mutex> lock(mutex_);
        auto up = phases_.find(text(parent));
        Phase& p = phases_[text(phase)];
        p.path = (parent && up != phases_.end() ? up->second.path + "/" : std::string()) + text(phase);
        p.steps = steps;
        send(p.path, 0, steps);
      } catch (...) {
      }
    }
    bool stepComplete(char const* phase, int32_t step) noexcept override {
      report(phase, step + 1, false);
      return !cancelled_.load();
    }
    void phaseFinish(char const* phase) noexcept override { report(phase, 0, true); }

   private:
    struct Phase {
      std::string path;
      int32_t steps = 0;
    };
    void report(char const* phase, int32_t done, bool finished) noexcept {
      try {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = phases_.find(text(phase));
        if (it == phases_.end()) return;
        send(it->second.path, finished ? it->second.steps : done, it->second.steps);
      } catch (...) {
      }
    }
    void send(const std::string& path, int32_t done, int32_t total) {
      Note n;
      n.a = done;
      n.b = total;
      n.text = path;
      progress_.Send(&n, 1);
    }
    const ExecutionProgress& progress_;
    const std::atomic<bool>& cancelled_;
    std::mutex mutex_;
    std::map<std::string, Phase> phases_;
  };

  void step(const ExecutionProgress& progress, const char* phase, int32_t done, int32_t total) {
    Note n;
    n.a = done;
    n.b = total;
    n.text = phase;
    progress.Send(&n, 1);
  }

  void build(const ExecutionProgress& progress) {
    const bool forwardLogs = !onLog_.IsEmpty();
    LogCapture log(
        [&progress](int severity, const char* message) {
          Note n;
          n.isLog = true;
          n.a = severity;
          n.text = message;
          progress.Send(&n, 1);
        },
        forwardLogs ? options_.logSeverity : -1, /*anyThread=*/true);
    library();  // ERR_TENSORRT_UNAVAILABLE before any other work
    cuda::requireDevice(options_.device);
    cuda::DeviceGuard guard(options_.device);
    std::lock_guard<std::mutex> one(buildMutex());

    Owned<nvinfer1::IBuilder> builder(createBuilder(logger()));
    if (!builder) fail("ERR_TENSORRT", log.explain("TensorRT could not create a builder"));
    nvinfer1::NetworkDefinitionCreationFlags flags = 0;
#if NV_TENSORRT_MAJOR < 11
    // Without the FP16 flag the ONNX's own types are the contract (the front end's autocast graph): strong typing keeps them.
    if (!options_.fp16Flag) flags = 1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kSTRONGLY_TYPED);
#endif
    Owned<nvinfer1::INetworkDefinition> network(builder->createNetworkV2(flags));
    if (!network) fail("ERR_TENSORRT", log.explain("TensorRT could not create a network definition"));
    Owned<nvonnxparser::IParser> parser(createParser(*network, logger()));
    if (!parser) fail("ERR_TENSORRT", log.explain("TensorRT could not create an ONNX parser"));

    step(progress, "parse", 0, 1);
    if (!parser->parse(onnx_, onnxBytes_)) failParse(*parser, log);
    step(progress, "parse", 1, 1);

    Owned<nvinfer1::IBuilderConfig> config(builder->createBuilderConfig());
    if (!config) fail("ERR_TENSORRT", log.explain("TensorRT could not create a builder config"));
    if (options_.workspace > 0) config->setMemoryPoolLimit(nvinfer1::MemoryPoolType::kWORKSPACE, static_cast<size_t>(options_.workspace));
#if NV_TENSORRT_MAJOR < 11
    if (options_.fp16Flag) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // kFP16 is deprecated in late 10.x and gone in 11
      config->setFlag(nvinfer1::BuilderFlag::kFP16);
#pragma GCC diagnostic pop
    }
#endif
    // Detailed layer information lets profile() and info() name each layer's kind and tactic.
    config->setProfilingVerbosity(nvinfer1::ProfilingVerbosity::kDETAILED);
    if (options_.optimizationLevel >= 0) config->setBuilderOptimizationLevel(options_.optimizationLevel);

    Owned<nvinfer1::ITimingCache> cache(config->createTimingCache(options_.timingCache.data(), options_.timingCache.size()));
    if (!cache || !config->setTimingCache(*cache, false)) {
      // A cache from another device or TensorRT version is not an error: start an empty one.
      cache.reset(config->createTimingCache(nullptr, 0));
      if (!cache || !config->setTimingCache(*cache, false)) fail("ERR_TENSORRT", log.explain("TensorRT could not create a timing cache"));
    }

    addProfiles(*builder, *network, *config, log);
    Monitor monitor(progress, cancelled_);
    config->setProgressMonitor(&monitor);
    Owned<nvinfer1::IHostMemory> plan(builder->buildSerializedNetwork(*network, *config));
    config->setProgressMonitor(nullptr);
    if (cancelled_) fail("ERR_BUILD_FAILED", "The build was cancelled by a throwing callback");
    if (!plan || plan->size() == 0) fail("ERR_BUILD_FAILED", log.explain("TensorRT could not build the engine"));
    const auto* bytes = static_cast<const uint8_t*>(plan->data());
    engine_.assign(bytes, bytes + plan->size());

    if (const nvinfer1::ITimingCache* used = config->getTimingCache()) {
      Owned<nvinfer1::IHostMemory> blob(used->serialize());
      if (blob && blob->size()) {
        const auto* c = static_cast<const uint8_t*>(blob->data());
        cacheOut_.assign(c, c + blob->size());
      }
    }
    version_ = library().version;
  }

  void addProfiles(nvinfer1::IBuilder& builder, nvinfer1::INetworkDefinition& network, nvinfer1::IBuilderConfig& config, const LogCapture& log) {
    if (options_.profiles.empty()) return;
    std::map<std::string, int> inputs;
    for (int i = 0; i < network.getNbInputs(); ++i) inputs[network.getInput(i)->getName()] = i;
    nvinfer1::IOptimizationProfile* p = builder.createOptimizationProfile();  // owned by the builder
    if (!p) fail("ERR_TENSORRT", log.explain("TensorRT could not create an optimization profile"));
    using Sel = nvinfer1::OptProfileSelector;
    for (const Profile& pr : options_.profiles) {
      if (!inputs.count(pr.input)) {
        std::string names;
        for (const auto& [n, i] : inputs) names += (names.empty() ? "'" : ", '") + n + "'";
        fail("ERR_INVALID_ARGUMENT", "The model has no input '" + pr.input + "' (its inputs are " + names + ")");
      }
      if (!p->setDimensions(pr.input.c_str(), Sel::kMIN, toDims(pr.min)) || !p->setDimensions(pr.input.c_str(), Sel::kOPT, toDims(pr.opt)) ||
          !p->setDimensions(pr.input.c_str(), Sel::kMAX, toDims(pr.max))) {
        fail("ERR_INVALID_ARGUMENT", log.explain("TensorRT refused the shapes for input '" + pr.input + "'"));
      }
    }
    if (config.addOptimizationProfile(p) < 0) fail("ERR_INVALID_ARGUMENT", log.explain("TensorRT refused the optimization profile"));
  }

  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Uint8Array> onnxRef_;  // keeps the bytes alive while the worker reads them
  const uint8_t* onnx_;
  size_t onnxBytes_;
  BuildOptions options_;
  Napi::FunctionReference onProgress_, onLog_;
  Napi::ObjectReference callbackError_;
  std::atomic<bool> cancelled_{false};
  std::string code_;
  std::vector<uint8_t> engine_, cacheOut_;
  std::string version_;
};

}  // namespace

//! trtBuild(onnx: Uint8Array, options: NativeTrtBuildOptions, onProgress?, onLog?) → Promise<NativeTrtBuildResult>
Napi::Value TrtBuild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw addon::makeError(env, "ERR_INVALID_ARGUMENT", "trtBuild expects the ONNX model as a Uint8Array");
    }
    if (!info[1].IsObject()) throw addon::makeError(env, "ERR_INVALID_ARGUMENT", "trtBuild expects an options object");
    auto* w = new BuildWorker(env, info[0].As<Napi::Uint8Array>(), readOptions(info[1].As<Napi::Object>()), info[2], info[3]);
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }
  NTRT_CATCH(env)
}

}  // namespace ntrt::trt
