// RAII owners for device memory and page-locked host memory.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>
#include <utility>

#include "check.h"

namespace ntrt::cuda {

//! Device memory, owned. Allocation failure is ERR_CUDA_OUT_OF_MEMORY with the size asked for (an injection point).
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes) : bytes_(bytes) {
    if (bytes == 0) return;
    const bool injected = fault::hit(fault::Alloc);
    cudaError_t e = injected ? fault::injected(fault::Alloc) : cudaMalloc(&p_, bytes);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      p_ = nullptr;
      if (e == cudaErrorMemoryAllocation) {
        fail("ERR_CUDA_OUT_OF_MEMORY", "Out of GPU memory allocating " + std::to_string(bytes) + " bytes" +
                                           (injected ? " (injected by NODE_TENSORRT_FAULT)" : ""));
      }
      throwCuda(e, "cudaMalloc", __FILE__, __LINE__);
    }
  }
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void reset() {
    if (p_) cudaFree(p_);
    p_ = nullptr;
    bytes_ = 0;
  }
  void* get() const { return p_; }
  template <typename T>
  T* as() const { return static_cast<T*>(p_); }
  size_t bytes() const { return bytes_; }

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

//! Page-locked (pinned) host memory, owned; the only host memory that copies truly asynchronously.
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(size_t bytes) : bytes_(bytes) {
    if (bytes == 0) return;
    const bool injected = fault::hit(fault::Alloc);
    cudaError_t e = injected ? fault::injected(fault::Alloc) : cudaHostAlloc(&p_, bytes, cudaHostAllocPortable);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      p_ = nullptr;
      if (e == cudaErrorMemoryAllocation) {
        fail("ERR_CUDA_OUT_OF_MEMORY", "Out of pinned host memory allocating " + std::to_string(bytes) + " bytes" +
                                           (injected ? " (injected by NODE_TENSORRT_FAULT)" : ""));
      }
      throwCuda(e, "cudaHostAlloc", __FILE__, __LINE__);
    }
  }
  ~PinnedBuffer() { reset(); }
  PinnedBuffer(PinnedBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  PinnedBuffer& operator=(PinnedBuffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  void reset() {
    if (p_) cudaFreeHost(p_);
    p_ = nullptr;
    bytes_ = 0;
  }
  void* get() const { return p_; }
  size_t bytes() const { return bytes_; }

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace ntrt::cuda
