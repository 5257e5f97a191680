// The builtin plan validator: a plan is untrusted input. Every check that keeps a program inside its own buffers
// happens here, before anything is allocated or launched. Plain C++ (no CUDA headers or kernels), so CI runs it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "program.h"

namespace ntrt::builtin {

//! Largest byte size of any region (arena at the maximum batch, weights, pinned I/O, workspace) and element count.
constexpr int64_t kMaxRegionBytes = int64_t(1) << 40;
//! Largest batch a program may declare.
constexpr int kMaxProgramBatch = 1 << 20;
//! Alignment of every tensor offset and of the fixed arena (lib/builtin/memplan.ts and weights.ts use 256).
constexpr int64_t kTensorAlign = 256;

//! Whether layers must carry chosen tactics: a plan being loaded does, a program being built does not yet.
enum class Stage { Build, Load };

//! What the header of a plan says about the program (lib/plan.ts PlanHeader, converted by lib/builtin/validate.ts).
struct HeaderDesc {
  std::vector<IODesc> io;  //!< inputs then outputs; dynamic dimensions as -1
  int minBatch = 1, optBatch = 1, maxBatch = 1;
};

//! Sizes a valid program needs, all at its maximum batch.
struct ValidationReport {
  int64_t arenaBytes = 0;      //!< activations (fixed + batched × maxBatch)
  int64_t pinnedBytes = 0;     //!< host I/O buffers of one context
  int64_t weightsBytes = 0;
  int64_t workspaceBytes = 0;  //!< own kernels' scratch for the chosen tactics (external tactics size theirs on the device)
  int64_t layers = 0;
};

//! Checks a whole program; throws ERR_PLAN_CORRUPT (or ERR_PLAN_MISMATCH for another format) naming what is wrong.
ValidationReport validateProgram(const ProgramDesc& p, Stage stage);

//! Checks that a plan's header and its program agree: I/O names, directions, dtypes, shapes and the batch profile.
void validateHeader(const ProgramDesc& p, const HeaderDesc& h);

//! Names of the ops the validator has a rule for; any other op is refused.
std::vector<std::string> validatedOps();

}  // namespace ntrt::builtin
