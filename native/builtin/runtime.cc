#include "runtime.h"

#include <algorithm>

#include "../cuda/check.h"
#include "../cuda/device.h"
#include "../cuda/fault.h"
#include "launch_gate.h"

namespace ntrt::builtin {

namespace {

// The program at one value of its dim, with each chosen tactic that cannot run there (tactics are timed at the dim's
// opt: a cuBLASLt algorithm may not apply to other rows, a kernel may need a size the value lacks) replaced by the
// first candidate that can, own kernels first. Inverted-residual chains are kept (their stages do not see the dim).
ProgramDesc withRunnableTactics(ProgramDesc at) {
  ProgramDesc bare = at;
  for (LayerDesc& l : bare.layers) l.tactics.clear();
  const Executor probe(std::move(bare), Stage::Build);
  for (size_t i = 0; i < at.layers.size(); ++i) {
    LayerDesc& l = at.layers[i];
    if (l.op == Op::MBConv) continue;
    int below = 0;
    for (TacticChoice& c : l.tactics) {
      const int hi = std::max(1, std::min(c.upTo, at.maxBatch)), lo = std::min(below + 1, hi);
      below = c.upTo;
      bool runs = true;
      for (int b : {lo, hi}) {
        try {
          probe.workspaceFor(i, c.name, b);
        } catch (const Error&) {
          runs = false;
        }
      }
      if (runs) continue;
      const std::vector<Candidate> there = probe.candidates(i, hi);
      if (!there.empty()) c.name = there.front().tactic;
    }
  }
  return at;
}

std::vector<int> pinnedValues(const ProgramDesc& p) {
  return p.hasDim ? std::vector<int>{p.dim.min, p.dim.opt, p.dim.max} : std::vector<int>{0};
}

}  // namespace

Engine::Engine(ProgramDesc program, const void* weights, int device)
    : program_(std::move(program)), device_(device), pinnedDims_(pinnedValues(program_)), execs_(kKeptValues, pinnedDims_) {
  cuda::requireDevice(device);
  cuda::DeviceGuard guard(device);
  // Everything is validated before anything is allocated: the plain program (by its executor), or the program with
  // its dim and the plain programs at each end and the middle of the dim's range (with tactics that run there).
  if (program_.hasDim) validateProgram(program_, Stage::Load);
  if (!program_.hasDim) execs_.put(0, std::make_shared<const Executor>(program_, Stage::Load));
  for (int s : program_.hasDim ? pinnedDims_ : std::vector<int>{}) {
    if (!execs_.peek(s)) execs_.put(s, std::make_shared<const Executor>(withRunnableTactics(program_.atDim(s)), Stage::Load));
  }
  weights_ = cuda::DeviceBuffer(static_cast<size_t>(program_.weightsBytes));
  if (weights_.bytes()) CUDA_CHECK(cudaMemcpy(weights_.get(), weights, weights_.bytes(), cudaMemcpyHostToDevice));
  halfBiases_ = HalfBiases(program_, weights_.as<const char>());
}

std::shared_ptr<const Executor> Engine::executorAt(int s) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto* x = execs_.find(s)) return *x;
  }
  NTRT_REQUIRE(program_.hasDim, "ERR_INVALID_ARGUMENT", "This engine has no dynamic dimension besides the batch");
  // Evaluated and validated outside the lock (atDim throws ERR_SHAPE_OUT_OF_RANGE outside the range).
  cuda::DeviceGuard guard(device_);
  auto x = std::make_shared<const Executor>(withRunnableTactics(program_.atDim(s)), Stage::Load);
  std::lock_guard<std::mutex> lock(mu_);
  if (auto* had = execs_.find(s)) return *had;  // another thread made it meanwhile
  return execs_.put(s, std::move(x));  // may drop the least recently used other value (contexts keep theirs)
}

std::vector<int> Engine::loadedDims() const { return pinnedDims_; }

int64_t plannedBytes(const ProgramDesc& p, int t, int batch) {
  const TensorDesc& d = p.tensors.at(t);
  return d.loc == Loc::Arena && d.batched ? d.bytes * batch : d.bytes;
}

