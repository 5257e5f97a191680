#include "logger.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <vector>

namespace ntrt::trt {
namespace {

constexpr size_t kKeptErrors = 6;

thread_local LogCapture* tCurrent = nullptr;

std::mutex& broadcastMutex() {
  static std::mutex m;
  return m;
}
std::vector<LogCapture*>& broadcast() {  // captures that also take messages from threads without one
  static std::vector<LogCapture*> v;
  return v;
}

class Logger final : public nvinfer1::ILogger {
 public:
  void log(Severity severity, nvinfer1::AsciiChar const* msg) noexcept override {
    const int s = static_cast<int>(severity);
    const char* text = msg ? msg : "";
    try {
      if (LogCapture* c = tCurrent) {
        c->record(s, text);
        return;
      }
      std::lock_guard<std::mutex> lock(broadcastMutex());
      if (!broadcast().empty()) {
        for (LogCapture* c : broadcast()) c->record(s, text);
        return;
      }
    } catch (...) {
      // a failing sink must not unwind into TensorRT
    }
    // Nobody is listening: errors still reach the user instead of vanishing.
    if (severity <= Severity::kERROR) std::fprintf(stderr, "node-tensorrt: TensorRT error: %s\n", text);
  }
};

}  // namespace

nvinfer1::ILogger& logger() {
  static Logger l;  // never destroyed before TensorRT's objects: function-local static, process lifetime
  return l;
}

LogCapture::LogCapture(Forward forward, int maxSeverity, bool anyThread)
    : forward_(std::move(forward)), maxSeverity_(maxSeverity), anyThread_(anyThread), previous_(tCurrent) {
  tCurrent = this;
  if (anyThread_) {
    std::lock_guard<std::mutex> lock(broadcastMutex());
    broadcast().push_back(this);
  }
}

LogCapture::~LogCapture() {
  tCurrent = previous_;
  if (anyThread_) {
    std::lock_guard<std::mutex> lock(broadcastMutex());
    auto& v = broadcast();
    v.erase(std::remove(v.begin(), v.end(), this), v.end());
  }
}

void LogCapture::record(int severity, const char* message) {
  if (severity <= static_cast<int>(nvinfer1::ILogger::Severity::kERROR)) {
    std::lock_guard<std::mutex> lock(mutex_);
    errors_.emplace_back(message);
    if (errors_.size() > kKeptErrors) errors_.pop_front();
  }
  if (forward_ && severity <= maxSeverity_) forward_(severity, message);
}

std::string LogCapture::errors() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const std::string& e : errors_) out += (out.empty() ? "" : "; ") + e;
  return out;
}

bool LogCapture::mentions(const char* needle) const {
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
  };
  const std::string n = lower(needle);
  std::lock_guard<std::mutex> lock(mutex_);
  return std::any_of(errors_.begin(), errors_.end(), [&](const std::string& e) { return lower(e).find(n) != std::string::npos; });
}

bool LogCapture::outOfMemory() const {
  for (const char* n : {"out of memory", "outofmemory", "could not be allocated", "failed to allocate", "allocation failed"}) {
    if (mentions(n)) return true;
  }
  return false;
}

std::string LogCapture::explain(const std::string& what) const {
  std::string e = errors();
  return e.empty() ? what : what + " (TensorRT: " + e + ")";
}

}  // namespace ntrt::trt
