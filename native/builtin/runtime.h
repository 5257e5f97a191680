// The builtin runtime: an engine (program + weights on one device) and its execution contexts.
#pragma once
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../cuda/graph.h"
#include "../cuda/memory.h"
#include "../cuda/stream.h"
#include "executor.h"

namespace ntrt::builtin {

//! A deserialized builtin engine: the executor and the weights on the device, shared by contexts.
class Engine {
 public:
  //! Uploads `weights` (program.weightsBytes bytes) to `device`. Blocking: call it off the JS thread.
  Engine(ProgramDesc program, const void* weights, int device);
  const Executor& executor() const { return exec_; }
  const char* weights() const { return weights_.as<const char>(); }
  size_t weightBytes() const { return weights_.bytes(); }
  int device() const { return device_; }

 private:
  Executor exec_;
  int device_;
  cuda::DeviceBuffer weights_;
};

struct LayerTime {
  std::string name, op, tactic;
  float ms;
};

//! One execution context: a stream, an arena and workspace for `capacity` rows, pinned I/O, graphs per batch.
class Context {
 public:
  //! Allocates everything. Blocking: call it off the JS thread.
  //! `blockingSync`: the end-of-run event sleeps its waiter instead of spinning.
  Context(std::shared_ptr<const Engine> engine, int capacity, bool graphs, bool blockingSync = false);
  ~Context();

  //! Pinned host buffer of I/O tensor i (engine io order), sized for `capacity` rows.
  const std::shared_ptr<cuda::PinnedBuffer>& pinned(size_t i) const { return pinned_[i]; }
  size_t ioCount() const { return pinned_.size(); }
  int capacity() const { return capacity_; }
  int device() const { return engine_->device(); }
  cudaStream_t stream() const { return stream_->get(); }
  //! Recorded after the last operation of every run.
  cudaEvent_t endEvent() const { return evEnd_->get(); }
  size_t deviceBytes() const { return arena_.bytes() + workspace_.bytes(); }

  //! True when a run at `batch` would first need a CUDA graph captured (do that off the JS thread).
  bool needsCapture(int batch) const;
  //! Captures the compute graph for `batch`; on failure, falls back to direct launches for good.
  void capture(int batch);
  //! Enqueues H2D (if transfers), compute and D2H (if transfers), with timing events. Non-blocking.
  void enqueueRun(int batch, bool transfers);
  //! Pinned RGBA8 staging for `capacity` images of h×w (reallocated when the size changes).
  const std::shared_ptr<cuda::PinnedBuffer>& imageStaging(int h, int w);
  //! Like enqueueRun, but input `io` is filled on the device from the staged RGBA8 images:
  //! (px/255 − mean) / std per channel, into the input's NCHW layout. 4× fewer bytes over PCIe than float32.
  void enqueueRunImages(int batch, size_t io, const float mean[3], const float stdv[3]);
  //! [h2d, compute, d2h] ms of the last run; call once it has completed.
  void timings(float out[3]) const;
  //! Per-layer median times over `iterations` direct runs. Blocking: call it off the JS thread.
  std::vector<LayerTime> profile(int batch, int iterations);
  //! Why graphs are off for this context, if they are (set by a failed capture; empty when they were never asked for).
  const std::string& graphFallback() const { return graphFallback_; }
  //! True while runs replay CUDA graphs.
  bool graphsOn() const { return graphs_; }
  //! Records that the GPU reported `e` for this context's work: every later call is refused (ERR_CUDA_FAULT).
  void markFaulted(cudaError_t e) { fault_.store(static_cast<int>(e), std::memory_order_relaxed); }
  //! The error that made this context unusable, or cudaSuccess.
  cudaError_t fault() const { return static_cast<cudaError_t>(fault_.load(std::memory_order_relaxed)); }
  //! Throws ERR_CUDA_FAULT, saying what to do, once the context has faulted.
  void requireHealthy() const;

 private:
  Bindings bindings() const;
  std::shared_ptr<const Engine> engine_;
  int capacity_;
  bool graphs_;
  std::string graphFallback_;
  std::atomic<int> fault_{0};
  // Created in the constructor body, once the engine's device is current.
  std::unique_ptr<cuda::Stream> stream_;
  cuda::DeviceBuffer arena_, workspace_;
  std::vector<std::shared_ptr<cuda::PinnedBuffer>> pinned_;
  std::map<int, cuda::Graph> graphByBatch_;
  std::unique_ptr<cuda::Event> evStart_, evH2D_, evCompute_, evEnd_;
  bool lastTransfers_ = true;
  std::shared_ptr<cuda::PinnedBuffer> imagePinned_;
  cuda::DeviceBuffer imageDevice_;
  int imageH_ = 0, imageW_ = 0;
  void enqueueCompute(int batch, const Bindings& b);
  void enqueueOutputs(int batch, const Bindings& b);
};

}  // namespace ntrt::builtin
