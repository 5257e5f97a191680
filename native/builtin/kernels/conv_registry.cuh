// The host side of the convolution tactics: every kernel family registers named tactics with a validity check,
// a workspace size and a launcher; conv.cu lists and dispatches them.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>
#include <vector>

#include "conv_common.cuh"
#include "kernels.h"

namespace ntrt::kernels::convimpl {

//! What a tactic needs to know about the current device (cached per device).
struct Device {
  int id = 0;
  int cc = 0;          //!< major * 10 + minor
  int sms = 0;
  int smemOptin = 0;   //!< max dynamic shared memory per block with the opt-in attribute
};

//! The current device's properties (thread-safe, queried once per device).
const Device& currentDevice();

//! How a tactic relates to a shape: unusable, runnable (conv accepts it) or also offered by convTactics.
//! Offering must not depend on the batch n: the runtime looks the chosen tactic up again at other batches.
enum class Use { Invalid, Valid, Listed };

struct Launch {
  const ConvParams& p;
  DType t;
  const void* x;
  const void* w;
  void* y;
  const Epilogue& ep;
  void* workspace;
  cudaStream_t stream;
};

//! One named tactic. `arg` selects the variant inside its family.
struct Entry {
  std::string name;
  Use (*use)(const ConvParams&, DType, const Device&, int arg);
  size_t (*workspace)(const ConvParams&, DType, int arg);
  void (*run)(const Launch&, int arg);
  int arg;
};

//! Families add their tactics here (one function per source file).
void addTensorCoreTactics(std::vector<Entry>& out);
void addSimtTactics(std::vector<Entry>& out);
void addDepthwiseTactics(std::vector<Entry>& out);
void addDirectTactics(std::vector<Entry>& out);
//! Hopper wgmma/TMA tactics (conv_wgmma.cu, built for sm_90a when 90 is among the architectures).
void addWgmmaTactics(std::vector<Entry>& out);

//! Raises a kernel's dynamic shared memory limit once per device (needed above 48 KB).
void ensureSmem(const void* kernel, int bytes);
//! Records a kernel needing more than 48 KB, so that the first query on a device configures it up front:
//! convTactics runs before any graph capture, and the launches then make no attribute calls.
void registerSmemKernel(const void* kernel, int bytes);

//! ConvArgs for a launch (GEMM sizes filled in; no split).
ConvArgs makeArgs(const Launch& l);

//! Sums split-K partials into y with the fused epilogue (F16 or F32 output).
void launchSplitReduce(const ConvArgs& a, DType t, cudaStream_t stream);

//! Split-K workspace: splits × M × K float32, rounded up to 256 bytes.
inline size_t splitWorkspace(const ConvParams& p, int splits) {
  const size_t bytes = size_t(splits) * size_t(p.n) * p.p * p.q * size_t(p.k) * sizeof(float);
  return (bytes + 255) / 256 * 256;
}

}  // namespace ntrt::kernels::convimpl
