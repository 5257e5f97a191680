// Fault injection: NODE_TENSORRT_FAULT="alloc:3" fails the 3rd CUDA allocation, "launch:N" the Nth kernel or graph
// launch, "copy:N" the Nth copy or memset, and "device:N" makes the Nth run fault on the GPU (an illegal address,
// the sticky kind of error). Every point goes through CUDA_CHECK, CUDA_CHECK_LAUNCH or the allocation helpers of
// memory.h, so a test can walk each one and check that the failure is coded, leaks nothing and leaves the next call
// working. Counting is always on (one relaxed atomic add per point); nothing fails unless armed.
#pragma once
#include <cuda_runtime_api.h>

#include <atomic>
#include <cstdint>
#include <string>

namespace ntrt::cuda::fault {

enum Kind : int { Alloc = 0, Launch = 1, Copy = 2, Device = 3, None = 4 };
constexpr int kKinds = 4;
constexpr const char* kKindNames[kKinds] = {"alloc", "launch", "copy", "device"};

struct State {
  std::atomic<int64_t> count[kKinds] = {};  //!< points reached since the last arm()
  std::atomic<int64_t> at[kKinds] = {};     //!< 1-based point that fails; 0 = never
  std::atomic<int64_t> fired[kKinds] = {};  //!< injected failures since the last arm()
};

//! The process-wide switch (one per addon: an inline function's static is unique across translation units).
inline State& state() {
  static State s;
  return s;
}

constexpr bool contains(const char* s, const char* word) {
  for (; *s; ++s) {
    const char* a = s;
    const char* b = word;
    while (*a && *b && *a == *b) ++a, ++b;
    if (!*b) return true;
  }
  return false;
}

//! The kind of a CUDA_CHECK'ed expression, read from its text at compile time.
constexpr Kind kindOf(const char* expr) {
  return contains(expr, "cudaMalloc") || contains(expr, "cudaHostAlloc")                    ? Alloc
         : contains(expr, "cudaMemcpy") || contains(expr, "cudaMemset")                     ? Copy
         : contains(expr, "cudaGraphLaunch") || contains(expr, "cudaLaunchKernel")          ? Launch
                                                                                            : None;
}

//! Counts one point of `k`; true when it is the armed one (the caller then fails it instead of calling CUDA).
inline bool hit(Kind k) {
  if (k == None) return false;
  State& s = state();
  int64_t n = s.count[k].fetch_add(1, std::memory_order_relaxed) + 1;
  int64_t at = s.at[k].load(std::memory_order_relaxed);
  if (at <= 0 || n != at) return false;
  s.fired[k].fetch_add(1, std::memory_order_relaxed);
  return true;
}

//! The error an injected failure of `k` reports: what the real failure would most likely be, never a sticky one.
inline cudaError_t injected(Kind k) {
  switch (k) {
    case Alloc:
      return cudaErrorMemoryAllocation;
    case Launch:
      return cudaErrorLaunchOutOfResources;
    default:
      return cudaErrorInvalidValue;
  }
}

//! Parses "kind:N[,kind:N...]" into `at` (kinds alloc, launch, copy, device; N ≥ 1). Empty = nothing armed.
//! Returns an empty string on success, else what is wrong.
std::string parse(const std::string& spec, int64_t at[kKinds]);
//! Arms the switch with `at` and resets the counters.
void arm(const int64_t at[kKinds]);
//! Reads NODE_TENSORRT_FAULT; returns what is wrong with it, or an empty string.
std::string armFromEnvironment();

// Stand-ins whose names classify like the real calls, so CPU tests can drive CUDA_CHECK's injection path.
inline cudaError_t probe_cudaMalloc() { return cudaSuccess; }
inline cudaError_t probe_cudaMemcpy() { return cudaSuccess; }
inline cudaError_t probe_cudaGraphLaunch() { return cudaSuccess; }

//! Enqueues a kernel that waits about `spinMs` on the GPU, then writes to an unmapped address: a sticky fault.
void launchDeviceFault(cudaStream_t stream, int spinMs);

}  // namespace ntrt::cuda::fault
