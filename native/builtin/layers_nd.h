// Kernel descriptors of the strided layers (general matmul, attention) built from a layer's parameters, and the
// bounds of what they touch, shared by the executor's launch and its load-time checks.
#pragma once
#include <cstdint>

#include "kernels/kernels.h"
#include "program.h"

namespace ntrt::builtin {

//! A general matmul layer ("bd" present): batch levels bd[] with strides bsa/bsb/bsc, am, ak, bk, bn, cm, alpha.
//! The first batch level scales with the batch when the layer is batched.
kernels::MatmulDesc matmulDesc(const LayerDesc& l, int batch);

//! An attention layer: b, h, sq, sk, d, dv, strides qs/ks/vs/os/ms (4 each), scale; b scales with the batch.
kernels::AttentionDesc attentionDesc(const LayerDesc& l, int batch);

//! Elements spanned by a strided access over `dims` with `strides` (1 + Σ (d − 1)·|s|; 0 when any dim is 0).
int64_t stridedExtent(const int64_t* dims, const int64_t* strides, int rank);

}  // namespace ntrt::builtin