Context::Context(std::shared_ptr<const Engine> engine, int capacity, bool graphs, bool blockingSync)
    : engine_(std::move(engine)), capacity_(capacity), graphs_(graphs), ready_(Engine::kKeptValues, engine_->loadedDims()) {
  const ProgramDesc& p = engine_->program();
  // The validator checked every access up to the program's maxBatch; a larger arena row count would go unchecked.
  NTRT_REQUIRE(capacity >= 1 && capacity <= p.maxBatch, "ERR_BATCH_OUT_OF_RANGE",
               "Context capacity " + std::to_string(capacity) + " is outside the engine's batch range 1.." +
                   std::to_string(p.maxBatch));
  cuda::DeviceGuard guard(engine_->device());
  stream_ = std::make_unique<cuda::Stream>();
  evStart_ = std::make_unique<cuda::Event>();
  evH2D_ = std::make_unique<cuda::Event>();
  evCompute_ = std::make_unique<cuda::Event>();
  evEnd_ = std::make_unique<cuda::Event>(true, blockingSync);
  arena_ = cuda::DeviceBuffer(static_cast<size_t>(p.fixedArenaBytes + p.batchedArenaBytes * capacity));
  // Scratch for the executors the engine keeps for good (a dim's min, opt and max); others grow it when first run.
  size_t ws = 0;
  for (int s : engine_->loadedDims()) {
    auto x = engine_->executorAt(s);
    ws = std::max(ws, x->workspaceBytes(capacity));
    ready_.put(s, std::move(x));
  }
  workspace_ = cuda::DeviceBuffer(ws);
  // Pinned I/O as planned: the largest size over the dim's range.
  for (const IODesc& io : p.io) {
    pinned_.push_back(std::make_shared<cuda::PinnedBuffer>(static_cast<size_t>(plannedBytes(p, io.tensor, capacity))));
  }
}

Context::~Context() {
  // Work may still be in flight (a dispose right after run): let it finish before the memory goes. No DeviceGuard:
  // a destructor must not throw, and after a device fault CUDA calls fail.
  int prev = -1;
  if (cudaGetDevice(&prev) == cudaSuccess && prev != engine_->device()) cudaSetDevice(engine_->device());
  cudaStreamSynchronize(stream_->get());
  graphByKey_.clear();
  ready_.clear();
  evStart_.reset();
  evH2D_.reset();
  evCompute_.reset();
  evEnd_.reset();
  imageDevice_.reset();
  imagePinned_.reset();
  arena_.reset();
  workspace_.reset();
  stream_.reset();
  (void)cudaGetLastError();
  if (prev >= 0 && prev != engine_->device()) cudaSetDevice(prev);
}

Bindings Context::bindings() const {
  Bindings b;
  b.arena = arena_.as<char>();
  b.weights = engine_->weights();
  b.halfBiases = &engine_->halfBiases();
  b.workspace = workspace_.get();
  b.workspaceBytes = workspace_.bytes();
  b.capacity = capacity_;
  return b;
}

void Context::requireHealthy() const {
  cudaError_t e = fault();
  if (e == cudaSuccess) return;
  fail("ERR_CUDA_FAULT", std::string("This context is unusable: an earlier run failed on the GPU with ") + cudaGetErrorName(e) +
                             " (" + cudaGetErrorString(e) + ")" + (cuda::isSticky(e) ? cuda::kStickyAdvice : ". Dispose it and create another"));
}

bool Context::needsCapture(int batch, int s, GraphKind kind) const {
  return !ready_.peek(s) || (graphs_ && !graphByKey_.count(graphKey(batch, s, kind)));
}

const Executor& Context::at(int s) {
  auto* x = ready_.find(s);
  NTRT_REQUIRE(x != nullptr, "ERR_INVALID_ARGUMENT", "Dimension value " + std::to_string(s) + " is not ready on this context");
  return **x;
}

const Executor& Context::ready(int s) {
  if (auto* had = ready_.find(s)) return **had;
  std::shared_ptr<const Executor> x = engine_->executorAt(s);
  const size_t ws = x->workspaceBytes(capacity_);
  if (ws > workspace_.bytes()) {
    cuda::DeviceBuffer grown(ws);  // first: a failed allocation changes nothing
    stream_->synchronize();        // earlier runs may still use the old scratch
    graphByKey_.clear();           // graphs captured the old scratch's address
    workspace_ = std::move(grown);
  }
  // Keeps a bounded number of values: a dropped one loses its graphs too (a graph still in flight is freed by CUDA
  // when it completes), and is readied again if it comes back.
  std::vector<int> dropped;
  const Executor& out = *ready_.put(s, std::move(x), &dropped);
  for (int d : dropped) {
    for (auto it = graphByKey_.begin(); it != graphByKey_.end();) {
      it = std::get<0>(it->first) == d ? graphByKey_.erase(it) : std::next(it);
    }
  }
  return out;
}

