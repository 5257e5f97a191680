// TensorRT's log, routed per call: TensorRT keeps a single logger per process, so one ILogger hands each message
// to the capture installed by the operation running on that thread (a build, a load, a run).
#pragma once
#include "sdk.h"

#include <deque>
#include <functional>
#include <mutex>
#include <string>

namespace ntrt::trt {

//! The one ILogger handed to every builder, runtime and parser.
nvinfer1::ILogger& logger();

//! Collects the error messages TensorRT logs while it is alive, and forwards messages up to a severity.
//! Installed for the current thread; a capture made with `anyThread` also receives messages from TensorRT's own
//! worker threads (which have no capture of their own).
class LogCapture {
 public:
  using Forward = std::function<void(int severity, const char* message)>;
  explicit LogCapture(Forward forward = {}, int maxSeverity = -1, bool anyThread = false);
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  //! The last error messages, joined with "; " (empty when there were none).
  std::string errors() const;
  //! Whether any recorded error message contains `needle` (case-insensitive).
  bool mentions(const char* needle) const;
  //! Whether the errors say an allocation failed (TensorRT reports CUDA OOM only in words).
  bool outOfMemory() const;
  //! Appends " (TensorRT: <errors>)" to `what` when there were errors.
  std::string explain(const std::string& what) const;

  void record(int severity, const char* message);

 private:
  Forward forward_;
  int maxSeverity_;
  bool anyThread_;
  LogCapture* previous_;
  mutable std::mutex mutex_;
  std::deque<std::string> errors_;
};

}  // namespace ntrt::trt
