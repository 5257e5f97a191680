// The builtin builder: times every candidate tactic of every layer on the device and keeps the fastest.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "program.h"

namespace ntrt::builtin {

struct BuildOptions {
  int device = 0;
  size_t workspaceLimit = size_t(1) << 32;
  int iterations = 8;                //!< timed runs per candidate (median)
  std::vector<int> buckets;                       //!< batch sizes to choose tactics at, ascending (default: opt)
  std::vector<std::vector<std::string>> presets;  //!< [layer][bucket]: a tactic from the cache, or "" to time
};

struct TimedTactic {
  std::string tactic;
  float ms = 0;
};

struct LayerChoice {
  std::string tactic;
  float ms = 0;
  bool cached = false;
  std::vector<TimedTactic> candidates;
  std::vector<std::string> rejected;  //!< candidates that failed or exceeded the workspace, with why
};

struct BuildResult {
  std::vector<int> buckets;
  std::vector<std::vector<LayerChoice>> layers;  //!< [layer][bucket]
  std::vector<std::vector<TacticChoice>> choices;  //!< [layer]: the plan's tactic list (equal neighbours merged)
  size_t workspaceBytes = 0;  //!< at the max batch, for the chosen tactics
};

//! Progress: layers done, total, the layer just finished.
using Progress = std::function<void(int done, int total, const std::string& layer)>;

//! Chooses a tactic per layer at each batch bucket. Runs on a worker thread; throws coded errors.
BuildResult build(const ProgramDesc& program, const void* weights, const BuildOptions& options, const Progress& progress);

}  // namespace ntrt::builtin
