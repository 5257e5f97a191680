#include "NativeBuiltinEngine.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "../../builtin/builder.h"
#include "../../cuda/device.h"
#include "../NativeBuffers.h"
#include "../addon.h"
#include "../pinned_copy.h"
#include "program_js.h"
#include "../worker.h"

namespace ntrt::addon {
namespace {


// A capture that failed turns graphs off for the context: say so once, as a process warning, never silently.
void warnGraphFallback(Napi::Env env, const std::string& why) {
  Napi::Object process = env.Global().Get("process").As<Napi::Object>();
  Napi::Value emit = process.Get("emitWarning");
  if (!emit.IsFunction()) return;
  Napi::Object opts = Napi::Object::New(env);
  opts.Set("code", "NODE_TENSORRT_GRAPH_FALLBACK");
  opts.Set("type", "TensorRTWarning");
  emit.As<Napi::Function>().Call(process, {Napi::String::New(env, "CUDA graphs are off for this context; runs launch their kernels directly. Reason: " + why), opts});
}

// The weights argument as a span; the caller keeps the JS view alive while the worker reads it.
std::pair<const uint8_t*, size_t> bytesOf(const Napi::Value& v) {
  if (!v.IsTypedArray()) fail("ERR_INVALID_ARGUMENT", "Expected the weights as a Uint8Array");
  const auto [data, bytes] = viewBytes(v.As<Napi::TypedArray>());
  return {data, bytes};
}

}  // namespace

// ---- NativeBuiltinEngine ----------------------------------------------------------------------

Napi::Function NativeBuiltinEngine::Init(Napi::Env env) {
  Napi::Function f = DefineClass(env, "NativeBuiltinEngine",
                                 {InstanceMethod<&NativeBuiltinEngine::Io>("io"),
                                  InstanceMethod<&NativeBuiltinEngine::CreateContext>("createContext"),
                                  InstanceMethod<&NativeBuiltinEngine::DeviceMemory>("deviceMemory"),
                                  InstanceMethod<&NativeBuiltinEngine::Dispose>("dispose")});
  constructors(env).builtinEngine = Napi::Persistent(f);
  return f;
}

// Constructed only by Load: new NativeBuiltinEngine(External<shared_ptr<Engine>>)
NativeBuiltinEngine::NativeBuiltinEngine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeBuiltinEngine>(info) {
  if (!info[0].IsExternal()) throw makeError(info.Env(), "ERR_INVALID_ARGUMENT", "Use builtinLoad() to load an engine");
  auto* p = info[0].As<Napi::External<std::shared_ptr<const builtin::Engine>>>().Data();
  engine_ = *p;
  reported_ = static_cast<int64_t>(engine_->weightBytes());
  adjustExternal(info.Env(), reported_);
}

NativeBuiltinEngine::~NativeBuiltinEngine() = default;

void NativeBuiltinEngine::Finalize(Napi::Env env) {
  adjustExternal(env, -reported_);
  reported_ = 0;
}

Napi::Value NativeBuiltinEngine::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    auto program = std::make_shared<builtin::ProgramDesc>(programFromJs(info[0]));
    auto [data, size] = bytesOf(info[1]);
    int device = info[2].As<Napi::Number>().Int32Value();
    if (static_cast<int64_t>(size) < program->weightsBytes) {
      fail("ERR_PLAN_CORRUPT", "Corrupt builtin program: the weights are shorter than the program says");
    }
    cuda::requireDevice(device);
    const uint8_t* w = data;
    using Ptr = std::shared_ptr<const builtin::Engine>;
    return PromiseWorker<Ptr>::Run(
        env, [program, w, device]() -> Ptr { return std::make_shared<const builtin::Engine>(std::move(*program), w, device); },
        [](Napi::Env e, Ptr& engine) -> Napi::Value {
          return constructors(e).builtinEngine.New({Napi::External<Ptr>::New(e, &engine)});
        },
        {info[1]});
  }
  NTRT_CATCH(env)
}

