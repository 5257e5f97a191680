// Copies into pinned host memory that the GPU will read: with non-temporal (streaming) stores where the CPU has
// them, so that the destination is neither read first (no read-for-ownership) nor left in the caches.
#pragma once
#include <cstddef>

namespace ntrt::addon {

//! Copies `bytes` from `src` to `dst`. `streaming`: non-temporal stores (x86 with AVX2, `dst` 32-byte aligned,
//! at least 4 KiB); otherwise, and elsewhere, memcpy; memmove when the two ranges overlap. Either way the bytes are
//! globally visible on return (an sfence follows streaming stores), so a copy the GPU starts afterwards reads them.
void copyToPinned(void* dst, const void* src, size_t bytes, bool streaming);

}  // namespace ntrt::addon
