// The GPU half of fault injection: a kernel that faults the way a broken kernel does, after a delay, so the host
// is already waiting for the run when the error arrives.
#include "check.h"
#include "fault.h"

namespace ntrt::cuda::fault {
namespace {

__global__ void faultKernel(long long cycles, int* target) {
  long long start = clock64();
  while (clock64() - start < cycles) {
  }
  *target = 1;  // an unmapped address: cudaErrorIllegalAddress, sticky for the whole CUDA context
}

}  // namespace

void launchDeviceFault(cudaStream_t stream, int spinMs) {
  int dev = 0, khz = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, dev));
  long long cycles = static_cast<long long>(khz > 0 ? khz : 1000000) * spinMs;
  faultKernel<<<1, 1, 0, stream>>>(cycles, reinterpret_cast<int*>(uintptr_t{0x10}));
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace ntrt::cuda::fault
