#include "builder.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <string>

#include "../cuda/check.h"
#include "../cuda/device.h"
#include "../cuda/memory.h"
#include "../cuda/stream.h"
#include "executor.h"
#include "launch_gate.h"
#include "random.h"
#include "sources/sources.h"

namespace ntrt::builtin {

namespace {

using Run = std::function<void(const std::string&)>;

//! The events around a timed run and the gate before it (launch_gate.h).
struct Timer {
  cuda::Event e0, e1;
  LaunchGate gate;
};

// Times each candidate with run() and keeps the fastest in `out`; a candidate that throws is recorded as rejected.
void timeCandidates(const std::vector<Candidate>& fit, const Run& run, const BuildOptions& o, cudaStream_t stream,
                    Timer& tm, LayerChoice& out) {
  // Every layer is timed, even with one candidate, so the build log has its time.
  float best = INFINITY;
  for (const Candidate& c : fit) {
    std::vector<float> times;
    try {
      for (int w = 0; w < 2; ++w) run(c.tactic);
      for (int it = 0; it < std::max(1, o.iterations); ++it) {
        {
          GateScope gate(tm.gate, stream);  // the GPU starts once the whole candidate is enqueued
          tm.e0.record(stream);
          run(c.tactic);
          tm.e1.record(stream);
        }
        CUDA_CHECK(cudaEventSynchronize(tm.e1.get()));
        times.push_back(tm.e1.elapsedSince(tm.e0));
        // Behind the best so far by more than run-to-run noise: a few samples say enough (most candidates of a
        // layer are such losers, and their full timing was most of a build).
        if (it == 0 && times[0] > 1.5f * best) break;
        if (it == 2 && std::max(std::min(times[0], times[1]), std::min(std::max(times[0], times[1]), times[2])) > 1.2f * best) break;
      }
    } catch (const Error& err) {
      // A candidate that cannot run here (an external library refusing these params) is skipped, as TensorRT
      // skips failing tactics; a sticky device fault surfaces at the next synchronize.
      out.rejected.push_back(c.tactic + ": " + err.what());
      CUDA_CHECK(cudaStreamSynchronize(stream));
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
}

// The candidates within the workspace limit; the others are recorded as rejected.
std::vector<Candidate> fitting(const std::vector<Candidate>& all, const BuildOptions& o, LayerChoice& out) {
  std::vector<Candidate> fit;
  for (const Candidate& c : all) {
    if (c.workspace <= o.workspaceLimit) fit.push_back(c);
    else out.rejected.push_back(c.tactic + ": needs " + std::to_string(c.workspace) + " bytes of workspace");
  }
  return fit;
}

//! Device scratch of the fused-tactic check: a copy of the chain's output and three sums.
struct CheckBuffers {
  cuda::DeviceBuffer ref, sums;
};

// Runs each fused tactic once on the builder's inputs and keeps those whose output agrees with the chain's
// (relative L2 ≤ 3e-3, all finite: two FP16 paths differ by rounding alone): a wrong or less accurate kernel is
// rejected, whatever its speed.
std::vector<Candidate> agreeingWithChain(const Executor& exec, size_t i, int batch, const std::string& chain,
                                         const std::vector<Candidate>& fused, Bindings& b, CheckBuffers& check,
                                         cudaStream_t stream, LayerChoice& out) {
  const LayerDesc& l = exec.program().layers[i];
  const int y = l.outputs[0];
  const int64_t bytes = exec.bytesAt(y, batch);
  const DType t = exec.program().tensors[y].dtype;
  const int64_t n = bytes / static_cast<int64_t>(cuda::dtypeSize(t));
  exec.enqueueLayer(i, batch, b, stream, chain);
  CUDA_CHECK(cudaMemcpyAsync(check.ref.get(), exec.address(y, b), bytes, cudaMemcpyDeviceToDevice, stream));
  std::vector<Candidate> ok;
  for (const Candidate& c : fused) {
    double sums[3] = {0, 0, 0};
    try {
      exec.enqueueLayer(i, batch, b, stream, c.tactic);
      kernels::compareTensors(t, n, exec.address(y, b), check.ref.get(), check.sums.as<double>(), stream);
      CUDA_CHECK(cudaMemcpyAsync(sums, check.sums.get(), sizeof sums, cudaMemcpyDeviceToHost, stream));
      CUDA_CHECK(cudaStreamSynchronize(stream));
    } catch (const Error& err) {
      out.rejected.push_back(c.tactic + ": " + err.what());
      CUDA_CHECK(cudaStreamSynchronize(stream));
      continue;
    }
    const double rel = std::sqrt(sums[0] / std::max(sums[1], 1e-30));
    if (sums[2] == 0 && rel <= 3e-3) {
      ok.push_back(c);
    } else {
      out.rejected.push_back(c.tactic + ": disagrees with " + chain + " (relative L2 " + std::to_string(rel) + ", " +
                             std::to_string(static_cast<int64_t>(sums[2])) + " non-finite)");
    }
  }
  return ok;
}

// An inverted-residual layer: its stages' conv tactics are timed one by one and composed into a chain tactic,
// which is then timed as a whole beside the fused kernels that agree with it; the faster wins.
std::vector<Candidate> blockCandidates(const Executor& exec, size_t i, int batch, const std::vector<Candidate>& fused,
                                       const std::array<std::vector<Candidate>, 3>& stages, const BuildOptions& o,
                                       Bindings& b, CheckBuffers& check, cudaStream_t stream, Timer& tm, LayerChoice& out) {
  std::vector<Candidate> all = fused;
  std::string parts[3], own[3];
  for (int j = 0; j < 3; ++j) {
    const std::vector<Candidate>& stage = stages[j];
    LayerChoice tmp;
    timeCandidates(fitting(stage, o, tmp), [&](const std::string& t) { exec.enqueueStage(i, j, batch, b, stream, t); }, o,
                   stream, tm, tmp);
    for (const std::string& r : tmp.rejected) out.rejected.push_back("stage " + std::to_string(j) + " " + r);
    if (tmp.tactic.empty()) return all;  // no chain: the fused kernels alone
    parts[j] = tmp.tactic;
    float ownMs = INFINITY;
    for (const auto& t : tmp.candidates)
      if (!sources::isExternalTactic(t.tactic) && t.ms < ownMs) ownMs = t.ms, own[j] = t.tactic;
  }
  const std::string chain = chainTactic(parts[0], parts[1], parts[2]);
  // The fused kernels are checked against the chain of our own stage kernels (FP32 accumulation, the fastest of
  // each stage): with cuDNN in the chain the builder's check disagreed with every fused tactic (relative L2 up to
  // 0.26) where the fused output matched our own chain on every image and the engine matched the reference.
  const bool allOwn = !own[0].empty() && !own[1].empty() && !own[2].empty();
  all = agreeingWithChain(exec, i, batch, allOwn ? chainTactic(own[0], own[1], own[2]) : chain, fused, b, check, stream, out);
  all.push_back({chain, exec.workspaceFor(i, chain, batch)});
  return all;
}

// Times each fitting candidate of layer i at `batch` and fills `out`; a preset from the cache skips the timing.
void chooseTactic(const Executor& exec, size_t i, int batch, const std::vector<Candidate>& listed,
                  const std::array<std::vector<Candidate>, 3>& stages, const BuildOptions& o, const std::string& preset,
                  Bindings& b, CheckBuffers& check, cudaStream_t stream, Timer& tm,
                  LayerChoice& out) {
  const LayerDesc& l = exec.program().layers[i];
  if (!preset.empty() && l.op == Op::MBConv) {
    // A cached chain names its stages' tactics: valid when each still exists here and the whole fits the limit.
    try {
      if (exec.workspaceFor(i, preset, batch) <= o.workspaceLimit) {
        out.tactic = preset;
        out.cached = true;
        return;
      }
    } catch (const Error&) {
    }
  }
  std::vector<Candidate> fit = fitting(l.op == Op::MBConv ? blockCandidates(exec, i, batch, listed, stages, o, b, check, stream, tm, out) : listed, o, out);
  if (fit.empty()) {
    fail("ERR_BUILD_FAILED", "No tactic of layer '" + l.name + "' fits the workspace limit of " +
                                 std::to_string(o.workspaceLimit) + " bytes");
  }
  auto hit = std::find_if(fit.begin(), fit.end(), [&](const Candidate& c) { return c.tactic == preset; });
  if (!preset.empty() && hit != fit.end()) {
    out.tactic = preset;
    out.cached = true;
    return;
  }
  timeCandidates(fit, [&](const std::string& t) { exec.enqueueLayer(i, batch, b, stream, t); }, o, stream, tm, out);
  if (out.tactic.empty()) fail("ERR_BUILD_FAILED", "Every tactic of layer '" + l.name + "' failed: " + out.rejected.front());
}

}  // namespace

BuildResult build(const ProgramDesc& program, const void* weights, const BuildOptions& o, const Progress& progress) {
  cuda::requireDevice(o.device);
  cuda::DeviceGuard guard(o.device);
  // A program with a dynamic dim is timed at the dim's opt; its tactics serve every value of the dim where they can
  // run (the runtime replaces those that cannot at a value, Engine::executorAt).
  Executor exec(program.hasDim ? program.atDim(program.dim.opt) : program, Stage::Build);
  const ProgramDesc& p = exec.program();
  std::vector<int> buckets = o.buckets.empty() ? std::vector<int>{p.optBatch} : o.buckets;
  for (size_t k = 0; k < buckets.size(); ++k) {
    if (buckets[k] < p.minBatch || buckets[k] > p.maxBatch || (k && buckets[k] <= buckets[k - 1])) {
      fail("ERR_INVALID_ARGUMENT", "Tactic buckets must ascend within the batch profile");
    }
  }
  const int capacity = buckets.back();

  cuda::DeviceBuffer dWeights(static_cast<size_t>(p.weightsBytes));
  if (p.weightsBytes) CUDA_CHECK(cudaMemcpy(dWeights.get(), weights, p.weightsBytes, cudaMemcpyHostToDevice));
  cuda::DeviceBuffer arena(static_cast<size_t>(exec.arenaBytes(capacity)));
  cuda::Stream stream;

  // Activations hold seeded random values of their dtype: timings on zeros would flatter some kernels.
  Bindings b;
  b.arena = arena.as<char>();
  b.weights = dWeights.as<const char>();
  const HalfBiases halves(p, b.weights);  // as the engine will have them, so the libraries' tactics time as they run
  b.halfBiases = &halves;
  b.capacity = capacity;
  for (size_t t = 0; t < p.tensors.size(); ++t) {
    const TensorDesc& d = p.tensors[t];
    if (d.loc != Loc::Arena) continue;
    int64_t n = exec.bytesAt(static_cast<int>(t), capacity) / static_cast<int64_t>(cuda::dtypeSize(d.dtype));
    randomFill(exec.address(static_cast<int>(t), b), n, d.dtype, 1234u + static_cast<uint32_t>(t), stream.get());
  }

  // One workspace, as large as the largest candidate that fits the limit.
  // Inverted-residual layers: the candidates of their three stages too, for composing the chain tactic.
  using Stages = std::array<std::vector<Candidate>, 3>;
  std::vector<std::vector<Stages>> stageAll(p.layers.size());
  std::vector<std::vector<std::vector<Candidate>>> all(p.layers.size());
  size_t wsMax = 0;
  for (size_t i = 0; i < p.layers.size(); ++i) {
    for (int batch : buckets) {
      all[i].push_back(exec.candidates(i, batch));
      for (const Candidate& c : all[i].back()) {
        if (c.workspace <= o.workspaceLimit) wsMax = std::max(wsMax, c.workspace);
      }
      stageAll[i].emplace_back();
      if (p.layers[i].op == Op::MBConv) {
        // Its chain tactic runs the stages' conv tactics, each with its own scratch.
        for (int j = 0; j < 3; ++j) {
          stageAll[i].back()[j] = exec.stageCandidates(i, j, batch);
          for (const Candidate& c : stageAll[i].back()[j]) {
            if (c.workspace <= o.workspaceLimit) wsMax = std::max(wsMax, c.workspace);
          }
        }
      }
    }
  }
  cuda::DeviceBuffer ws(wsMax);
  b.workspace = ws.get();
  b.workspaceBytes = wsMax;

  // The fused-tactic check's scratch: as large as the largest inverted-residual output.
  CheckBuffers check;
  {
    int64_t most = 0;
    for (const LayerDesc& l : p.layers) {
      if (l.op == Op::MBConv) most = std::max(most, exec.bytesAt(l.outputs[0], capacity));
    }
    if (most) {
      check.ref = cuda::DeviceBuffer(static_cast<size_t>(most));
      check.sums = cuda::DeviceBuffer(3 * sizeof(double));
    }
  }
  Timer tm;
  BuildResult result;
  result.buckets = buckets;
  result.layers.assign(p.layers.size(), std::vector<LayerChoice>(buckets.size()));
  std::vector<std::vector<TacticChoice>> chosen(p.layers.size());
  const int total = static_cast<int>(p.layers.size());
  for (size_t i = 0; i < p.layers.size(); ++i) {
    for (size_t k = 0; k < buckets.size(); ++k) {
      const std::string preset = i < o.presets.size() && k < o.presets[i].size() ? o.presets[i][k] : "";
      chooseTactic(exec, i, buckets[k], all[i][k], stageAll[i][k], o, preset, b, check, stream.get(), tm,
                   result.layers[i][k]);
      const std::string& name = result.layers[i][k].tactic;
      // Neighbouring buckets that chose the same tactic collapse into one choice.
      if (!chosen[i].empty() && chosen[i].back().name == name) chosen[i].back().upTo = buckets[k];
      else chosen[i].push_back({buckets[k], name});
    }
    chosen[i].back().upTo = p.maxBatch;
    if (progress) progress(static_cast<int>(i) + 1, total, p.layers[i].name);
  }
  CUDA_CHECK(cudaStreamSynchronize(stream.get()));
  exec.setTactics(chosen);
  result.choices = chosen;
  result.workspaceBytes = exec.workspaceBytes(p.maxBatch);
  return result;
}

}  // namespace ntrt::builtin
