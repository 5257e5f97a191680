// Registers the engine classes of each backend; later layers add theirs here.
#include <napi.h>

namespace ntrt::addon {

void RegisterBackends(Napi::Env, Napi::Object) {}

}  // namespace ntrt::addon
