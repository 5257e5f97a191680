#include "launch_gate.h"

#include <atomic>

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
  void* p = nullptr;
  if (cudaHostAlloc(&p, sizeof(int), cudaHostAllocMapped | cudaHostAllocPortable) != cudaSuccess) {
    (void)cudaGetLastError();
    return;
  }
  flag_ = static_cast<volatile int*>(p);
  *flag_ = 1;
}

LaunchGate::~LaunchGate() {
  if (flag_) cudaFreeHost(const_cast<int*>(flag_));
}

void LaunchGate::close(cudaStream_t s, float maxMs) {
  if (!flag_) return;
  *flag_ = 0;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // Mapped memory is addressed by the same pointer on the device (unified addressing, every supported GPU).
  gateKernel<<<1, 1, 0, s>>>(flag_, static_cast<unsigned long long>(maxMs * 1e6f));
  // A gate that did not launch leaves the timing as it was (host launches counted); the candidate's own launches
  // report their errors.
  if (cudaGetLastError() != cudaSuccess) *flag_ = 1;
}

void LaunchGate::open() {
  if (!flag_) return;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  *flag_ = 1;
}

}  // namespace ntrt::builtin
