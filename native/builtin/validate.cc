#include "validate.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "../cuda/error.h"
#include "validate_rules.h"

namespace ntrt::builtin {
namespace validation {

namespace {

[[noreturn]] void corrupt(const std::string& what) { fail("ERR_PLAN_CORRUPT", "Corrupt builtin program: " + what); }

bool mulOk(int64_t a, int64_t b, int64_t* r) { return !__builtin_mul_overflow(a, b, r); }
bool addOk(int64_t a, int64_t b, int64_t* r) { return !__builtin_add_overflow(a, b, r); }

int64_t cmul(int64_t a, int64_t b, const std::string& what) {
  int64_t r = 0;
  if (!mulOk(a, b, &r) || r > kMaxRegionBytes || r < -kMaxRegionBytes) corrupt(what + " overflows");
  return r;
}

int64_t cadd(int64_t a, int64_t b, const std::string& what) {
  int64_t r = 0;
  if (!addOk(a, b, &r) || r > kMaxRegionBytes || r < -kMaxRegionBytes) corrupt(what + " overflows");
  return r;
}

const char* dtypeName(DType t) {
  static const char* names[] = {"float32", "float16", "int32", "int64", "uint8", "int8", "bool"};
  int i = static_cast<int>(t);
  return i >= 0 && i < cuda::kDTypeCount ? names[i] : "unknown";
}

bool validDType(DType t) { return static_cast<int>(t) >= 0 && static_cast<int>(t) < cuda::kDTypeCount; }

std::string layerName(const LayerDesc& l, size_t i) { return "layer " + std::to_string(i) + " '" + l.name + "'"; }

}  // namespace

// ---- LayerCheck ----------------------------------------------------------------------------------

void LayerCheck::fail(const std::string& what) const {
  corrupt("layer '" + l_.name + "' (" + opName(l_.op) + ") " + what + (batch_ > 1 ? " at batch " + std::to_string(batch_) : ""));
}

int64_t LayerCheck::integer(const char* key, int64_t lo, int64_t hi) const {
  auto it = l_.params.find(key);
  if (it == l_.params.end() || it->second.size() != 1) fail(std::string("lacks scalar parameter '") + key + "'");
  double d = it->second[0];
  if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
    fail(std::string("has parameter '") + key + "' = " + std::to_string(d) + " outside " + std::to_string(lo) + ".." +
         std::to_string(hi));
  }
  return static_cast<int64_t>(d);
}

int64_t LayerCheck::integerOr(const char* key, int64_t dflt, int64_t lo, int64_t hi) const {
  return l_.params.count(key) ? integer(key, lo, hi) : dflt;
}

double LayerCheck::real(const char* key, double dflt) const {
  auto it = l_.params.find(key);
  if (it == l_.params.end()) return dflt;
  if (it->second.size() != 1 || !std::isfinite(it->second[0])) fail(std::string("has a bad parameter '") + key + "'");
  return it->second[0];
}

std::vector<int64_t> LayerCheck::ints(const char* key, size_t minRank, size_t maxRank, int64_t lo, int64_t hi) const {
  auto it = l_.params.find(key);
  if (it == l_.params.end()) fail(std::string("lacks parameter '") + key + "'");
  const std::vector<double>& v = it->second;
  if (v.size() < minRank || v.size() > maxRank) {
    fail(std::string("has parameter '") + key + "' of rank " + std::to_string(v.size()) + " outside " +
         std::to_string(minRank) + ".." + std::to_string(maxRank));
  }
  std::vector<int64_t> out;
  for (double d : v) {
    if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
      fail(std::string("has an element of '") + key + "' outside " + std::to_string(lo) + ".." + std::to_string(hi));
    }
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

void LayerCheck::dtypeIs(int id, DType want, const char* role) const {
  if (id < 0) return;
  if (dtype(id) != want) {
    fail(std::string("reads its ") + role + " (tensor " + std::to_string(id) + ", " + dtypeName(dtype(id)) + ") as " +
         dtypeName(want));
  }
}

void LayerCheck::floatType(int id, const char* role) const {
  if (id >= 0 && dtype(id) != DType::F32 && dtype(id) != DType::F16) {
    fail(std::string("needs a float32 or float16 ") + role + ", not " + dtypeName(dtype(id)));
  }
}

int64_t LayerCheck::mul(int64_t a, int64_t b) const {
  int64_t r = 0;
  if (!mulOk(a, b, &r) || r > kMaxRegionBytes || r < -kMaxRegionBytes) fail("has sizes whose product overflows");
  return r;
}

int64_t LayerCheck::add(int64_t a, int64_t b) const {
  int64_t r = 0;
  if (!addOk(a, b, &r) || r > kMaxRegionBytes || r < -kMaxRegionBytes) fail("has offsets whose sum overflows");
  return r;
}

int64_t LayerCheck::product(const std::vector<int64_t>& v) const {
  int64_t n = 1;
  for (int64_t d : v) n = mul(n, d);
  return n;
}

void LayerCheck::touches(int id, DType as, int64_t lo, int64_t hi, const char* role) const {
  if (id < 0) fail(std::string("lacks its ") + role);
  const TensorDesc& t = p_.tensors[id];
  const int64_t rows = t.loc == Loc::Arena && t.batched ? batch_ : 1;
  const int64_t bytes = mul(t.bytes, rows);
  const int64_t es = static_cast<int64_t>(cuda::dtypeSize(as));
  if (lo < 0 || hi < lo || mul(add(hi, 1), es) > bytes) {
    fail(std::string("touches elements ") + std::to_string(lo) + ".." + std::to_string(hi) + " of its " + role +
         " (tensor " + std::to_string(id) + "), which holds " + std::to_string(bytes / es));
  }
}

void LayerCheck::contiguous(int id, int64_t count, const char* role) const {
  if (count < 0) fail(std::string("has a negative size for its ") + role);
  if (count == 0) return;
  if (id < 0) fail(std::string("lacks its ") + role);
  touches(id, dtype(id), 0, count - 1, role);
}

void LayerCheck::strided(int id, const std::vector<int64_t>& dims, const std::vector<int64_t>& strides, int64_t offset,
                         const char* role) const {
  if (dims.size() != strides.size()) fail(std::string("has strides of the wrong rank for its ") + role);
  int64_t lo = offset, hi = offset;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] < 0) fail("has a negative dimension");
    if (dims[d] == 0) return;  // an empty iteration space touches nothing
    const int64_t span = mul(dims[d] - 1, strides[d]);
    if (span < 0) lo = add(lo, span);
    else hi = add(hi, span);
  }
  if (id < 0) fail(std::string("lacks its ") + role);
  touches(id, dtype(id), lo, hi, role);
}

}  // namespace validation

