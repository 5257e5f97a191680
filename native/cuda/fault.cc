// Parsing and arming of the fault-injection switch (fault.h).
#include "fault.h"

#include <cstdlib>

namespace ntrt::cuda::fault {

std::string parse(const std::string& spec, int64_t at[kKinds]) {
  for (int k = 0; k < kKinds; ++k) at[k] = 0;
  size_t i = 0;
  while (i <= spec.size() && !spec.empty()) {
    size_t end = spec.find(',', i);
    if (end == std::string::npos) end = spec.size();
    std::string item = spec.substr(i, end - i);
    size_t colon = item.find(':');
    int kind = -1;
    for (int k = 0; colon != std::string::npos && k < kKinds; ++k) {
      if (item.compare(0, colon, kKindNames[k]) == 0 && colon == std::string(kKindNames[k]).size()) kind = k;
    }
    std::string num = colon == std::string::npos ? "" : item.substr(colon + 1);
    bool digits = !num.empty() && num.size() <= 12 && num.find_first_not_of("0123456789") == std::string::npos;
    if (kind < 0 || !digits || std::strtoll(num.c_str(), nullptr, 10) < 1) {
      return "Expected kind:N with kind alloc, launch, copy or device and N a positive integer, but received '" + item +
             "'";
    }
    if (at[kind] != 0) return "'" + std::string(kKindNames[kind]) + "' is armed twice";
    at[kind] = std::strtoll(num.c_str(), nullptr, 10);
    i = end + 1;
  }
  return "";
}

void arm(const int64_t at[kKinds]) {
  State& s = state();
  for (int k = 0; k < kKinds; ++k) {
    s.at[k].store(at[k], std::memory_order_relaxed);
    s.count[k].store(0, std::memory_order_relaxed);
    s.fired[k].store(0, std::memory_order_relaxed);
  }
}

std::string armFromEnvironment() {
  const char* v = std::getenv("NODE_TENSORRT_FAULT");
  int64_t at[kKinds];
  std::string err = parse(v ? v : "", at);
  if (err.empty()) arm(at);
  return err.empty() ? "" : "NODE_TENSORRT_FAULT: " + err;
}

}  // namespace ntrt::cuda::fault
