// libnvinfer / libnvonnxparser, opened at run time with dlopen: the addon itself never links them, so it loads
// (and reports why TensorRT is absent) on machines without the SDK.
#pragma once
#include "sdk.h"

#include <string>

namespace ntrt::trt {

//! The C entry points behind the SDK's inline create* wrappers, resolved from the loaded libraries.
struct Library {
  decltype(&createInferBuilder_INTERNAL) createBuilder = nullptr;
  decltype(&createInferRuntime_INTERNAL) createRuntime = nullptr;
  decltype(&createNvOnnxParser_INTERNAL) createParser = nullptr;  //!< null when only the parser failed to load
  std::string version;      //!< "major.minor.patch" of the loaded libnvinfer
  std::string path;         //!< the file libnvinfer was loaded from
  std::string parserError;  //!< why libnvonnxparser is unusable, if it is
};

//! Opens the libraries once; throws ERR_TENSORRT_UNAVAILABLE with the reason when libnvinfer is unusable.
const Library& library();

//! Same as nvinfer1::createInferBuilder, through the loaded library.
nvinfer1::IBuilder* createBuilder(nvinfer1::ILogger& logger);
//! Same as nvinfer1::createInferRuntime, through the loaded library.
nvinfer1::IRuntime* createRuntime(nvinfer1::ILogger& logger);
//! Same as nvonnxparser::createParser; throws ERR_TENSORRT_UNAVAILABLE when libnvonnxparser is missing.
nvonnxparser::IParser* createParser(nvinfer1::INetworkDefinition& network, nvinfer1::ILogger& logger);

//! "major.minor.patch" of the headers this addon was compiled with.
std::string headerVersion();

}  // namespace ntrt::trt
