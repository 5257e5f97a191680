// The fused inverted-residual kernels with a 3x3 depthwise window (strides 1 and 2); own unit for compile time.
#define NTRT_MBCONV_DEFINE
#include "mbconv.cuh"

namespace ntrt::kernels::mbimpl {

NTRT_MBCONV_EXTERN(, 3, 1)
NTRT_MBCONV_EXTERN(, 3, 2)

}  // namespace ntrt::kernels::mbimpl
