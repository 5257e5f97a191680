// Whether the TensorRT backend was compiled in, and whether its libraries load on this machine.
#pragma once
#include <string>

namespace ntrt::trt {

struct Availability {
  bool compiled = false;   //!< the SDK's headers were found at build time
  bool available = false;  //!< libnvinfer / libnvonnxparser loaded at run time
  std::string version;     //!< "major.minor.patch" of the loaded library, else the headers'
  std::string reason;      //!< why it is not available
};

//! Probes once (dlopen) and caches the answer.
Availability availability();

}  // namespace ntrt::trt
