#include "runtime.h"

#include <algorithm>

#include "../cuda/check.h"
#include "../cuda/device.h"

namespace ntrt::builtin {

Engine::Engine(ProgramDesc program, const void* weights, int device) : exec_(std::move(program)), device_(device) {
  cuda::requireDevice(device);
  cuda::DeviceGuard guard(device);
  weights_ = cuda::DeviceBuffer(static_cast<size_t>(exec_.program().weightsBytes));
  if (weights_.bytes()) CUDA_CHECK(cudaMemcpy(weights_.get(), weights, weights_.bytes(), cudaMemcpyHostToDevice));
}

Context::Context(std::shared_ptr<const Engine> engine, int capacity, bool graphs)
    : engine_(std::move(engine)), capacity_(capacity), graphs_(graphs) {
  cuda::DeviceGuard guard(engine_->device());
  const Executor& x = engine_->executor();
  stream_ = std::make_unique<cuda::Stream>();
  evStart_ = std::make_unique<cuda::Event>();
  evH2D_ = std::make_unique<cuda::Event>();
  evCompute_ = std::make_unique<cuda::Event>();
  evEnd_ = std::make_unique<cuda::Event>();
  arena_ = cuda::DeviceBuffer(static_cast<size_t>(x.arenaBytes(capacity)));
  workspace_ = cuda::DeviceBuffer(x.workspaceBytes(capacity));
  for (const IODesc& io : x.program().io) {
    pinned_.push_back(std::make_shared<cuda::PinnedBuffer>(static_cast<size_t>(x.bytesAt(io.tensor, capacity))));
  }
}

Context::~Context() {
  // Work may still be in flight (a dispose right after run): let it finish before the memory goes.
  cuda::DeviceGuard guard(engine_->device());
  cudaStreamSynchronize(stream_->get());
  graphByBatch_.clear();
  evStart_.reset();
  evH2D_.reset();
  evCompute_.reset();
  evEnd_.reset();
  arena_.reset();
  workspace_.reset();
  stream_.reset();
}

Bindings Context::bindings() const {
  Bindings b;
  b.arena = arena_.as<char>();
  b.weights = engine_->weights();
  b.workspace = workspace_.get();
  b.workspaceBytes = workspace_.bytes();
  b.capacity = capacity_;
  return b;
}

bool Context::needsCapture(int batch) const { return graphs_ && graphByBatch_.find(batch) == graphByBatch_.end(); }

void Context::capture(int batch) {
  if (!needsCapture(batch)) return;
  cuda::DeviceGuard guard(engine_->device());
  cuda::Graph g;
  try {
    g.capture(stream_->get(), [&] { engine_->executor().enqueue(batch, bindings(), stream_->get()); });
  } catch (const Error& e) {
    // Something in the layer list refused capture (an external library): run those launches directly.
    graphs_ = false;
    graphFallback_ = e.what();
    return;
  }
  graphByBatch_.emplace(batch, std::move(g));
}

void Context::enqueueRun(int batch, bool transfers) {
  cuda::DeviceGuard guard(engine_->device());
  const Executor& x = engine_->executor();
  const auto& io = x.program().io;
  cudaStream_t s = stream_->get();
  Bindings b = bindings();
  evStart_->record(s);
  if (transfers) {
    for (size_t i = 0; i < io.size(); ++i) {
      if (!io[i].isInput) continue;
      CUDA_CHECK(cudaMemcpyAsync(x.address(io[i].tensor, b), pinned_[i]->get(), x.bytesAt(io[i].tensor, batch),
                                 cudaMemcpyHostToDevice, s));
    }
  }
  evH2D_->record(s);
  auto g = graphs_ ? graphByBatch_.find(batch) : graphByBatch_.end();
  if (g != graphByBatch_.end()) g->second.launch(s);
  else x.enqueue(batch, b, s);
  evCompute_->record(s);
  if (transfers) {
    for (size_t i = 0; i < io.size(); ++i) {
      if (io[i].isInput) continue;
      CUDA_CHECK(cudaMemcpyAsync(pinned_[i]->get(), x.address(io[i].tensor, b), x.bytesAt(io[i].tensor, batch),
                                 cudaMemcpyDeviceToHost, s));
    }
  }
  evEnd_->record(s);
  lastTransfers_ = transfers;
}

void Context::timings(float out[3]) const {
  cuda::DeviceGuard guard(engine_->device());
  out[0] = evH2D_->elapsedSince(*evStart_);
  out[1] = evCompute_->elapsedSince(*evH2D_);
  out[2] = evEnd_->elapsedSince(*evCompute_);
}

std::vector<LayerTime> Context::profile(int batch, int iterations) {
  cuda::DeviceGuard guard(engine_->device());
  const Executor& x = engine_->executor();
  const size_t n = x.program().layers.size();
  std::vector<cuda::Event> ev(n + 1);
  std::vector<std::vector<float>> times(n);
  Bindings b = bindings();
  x.enqueue(batch, b, stream_->get());  // warm-up
  for (int it = 0; it < iterations; ++it) {
    x.enqueue(batch, b, stream_->get(), [&](size_t i) { ev[i].record(stream_->get()); });
    stream_->synchronize();
    for (size_t i = 0; i < n; ++i) times[i].push_back(ev[i + 1].elapsedSince(ev[i]));
  }
  std::vector<LayerTime> out;
  for (size_t i = 0; i < n; ++i) {
    auto& t = times[i];
    std::sort(t.begin(), t.end());
    const LayerDesc& l = x.program().layers[i];
    out.push_back({l.name, opName(l.op), l.tactic, t.empty() ? 0.f : t[t.size() / 2]});
  }
  return out;
}

}  // namespace ntrt::builtin