Napi::Value NativeBuiltinEngine::Io(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!engine_) throw makeError(env, "ERR_DISPOSED", "Engine has been disposed");
  const auto& io = engine_->program().io;
  Napi::Array out = Napi::Array::New(env, io.size());
  for (size_t i = 0; i < io.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", io[i].name);
    o.Set("isInput", io[i].isInput);
    o.Set("dtype", static_cast<int>(io[i].dtype));
    Napi::Array shape = Napi::Array::New(env, io[i].shape.size());
    for (size_t j = 0; j < io[i].shape.size(); ++j) shape.Set(j, static_cast<double>(io[i].shape[j] < 0 ? -1 : io[i].shape[j]));
    o.Set("shape", shape);
    out.Set(i, o);
  }
  return out;
}

// createContext(maxBatch, cudaGraph, sync) → Promise<NativeBuiltinContext>: allocation runs off the JS thread.
// sync: 0 host callback, 1 spin-wait thread, 2 blocking-sync thread, 3 'auto' (sleep, then spin near the end).
Napi::Value NativeBuiltinEngine::CreateContext(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    if (!engine_) throw makeError(env, "ERR_DISPOSED", "Engine has been disposed");
    int capacity = info[0].As<Napi::Number>().Int32Value();
    bool graphs = info[1].ToBoolean().Value();
    int sync = info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 0;
    auto engine = engine_;
    using Ptr = std::shared_ptr<builtin::Context>;
    return PromiseWorker<Ptr>::Run(
        env, [engine, capacity, graphs, sync]() -> Ptr { return std::make_shared<builtin::Context>(engine, capacity, graphs, sync == 2 || sync == 3); },
        [sync](Napi::Env e, Ptr& ctx) -> Napi::Value {
          return constructors(e).builtinContext.New({Napi::External<Ptr>::New(e, &ctx), Napi::Number::New(e, sync)});
        },
        {info.This()});
  }
  NTRT_CATCH(env)
}

Napi::Value NativeBuiltinEngine::DeviceMemory(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), engine_ ? static_cast<double>(engine_->weightBytes()) : 0);
}

Napi::Value NativeBuiltinEngine::Dispose(const Napi::CallbackInfo& info) {
  if (engine_) {
    adjustExternal(info.Env(), -reported_);
    reported_ = 0;
    engine_.reset();  // contexts hold their own reference: the weights go with the last of them
  }
  return info.Env().Undefined();
}

// ---- NativeBuiltinContext ---------------------------------------------------------------------

Napi::Function NativeBuiltinContext::Init(Napi::Env env) {
  Napi::Function f = DefineClass(env, "NativeBuiltinContext",
                                 {InstanceAccessor<&NativeBuiltinContext::Buffers>("buffers"),
                                  InstanceMethod<&NativeBuiltinContext::Run>("run"),
                                  InstanceMethod<&NativeBuiltinContext::RunRows>("runRows"),
                                  InstanceMethod<&NativeBuiltinContext::CopyIn>("copyIn"),
                                  InstanceMethod<&NativeBuiltinContext::Timings>("timings"),
                                  InstanceMethod<&NativeBuiltinContext::Profile>("profile"),
                                  InstanceMethod<&NativeBuiltinContext::ImageBuffer>("imageBuffer"),
                                  InstanceMethod<&NativeBuiltinContext::RunImages>("runImages"),
                                  InstanceMethod<&NativeBuiltinContext::Info>("info"),
                                  InstanceMethod<&NativeBuiltinContext::Dispose>("dispose")});
  constructors(env).builtinContext = Napi::Persistent(f);
  return f;
}

NativeBuiltinContext::NativeBuiltinContext(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeBuiltinContext>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsExternal()) throw makeError(env, "ERR_INVALID_ARGUMENT", "Use engine.createContext()");
  ctx_ = *info[0].As<Napi::External<std::shared_ptr<builtin::Context>>>().Data();
  sync_ = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
  if (sync_ >= 1 && sync_ <= 3) waiter_ = std::make_unique<EventWaiter>(static_cast<WaitMode>(sync_));
  Napi::Array buffers = Napi::Array::New(env, ctx_->ioCount());
  int64_t pinnedBytes = 0;
  for (size_t i = 0; i < ctx_->ioCount(); ++i) {
    buffers.Set(i, externalView(env, ctx_->pinned(i)));
    pinnedBytes += static_cast<int64_t>(ctx_->pinned(i)->bytes());
  }
  buffers_ = Napi::Persistent(buffers);
  reported_ = pinnedBytes + static_cast<int64_t>(ctx_->deviceBytes());
  adjustExternal(env, reported_);
}

