// RAII owner for a captured, instantiated CUDA graph.
#pragma once
#include <cuda_runtime_api.h>

#include <utility>

#include "check.h"

namespace ntrt::cuda {

//! An executable CUDA graph captured from a stream; replaying it skips per-kernel launch cost.
class Graph {
 public:
  Graph() = default;
  ~Graph() { reset(); }
  Graph(Graph&& o) noexcept : exec_(std::exchange(o.exec_, nullptr)) {}
  Graph& operator=(Graph&& o) noexcept {
    std::swap(exec_, o.exec_);
    return *this;
  }
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  //! Captures everything `enqueue` puts on `stream` into this graph. A failed capture leaves it empty.
  template <typename F>
  void capture(cudaStream_t stream, F&& enqueue) {
    reset();
    CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    cudaGraph_t g = nullptr;
    try {
      enqueue();
    } catch (...) {
      cudaStreamEndCapture(stream, &g);
      if (g) cudaGraphDestroy(g);
      (void)cudaGetLastError();
      throw;
    }
    CUDA_CHECK(cudaStreamEndCapture(stream, &g));
    cudaError_t e = cudaGraphInstantiateWithFlags(&exec_, g, 0);
    cudaGraphDestroy(g);
    CUDA_CHECK(e);
  }
  void launch(cudaStream_t stream) const { CUDA_CHECK(cudaGraphLaunch(exec_, stream)); }
  bool empty() const { return exec_ == nullptr; }
  void reset() {
    if (exec_) cudaGraphExecDestroy(exec_);
    exec_ = nullptr;
  }

 private:
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace ntrt::cuda
