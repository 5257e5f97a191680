// The lowered program the TS compiler hands to the builtin backend: tensors with planned memory, and layers.
// N-API free: the addon converts the JS object into these structs on the JS thread.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "../cuda/dtype.h"

namespace ntrt::builtin {

using cuda::DType;

//! Program layout version; must match lib/builtin/program.ts BUILTIN_FORMAT_VERSION.
constexpr int kFormatVersion = 2;

enum class Loc : int32_t { Arena = 0, Weights = 1 };

//! A tensor's storage. Batched arena tensors sit at `fixedArenaBytes + offset * capacity` and hold
//! `bytes * batch` bytes; unbatched ones at `offset` with `bytes` bytes; weights at `offset` in the weights blob.
struct TensorDesc {
  DType dtype = DType::F32;
  Loc loc = Loc::Arena;
  bool batched = true;
  int64_t offset = 0;
  int64_t bytes = 0;
  //! Programs with a dynamic dim: bytes at the dim's value S as the Newton form at its base,
  //! dimBytes[0] + dimBytes[1]·t + dimBytes[2]·t(t−1)/2 with t = S − base; `bytes` is then the planned (largest) size.
  bool hasDimBytes = false;
  int64_t dimBytes[3] = {0, 0, 0};
};

//! Layer ops; families take their own ranges (vision: 20-29), so their numbers never collide.
enum class Op : int32_t {
  Conv, Pool, Reduce, Softmax, Binary, Unary, Copy, Fill, Pad, MatMul,
  LayerNorm, Gather, Compare, Predicate, Where, Attention, MBConv,
  Resize = 20, Deconv, ArgMax, Nms, TopK,
};

//! The tactic a layer runs for batches up to `upTo` (and above the previous choice's `upTo`).
struct TacticChoice {
  int upTo = 1;
  std::string name;
};

//! One layer: tensor ids (-1 for an absent optional input) and numeric parameters by name.
struct LayerDesc {
  std::string name;
  Op op = Op::Copy;
  std::vector<int> inputs, outputs;
  std::map<std::string, std::vector<double>> params;
  std::vector<TacticChoice> tactics;  //!< by batch bucket, ascending `upTo`; empty before the build
  bool batched = true; //!< the layer's leading extent scales with the batch
  //! Increments per extra batch row of some parameters (same lengths as in `params`): every extent, stride and
  //! offset of a lowered layer is affine in the batch. A layer with increments has `batched` false.
  std::map<std::string, std::vector<double>> perBatch;
  //! Programs with a dynamic dim: per parameter, the coefficients [t, t(t−1)/2, (B−1)·t, (B−1)·t(t−1)/2] of its value
  //! at dim value S (t = S − base) and batch B, each list as long as the parameter (ProgramDesc::atDim).
  std::map<std::string, std::array<std::vector<double>, 4>> perDim;

  //! This layer with its parameters evaluated at `batch` (itself when nothing depends on the batch).
  LayerDesc at(int batch) const;

  //! A scalar parameter; throws ERR_PLAN_CORRUPT when missing.
  double num(const char* key) const;
  double num(const char* key, double dflt) const;
  const std::vector<double>& list(const char* key) const;
  int i(const char* key) const { return static_cast<int>(num(key)); }
  //! The tactic chosen for `batch`: the first bucket whose upTo ≥ batch (the last one beyond).
  const std::string& tacticFor(int batch) const;
};

struct IODesc {
  std::string name;
  int tensor = -1;
  bool isInput = true;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;  //!< -1 for the dynamic batch, -2 for the program's dynamic dim
};

//! The one dynamic dimension besides the batch (a sequence length), when the program has one.
struct DimDesc {
  std::string name;
  int min = 1, opt = 1, max = 1;
  int base = 1;  //!< the value the layers' `params` hold (t = S − base in the Newton forms)
};

//! Largest value a program's dynamic dim may take.
constexpr int kMaxProgramDim = 1 << 20;
//! I/O shape entry of the dynamic dim (the batch is -1).
constexpr int64_t kDimAxis = -2;

struct ProgramDesc {
  int formatVersion = kFormatVersion;
  std::vector<TensorDesc> tensors;
  std::vector<LayerDesc> layers;
  std::vector<IODesc> io;
  int64_t fixedArenaBytes = 0;
  int64_t batchedArenaBytes = 0;  //!< per unit of batch capacity
  int64_t weightsBytes = 0;
  int minBatch = 1, optBatch = 1, maxBatch = 1;
  bool hasDim = false;
  DimDesc dim;

  //! The plain program (affine in the batch only) at dim value `s`: parameters, perBatch increments, tensor sizes
  //! and I/O shapes evaluated; offsets and arena sizes as planned. ERR_SHAPE_OUT_OF_RANGE outside min..max,
  //! ERR_PLAN_CORRUPT when a size leaves its planned bytes or is not a whole number. The result still needs
  //! validateProgram: only the program at `s` says whether every access at `s` stays in bounds.
  ProgramDesc atDim(int s) const;
};

//! Name of an op, for logs and profiles.
const char* opName(Op op);

//! Whether `tactic` is an inverted-residual layer's chain tactic, "chain:<expand>+<depthwise>+<project>".
bool isChainTactic(const std::string& tactic);
//! The three conv tactics of a chain tactic; false when it does not name exactly three (non-empty) ones.
bool chainTacticParts(const std::string& tactic, std::vector<std::string>& parts);
//! The chain tactic that runs these three conv tactics.
std::string chainTactic(const std::string& expand, const std::string& dw, const std::string& project);

//! The chain stage of an identity expand (an mbconv layer with `id1`): nothing runs, the depthwise stage reads x.
constexpr const char* kSkipStage = "skip";
//! Whether mbconv layer `l` has an identity expand (`id1`: w1 is the identity, e = c).
bool identityExpand(const LayerDesc& l);

}  // namespace ntrt::builtin