NativeBuiltinContext::~NativeBuiltinContext() = default;

void NativeBuiltinContext::Finalize(Napi::Env env) {
  adjustExternal(env, -reported_);
  reported_ = 0;
}

void NativeBuiltinContext::requireUsable(Napi::Env env) const {
  if (!ctx_) throw makeError(env, "ERR_DISPOSED", "InferenceContext has been disposed");
  ctx_->requireHealthy();
}

// info() → { cudaGraph, graphFallback?, fault? }: what the context does now, and why not more.
Napi::Value NativeBuiltinContext::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  if (!ctx_) return o;
  o.Set("cudaGraph", ctx_->graphsOn());
  if (!ctx_->graphFallback().empty()) o.Set("graphFallback", ctx_->graphFallback());
  if (ctx_->fault() != cudaSuccess) o.Set("fault", cudaGetErrorName(ctx_->fault()));
  if (waiter_ && waiter_->mode() == WaitMode::Auto) {
    const EventWaiter::Stats st = waiter_->stats();
    Napi::Object c = Napi::Object::New(env);
    c.Set("runs", static_cast<double>(st.runs));
    c.Set("lateWakes", static_cast<double>(st.lateWakes));
    c.Set("polled", static_cast<double>(st.polled));
    c.Set("notPolled", static_cast<double>(st.notPolled));
    c.Set("pollUs", st.polled ? st.polledUs / static_cast<double>(st.polled) : 0.0);
    o.Set("completion", c);
  }
  return o;
}

Napi::Value NativeBuiltinContext::Buffers(const Napi::CallbackInfo& info) {
  if (!ctx_) throw makeError(info.Env(), "ERR_DISPOSED", "InferenceContext has been disposed");
  return buffers_.Value();
}

int NativeBuiltinContext::dimOf(Napi::Env env, const Napi::Value& dims) const {
  const builtin::ProgramDesc& p = ctx_->engine().program();
  if (!p.hasDim) return 0;
  Napi::Value v = dims.IsObject() ? dims.As<Napi::Object>().Get(p.dim.name) : env.Undefined();
  if (v.IsUndefined()) throw makeError(env, "ERR_INVALID_ARGUMENT", "This engine's runs need dims." + p.dim.name);
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(d) || d != std::floor(d)) throw makeError(env, "ERR_INVALID_ARGUMENT", "dims." + p.dim.name + " must be an integer");
  if (d < p.dim.min || d > p.dim.max) {
    char shown[32];
    std::snprintf(shown, sizeof shown, "%.17g", d);  // any finite double: no integer conversion before the range check
    throw makeError(env, "ERR_SHAPE_OUT_OF_RANGE", "Dimension '" + p.dim.name + "' = " + shown + " is outside the engine's range " +
                                                       std::to_string(p.dim.min) + ".." + std::to_string(p.dim.max));
  }
  return static_cast<int>(d);
}

Napi::Promise NativeBuiltinContext::enqueue(Napi::Env env, int batch, bool transfers, int s, int image, const float* mean,
                                            const float* stdv) {
  requireUsable(env);
  auto ctx = ctx_;
  try {
    if (image >= 0) ctx_->enqueueRunImages(batch, static_cast<size_t>(image), mean, stdv, s);
    else ctx_->enqueueRun(batch, transfers, s);
  } catch (const ntrt::Error& e) {
    if (e.code() == "ERR_CUDA_FAULT") {
      cudaError_t sticky = cudaPeekAtLastError();
      ctx->markFaulted(sticky != cudaSuccess ? sticky : cudaErrorLaunchFailure);
    }
    throw;
  }
  // Timings are read lazily (timings()), keeping three event queries off the completion path.
  Settle settle = [ctx](Napi::Env e) -> Napi::Value { return e.Undefined(); };
  OnFault onFault = [ctx](cudaError_t e) { ctx->markFaulted(e); };
  // 'auto' learns each kind of run apart: a run without transfers, or from images, takes its own time.
  // Runs at another dim value (a sequence length) are their own kind too.
  int kind = (((s & 0x3FFF) << 15) + (batch & 0x7FFF)) * 4 + (image >= 0 ? 2 : 0) + (transfers ? 1 : 0);
  if (waiter_) return waiter_->whenDone(env, ctx->device(), ctx->endEvent(), kind, std::move(settle), std::move(onFault), ctx);
  return whenStreamDone(env, ctx->device(), ctx->stream(), std::move(settle), std::move(onFault));
}

