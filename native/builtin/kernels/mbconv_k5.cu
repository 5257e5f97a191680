// The fused inverted-residual kernels with a 5x5 depthwise window (strides 1 and 2); own unit for compile time.
#define NTRT_MBCONV_DEFINE
#include "mbconv.cuh"

namespace ntrt::kernels::mbimpl {

NTRT_MBCONV_EXTERN(, 5, 1)
NTRT_MBCONV_EXTERN(, 5, 2)

}  // namespace ntrt::kernels::mbimpl
