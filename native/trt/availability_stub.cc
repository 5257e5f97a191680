// Built when the TensorRT SDK was not found: the backend is absent, and says why.
#include "availability.h"

namespace ntrt::trt {

Availability availability() {
  Availability a;
  a.reason = "TensorRT SDK not found at build time (set TENSORRT_ROOT and run `npm rebuild node-tensorrt`)";
  return a;
}

}  // namespace ntrt::trt
