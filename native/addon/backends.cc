// Registers the engine classes of each backend; later layers add theirs here.
#include <napi.h>

#ifdef NTRT_WITH_TENSORRT
namespace ntrt::trt {
void Register(Napi::Env env, Napi::Object exports);
}
#endif

namespace ntrt::addon {

void RegisterBackends([[maybe_unused]] Napi::Env env, [[maybe_unused]] Napi::Object exports) {
#ifdef NTRT_WITH_TENSORRT
  trt::Register(env, exports);  // trtBuild, trtLoadEngine (the SDK was found at build time)
#endif
}

}  // namespace ntrt::addon
