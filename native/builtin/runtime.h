// The builtin runtime: an engine (program + weights on one device) and its execution contexts.
#pragma once
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "../cuda/graph.h"
#include "../cuda/memory.h"
#include "../cuda/stream.h"
#include "executor.h"
#include "kept_values.h"

namespace ntrt::builtin {

//! A deserialized builtin engine: its executors and the weights on the device, shared by contexts.
//! A program with a dynamic dim (a sequence length) runs through one executor per value of the dim, each the plain
//! program at that value (ProgramDesc::atDim), validated before its first use: at load for min, opt and max. Those
//! three are kept; of the others, the kKeptValues most recently used (a context holds on to those it uses).
class Engine {
 public:
  //! Validates `program` and uploads `weights` (program.weightsBytes bytes) to `device`. Blocking: off the JS thread.
  Engine(ProgramDesc program, const void* weights, int device);
  //! The program as loaded (with its dynamic dim, if any): I/O, arena sizes and the planned tensor sizes.
  const ProgramDesc& program() const { return program_; }
  //! The executor at dim value `s` (0 when the program has no dim), created and validated on first use: blocking,
  //! so call it off the JS thread. ERR_SHAPE_OUT_OF_RANGE outside the dim's range.
  std::shared_ptr<const Executor> executorAt(int s) const;
  //! The dim value runs take when none is given: the dim's opt, or 0 without a dim.
  int defaultDim() const { return program_.hasDim ? program_.dim.opt : 0; }
  //! The dim values whose executors are kept for the engine's life (min, opt and max; 0 without a dim).
  std::vector<int> loadedDims() const;
  //! Dim values besides min, opt and max whose executors an engine, and each context, keeps.
  static constexpr size_t kKeptValues = 16;
  const char* weights() const { return weights_.as<const char>(); }
  //! Device bytes the engine itself holds: the weights and the float16 copies of biases.
  size_t weightBytes() const { return weights_.bytes() + halfBiases_.bytes(); }
  const HalfBiases& halfBiases() const { return halfBiases_; }
  int device() const { return device_; }

 private:
  ProgramDesc program_;
  int device_;
  cuda::DeviceBuffer weights_;
  HalfBiases halfBiases_;  //!< after weights_, from which it is made
  std::vector<int> pinnedDims_;
  mutable std::mutex mu_;
  mutable KeptValues<std::shared_ptr<const Executor>> execs_;
};

//! Bytes of I/O or arena tensor `t` of `p` at `batch` rows, as planned (the largest size over a dynamic dim).
int64_t plannedBytes(const ProgramDesc& p, int t, int batch);

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
  const Engine& engine() const { return *engine_; }
  int device() const { return engine_->device(); }
  cudaStream_t stream() const { return stream_->get(); }
  //! Recorded after the last operation of every run.
  cudaEvent_t endEvent() const { return evEnd_->get(); }
  size_t deviceBytes() const { return arena_.bytes() + workspace_.bytes(); }

  //! What a CUDA graph of this context holds. `Compute`: the layers alone (runImages). `Bare` / `Transfers`: a whole
  //! run, its timing events and (Transfers) its H2D and D2H copies too, so that a run is one cudaGraphLaunch.
  enum class GraphKind : int { Compute = 0, Bare = 1, Transfers = 2 };
  //! True when a run at `batch` (and dim value `s`, 0 without a dim) would first need work off the JS thread: the
  //! executor at `s` made ready for this context, or a CUDA graph of `kind` captured.
  bool needsCapture(int batch, int s = 0, GraphKind kind = GraphKind::Compute) const;
  //! Readies the executor at `s` (growing the workspace if it needs more) and captures the graph of `kind` for
  //! (batch, s); a failed capture falls back to direct launches for good. Blocking: off the JS thread.
  void capture(int batch, int s = 0, GraphKind kind = GraphKind::Compute);
  //! Enqueues H2D (if transfers), compute and D2H (if transfers), with timing events: one launch of the whole-run
  //! graph of (batch, s) when one was captured. Non-blocking; `s` must be ready (capture). I/O copies move the bytes
  //! of `batch` rows at `s`: the pinned buffers hold them packed.
  void enqueueRun(int batch, bool transfers, int s = 0);
  //! Pinned RGBA8 staging for `capacity` images of h×w (reallocated when the size changes).
  const std::shared_ptr<cuda::PinnedBuffer>& imageStaging(int h, int w);
  //! Like enqueueRun, but input `io` is filled on the device from the staged RGBA8 images:
  //! (px/255 − mean) / std per channel, into the input's NCHW layout. 4× fewer bytes over PCIe than float32.
  void enqueueRunImages(int batch, size_t io, const float mean[3], const float stdv[3], int s = 0);
  //! [h2d, compute, d2h] ms of the last run; call once it has completed.
  void timings(float out[3]) const;
  //! Per-layer median times over `iterations` direct runs. Blocking: call it off the JS thread.
  std::vector<LayerTime> profile(int batch, int iterations, int s = 0);
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
  //! The executor at `s`, readied (workspace grown) on first use. Blocking.
  const Executor& ready(int s);
  //! The executor at `s`, which must be ready (marked as just used).
  const Executor& at(int s);
  using GraphKey = std::tuple<int, int, int>;  //!< (dim value, batch, kind)
  static GraphKey graphKey(int batch, int s, GraphKind k) { return {s, batch, static_cast<int>(k)}; }
  //! Records `e` on the stream; `external` inside a capture, so that the graph records it on every replay.
  static void recordEvent(const cuda::Event& e, cudaStream_t st, bool external);
  std::shared_ptr<const Engine> engine_;
  int capacity_;
  bool graphs_;
  std::string graphFallback_;
  std::atomic<int> fault_{0};
  // Created in the constructor body, once the engine's device is current.
  std::unique_ptr<cuda::Stream> stream_;
  cuda::DeviceBuffer arena_, workspace_;
  std::vector<std::shared_ptr<cuda::PinnedBuffer>> pinned_;
  std::map<GraphKey, cuda::Graph> graphByKey_;
  KeptValues<std::shared_ptr<const Executor>> ready_;  //!< executors by dim value whose workspace fits
  std::unique_ptr<cuda::Event> evStart_, evH2D_, evCompute_, evEnd_;
  bool lastTransfers_ = true;
  std::shared_ptr<cuda::PinnedBuffer> imagePinned_;
  cuda::DeviceBuffer imageDevice_;
  int imageH_ = 0, imageW_ = 0;
  void enqueueCompute(const Executor& x, int batch, int s, const Bindings& b);
  void enqueueInputs(const Executor& x, int batch, const Bindings& b);
  void enqueueOutputs(const Executor& x, int batch, const Bindings& b);
  //! A whole run as one graph captures it: events (external), copies when `transfers`, the layers.
  void enqueueWholeRun(const Executor& x, int batch, bool transfers, const Bindings& b);
};

}  // namespace ntrt::builtin
