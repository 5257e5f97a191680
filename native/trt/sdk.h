// The TensorRT SDK headers, included once for the backend. Their own inline code trips -Wdeprecated-declarations
// and -Wunused-parameter, so those are silenced for the headers only; this backend's code is still checked.
#pragma once
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <NvInfer.h>
#include <NvOnnxParser.h>
#pragma GCC diagnostic pop

#if !defined(NV_TENSORRT_MAJOR) || NV_TENSORRT_MAJOR < 10
#error "node-tensorrt's TensorRT backend needs the TensorRT 10.x or 11.x SDK"
#endif
