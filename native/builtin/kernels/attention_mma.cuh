// The flash_mma attention tactics (attention_mma.cu), called by attention.cu's dispatcher.
#pragma once
#include "kernels.h"

namespace ntrt::kernels {

//! Whether flash_mma runs these params: float16, d == dv ∈ {16, 32, 64, 128}, contiguous Q/K/V/O rows, Q/K/V
//! strides in multiples of 8 elements, even output strides, batch·heads within the grid.
bool attentionMmaFits(const AttentionDesc& p, DType t);
//! Runs flash_mma with `warps` (2, 4 or 8) warps of 16 query rows per block. Q, K and V must be 16-byte aligned.
void attentionMma(int warps, const AttentionDesc& p, const void* q, const void* k, const void* v, DType maskT,
                  const void* mask, const int64_t* maskStrides, void* o, cudaStream_t stream);

}  // namespace ntrt::kernels
