// capabilities(): what this machine offers, for lib/capabilities.ts. Never throws for a missing GPU.
#include <cuda_runtime_api.h>
#include <napi.h>

#include "../cuda/device.h"
#include "../trt/availability.h"
#include "addon.h"
#ifdef NTRT_HAVE_BUILTIN
#include "../builtin/sources/sources.h"
#endif

namespace ntrt::addon {
namespace {

std::string versionString(int v) {  // CUDA encodes 13.0 as 13000
  if (v <= 0) return "";
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

Napi::Object describeDevice(Napi::Env env, int i) {
  cudaDeviceProp p{};
  CUDA_CHECK(cudaGetDeviceProperties(&p, i));
  Napi::Object d = Napi::Object::New(env);
  d.Set("index", i);
  d.Set("name", p.name);
  d.Set("computeCapability", std::to_string(p.major) + "." + std::to_string(p.minor));
  d.Set("major", p.major);
  d.Set("minor", p.minor);
  d.Set("totalMemory", static_cast<double>(p.totalGlobalMem));
  d.Set("multiprocessorCount", p.multiProcessorCount);
  d.Set("l2CacheSize", p.l2CacheSize);
  d.Set("sharedMemoryPerBlockOptin", static_cast<double>(p.sharedMemPerBlockOptin));
  d.Set("memoryBusWidth", p.memoryBusWidth);
  char bus[32] = {0};
  if (cudaDeviceGetPCIBusId(bus, sizeof bus, i) == cudaSuccess) d.Set("pciBusId", bus);
  (void)cudaGetLastError();
  return d;
}

}  // namespace

Napi::Value Capabilities(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    Napi::Object out = Napi::Object::New(env);
    Napi::Object c = Napi::Object::New(env);
    int runtime = 0, driver = 0;
    cudaRuntimeGetVersion(&runtime);
    cudaDriverGetVersion(&driver);  // 0 when no driver is installed
    (void)cudaGetLastError();
    cudaError_t why = cudaSuccess;
    int n = cuda::deviceCount(&why);
    Napi::Array devices = Napi::Array::New(env, n);
    for (int i = 0; i < n; ++i) devices.Set(i, describeDevice(env, i));
    c.Set("available", n > 0);
    if (n == 0) {
      std::string reason = driver == 0 ? "No CUDA driver is installed (libcuda.so could not be loaded)"
                                       : std::string("No CUDA device found: ") + cudaGetErrorString(why);
      // The prebuilt addon carries its CUDA runtime: an older driver needs an update or a source build.
      if (driver != 0 && why == cudaErrorInsufficientDriver)
        reason = "The NVIDIA driver supports CUDA " + versionString(driver) + ", older than this addon's CUDA runtime " +
                 versionString(runtime) + ": update the driver, or build the addon from source with a CUDA toolkit " +
                 "the driver supports (npm rebuild node-tensorrt)";
      c.Set("reason", reason);
    }
    c.Set("runtimeVersion", versionString(runtime));
    c.Set("driverVersion", driver ? Napi::Value(Napi::String::New(env, versionString(driver))) : env.Null());
    c.Set("devices", devices);
    out.Set("cuda", c);

    trt::Availability a = trt::availability();
    Napi::Object t = Napi::Object::New(env);
    t.Set("compiled", a.compiled);
    t.Set("available", a.available);
    t.Set("version", a.version.empty() ? env.Null() : Napi::Value(Napi::String::New(env, a.version)));
    if (!a.available) t.Set("reason", a.reason);
    out.Set("tensorrt", t);
#ifdef NTRT_HAVE_BUILTIN
    auto source = [&](const sources::SourceInfo& i) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("compiled", i.compiled);
      o.Set("available", i.available);
      o.Set("version", i.version.empty() ? env.Null() : Napi::Value(Napi::String::New(env, i.version)));
      if (!i.available) o.Set("reason", i.reason);
      return o;
    };
    Napi::Object ts = Napi::Object::New(env);
    ts.Set("cublasLt", source(sources::cublasLtInfo()));
    ts.Set("cudnn", source(sources::cudnnInfo()));
    out.Set("tacticSources", ts);
#endif
#ifdef NTRT_CUDA_ARCHITECTURES
    out.Set("cudaArchitectures", NTRT_CUDA_ARCHITECTURES);
#endif
#ifdef NTRT_CUDA_PTX
    out.Set("cudaPtx", NTRT_CUDA_PTX);
#endif
    return out;
  }
  NTRT_CATCH(env)
}

// memoryInfo(device) → { free, total } in bytes (cudaMemGetInfo).
Napi::Value MemoryInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    int device = info[0].As<Napi::Number>().Int32Value();
    cuda::requireDevice(device);
    cuda::DeviceGuard guard(device);
    size_t freeB = 0, total = 0;
    CUDA_CHECK(cudaMemGetInfo(&freeB, &total));
    Napi::Object o = Napi::Object::New(env);
    o.Set("free", static_cast<double>(freeB));
    o.Set("total", static_cast<double>(total));
    return o;
  }
  NTRT_CATCH(env)
}

}  // namespace ntrt::addon
