// The per-op table of the plan validator. Adding an op to program.h means adding one OpRule (see validate_ops.cc):
// its input slots, and a check that reads its parameters and declares every element each kernel will touch.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "program.h"

namespace ntrt::builtin::validation {

//! The largest activation number a layer may name: kernels::kMaxAct (the validator builds without CUDA headers, so
//! executor.cc asserts they agree).
constexpr int kMaxAct = 18;

//! One input position of an op: absent (-1, or past the end of the list) is allowed only when optional.
struct Slot {
  const char* name;
  bool required;
};

//! What a rule sees of one layer at one batch (1, then the profile's maximum): parameters, dtypes, and accesses.
//! Every method throws ERR_PLAN_CORRUPT naming the layer; all arithmetic is checked.
class LayerCheck {
 public:
  LayerCheck(const ProgramDesc& p, const LayerDesc& l, int batch) : p_(p), l_(l), batch_(batch) {}

  const LayerDesc& layer() const { return l_; }
  const ProgramDesc& program() const { return p_; }
  int batch() const { return batch_; }
  //! Rows the kernel's leading extent is multiplied by (the batch for batched layers, else 1).
  int64_t scale() const { return l_.batched ? batch_ : 1; }

  [[noreturn]] void fail(const std::string& what) const;

  //! An integral parameter within [lo, hi]; missing, fractional or out of range is refused.
  int64_t integer(const char* key, int64_t lo, int64_t hi) const;
  int64_t integerOr(const char* key, int64_t dflt, int64_t lo, int64_t hi) const;
  //! A finite parameter (the addon already refuses non-finite numbers; checked again for other callers).
  double real(const char* key, double dflt) const;
  //! An integral list parameter with rank in [minRank, maxRank] and every value within [lo, hi].
  std::vector<int64_t> ints(const char* key, size_t minRank, size_t maxRank, int64_t lo, int64_t hi) const;

  //! Tensor id of input k, or -1 when absent (the table's slots already enforced presence).
  int in(size_t k) const { return k < l_.inputs.size() ? l_.inputs[k] : -1; }
  int out(size_t k = 0) const { return l_.outputs[k]; }
  DType dtype(int id) const { return p_.tensors[id].dtype; }
  //! Tensor `id` (if present) must have dtype `want`.
  void dtypeIs(int id, DType want, const char* role) const;
  //! Tensor `id` must be float32 or float16.
  void floatType(int id, const char* role) const;

  //! The kernel reads or writes elements [lo, hi] of tensor `id`, as elements of `as`, at this batch.
  void touches(int id, DType as, int64_t lo, int64_t hi, const char* role) const;
  //! Elements [0, count) in the tensor's own dtype (nothing when count is 0).
  void contiguous(int id, int64_t count, const char* role) const;
  //! offset + Σ i_d·strides_d for 0 ≤ i_d < dims_d, with signed strides (nothing when any dim is 0).
  void strided(int id, const std::vector<int64_t>& dims, const std::vector<int64_t>& strides, int64_t offset,
               const char* role) const;

  int64_t mul(int64_t a, int64_t b) const;
  int64_t add(int64_t a, int64_t b) const;
  //! Product of the values (checked).
  int64_t product(const std::vector<int64_t>& v) const;

 private:
  const ProgramDesc& p_;
  const LayerDesc& l_;
  int batch_;
};

//! One op's rule. `check` runs at batch 1 and at the maximum batch; `tactic` (conv-like ops) validates one chosen
//! tactic name at the maximum batch and returns the workspace bytes it needs (0 if none, -1 if sized on the device).
//! Ops without `tactic` accept only the name "default".
struct OpRule {
  Op op;
  std::vector<Slot> inputs;
  int outputs;
  void (*check)(const LayerCheck& c);
  int64_t (*tactic)(const LayerCheck& c, const std::string& name);
  int optionalOutputs = 0;  //!< outputs past `outputs` a layer may add (a layernorm's residual sum)
};

//! A convolution's shape as the conv kernels see it (the batch already applied to n).
struct ConvShape {
  int64_t n, h, w, c, k, r, s, p, q, sh, sw, ph, pw, dh, dw, g;
};

//! Validates conv tactic `name` for shape `v` and dtype `t`; returns its workspace bytes (-1: sized on the device).
//! Shared by the conv rule and by layers that run convolutions as stages (the inverted-residual chain).
int64_t convTacticOf(const LayerCheck& c, const ConvShape& v, DType t, const std::string& name);

//! The table: one entry per op. An op missing here is refused with ERR_PLAN_CORRUPT.
const std::vector<OpRule>& opRules();

//! int32 ceiling of the kernels' index math.
constexpr int64_t kInt32Max = 2147483647;

}  // namespace ntrt::builtin::validation