void Context::capture(int batch, int s, GraphKind kind) {
  if (!needsCapture(batch, s, kind)) return;
  cuda::DeviceGuard guard(engine_->device());
  const Executor& x = ready(s);
  if (!graphs_ || graphByKey_.count(graphKey(batch, s, kind))) return;
  x.prepare(batch);
  cuda::Graph g;
  try {
    g.capture(stream_->get(), [&] {
      if (kind == GraphKind::Compute) x.enqueue(batch, bindings(), stream_->get());
      else enqueueWholeRun(x, batch, kind == GraphKind::Transfers, bindings());
    });
  } catch (const Error& e) {
    if (e.code() == "ERR_CUDA_FAULT") throw;  // the device is gone, not the capture
    // Something in the layer list refused capture (an external library): run those launches directly.
    graphs_ = false;
    graphFallback_ = e.what();
    return;
  }
  graphByKey_.emplace(graphKey(batch, s, kind), std::move(g));
}

void Context::recordEvent(const cuda::Event& e, cudaStream_t st, bool external) {
  CUDA_CHECK(external ? cudaEventRecordWithFlags(e.get(), st, cudaEventRecordExternal) : cudaEventRecord(e.get(), st));
}

void Context::enqueueCompute(const Executor& x, int batch, int s, const Bindings& b) {
  cudaStream_t st = stream_->get();
  evH2D_->record(st);
  auto g = graphs_ ? graphByKey_.find(graphKey(batch, s, GraphKind::Compute)) : graphByKey_.end();
  if (g != graphByKey_.end()) g->second.launch(st);
  else x.enqueue(batch, b, st);
  evCompute_->record(st);
}

void Context::enqueueInputs(const Executor& x, int batch, const Bindings& b) {
  const auto& io = x.program().io;
  for (size_t i = 0; i < io.size(); ++i) {
    if (!io[i].isInput) continue;
    CUDA_CHECK(cudaMemcpyAsync(x.address(io[i].tensor, b), pinned_[i]->get(), x.bytesAt(io[i].tensor, batch),
                               cudaMemcpyHostToDevice, stream_->get()));
  }
}

void Context::enqueueOutputs(const Executor& x, int batch, const Bindings& b) {
  const auto& io = x.program().io;
  for (size_t i = 0; i < io.size(); ++i) {
    if (io[i].isInput) continue;
    CUDA_CHECK(cudaMemcpyAsync(pinned_[i]->get(), x.address(io[i].tensor, b), x.bytesAt(io[i].tensor, batch),
                               cudaMemcpyDeviceToHost, stream_->get()));
  }
}

void Context::enqueueWholeRun(const Executor& x, int batch, bool transfers, const Bindings& b) {
  cudaStream_t st = stream_->get();
  recordEvent(*evStart_, st, true);
  if (transfers) enqueueInputs(x, batch, b);
  recordEvent(*evH2D_, st, true);
  x.enqueue(batch, b, st);
  recordEvent(*evCompute_, st, true);
  if (transfers) enqueueOutputs(x, batch, b);
  recordEvent(*evEnd_, st, true);
}

void Context::enqueueRun(int batch, bool transfers, int s) {
  cuda::DeviceGuard guard(engine_->device());
  const Executor& x = at(s);
  cudaStream_t st = stream_->get();
  const bool fault = cuda::fault::hit(cuda::fault::Device);
  if (graphs_ && !fault) {
    // The common case: one launch for the copies, the layers and the timing events.
    auto g = graphByKey_.find(graphKey(batch, s, transfers ? GraphKind::Transfers : GraphKind::Bare));
    if (g != graphByKey_.end()) {
      g->second.launch(st);
      lastTransfers_ = transfers;
      return;
    }
  }
  Bindings b = bindings();
  evStart_->record(st);
  if (transfers) enqueueInputs(x, batch, b);
  enqueueCompute(x, batch, s, b);
  if (fault) cuda::fault::launchDeviceFault(st, 50);
  if (transfers) enqueueOutputs(x, batch, b);
  evEnd_->record(st);
  lastTransfers_ = transfers;
}

const std::shared_ptr<cuda::PinnedBuffer>& Context::imageStaging(int h, int w) {
  NTRT_REQUIRE(h > 0 && w > 0 && int64_t(h) * w <= (int64_t(1) << 30), "ERR_INVALID_ARGUMENT",
               "Image size " + std::to_string(h) + "x" + std::to_string(w) + " is out of range");
  if (!imagePinned_ || h != imageH_ || w != imageW_) {
    cuda::DeviceGuard guard(engine_->device());
    stream_->synchronize();  // the old staging may still feed a copy
    size_t bytes = static_cast<size_t>(capacity_) * h * w * 4;
    auto pinned = std::make_shared<cuda::PinnedBuffer>(bytes);  // both first: a failed allocation changes nothing
    cuda::DeviceBuffer device(bytes);
    imagePinned_ = std::move(pinned);
    imageDevice_ = std::move(device);
    imageH_ = h;
    imageW_ = w;
  }
  return imagePinned_;
}

