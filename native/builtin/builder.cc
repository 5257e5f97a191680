#include "builder.h"

#include <algorithm>
#include <cmath>

#include "../cuda/check.h"
#include "../cuda/device.h"
#include "../cuda/memory.h"
#include "../cuda/stream.h"
#include "executor.h"
#include "random.h"

namespace ntrt::builtin {

BuildResult build(const ProgramDesc& program, const void* weights, const BuildOptions& o, const Progress& progress) {
  cuda::requireDevice(o.device);
  cuda::DeviceGuard guard(o.device);
  Executor exec(program);
  const ProgramDesc& p = exec.program();
  const int batch = p.optBatch;

  cuda::DeviceBuffer dWeights(static_cast<size_t>(p.weightsBytes));
  if (p.weightsBytes) CUDA_CHECK(cudaMemcpy(dWeights.get(), weights, p.weightsBytes, cudaMemcpyHostToDevice));
  cuda::DeviceBuffer arena(static_cast<size_t>(exec.arenaBytes(batch)));
  cuda::Stream stream;

  // Activations hold seeded random values of their dtype: timings on zeros would flatter some kernels.
  Bindings b;
  b.arena = arena.as<char>();
  b.weights = dWeights.as<const char>();
  b.capacity = batch;
  for (size_t t = 0; t < p.tensors.size(); ++t) {
    const TensorDesc& d = p.tensors[t];
    if (d.loc != Loc::Arena) continue;
    int64_t n = exec.bytesAt(static_cast<int>(t), batch) / static_cast<int64_t>(cuda::dtypeSize(d.dtype));
    randomFill(exec.address(static_cast<int>(t), b), n, d.dtype, 1234u + static_cast<uint32_t>(t), stream.get());
  }

  // One workspace, as large as the largest candidate that fits the limit.
  std::vector<std::vector<Candidate>> all(p.layers.size());
  size_t wsMax = 0;
  for (size_t i = 0; i < p.layers.size(); ++i) {
    all[i] = exec.candidates(i, batch);
    for (const Candidate& c : all[i]) {
      if (c.workspace <= o.workspaceLimit) wsMax = std::max(wsMax, c.workspace);
    }
  }
  cuda::DeviceBuffer ws(wsMax);
  b.workspace = ws.get();
  b.workspaceBytes = wsMax;

  cuda::Event e0, e1;
  BuildResult result;
  result.layers.resize(p.layers.size());
  std::vector<std::string> chosen(p.layers.size());
  const int total = static_cast<int>(p.layers.size());
  for (size_t i = 0; i < p.layers.size(); ++i) {
    const LayerDesc& l = p.layers[i];
    LayerChoice& out = result.layers[i];
    std::vector<Candidate> fit;
    for (const Candidate& c : all[i]) {
      if (c.workspace <= o.workspaceLimit) fit.push_back(c);
      else out.rejected.push_back(c.tactic + ": needs " + std::to_string(c.workspace) + " bytes of workspace");
    }
    if (fit.empty()) {
      fail("ERR_BUILD_FAILED", "No tactic of layer '" + l.name + "' fits the workspace limit of " +
                                   std::to_string(o.workspaceLimit) + " bytes");
    }
    const std::string preset = i < o.presets.size() ? o.presets[i] : "";
    auto hit = std::find_if(fit.begin(), fit.end(), [&](const Candidate& c) { return c.tactic == preset; });
    if (!preset.empty() && hit != fit.end()) {
      out.tactic = preset;
      out.cached = true;
    } else {  // every layer is timed, even with one candidate, so the build log has its time
      float best = INFINITY;
      for (const Candidate& c : fit) {
        std::vector<float> times;
        try {
          for (int w = 0; w < 2; ++w) exec.enqueueLayer(i, batch, b, stream.get(), c.tactic);
          for (int it = 0; it < std::max(1, o.iterations); ++it) {
            e0.record(stream.get());
            exec.enqueueLayer(i, batch, b, stream.get(), c.tactic);
            e1.record(stream.get());
            CUDA_CHECK(cudaEventSynchronize(e1.get()));
            times.push_back(e1.elapsedSince(e0));
          }
        } catch (const Error& err) {
          // A candidate that cannot run here (an external library refusing these params) is skipped, as
          // TensorRT skips failing tactics; a sticky device fault surfaces at the next synchronize.
          out.rejected.push_back(c.tactic + ": " + err.what());
          CUDA_CHECK(cudaStreamSynchronize(stream.get()));
          continue;
        }
        std::sort(times.begin(), times.end());
        float med = times[times.size() / 2];
        out.candidates.push_back({c.tactic, med});
        if (med < best) {
          best = med;
          out.tactic = c.tactic;
          out.ms = med;
        }
      }
      if (out.tactic.empty()) fail("ERR_BUILD_FAILED", "Every tactic of layer '" + l.name + "' failed: " + out.rejected.front());
    }
    chosen[i] = out.tactic;
    if (progress) progress(static_cast<int>(i) + 1, total, l.name);
  }
  CUDA_CHECK(cudaStreamSynchronize(stream.get()));
  exec.setTactics(chosen);
  result.workspaceBytes = exec.workspaceBytes(p.maxBatch);
  return result;
}

}  // namespace ntrt::builtin