// The first run at a batch captures its CUDA graph on the thread pool, then enqueues from the JS thread.
Napi::Value NativeBuiltinContext::afterCapture(Napi::Env env, int batch, int s, GraphKind kind, std::function<Napi::Value(Napi::Env)> go) {
  requireUsable(env);
  if (batch < 1 || batch > ctx_->capacity()) {
    throw makeError(env, "ERR_BATCH_OUT_OF_RANGE", "Batch " + std::to_string(batch) + " exceeds this context's capacity");
  }
  if (!ctx_->needsCapture(batch, s, kind)) return go(env);
  auto ctx = ctx_;
  bool graphsBefore = ctx->graphsOn();
  return PromiseWorker<bool>::Run(
      env, [ctx, batch, s, kind]() { ctx->capture(batch, s, kind); return true; },
      [go, ctx, graphsBefore](Napi::Env e, bool&) -> Napi::Value {
        if (graphsBefore && !ctx->graphsOn()) warnGraphFallback(e, ctx->graphFallback());
        return go(e);
      },
      {Value()});
}

// run(batch, transfers, dims?) → Promise<void>; dims names the value of the engine's dynamic dim, if it has one.
Napi::Value NativeBuiltinContext::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    requireUsable(env);
    int batch = info[0].As<Napi::Number>().Int32Value();
    bool transfers = info[1].ToBoolean().Value();
    int s = dimOf(env, info[2]);
    const GraphKind kind = transfers ? GraphKind::Transfers : GraphKind::Bare;
    return afterCapture(env, batch, s, kind, [this, batch, transfers, s](Napi::Env e) -> Napi::Value { return enqueue(e, batch, transfers, s); });
  }
  NTRT_CATCH(env)
}

// copyIn(io, view) → undefined: copies the bytes of `view` to the start of pinned I/O buffer `io`, large ones with
// streaming stores (they skip reading the destination first and leave the caches alone: the GPU reads it next, not
// the CPU). Synchronous, on the JS thread: infer() copies its feeds in this way. The caller makes sure the context
// is idle.
Napi::Value NativeBuiltinContext::CopyIn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    requireUsable(env);
    if (!info[0].IsNumber() || !info[1].IsTypedArray()) fail("ERR_INVALID_ARGUMENT", "copyIn: expected (io, typedArray)");
    const int64_t index = info[0].As<Napi::Number>().Int64Value();
    if (index < 0 || index >= static_cast<int64_t>(ctx_->ioCount())) fail("ERR_INVALID_ARGUMENT", "copyIn: no I/O tensor " + std::to_string(index));
    const auto& mem = ctx_->pinned(static_cast<size_t>(index));
    const auto [data, bytes] = viewBytes(info[1].As<Napi::TypedArray>());
    if (bytes > mem->bytes()) {
      fail("ERR_INVALID_ARGUMENT", "copyIn: " + std::to_string(bytes) + " bytes do not fit in the " + std::to_string(mem->bytes()) +
                                       "-byte buffer of I/O tensor " + std::to_string(index));
    }
    if (bytes > 0) copyToPinned(mem->get(), data, bytes);
    return env.Undefined();
  }
  NTRT_CATCH(env)
}

