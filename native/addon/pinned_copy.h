// Copies into pinned host memory that the GPU will read: with non-temporal (streaming) stores where the CPU has
// them, so that the destination is neither read first (no read-for-ownership) nor left in the caches.
#pragma once
#include <cstddef>

namespace ntrt::addon {

//! Copies `bytes` from `src` to `dst`: with non-temporal stores from kStreamingBytes up (x86 with AVX2, `dst`
//! 32-byte aligned), otherwise, and elsewhere, memcpy; memmove when the two ranges overlap. Either way the bytes are
//! globally visible on return (an sfence follows streaming stores), so a copy the GPU starts afterwards reads them.
void copyToPinned(void* dst, const void* src, size_t bytes);

//! On the H200 machine, streaming stores cut infer()'s copy of a 602 KB MobileNetV2 input by about a fifth against
//! memcpy (scripts/soak.ts, two processes each way); smaller copies were not measured and stay with memcpy.
constexpr size_t kStreamingBytes = 256 * 1024;

}  // namespace ntrt::addon
