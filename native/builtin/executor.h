// Turns a validated program into kernel launches on a stream: the builtin backend's runtime core.
#pragma once
#include <cuda_runtime_api.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "half_bias.h"
#include "kernels/kernels.h"
#include "program.h"
#include "validate.h"

namespace ntrt::builtin {

//! Base pointers of one execution: the arena (sized for `capacity` batch rows), weights and workspace.
struct Bindings {
  char* arena = nullptr;
  const char* weights = nullptr;
  void* workspace = nullptr;
  size_t workspaceBytes = 0;
  int capacity = 1;  //!< batch rows the arena was sized for
  const HalfBiases* halfBiases = nullptr;  //!< float16 copies of float16 layers' biases, or null (staged per call)
};

//! A candidate kernel for one layer, with the scratch it needs.
struct Candidate {
  std::string tactic;
  size_t workspace = 0;
};

//! Launches the layers of one program. Safe to share between contexts on several threads: its only mutable state is
//! the cache of layers evaluated at a batch, behind a mutex.
class Executor {
 public:
  //! Validates `program` (validate.h): a plan being loaded must carry its tactics, a program being built not yet.
  explicit Executor(ProgramDesc program, Stage stage = Stage::Build);

  const ProgramDesc& program() const { return prog_; }
  //! Address of tensor `id` under `b`.
  char* address(int id, const Bindings& b) const;
  //! The float16 copy of bias tensor `id` under `b`, or null.
  const void* halfBias(int id, const Bindings& b) const;
  //! Bytes of tensor `id` at `batch` rows.
  int64_t bytesAt(int id, int batch) const;
  //! Arena bytes for a context of `capacity` rows.
  int64_t arenaBytes(int capacity) const;

  //! Tactics applicable to layer `i` at `batch` rows (own kernels first, then external sources).
  std::vector<Candidate> candidates(size_t i, int batch) const;
  //! Scratch tactic `tactic` of layer `i` needs at `batch` rows (ERR_PLAN_MISMATCH if it can't run here).
  size_t workspaceFor(size_t i, const std::string& tactic, int batch) const;
  //! Largest scratch any layer needs at any batch up to `capacity`, for the chosen tactics.
  size_t workspaceBytes(int capacity) const;

  //! Enqueues layer `i` with `tactic` (empty = the one chosen for `batch`) at `batch` rows.
  void enqueueLayer(size_t i, int batch, const Bindings& b, cudaStream_t s, const std::string& tactic = "") const;
  //! Enqueues every layer; `between(i)` runs before layer i and once more with i == size (for profiling events).
  void enqueue(int batch, const Bindings& b, cudaStream_t s, const std::function<void(size_t)>& between = nullptr) const;

  //! Inverted-residual layers: own-kernel and external candidates of stage j (0 expand, 1 depthwise, 2 project),
  //! which the builder times one by one to compose the layer's chain tactic.
  std::vector<Candidate> stageCandidates(size_t i, int stage, int batch) const;
  //! Enqueues stage j of inverted-residual layer i with conv tactic `tactic` (through the layer's intermediates).
  void enqueueStage(size_t i, int stage, int batch, const Bindings& b, cudaStream_t s, const std::string& tactic) const;

  //! Creates what external tactic sources need on this thread (handles), outside any graph capture.
  void prepare(int batch) const;
  //! Sets the chosen tactics of each layer (from a build, or a plan).
  void setTactics(const std::vector<std::vector<TacticChoice>>& tactics);

  //! Batches whose evaluated layers are cached at most (least recently used ones go first).
  static constexpr size_t kCachedBatches = 32;

 private:
  //! The layers affine in the batch (perBatch), evaluated at one batch by LayerDesc::at: the function the validator
  //! checked them with at batch 1 and maxBatch.
  struct Evaluated {
    int batch = 0;
    std::vector<LayerDesc> layers;  //!< by affineSlot_
  };
  using Held = std::shared_ptr<const Evaluated>;
  //! The evaluated layers at `batch` (1..maxBatch), from the cache or evaluated once and cached.
  Held evaluatedAt(int batch) const;
  //! Layer `i` with its parameters at `batch`; `hold` keeps an evaluated copy alive (and is reused when it matches).
  const LayerDesc& layerAt(size_t i, int batch, Held& hold) const;
  void enqueueLayer(size_t i, int batch, const Bindings& b, cudaStream_t s, const std::string& tactic, Held& hold) const;
  void enqueueStage(size_t i, int stage, int batch, const Bindings& b, cudaStream_t s, const std::string& tactic,
                    Held& hold) const;
  kernels::ConvParams convParams(const LayerDesc& l, int batch) const;
  kernels::MBConvParams mbParams(const LayerDesc& l, int batch) const;
  //! Stage j of an inverted-residual layer as a convolution with its epilogue (pointers left null).
  kernels::ConvParams stageParams(const LayerDesc& l, int stage, int batch, kernels::Epilogue& ep) const;
  size_t convWorkspace(const LayerDesc& l, const kernels::ConvParams& p, const std::string& tactic) const;
  void runConv(const kernels::ConvParams& p, DType t, const std::string& tactic, const void* x, const void* w, void* y,
               const kernels::Epilogue& ep, const Bindings& b, void* ws, size_t wsBytes, cudaStream_t s) const;
  kernels::DeconvParams deconvParams(const LayerDesc& l, int batch) const;
  kernels::NmsParams nmsParams(const LayerDesc& l, int batch) const;
  ProgramDesc prog_;
  std::vector<int> affineSlot_;  //!< per layer: its index in Evaluated::layers, or -1 when nothing depends on the batch
  mutable std::mutex cacheMu_;
  mutable std::vector<Held> cache_;  //!< most recently used first, at most kCachedBatches
};

}  // namespace ntrt::builtin