// runRows(batch, parts: [io, byteOffset, view][]) → Promise<void>: the batcher's run. Each view (a request's rows)
// is copied into pinned I/O buffer `io` at `byteOffset` on the thread pool, so that gathering many requests does
// not hold the JS thread (one core copies about 11 GB/s: 54 µs per 224×224 float image); then it runs as
// run(batch, true). Every copy is bounds-checked here, before the worker starts. The context (and with it the
// pinned buffers) and the views are held until the copies are done, even if the context is disposed meanwhile.
Napi::Value NativeBuiltinContext::RunRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    requireUsable(env);
    int batch = info[0].As<Napi::Number>().Int32Value();
    if (batch < 1 || batch > ctx_->capacity()) {
      throw makeError(env, "ERR_BATCH_OUT_OF_RANGE", "Batch " + std::to_string(batch) + " exceeds this context's capacity");
    }
    // The batcher's runs take the engine's fixed shape (lib/context.ts copies and runs engines with dims itself).
    const int s = ctx_->engine().defaultDim();
    if (!info[1].IsArray()) fail("ERR_INVALID_ARGUMENT", "runRows: expected an array of [io, byteOffset, view]");
    Napi::Array parts = info[1].As<Napi::Array>();
    struct Copy {
      uint8_t* dst;
      const uint8_t* src;
      size_t bytes;
    };
    std::vector<Copy> copies;
    std::vector<Napi::Value> keep{info.This()};
    copies.reserve(parts.Length());
    keep.reserve(parts.Length() + 1);
    for (uint32_t i = 0; i < parts.Length(); ++i) {
      Napi::Value pv = parts.Get(i);
      if (!pv.IsArray()) fail("ERR_INVALID_ARGUMENT", "runRows: expected an array of [io, byteOffset, view]");
      Napi::Array p = pv.As<Napi::Array>();
      Napi::Value io = p.Get(0u), off = p.Get(1u), view = p.Get(2u);
      if (!io.IsNumber() || !off.IsNumber() || !view.IsTypedArray()) {
        fail("ERR_INVALID_ARGUMENT", "runRows: expected an array of [io, byteOffset, view]");
      }
      int64_t index = io.As<Napi::Number>().Int64Value();
      double at = off.As<Napi::Number>().DoubleValue();
      if (index < 0 || index >= static_cast<int64_t>(ctx_->ioCount())) fail("ERR_INVALID_ARGUMENT", "runRows: no I/O tensor " + std::to_string(index));
      const auto& mem = ctx_->pinned(static_cast<size_t>(index));
      Napi::TypedArray t = view.As<Napi::TypedArray>();
      size_t bytes = t.ByteLength(), cap = mem->bytes();
      if (!(at >= 0) || at > static_cast<double>(cap) || at != static_cast<double>(static_cast<size_t>(at)) || bytes > cap - static_cast<size_t>(at)) {
        fail("ERR_INVALID_ARGUMENT", "runRows: " + std::to_string(bytes) + " bytes at offset " + std::to_string(at) + " do not fit in the " + std::to_string(cap) + "-byte buffer of I/O tensor " + std::to_string(index));
      }
      if (bytes == 0) continue;
      copies.push_back({static_cast<uint8_t*>(mem->get()) + static_cast<size_t>(at), viewBytes(t).first, bytes});
      keep.push_back(view);
    }
    auto ctx = ctx_;
    return PromiseWorker<bool>::Run(
        env,
        [ctx, copies = std::move(copies)]() {
          for (const Copy& c : copies) copyToPinned(c.dst, c.src, c.bytes);
          return true;
        },
        [this, batch, s](Napi::Env e, bool&) -> Napi::Value {
          return afterCapture(e, batch, s, GraphKind::Transfers, [this, batch, s](Napi::Env e2) -> Napi::Value { return enqueue(e2, batch, true, s); });
        },
        keep);
  }
  NTRT_CATCH(env)
}

// imageBuffer(height, width) → ArrayBuffer: pinned RGBA8 staging for maxBatch images.
Napi::Value NativeBuiltinContext::ImageBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    requireUsable(env);
    int h = info[0].As<Napi::Number>().Int32Value(), w = info[1].As<Napi::Number>().Int32Value();
    const auto& before = ctx_->imageStaging(h, w);
    if (!image_.IsEmpty() && image_.Value().Data() == before->get()) return image_.Value();
    if (!image_.IsEmpty() && !image_.Value().IsDetached()) image_.Value().Detach();
    Napi::ArrayBuffer ab = externalView(env, before);
    image_ = Napi::Persistent(ab);
    return ab;
  }
  NTRT_CATCH(env)
}

