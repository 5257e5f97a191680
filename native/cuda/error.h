// Coded errors shared by every native layer; the addon turns them into TensorRTError.
#pragma once
#include <stdexcept>
#include <string>

namespace ntrt {

//! An error with a stable code ("ERR_CUDA_OUT_OF_MEMORY", ...), thrown by native code below the addon.
class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

//! Throws ntrt::Error(code, message).
[[noreturn]] inline void fail(const char* code, const std::string& message) { throw Error(code, message); }

}  // namespace ntrt

//! State/invariant checks in C++ (user input is validated in TS).
#define NTRT_REQUIRE(cond, code, msg)            \
  do {                                           \
    if (!(cond)) ::ntrt::fail((code), (msg));    \
  } while (0)
