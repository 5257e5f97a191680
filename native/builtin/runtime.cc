#include "runtime.h"

#include <algorithm>

#include "../cuda/check.h"
#include "../cuda/device.h"

namespace ntrt::builtin {

Engine::Engine(ProgramDesc program, const void* weights, int device)
    : exec_(std::move(program), Stage::Load), device_(device) {
  cuda::requireDevice(device);
  cuda::DeviceGuard guard(device);
  weights_ = cuda::DeviceBuffer(static_cast<size_t>(exec_.program().weightsBytes));
  if (weights_.bytes()) CUDA_CHECK(cudaMemcpy(weights_.get(), weights, weights_.bytes(), cudaMemcpyHostToDevice));
}

Context::Context(std::shared_ptr<const Engine> engine, int capacity, bool graphs, bool blockingSync)
    : engine_(std::move(engine)), capacity_(capacity), graphs_(graphs) {
  const Executor& x = engine_->executor();
  // The validator checked every access up to the program's maxBatch; a larger arena row count would go unchecked.
  NTRT_REQUIRE(capacity >= 1 && capacity <= x.program().maxBatch, "ERR_BATCH_OUT_OF_RANGE",
               "Context capacity " + std::to_string(capacity) + " is outside the engine's batch range 1.." +
                   std::to_string(x.program().maxBatch));
  cuda::DeviceGuard guard(engine_->device());
  stream_ = std::make_unique<cuda::Stream>();
  evStart_ = std::make_unique<cuda::Event>();
  evH2D_ = std::make_unique<cuda::Event>();
  evCompute_ = std::make_unique<cuda::Event>();
  evEnd_ = std::make_unique<cuda::Event>(true, blockingSync);
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
  imageDevice_.reset();
  imagePinned_.reset();
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
  engine_->executor().prepare(batch);
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

void Context::enqueueCompute(int batch, const Bindings& b) {
  cudaStream_t s = stream_->get();
  evH2D_->record(s);
  auto g = graphs_ ? graphByBatch_.find(batch) : graphByBatch_.end();
  if (g != graphByBatch_.end()) g->second.launch(s);
  else engine_->executor().enqueue(batch, b, s);
  evCompute_->record(s);
}

void Context::enqueueOutputs(int batch, const Bindings& b) {
  const Executor& x = engine_->executor();
  const auto& io = x.program().io;
  for (size_t i = 0; i < io.size(); ++i) {
    if (io[i].isInput) continue;
    CUDA_CHECK(cudaMemcpyAsync(pinned_[i]->get(), x.address(io[i].tensor, b), x.bytesAt(io[i].tensor, batch),
                               cudaMemcpyDeviceToHost, stream_->get()));
  }
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
  enqueueCompute(batch, b);
  if (transfers) enqueueOutputs(batch, b);
  evEnd_->record(s);
  lastTransfers_ = transfers;
}

const std::shared_ptr<cuda::PinnedBuffer>& Context::imageStaging(int h, int w) {
  NTRT_REQUIRE(h > 0 && w > 0 && int64_t(h) * w <= (int64_t(1) << 30), "ERR_INVALID_ARGUMENT",
               "Image size " + std::to_string(h) + "x" + std::to_string(w) + " is out of range");
  if (!imagePinned_ || h != imageH_ || w != imageW_) {
    cuda::DeviceGuard guard(engine_->device());
    stream_->synchronize();  // the old staging may still feed a copy
    size_t bytes = static_cast<size_t>(capacity_) * h * w * 4;
    imagePinned_ = std::make_shared<cuda::PinnedBuffer>(bytes);
    imageDevice_ = cuda::DeviceBuffer(bytes);
    imageH_ = h;
    imageW_ = w;
  }
  return imagePinned_;
}

void Context::enqueueRunImages(int batch, size_t input, const float mean[3], const float stdv[3]) {
  cuda::DeviceGuard guard(engine_->device());
  const Executor& x = engine_->executor();
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
  cudaStream_t s = stream_->get();
  Bindings b = bindings();
  evStart_->record(s);
  size_t bytes = static_cast<size_t>(batch) * imageH_ * imageW_ * 4;
  CUDA_CHECK(cudaMemcpyAsync(imageDevice_.get(), imagePinned_->get(), bytes, cudaMemcpyHostToDevice, s));
  kernels::rgbaToTensor(batch, imageH_, imageW_, imageDevice_.as<const uint8_t>(), mean, stdv, false, io.dtype,
                        x.address(io.tensor, b), s);
  enqueueCompute(batch, b);
  enqueueOutputs(batch, b);
  evEnd_->record(s);
  lastTransfers_ = true;
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
    out.push_back({l.name, opName(l.op), l.tactics.empty() ? "" : l.tacticFor(batch), t.empty() ? 0.f : t[t.size() / 2]});
  }
  return out;
}

}  // namespace ntrt::builtin