using validation::LayerCheck;
using validation::OpRule;
using validation::cadd;
using validation::cmul;
using validation::corrupt;

namespace {

const OpRule* ruleFor(Op op) {
  for (const OpRule& r : validation::opRules()) {
    if (r.op == op) return &r;
  }
  return nullptr;
}

void checkTensors(const ProgramDesc& p) {
  if (p.tensors.size() > static_cast<size_t>(validation::kInt32Max)) corrupt("too many tensors");
  for (size_t i = 0; i < p.tensors.size(); ++i) {
    const TensorDesc& t = p.tensors[i];
    const std::string name = "tensor " + std::to_string(i);
    if (!validation::validDType(t.dtype)) corrupt(name + " has an unknown dtype");
    if (t.loc != Loc::Arena && t.loc != Loc::Weights) corrupt(name + " has an unknown location");
    if (t.offset < 0 || t.bytes < 0) corrupt(name + " has a negative offset or size");
    if (t.offset % kTensorAlign) corrupt(name + " is not " + std::to_string(kTensorAlign) + "-byte aligned");
    if (t.bytes % static_cast<int64_t>(cuda::dtypeSize(t.dtype))) corrupt(name + " is not a whole number of elements");
    const int64_t limit = t.loc == Loc::Weights ? p.weightsBytes : (t.batched ? p.batchedArenaBytes : p.fixedArenaBytes);
    if (cadd(t.offset, t.bytes, name + " offset + size") > limit) corrupt(name + " lies outside its memory region");
  }
}

int64_t checkIO(const ProgramDesc& p) {
  std::set<std::string> names;
  int64_t pinned = 0;
  for (const IODesc& io : p.io) {
    const std::string name = "I/O '" + io.name + "'";
    if (io.name.empty() || !names.insert(io.name).second) corrupt(name + " is unnamed or named twice");
    if (io.tensor < 0 || io.tensor >= static_cast<int>(p.tensors.size())) corrupt(name + " has no tensor");
    const TensorDesc& t = p.tensors[io.tensor];
    if (t.loc != Loc::Arena) corrupt(name + " is not an activation");
    if (io.dtype != t.dtype) corrupt(name + " and its tensor disagree on the dtype");
    if (io.shape.empty() || io.shape.size() > 8) corrupt(name + " has a bad rank");
    int64_t elements = 1;
    for (size_t d = 0; d < io.shape.size(); ++d) {
      const int64_t dim = io.shape[d];
      if (dim == -1 && d == 0 && t.batched) continue;
      if (dim < 0) corrupt(name + " has a bad dimension");
      elements = cmul(elements, dim, name + " size");
    }
    if (cmul(elements, static_cast<int64_t>(cuda::dtypeSize(t.dtype)), name + " size") != t.bytes) {
      corrupt(name + " has a shape that does not match its tensor's " + std::to_string(t.bytes) + " bytes");
    }
    pinned = cadd(pinned, cmul(t.bytes, t.batched ? p.maxBatch : 1, name + " pinned size"), "pinned I/O size");
  }
  return pinned;
}

int64_t checkTactics(const LayerDesc& l, const OpRule& rule, const LayerCheck& atMax, Stage stage) {
  if (stage == Stage::Load && l.tactics.empty()) atMax.fail("has no tactic");
  int64_t ws = 0;
  int prev = 0;
  for (const TacticChoice& t : l.tactics) {
    if (t.upTo < 1 || t.upTo <= prev) atMax.fail("has tactic buckets that do not ascend");
    prev = t.upTo;
    if (!rule.tactic) {
      if (t.name != "default") atMax.fail("has tactic '" + t.name + "' but takes only 'default'");
      continue;
    }
    ws = std::max(ws, rule.tactic(atMax, t.name));
  }
  return ws;
}

}  // namespace

