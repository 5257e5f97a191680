// Small pieces shared by the TensorRT builder, engine and context.
#pragma once
#include "sdk.h"
#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../cuda/convert.h"
#include "../cuda/error.h"

namespace ntrt::trt {

//! TensorRT objects are deleted through their virtual destructors (TensorRT 10 removed destroy()).
template <typename T>
using Owned = std::unique_ptr<T>;

//! The classes a module instance creates wrappers of; passed as function data (the addon's instance data is taken).
struct Classes {
  Napi::FunctionReference engine, context;
};

//! TensorRT element type → the addon's DType; throws for types JS I/O cannot carry.
inline cuda::DType dtypeOf(nvinfer1::DataType t, const char* tensor) {
  using nvinfer1::DataType;
  switch (t) {
    case DataType::kFLOAT:
      return cuda::DType::F32;
    case DataType::kHALF:
      return cuda::DType::F16;
    case DataType::kINT32:
      return cuda::DType::I32;
    case DataType::kINT64:
      return cuda::DType::I64;
    case DataType::kUINT8:
      return cuda::DType::U8;
    case DataType::kINT8:
      return cuda::DType::I8;
    case DataType::kBOOL:
      return cuda::DType::BOOL;
    default:
      fail("ERR_TENSORRT", std::string("Engine I/O tensor '") + tensor + "' has TensorRT data type " +
                               std::to_string(static_cast<int>(t)) +
                               ", which node-tensorrt cannot exchange with JS (supported: float32, float16, int32, int64, uint8, int8, bool)");
  }
}

//! Product of dims[from..]; every one must be known.
inline int64_t volume(const nvinfer1::Dims& d, int from = 0) {
  int64_t v = 1;
  for (int i = from; i < d.nbDims; ++i) v *= d.d[i];
  return v;
}

inline nvinfer1::Dims toDims(const std::vector<int64_t>& v) {
  nvinfer1::Dims d{};
  d.nbDims = static_cast<int32_t>(v.size());
  for (size_t i = 0; i < v.size() && i < static_cast<size_t>(nvinfer1::Dims::MAX_DIMS); ++i) d.d[i] = v[i];
  return d;
}

inline std::string dimsText(const nvinfer1::Dims& d) {
  std::string s = "[";
  for (int i = 0; i < d.nbDims; ++i) s += (i ? ", " : "") + std::to_string(d.d[i]);
  return s + "]";
}

//! One engine I/O tensor: the batch (dimension 0) is -1 in `dims` when it is dynamic; no other dimension is.
struct IOTensor {
  std::string name;
  bool isInput = false;
  cuda::DType dtype = cuda::DType::F32;
  nvinfer1::Dims dims{};
  bool dynamicBatch = false;
  bool needsShape = false;  //!< an input with a dimension the engine leaves open: setInputShape before running
  //! A dimension besides the batch varies at run time (its entry in `dims` stays -1): the run gives the shape.
  bool dynamicOther = false;
  nvinfer1::Dims maxDims{};  //!< the largest shape (the profile's max, or the outputs at it): what buffers hold
  size_t rowBytes = 0;     //!< bytes per batch row (dynamic batch) or of the whole tensor (static), at maxDims
  size_t bytesFor(int batch) const { return dynamicBatch ? rowBytes * static_cast<size_t>(batch) : rowBytes; }
  //! Bytes of the tensor at shape `d`.
  size_t bytesAt(const nvinfer1::Dims& d) const { return cuda::dtypeSize(dtype) * static_cast<size_t>(volume(d)); }
};

//! Reads a string field from one flat JSON object as printed by IEngineInspector; "" when absent.
std::string jsonStringField(const std::string& json, const char* key);

}  // namespace ntrt::trt
