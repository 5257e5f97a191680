// Device selection that restores the caller's device, and device queries.
#pragma once
#include <cuda_runtime_api.h>

#include "check.h"

namespace ntrt::cuda {

//! Makes `device` current for a scope and restores the previous one.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    CUDA_CHECK(cudaGetDevice(&prev_));
    if (prev_ != device) CUDA_CHECK(cudaSetDevice(device));
    switched_ = prev_ != device;
  }
  ~DeviceGuard() {
    if (switched_) cudaSetDevice(prev_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int prev_ = 0;
  bool switched_ = false;
};

//! Number of CUDA devices; 0 (not an exception) when there is no driver or device.
inline int deviceCount(cudaError_t* why = nullptr) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (why) *why = e;
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return n;
}

//! Throws ERR_NO_CUDA_DEVICE / ERR_DEVICE_OUT_OF_RANGE unless `device` exists.
inline void requireDevice(int device) {
  cudaError_t why = cudaSuccess;
  int n = deviceCount(&why);
  if (n == 0) {
    int driver = 0;
    cudaDriverGetVersion(&driver);
    (void)cudaGetLastError();
    if (driver == 0) fail("ERR_NO_CUDA_DEVICE", "No CUDA device is available: no CUDA driver is installed");
    fail(why == cudaErrorInsufficientDriver ? "ERR_CUDA_DRIVER" : "ERR_NO_CUDA_DEVICE",
         std::string("No CUDA device is available: ") + cudaGetErrorString(why));
  }
  if (device < 0 || device >= n) {
    fail("ERR_DEVICE_OUT_OF_RANGE",
         "Device index " + std::to_string(device) + " is out of range: this machine has " + std::to_string(n) +
             " CUDA device" + (n == 1 ? "" : "s"));
  }
}

}  // namespace ntrt::cuda