namespace {

// A program with a dynamic dim: its own fields, its tensors as planned (the largest sizes), then the plain programs
// at the ends and the middle of the range, each as any plan. The runtime validates the program at every other value
// before its first run there (Engine::executorAt), so no value runs unchecked.
ValidationReport validateDimProgram(const ProgramDesc& p, Stage stage) {
  const DimDesc& d = p.dim;
  if (d.name.empty() || d.min < 1 || d.min > d.opt || d.opt > d.max || d.max > kMaxProgramDim || d.base < 1 || d.base > kMaxProgramDim) {
    corrupt("bad dynamic dim '" + d.name + "' " + std::to_string(d.min) + "/" + std::to_string(d.opt) + "/" + std::to_string(d.max) +
            " (base " + std::to_string(d.base) + ")");
  }
  checkTensors(p);
  bool marked = false;
  int64_t pinned = 0;
  for (const IODesc& io : p.io) {
    if (io.tensor < 0 || io.tensor >= static_cast<int>(p.tensors.size())) corrupt("I/O '" + io.name + "' has no tensor");
    const TensorDesc& t = p.tensors[io.tensor];
    for (size_t k = 0; k < io.shape.size(); ++k) {
      if (io.shape[k] == kDimAxis) {
        if (k == 0 || !t.hasDimBytes) corrupt("I/O '" + io.name + "' has the dynamic dim at axis " + std::to_string(k) + " of a fixed-size tensor");
        marked = true;
      }
    }
    pinned = cadd(pinned, cmul(t.bytes, t.batched ? p.maxBatch : 1, "pinned I/O size"), "pinned I/O size");
  }
  if (!marked) corrupt("no input or output has the dynamic dim '" + d.name + "'");
  // Tactics are timed at the opt and checked there; at other values the runtime first replaces those that cannot run
  // (Engine::executorAt) and then validates that program with its tactics, as it does at every value it runs.
  ValidationReport r = validateProgram(p.atDim(d.opt), stage);
  for (int s : {d.min, d.max}) {
    ProgramDesc at = p.atDim(s);
    for (LayerDesc& l : at.layers) l.tactics.clear();
    r.arenaBytes = std::max(r.arenaBytes, validateProgram(at, Stage::Build).arenaBytes);
  }
  r.pinnedBytes = pinned;
  return r;
}

}  // namespace

