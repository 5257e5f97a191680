// One CUDA_CHECK: a failing cudaError_t becomes a coded ntrt::Error.
#pragma once
#include <cuda_runtime_api.h>

#include <string>

#include "error.h"

namespace ntrt::cuda {

//! The stable code for a CUDA runtime error.
inline const char* codeFor(cudaError_t e) {
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

//! Throws a coded error for `e`, naming the failing expression and place.
[[noreturn]] inline void throwCuda(cudaError_t e, const char* expr, const char* file, int line) {
  std::string msg = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e) + " (" + expr + " at " + file + ":" +
                    std::to_string(line) + ")";
  throw Error(codeFor(e), msg);
}

}  // namespace ntrt::cuda

#define CUDA_CHECK(expr)                                                      \
  do {                                                                        \
    cudaError_t ntrt_err_ = (expr);                                           \
    if (ntrt_err_ != cudaSuccess) {                                           \
      (void)cudaGetLastError(); /* clear a non-sticky error */                \
      ::ntrt::cuda::throwCuda(ntrt_err_, #expr, __FILE__, __LINE__);          \
    }                                                                         \
  } while (0)

//! After a kernel launch: a launch error (bad config, no kernel image) becomes a coded error.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
