// Built when the TensorRT SDK was not found: the backend is absent, and says why.
#include <napi.h>

#include "availability.h"

namespace ntrt::trt {

Availability availability() {
  Availability a;
  a.reason = "TensorRT SDK not found at build time (set TENSORRT_ROOT and run `npm rebuild node-tensorrt`)";
  return a;
}

}  // namespace ntrt::trt


namespace ntrt::addon {
//! Without the SDK there is nothing to register: lib/ sees no trtBuild/trtLoadEngine and says why.
void RegisterTrt(Napi::Env, Napi::Object) {}
}  // namespace ntrt::addon