// runImages(batch, inputIndex, mean: number[3], std: number[3]) → Promise<void>
Napi::Value NativeBuiltinContext::RunImages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    int batch = info[0].As<Napi::Number>().Int32Value();
    int input = info[1].As<Napi::Number>().Int32Value();
    std::array<float, 6> ms{};
    for (uint32_t i = 0; i < 3; ++i) {
      ms[i] = info[2].As<Napi::Array>().Get(i).As<Napi::Number>().FloatValue();
      ms[3 + i] = info[3].As<Napi::Array>().Get(i).As<Napi::Number>().FloatValue();
    }
    const int s = ctx_ ? ctx_->engine().defaultDim() : 0;
    return afterCapture(env, batch, s, GraphKind::Compute, [this, batch, input, ms, s](Napi::Env e) -> Napi::Value {
      return enqueue(e, batch, true, s, input, ms.data(), ms.data() + 3);
    });
  }
  NTRT_CATCH(env)
}

Napi::Value NativeBuiltinContext::Timings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ctx_) {
    try {
      ctx_->timings(last_);  // the last completed run's events; a run in flight keeps the previous values
    } catch (const ntrt::Error&) {
    }
  }
  Napi::Array a = Napi::Array::New(env, 3);
  for (uint32_t i = 0; i < 3; ++i) a.Set(i, Napi::Number::New(env, last_[i]));
  return a;
}

// profile(batch, iterations, dims?) → Promise<{ name, op, tactic, ms }[]>; an engine with a dynamic dim profiles at
// the value dims names, or at the dim's opt.
Napi::Value NativeBuiltinContext::Profile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    requireUsable(env);
    int batch = info[0].As<Napi::Number>().Int32Value();
    int iterations = info[1].As<Napi::Number>().Int32Value();
    const int s = info[2].IsObject() ? dimOf(env, info[2]) : ctx_->engine().defaultDim();
    auto ctx = ctx_;
    using R = std::vector<builtin::LayerTime>;
    return PromiseWorker<R>::Run(
        env, [ctx, batch, iterations, s]() { return ctx->profile(batch, iterations, s); },
        [](Napi::Env e, R& rows) -> Napi::Value {
          Napi::Array out = Napi::Array::New(e, rows.size());
          for (size_t i = 0; i < rows.size(); ++i) {
            Napi::Object o = Napi::Object::New(e);
            o.Set("name", rows[i].name);
            o.Set("op", rows[i].op);
            o.Set("tactic", rows[i].tactic);
            o.Set("ms", rows[i].ms);
            out.Set(i, o);
          }
          return out;
        },
        {info.This()});
  }
  NTRT_CATCH(env)
}

void NativeBuiltinContext::release(Napi::Env env) {
  if (!ctx_) return;
  Napi::Array buffers = buffers_.Value();
  for (uint32_t i = 0; i < buffers.Length(); ++i) {
    Napi::ArrayBuffer ab = buffers.Get(i).As<Napi::ArrayBuffer>();
    if (!ab.IsDetached()) ab.Detach();  // views read as empty from now on: no use-after-free
  }
  buffers_.Reset();
  if (!image_.IsEmpty()) {
    if (!image_.Value().IsDetached()) image_.Value().Detach();
    image_.Reset();
  }
  waiter_.reset();  // joins after what is queued has been handed to the JS thread
  ctx_.reset();  // the last owner (this, or an in-flight completion) syncs the stream and frees
  adjustExternal(env, -reported_);
  reported_ = 0;
}

Napi::Value NativeBuiltinContext::Dispose(const Napi::CallbackInfo& info) {
  try {
    release(info.Env());
  }
  NTRT_CATCH(info.Env())
  return info.Env().Undefined();
}

// ---- builtinBuild -----------------------------------------------------------------------------

namespace {
struct ProgressMsg {
  int done, total;
  std::string layer;
};
}  // namespace

