// Float16 copies of the float32 bias weights of float16 convolutions, made once per engine (and per build).
// cuBLASLt and cuDNN's fused call take the bias in the output's type; staging it inside every run cost each such layer
// one more kernel launch (a transformer layer has four GEMMs, so at batch 1 a third of its launches were staging).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

#include "../cuda/memory.h"
#include "program.h"

namespace ntrt::builtin {

class HalfBiases {
 public:
  HalfBiases() = default;
  //! Converts every float32 weight that a float16 Conv or MBConv layer takes as a bias, from `deviceWeights` (the
  //! program's weights on the current device), into one device buffer. Synchronous: call outside any capture.
  HalfBiases(const ProgramDesc& p, const char* deviceWeights);

  //! The float16 copy of tensor `id` (a bias of a float16 layer), or null when it has none: the caller stages it.
  //! `t` must be the tensor as the caller's program describes it; a copy is only handed out for the same weights.
  const void* at(int id, const TensorDesc& t) const;
  size_t bytes() const { return buf_.bytes(); }

  //! Byte offset of each tensor's copy in the buffer (−1: none), and the buffer's size: a function of the program.
  static std::vector<int64_t> layout(const ProgramDesc& p, int64_t* total);

 private:
  std::vector<int64_t> offset_;  //!< by tensor id
  std::vector<int64_t> source_;  //!< by tensor id: the weights offset the copy was made from
  cuda::DeviceBuffer buf_;
};

}  // namespace ntrt::builtin
