#include "launch_gate.h"

#include <atomic>
#include <cstdlib>
#include <string>

#include "../cuda/check.h"

namespace ntrt::builtin {
namespace {

__device__ __forceinline__ unsigned long long nowNs() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

__global__ void gateKernel(const volatile int* flag, unsigned long long maxNs) {
  const unsigned long long t0 = nowNs();
  while (*flag == 0 && nowNs() - t0 < maxNs) __nanosleep(200);
}

}  // namespace

LaunchGate::LaunchGate() {
  // With launches made synchronous (a debugging setting), the host would wait in the gate's own launch for the gate
  // to open, until its timeout: there is nothing to gate then, so there is no gate.
  if (const char* blocking = std::getenv("CUDA_LAUNCH_BLOCKING"); blocking && std::string(blocking) == "1") return;
  void* p = nullptr;
  if (cudaHostAlloc(&p, sizeof(int), cudaHostAllocMapped | cudaHostAllocPortable) != cudaSuccess) {
    (void)cudaGetLastError();
    return;
  }
  if (cudaEventCreateWithFlags(&after_, cudaEventDisableTiming) != cudaSuccess) {
    (void)cudaGetLastError();
    cudaFreeHost(p);
    return;
  }
  flag_ = static_cast<volatile int*>(p);
  *flag_ = 1;
}

LaunchGate::~LaunchGate() {
  if (!flag_) return;
  open();
  // The gate kernel reads the flag until it sees it open: the memory stays until the last one has finished.
  if (pending_) (void)cudaEventSynchronize(after_);
  cudaEventDestroy(after_);
  cudaFreeHost(const_cast<int*>(flag_));
  (void)cudaGetLastError();
}

void LaunchGate::close(cudaStream_t s, float maxMs) {
  // An error already pending belongs to earlier work: leave it to its owner and time without a gate.
  if (!flag_ || cudaPeekAtLastError() != cudaSuccess) return;
  *flag_ = 0;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // Mapped memory is addressed by the same pointer on the device (unified addressing, every supported GPU).
  gateKernel<<<1, 1, 0, s>>>(flag_, static_cast<unsigned long long>(maxMs * 1e6f));
  // A gate that did not launch leaves the timing as it was (host launches counted).
  if (cudaGetLastError() != cudaSuccess || cudaEventRecord(after_, s) != cudaSuccess) {
    (void)cudaGetLastError();
    *flag_ = 1;
    return;
  }
  pending_ = true;
}

void LaunchGate::open() {
  if (!flag_) return;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  *flag_ = 1;
}

}  // namespace ntrt::builtin
