// One CUDA_CHECK: a failing cudaError_t becomes a coded ntrt::Error. It is also where fault injection
// (fault.h) fails the Nth allocation, launch or copy.
#pragma once
#include <cuda_runtime_api.h>

#include <string>

#include "error.h"
#include "fault.h"

namespace ntrt::cuda {

//! True for the errors that poison the whole CUDA context (the process must restart to use the device again).
inline bool isSticky(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorLaunchTimeout:
    case cudaErrorAssert:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorECCUncorrectable:
      return true;
    default:
      return false;
  }
}

//! The stable code for a CUDA runtime error.
inline const char* codeFor(cudaError_t e) {
  if (isSticky(e)) return "ERR_CUDA_FAULT";
  switch (e) {
    case cudaErrorMemoryAllocation:
      return "ERR_CUDA_OUT_OF_MEMORY";
    case cudaErrorNoDevice:
      return "ERR_NO_CUDA_DEVICE";
    case cudaErrorInsufficientDriver:
    case cudaErrorCallRequiresNewerDriver:
    case cudaErrorSystemDriverMismatch:
    case cudaErrorCompatNotSupportedOnDevice:
      return "ERR_CUDA_DRIVER";
    case cudaErrorInvalidDevice:
      return "ERR_DEVICE_OUT_OF_RANGE";
    default:
      return "ERR_CUDA";
  }
}

//! What a sticky error means for the user, appended to its message.
inline const char* kStickyAdvice =
    ". The GPU faulted: this error is sticky and poisons every CUDA context of this process on the device, so "
    "this context and every engine and context on that device are unusable. Dispose them and restart the process "
    "to use the GPU again";

//! A coded error for `e`, naming the failing expression and place.
inline Error cudaError(cudaError_t e, const char* expr, const char* file, int line, bool wasInjected = false) {
  std::string msg = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e) + " (" + expr + " at " + file +
                    ":" + std::to_string(line) + (wasInjected ? ", injected by NODE_TENSORRT_FAULT" : "") + ")";
  if (isSticky(e)) msg += kStickyAdvice;
  return Error(codeFor(e), msg);
}

//! Throws a coded error for `e`, naming the failing expression and place.
[[noreturn]] inline void throwCuda(cudaError_t e, const char* expr, const char* file, int line, bool wasInjected = false) {
  throw cudaError(e, expr, file, line, wasInjected);
}

}  // namespace ntrt::cuda

#define NTRT_CUDA_CHECK_KIND(kind, expr)                                                     \
  do {                                                                                       \
    constexpr ::ntrt::cuda::fault::Kind ntrt_kind_ = (kind);                                 \
    const bool ntrt_inj_ = ::ntrt::cuda::fault::hit(ntrt_kind_);                             \
    cudaError_t ntrt_err_ = ntrt_inj_ ? ::ntrt::cuda::fault::injected(ntrt_kind_) : (expr);  \
    if (ntrt_err_ != cudaSuccess) {                                                          \
      (void)cudaGetLastError(); /* clear a non-sticky error */                               \
      ::ntrt::cuda::throwCuda(ntrt_err_, #expr, __FILE__, __LINE__, ntrt_inj_);              \
    }                                                                                        \
  } while (0)

//! Checks a CUDA runtime call. Allocations, copies and graph launches are fault-injection points (by their text).
#define CUDA_CHECK(expr) NTRT_CUDA_CHECK_KIND(::ntrt::cuda::fault::kindOf(#expr), expr)

//! After a kernel launch: a launch error (bad config, no kernel image) becomes a coded error. A launch point.
#define CUDA_CHECK_LAUNCH() NTRT_CUDA_CHECK_KIND(::ntrt::cuda::fault::Launch, cudaGetLastError())
