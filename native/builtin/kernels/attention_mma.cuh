// The flash_mma attention tactics (attention_mma.cu), called by attention.cu's dispatcher.
#pragma once
#include <cuda_fp16.h>

#include "kernels.h"

namespace ntrt::kernels {

//! The additive attention mask as every tactic reads it: float32 or float16, strides over (batch, head, query, key),
//! 0 broadcasting; no mask reads as 0.
struct AttentionMask {
  const void* p;
  bool half;
  int64_t s[4];
  //! Offset of (b, h, q, key 0); the key's term is added per score.
  __device__ __forceinline__ int64_t row(int64_t b, int64_t h, int64_t q) const { return b * s[0] + h * s[1] + q * s[2]; }
  __device__ __forceinline__ float at(int64_t rowOff, int64_t key) const {
    const int64_t off = rowOff + key * s[3];
    return half ? __half2float(static_cast<const __half*>(p)[off]) : static_cast<const float*>(p)[off];
  }
  __device__ __forceinline__ float at(int64_t b, int64_t h, int64_t q, int64_t k) const {
    return p ? at(row(b, h, q), k) : 0.f;
  }
};

//! Whether flash_mma runs these params: float16, d == dv ∈ {16, 32, 64, 128}, contiguous Q/K/V/O rows, Q/K/V
//! strides in multiples of 8 elements, even output strides, batch·heads within the grid.
bool attentionMmaFits(const AttentionDesc& p, DType t);
//! Runs flash_mma with `warps` (2, 4 or 8) warps of 16 query rows per block. Q, K and V must be 16-byte aligned.
void attentionMma(int warps, const AttentionDesc& p, const void* q, const void* k, const void* v,
                  const AttentionMask& mask, void* o, cudaStream_t stream);

}  // namespace ntrt::kernels