ValidationReport validateProgram(const ProgramDesc& p, Stage stage) {
  if (p.hasDim) return validateDimProgram(p, stage);
  if (p.formatVersion != kFormatVersion) {
    fail("ERR_PLAN_MISMATCH", "Builtin program format " + std::to_string(p.formatVersion) + " is not " + std::to_string(kFormatVersion));
  }
  if (p.minBatch < 1 || p.minBatch > p.optBatch || p.optBatch > p.maxBatch || p.maxBatch > kMaxProgramBatch) {
    corrupt("bad batch profile " + std::to_string(p.minBatch) + "/" + std::to_string(p.optBatch) + "/" + std::to_string(p.maxBatch));
  }
  for (int64_t v : {p.fixedArenaBytes, p.batchedArenaBytes, p.weightsBytes}) {
    if (v < 0 || v > kMaxRegionBytes) corrupt("a region size is negative or too large");
  }
  if (p.fixedArenaBytes % kTensorAlign) corrupt("the fixed arena is not aligned");
  ValidationReport r;
  r.arenaBytes = cadd(p.fixedArenaBytes, cmul(p.batchedArenaBytes, p.maxBatch, "the arena size"), "the arena size");
  r.weightsBytes = p.weightsBytes;
  checkTensors(p);
  for (const TensorDesc& t : p.tensors) {
    if (t.hasDimBytes) corrupt("a tensor has a dim-dependent size in a program without a dynamic dim");
  }
  r.pinnedBytes = checkIO(p);
  const int n = static_cast<int>(p.tensors.size());
  for (size_t i = 0; i < p.layers.size(); ++i) {
    const LayerDesc& l = p.layers[i];
    const OpRule* rule = ruleFor(l.op);
    if (!rule) corrupt(validation::layerName(l, i) + " has op " + std::to_string(static_cast<int>(l.op)) + ", which has no validation rule");
    if (l.inputs.size() > rule->inputs.size()) corrupt(validation::layerName(l, i) + " has too many inputs");
    for (size_t k = 0; k < rule->inputs.size(); ++k) {
      const int id = k < l.inputs.size() ? l.inputs[k] : -1;
      if (id == -1 && !rule->inputs[k].required) continue;
      if (id < 0 || id >= n) {
        corrupt(validation::layerName(l, i) + " has input " + rule->inputs[k].name + " = " + std::to_string(id) +
                " (tensors: " + std::to_string(n) + ")");
      }
    }
    const int outs = static_cast<int>(l.outputs.size());
    if (outs < rule->outputs || outs > rule->outputs + rule->optionalOutputs) corrupt(validation::layerName(l, i) + " has the wrong number of outputs");
    for (int id : l.outputs) {
      if (id < 0 || id >= n) corrupt(validation::layerName(l, i) + " writes tensor " + std::to_string(id));
      if (p.tensors[id].loc != Loc::Arena) corrupt(validation::layerName(l, i) + " writes to a weight");
    }
    for (const auto& kv : l.params) {
      for (double d : kv.second) {
        if (!std::isfinite(d)) corrupt(validation::layerName(l, i) + " has a non-finite parameter '" + kv.first + "'");
      }
    }
    // A layer affine in the batch (perBatch) is checked with its parameters at each end of the profile: its extents
    // are convex in the batch and its tensors' sizes linear in it, so both ends in bounds means every batch is. The
    // executor runs the same evaluation (LayerDesc::at, cached per batch) and only for batches 1..maxBatch.
    for (const auto& [key, inc] : l.perBatch) {
      auto it = l.params.find(key);
      if (it == l.params.end() || it->second.size() != inc.size()) corrupt(validation::layerName(l, i) + " has a bad increment of '" + key + "'");
      for (double d : inc) {
        if (!std::isfinite(d) || d != std::floor(d)) corrupt(validation::layerName(l, i) + " has a non-integral increment of '" + key + "'");
      }
    }
    if (!l.perDim.empty()) corrupt(validation::layerName(l, i) + " has dim-dependent parameters in a program without a dynamic dim");
    if (!l.perBatch.empty() && l.batched) corrupt(validation::layerName(l, i) + " is both batched and affine in the batch");
    const LayerDesc l1 = l.perBatch.empty() ? LayerDesc{} : l.at(1);
    const LayerDesc lMax = l.perBatch.empty() ? LayerDesc{} : l.at(p.maxBatch);
    const LayerDesc& at1 = l.perBatch.empty() ? l : l1;
    const LayerDesc& atM = l.perBatch.empty() ? l : lMax;
    LayerCheck one(p, at1, 1), atMax(p, atM, p.maxBatch);
    rule->check(one);
    if (p.maxBatch > 1) rule->check(atMax);
    r.workspaceBytes = std::max(r.workspaceBytes, checkTactics(l, *rule, atMax, stage));
  }
  r.layers = static_cast<int64_t>(p.layers.size());
  return r;
}

