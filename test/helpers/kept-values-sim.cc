// Drives KeptValues (native/builtin/kept_values.h) with a sequence of uses, for test/unit/kept-values.test.ts.
// Usage: kept-values-sim <capacity> <pinned,comma,list> <op>...   op: p<s> puts s, f<s> finds s (marks it used)
// Prints {"keys":[...],"dropped":[...],"found":[0|1,...]} (keys ascending; dropped and found in order).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kept_values.h"

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  std::vector<int> pinned;
  for (char* t = std::strtok(argv[2], ","); t; t = std::strtok(nullptr, ",")) pinned.push_back(std::atoi(t));
  ntrt::builtin::KeptValues<std::string> kept(static_cast<size_t>(std::atoi(argv[1])), pinned);
  std::vector<int> dropped, found;
  for (int i = 3; i < argc; ++i) {
    const int s = std::atoi(argv[i] + 1);
    if (argv[i][0] == 'p') {
      std::string& v = kept.put(s, "value " + std::to_string(s), &dropped);
      if (v != "value " + std::to_string(s)) return 3;  // put returns the entry for s
    } else {
      std::string* v = kept.find(s);
      found.push_back(v != nullptr);
      if (v && *v != "value " + std::to_string(s)) return 3;
    }
  }
  auto list = [](const std::vector<int>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
    return out + "]";
  };
  std::printf("{\"keys\":%s,\"dropped\":%s,\"found\":%s}\n", list(kept.keys()).c_str(), list(dropped).c_str(), list(found).c_str());
  return 0;
}
