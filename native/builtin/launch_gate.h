// Tactic timing as a CUDA graph runs a candidate: the clock starts once the host has enqueued all of it.
// Timing a candidate with events around its launches counts the host's launch calls whenever the GPU is faster than
// them: a split-K GEMM (two launches) or a library call (host work per call) looked slower than a one-kernel tactic
// at batch 1, although in the runtime's CUDA graph they were faster. A gate kernel holds the stream until the host
// opens it, after the whole candidate is enqueued; the events then time the GPU alone.
#pragma once
#include <cuda_runtime_api.h>

namespace ntrt::builtin {

class LaunchGate {
 public:
  //! A gate with its flag in mapped pinned memory; without it (allocation refused, or CUDA_LAUNCH_BLOCKING=1 making
  //! every launch wait for its kernel), close() and open() do nothing.
  LaunchGate();
  //! Opens the gate and waits for the last gate kernel before the flag's memory goes.
  ~LaunchGate();
  LaunchGate(const LaunchGate&) = delete;
  LaunchGate& operator=(const LaunchGate&) = delete;

  //! Enqueues the gate on `s`: later work on `s` waits until open(), or until `maxMs` passed on the GPU.
  void close(cudaStream_t s, float maxMs = 5.f);
  //! Opens the gate (idempotent).
  void open();
  bool works() const { return flag_ != nullptr; }

 private:
  volatile int* flag_ = nullptr;
  cudaEvent_t after_ = nullptr;  //!< recorded after each gate kernel
  bool pending_ = false;         //!< a gate kernel was launched since the last wait
};

//! Holds a closed gate open on every exit path (an exception from the candidate included).
class GateScope {
 public:
  GateScope(LaunchGate& g, cudaStream_t s, float maxMs = 5.f) : g_(g) { g_.close(s, maxMs); }
  ~GateScope() { g_.open(); }
  GateScope(const GateScope&) = delete;
  GateScope& operator=(const GateScope&) = delete;

 private:
  LaunchGate& g_;
};

}  // namespace ntrt::builtin