void validateHeader(const ProgramDesc& p, const HeaderDesc& h) {
  if (h.minBatch != p.minBatch || h.optBatch != p.optBatch || h.maxBatch != p.maxBatch) {
    corrupt("the header's batch profile " + std::to_string(h.minBatch) + "/" + std::to_string(h.optBatch) + "/" +
            std::to_string(h.maxBatch) + " is not the program's " + std::to_string(p.minBatch) + "/" +
            std::to_string(p.optBatch) + "/" + std::to_string(p.maxBatch));
  }
  if (h.io.size() != p.io.size()) corrupt("the header and the program disagree on the number of I/O tensors");
  for (const IODesc& want : h.io) {
    const IODesc* got = nullptr;
    for (const IODesc& io : p.io) {
      if (io.name == want.name) got = &io;
    }
    const std::string name = "I/O '" + want.name + "'";
    if (!got) corrupt(name + " of the header is not in the program");
    if (got->isInput != want.isInput) corrupt(name + " is an input in one of header and program only");
    if (got->dtype != want.dtype) corrupt(name + " has another dtype in the header");
    std::vector<int64_t> shape = got->shape;  // the header marks every symbolic dim -1
    for (int64_t& d : shape) {
      if (d == kDimAxis && p.hasDim) d = -1;
    }
    if (shape != want.shape) corrupt(name + " has another shape in the header");
  }
}

std::vector<std::string> validatedOps() {
  std::vector<std::string> out;
  for (const OpRule& r : validation::opRules()) out.push_back(opName(r.op));
  return out;
}

}  // namespace ntrt::builtin