Napi::Value BuiltinBuild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    auto program = std::make_shared<builtin::ProgramDesc>(programFromJs(info[0]));
    auto [data, size] = bytesOf(info[1]);
    if (static_cast<int64_t>(size) < program->weightsBytes) fail("ERR_BUILD_FAILED", "weights are shorter than the program says");
    Napi::Object o = info[2].As<Napi::Object>();
    builtin::BuildOptions opts;
    opts.device = intOption(o, "device", 0);
    opts.iterations = intOption(o, "iterations", 8);
    Napi::Value ws = o.Get("workspace");
    if (ws.IsNumber()) opts.workspaceLimit = static_cast<size_t>(ws.As<Napi::Number>().Int64Value());
    Napi::Value buckets = o.Get("buckets");
    if (buckets.IsArray()) {
      Napi::Array a = buckets.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); ++i) opts.buckets.push_back(a.Get(i).As<Napi::Number>().Int32Value());
    }
    Napi::Value presets = o.Get("presets");
    if (presets.IsArray()) {
      Napi::Array a = presets.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); ++i) {
        std::vector<std::string> row;
        Napi::Value v = a.Get(i);
        if (v.IsArray()) {
          Napi::Array r = v.As<Napi::Array>();
          for (uint32_t k = 0; k < r.Length(); ++k) {
            Napi::Value e = r.Get(k);
            row.push_back(e.IsString() ? e.As<Napi::String>().Utf8Value() : "");
          }
        }
        opts.presets.push_back(std::move(row));
      }
    }
    cuda::requireDevice(opts.device);
    std::shared_ptr<Napi::ThreadSafeFunction> tsfn;
    if (info[3].IsFunction()) {
      tsfn = std::make_shared<Napi::ThreadSafeFunction>(
          Napi::ThreadSafeFunction::New(env, info[3].As<Napi::Function>(), "node-tensorrt build progress", 0, 1));
    }
    const uint8_t* w = data;
    using R = builtin::BuildResult;
    return PromiseWorker<R>::Run(
        env,
        [program, w, opts, tsfn]() {
          struct Release {
            std::shared_ptr<Napi::ThreadSafeFunction> f;
            ~Release() {
              if (f) f->Release();
            }
          } release{tsfn};
          return builtin::build(*program, w, opts, [&](int done, int total, const std::string& layer) {
            if (!tsfn) return;
            auto* msg = new ProgressMsg{done, total, layer};
            tsfn->BlockingCall(msg, [](Napi::Env e, Napi::Function cb, ProgressMsg* m) {
              std::unique_ptr<ProgressMsg> own(m);
              cb.Call({Napi::Number::New(e, m->done), Napi::Number::New(e, m->total), Napi::String::New(e, m->layer)});
            });
          });
        },
        [](Napi::Env e, R& r) -> Napi::Value {
          Napi::Object out = Napi::Object::New(e);
          Napi::Array layers = Napi::Array::New(e, r.layers.size());
          for (size_t i = 0; i < r.layers.size(); ++i) {
            Napi::Array perBucket = Napi::Array::New(e, r.layers[i].size());
            for (size_t k = 0; k < r.layers[i].size(); ++k) {
              const builtin::LayerChoice& c = r.layers[i][k];
              Napi::Object l = Napi::Object::New(e);
              l.Set("batch", r.buckets[k]);
              l.Set("tactic", c.tactic);
              l.Set("ms", c.ms);
              l.Set("cached", c.cached);
              Napi::Array cands = Napi::Array::New(e, c.candidates.size());
              for (size_t j = 0; j < c.candidates.size(); ++j) {
                Napi::Object t = Napi::Object::New(e);
                t.Set("tactic", c.candidates[j].tactic);
                t.Set("ms", c.candidates[j].ms);
                cands.Set(j, t);
              }
              l.Set("candidates", cands);
              Napi::Array rej = Napi::Array::New(e, c.rejected.size());
              for (size_t j = 0; j < c.rejected.size(); ++j) rej.Set(j, c.rejected[j]);
              l.Set("rejected", rej);
              perBucket.Set(k, l);
            }
            Napi::Array tactics = Napi::Array::New(e, r.choices[i].size());
            for (size_t k = 0; k < r.choices[i].size(); ++k) {
              Napi::Object t = Napi::Object::New(e);
              t.Set("upTo", r.choices[i][k].upTo);
              t.Set("tactic", r.choices[i][k].name);
              tactics.Set(k, t);
            }
            Napi::Object layer = Napi::Object::New(e);
            layer.Set("buckets", perBucket);
            layer.Set("tactics", tactics);
            layers.Set(i, layer);
          }
          out.Set("layers", layers);
          out.Set("workspaceBytes", static_cast<double>(r.workspaceBytes));
          return out;
        },
        {info[1]});
  }
  NTRT_CATCH(env)
}

}  // namespace ntrt::addon
