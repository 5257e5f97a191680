// Internals of the external tactic sources: the per-library entry points behind the public dispatch, the library
// loader and the epilogue kernels shared by both sources.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../../cuda/check.h"
#include "sources.h"

namespace ntrt::sources::detail {

//! dlopen of the first name that loads (RTLD_NOW | RTLD_LOCAL); never closed. On failure, `tried` lists the errors.
void* openLibrary(const std::vector<std::string>& names, std::string* tried);

//! y[m][k] = act(y + bias[k] + residual[m][k]) in place over rows x k (NHWC). A no-op when there is nothing to apply.
void convEpilogue(int64_t rows, int k, kernels::DType t, void* y, const kernels::Epilogue& ep, cudaStream_t stream);

//! dst[0..k) = (half) bias[0..k): the F16 bias both libraries expect, staged in the caller's workspace.
void biasToHalf(const float* bias, int k, void* dst, cudaStream_t stream);

//! Whether `ep` carries the engine's float16 copy of its bias, as aligned as the libraries are promised (16 bytes).
inline bool hasHalfCopy(const kernels::Epilogue& ep) {
  return ep.biasHalf && reinterpret_cast<uintptr_t>(ep.biasHalf) % 16 == 0;
}

//! The F16 bias of `ep` as both libraries take it: the engine's copy (hasHalfCopy), else staged at `dst` by
//! biasToHalf. `ep.bias` must be set.
const void* halfBias(const kernels::Epilogue& ep, int k, void* dst, cudaStream_t stream);

//! The current CUDA device.
inline int currentDevice() {
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  return dev;
}

//! A library's handles (one per device) and descriptor cache for one thread; released when the thread ends.
//! Library handles are not thread-safe, so each thread that enqueues (the JS thread, builder workers) has its own.
template <typename Handle, typename Key, typename Descs>
class ThreadCache {
 public:
  ThreadCache(Handle (*create)(), void (*destroy)(Handle)) : create_(create), destroy_(destroy) {}
  ~ThreadCache() {
    descs.clear();
    for (auto& [dev, h] : handles_) destroy_(h);
  }
  ThreadCache(const ThreadCache&) = delete;
  ThreadCache& operator=(const ThreadCache&) = delete;

  //! This thread's handle for `dev`, created on first use.
  Handle handle(int dev) {
    auto it = handles_.find(dev);
    if (it != handles_.end()) return it->second;
    Handle h = create_();
    handles_[dev] = h;
    return h;
  }

  std::map<Key, std::unique_ptr<Descs>> descs;

 private:
  Handle (*create_)();
  void (*destroy_)(Handle);
  std::map<int, Handle> handles_;
};

constexpr size_t kAlign = 256;
inline size_t alignUp(size_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

SourceInfo cudnnProbe();
std::vector<kernels::Tactic> cudnnTactics(const kernels::ConvParams& p, kernels::DType t);
void cudnnConv(const std::string& tactic, const kernels::ConvParams& p, kernels::DType t, const void* x, const void* w,
               void* y, const kernels::Epilogue& ep, void* ws, size_t wsBytes, cudaStream_t stream);
size_t cudnnWorkspace(const std::string& tactic, const kernels::ConvParams& p, kernels::DType t);

SourceInfo cublasLtProbe();
std::vector<kernels::Tactic> cublasLtTactics(const kernels::ConvParams& p, kernels::DType t);
void cublasLtConv(const std::string& tactic, const kernels::ConvParams& p, kernels::DType t, const void* x,
                  const void* w, void* y, const kernels::Epilogue& ep, void* ws, size_t wsBytes, cudaStream_t stream);
size_t cublasLtWorkspace(const std::string& tactic, const kernels::ConvParams& p, kernels::DType t);

}  // namespace ntrt::sources::detail
