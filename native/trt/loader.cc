#include "loader.h"

#include <dlfcn.h>

#include <vector>

#include "../cuda/error.h"
#include "availability.h"

namespace ntrt::trt {
namespace {

#define NTRT_STR2(x) #x
#define NTRT_STR(x) NTRT_STR2(x)
// Only the soname of the headers' major version: another major has another ABI.
constexpr const char* kInferSo = "libnvinfer.so." NTRT_STR(NV_TENSORRT_MAJOR);
constexpr const char* kParserSo = "libnvonnxparser.so." NTRT_STR(NV_TENSORRT_MAJOR);

struct Loaded {
  Library lib;
  std::string error;  // non-empty when libnvinfer is unusable
};

std::string dirOf(const std::string& file) {
  size_t slash = file.rfind('/');
  return slash == std::string::npos ? std::string() : file.substr(0, slash);
}

// Tries the directory the SDK was found in at build time, then the loader's search path (LD_LIBRARY_PATH, ldconfig).
void* openFirst(const std::vector<std::string>& names, std::string* why) {
  for (const std::string& n : names) {
    dlerror();
    if (void* h = dlopen(n.c_str(), RTLD_NOW | RTLD_LOCAL)) return h;
    const char* e = dlerror();
    if (why->empty() && e) *why = e;
  }
  return nullptr;
}

std::vector<std::string> candidates(const char* soname, const std::string& preferDir) {
  std::vector<std::string> c;
  if (!preferDir.empty()) c.push_back(preferDir + "/" + soname);
#ifdef NTRT_TRT_LIBDIR
  c.push_back(std::string(NTRT_TRT_LIBDIR) + "/" + soname);
#endif
  c.push_back(soname);
  return c;
}

template <typename F>
F symbol(void* handle, const char* name) {
  return reinterpret_cast<F>(dlsym(handle, name));
}

std::string versionText(int32_t v) {  // TensorRT 10+ encodes major*10000 + minor*100 + patch
  return std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100);
}

Loaded load() {
  Loaded out;
  std::string why;
  void* infer = openFirst(candidates(kInferSo, ""), &why);
  if (!infer) {
    out.error = std::string(kInferSo) + " could not be loaded (" + why +
                "); install TensorRT " NTRT_STR(NV_TENSORRT_MAJOR) ".x or add its lib directory to LD_LIBRARY_PATH";
    return out;
  }
  Library& lib = out.lib;
  lib.createBuilder = symbol<decltype(lib.createBuilder)>(infer, "createInferBuilder_INTERNAL");
  lib.createRuntime = symbol<decltype(lib.createRuntime)>(infer, "createInferRuntime_INTERNAL");
  auto libVersion = symbol<decltype(&getInferLibVersion)>(infer, "getInferLibVersion");
  if (!lib.createBuilder || !lib.createRuntime || !libVersion) {
    out.error = std::string(kInferSo) + " does not export the TensorRT entry points (createInferBuilder_INTERNAL, "
                "createInferRuntime_INTERNAL, getInferLibVersion)";
    return out;
  }
  Dl_info where{};
  if (dladdr(reinterpret_cast<void*>(libVersion), &where) && where.dli_fname) lib.path = where.dli_fname;
  int32_t v = libVersion();
  lib.version = versionText(v);
  // The library refuses objects for headers newer than itself (their interfaces have more methods).
  if (v / 10000 != NV_TENSORRT_MAJOR || v < NV_TENSORRT_VERSION) {
    out.error = "libnvinfer " + lib.version + " (" + lib.path + ") cannot serve this addon, which was compiled with the TensorRT " +
                headerVersion() + " headers; install TensorRT " + headerVersion() +
                " or newer of the same major version, or rebuild with TENSORRT_ROOT pointing at " + lib.version + "'s SDK";
    return out;
  }
  // Builder resources (libnvinfer_builder_resource) live next to libnvinfer, which may not be on the search path.
  // (Declared only by recent headers, hence the explicit type.)
  if (auto setPath = symbol<bool (*)(const char*) noexcept>(infer, "setInternalLibraryPath"); setPath && !lib.path.empty()) {
    setPath((dirOf(lib.path) + "/").c_str());
  }
  std::string parserWhy;
  void* parser = openFirst(candidates(kParserSo, dirOf(lib.path)), &parserWhy);
  if (!parser) {
    lib.parserError = std::string(kParserSo) + " could not be loaded (" + parserWhy + "); install TensorRT's ONNX parser (libnvonnxparsers)";
  } else {
    lib.createParser = symbol<decltype(lib.createParser)>(parser, "createNvOnnxParser_INTERNAL");
    if (!lib.createParser) lib.parserError = std::string(kParserSo) + " does not export createNvOnnxParser_INTERNAL";
  }
  return out;  // the handles stay open for the life of the process: TensorRT does not support being unloaded
}

const Loaded& loaded() {
  static const Loaded l = load();  // thread-safe one-time initialisation
  return l;
}

}  // namespace

std::string headerVersion() {
  return std::to_string(NV_TENSORRT_MAJOR) + "." + std::to_string(NV_TENSORRT_MINOR) + "." + std::to_string(NV_TENSORRT_PATCH);
}

const Library& library() {
  const Loaded& l = loaded();
  if (!l.error.empty()) fail("ERR_TENSORRT_UNAVAILABLE", "TensorRT is not available: " + l.error);
  return l.lib;
}

nvinfer1::IBuilder* createBuilder(nvinfer1::ILogger& logger) {
  return static_cast<nvinfer1::IBuilder*>(library().createBuilder(&logger, NV_TENSORRT_VERSION));
}

nvinfer1::IRuntime* createRuntime(nvinfer1::ILogger& logger) {
  return static_cast<nvinfer1::IRuntime*>(library().createRuntime(&logger, NV_TENSORRT_VERSION));
}

nvonnxparser::IParser* createParser(nvinfer1::INetworkDefinition& network, nvinfer1::ILogger& logger) {
  const Library& lib = library();
  if (!lib.createParser) fail("ERR_TENSORRT_UNAVAILABLE", "The TensorRT ONNX parser is not available: " + lib.parserError);
  return static_cast<nvonnxparser::IParser*>(lib.createParser(&network, &logger, NV_ONNX_PARSER_VERSION));
}

Availability availability() {
  Availability a;
  a.compiled = true;
  const Loaded& l = loaded();
  a.available = l.error.empty();
  a.version = l.lib.version.empty() ? headerVersion() : l.lib.version;
  a.reason = l.error;
  return a;
}

}  // namespace ntrt::trt