void Context::enqueueRunImages(int batch, size_t input, const float mean[3], const float stdv[3], int s) {
  cuda::DeviceGuard guard(engine_->device());
  const Executor& x = at(s);
  const IODesc& io = x.program().io.at(input);
  NTRT_REQUIRE(imagePinned_ != nullptr, "ERR_INVALID_ARGUMENT", "No image staging buffer: call imageBuffer() first");
  NTRT_REQUIRE(io.isInput && io.shape.size() == 4 && io.shape[1] == 3 && io.shape[2] == imageH_ && io.shape[3] == imageW_,
               "ERR_INVALID_INPUT", "Input '" + io.name + "' is not an NCHW image of 3×" + std::to_string(imageH_) + "×" + std::to_string(imageW_));
  // The kernel writes batch×3×H×W elements of the I/O dtype: the tensor must be that dtype and hold them.
  const TensorDesc& t = x.program().tensors.at(io.tensor);
  const int64_t need = int64_t(3) * imageH_ * imageW_ * static_cast<int64_t>(cuda::dtypeSize(io.dtype));
  NTRT_REQUIRE((io.dtype == DType::F32 || io.dtype == DType::F16) && t.dtype == io.dtype && t.loc == Loc::Arena &&
                   batch >= 1 && batch <= capacity_ && (t.batched ? need : need * batch) <= t.bytes,
               "ERR_INVALID_INPUT", "Input '" + io.name + "' cannot take " + std::to_string(batch) + " float images of 3×" +
                   std::to_string(imageH_) + "×" + std::to_string(imageW_));
  cudaStream_t st = stream_->get();
  Bindings b = bindings();
  evStart_->record(st);
  size_t bytes = static_cast<size_t>(batch) * imageH_ * imageW_ * 4;
  CUDA_CHECK(cudaMemcpyAsync(imageDevice_.get(), imagePinned_->get(), bytes, cudaMemcpyHostToDevice, st));
  kernels::rgbaToTensor(batch, imageH_, imageW_, imageDevice_.as<const uint8_t>(), mean, stdv, false, io.dtype,
                        x.address(io.tensor, b), st);
  enqueueCompute(x, batch, s, b);
  if (cuda::fault::hit(cuda::fault::Device)) cuda::fault::launchDeviceFault(st, 50);
  enqueueOutputs(x, batch, b);
  evEnd_->record(st);
  lastTransfers_ = true;
}

void Context::timings(float out[3]) const {
  cuda::DeviceGuard guard(engine_->device());
  out[0] = evH2D_->elapsedSince(*evStart_);
  out[1] = evCompute_->elapsedSince(*evH2D_);
  out[2] = evEnd_->elapsedSince(*evCompute_);
}

std::vector<LayerTime> Context::profile(int batch, int iterations, int s) {
  cuda::DeviceGuard guard(engine_->device());
  const Executor& x = ready(s);
  const size_t n = x.program().layers.size();
  std::vector<cuda::Event> start(n), end(n);
  std::vector<std::vector<float>> times(n);
  Bindings b = bindings();
  x.enqueue(batch, b, stream_->get());  // warm-up
  // Each layer behind its own gate (launch_gate.h), between its own two events: its time is the GPU's, not the
  // host's launch calls, and no more than one layer's launches wait in the queue behind a gate.
  LaunchGate gate;
  for (int it = 0; it < iterations; ++it) {
    for (size_t i = 0; i < n; ++i) {
      GateScope closed(gate, stream_->get());
      start[i].record(stream_->get());
      x.enqueueLayer(i, batch, b, stream_->get());
      end[i].record(stream_->get());
    }
    stream_->synchronize();
    for (size_t i = 0; i < n; ++i) times[i].push_back(end[i].elapsedSince(start[i]));
  }
  std::vector<LayerTime> out;
  for (size_t i = 0; i < n; ++i) {
    auto& t = times[i];
    std::sort(t.begin(), t.end());
    const LayerDesc& l = x.program().layers[i];
    out.push_back({l.name, opName(l.op), l.tactics.empty() ? "" : l.tacticFor(batch), t.empty() ? 0.f : t[t.size() / 2]});
  }
  return out;
}

}  // namespace ntrt::builtin
