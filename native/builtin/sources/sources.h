// External tactic sources of the builtin backend: cuDNN and cuBLASLt convolutions, timed by the builder beside the
// project's own kernels. Both are always compiled, from the API subset declared in shim/ (no vendor headers needed
// at build time), and loaded with dlopen at run time, so the addon loads and works on machines without the libraries
// (as TensorRT treats them).
//
// Tactic names (stable; stored in plans and tactic caches):
//   cudnn_<algo>         cudnnConvolutionForward with that algorithm, then this library's bias/residual/act epilogue
//   cudnn_<algo>_fused   cudnnConvolutionBiasActivationForward (needs a bias and act None or Relu; None only with
//                        implicit_precomp_gemm); unsuitable epilogues throw ERR_INVALID_ARGUMENT
//   cublaslt_<i>_<hex>   1x1 stride-1 unpadded ungrouped convolutions (GEMMs, FC layers included) through
//                        cublasLtMatmul; <i> is the heuristic rank, <hex> the 64 bytes of cublasLtMatmulAlgo_t, which
//                        cuBLASLt documents as serialisable for the same library version. A plan re-creates the algo
//                        from the hex and re-validates it with cublasLtMatmulAlgoCheck.
// <algo> is one of implicit_gemm, implicit_precomp_gemm, gemm, direct, fft, fft_tiling, winograd, winograd_nonfused.
// F32 runs true FP32 (CUDNN_FMA_MATH, CUBLAS_COMPUTE_32F); F16 uses tensor cores with FP32 accumulation.
//
// Handles are created lazily per (device, thread). Enqueueing is CUDA-graph capturable (no allocation, no sync), but
// the first call for a thread and shape creates handles and descriptors: warm each thread up outside capture with
// prepareExternalConv (or externalConvWorkspace, or an eager run) before capturing a graph.
#pragma once
#include <cuda_runtime_api.h>

#include <string>
#include <vector>

#include "../kernels/kernels.h"

namespace ntrt::sources {

//! What the build found and the run time could load.
struct SourceInfo {
  bool compiled;        //!< compiled into the addon (always, since the shim declares the API)
  bool available;       //!< library loaded and every entry point resolved
  std::string version;  //!< e.g. "9.10.2"; empty when unavailable
  std::string reason;   //!< why unavailable (or "" when available)
};

//! cuDNN status, probed once (dlopen) and cached.
SourceInfo cudnnInfo();
//! cuBLASLt status, probed once (dlopen) and cached.
SourceInfo cublasLtInfo();

//! External candidates for a convolution on the current device; empty when no source applies or none is available.
std::vector<kernels::Tactic> externalConvTactics(const kernels::ConvParams& p, kernels::DType t);

//! Runs an external tactic: y = act(conv(x, w) + bias + residual). NHWC x/y, KRSC w, caller-provided workspace.
void externalConv(const std::string& tactic, const kernels::ConvParams& p, kernels::DType t, const void* x,
                  const void* w, void* y, const kernels::Epilogue& ep, void* ws, size_t wsBytes, cudaStream_t stream);

//! Workspace bytes of an external tactic for this shape, computed from its name alone (no re-enumeration), after
//! validating it on the current device: ERR_PLAN_MISMATCH when it cannot run here, ERR_INVALID_ARGUMENT if malformed.
size_t externalConvWorkspace(const std::string& tactic, const kernels::ConvParams& p, kernels::DType t);

//! Creates this thread's handle and descriptors for the tactic and validates it: call outside any stream capture.
void prepareExternalConv(const std::string& tactic, const kernels::ConvParams& p, kernels::DType t);

//! True for names produced by externalConvTactics (prefix "cudnn_" or "cublaslt_").
bool isExternalTactic(const std::string& name);

}  // namespace ntrt::sources
