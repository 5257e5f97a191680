#include "program.h"

#include "../cuda/error.h"

namespace ntrt::builtin {

namespace {
[[noreturn]] void corrupt(const std::string& what) { fail("ERR_PLAN_CORRUPT", "Corrupt builtin program: " + what); }
}  // namespace

double LayerDesc::num(const char* key) const {
  auto it = params.find(key);
  if (it == params.end() || it->second.empty()) corrupt("layer '" + name + "' lacks parameter '" + key + "'");
  return it->second[0];
}

double LayerDesc::num(const char* key, double dflt) const {
  auto it = params.find(key);
  return it == params.end() || it->second.empty() ? dflt : it->second[0];
}

const std::vector<double>& LayerDesc::list(const char* key) const {
  auto it = params.find(key);
  if (it == params.end()) corrupt("layer '" + name + "' lacks parameter '" + key + "'");
  return it->second;
}

const std::string& LayerDesc::tacticFor(int batch) const {
  if (tactics.empty()) corrupt("layer '" + name + "' has no tactic");
  for (const TacticChoice& t : tactics) {
    if (t.upTo >= batch) return t.name;
  }
  return tactics.back().name;
}

const char* opName(Op op) {
  switch (op) {
    case Op::Conv: return "conv";
    case Op::Pool: return "pool";
    case Op::Reduce: return "reduce";
    case Op::Softmax: return "softmax";
    case Op::Binary: return "binary";
    case Op::Unary: return "unary";
    case Op::Copy: return "copy";
    case Op::Fill: return "fill";
    case Op::Pad: return "pad";
    case Op::MatMul: return "matmul";
    case Op::Resize: return "resize";
    case Op::Deconv: return "deconv";
    case Op::ArgMax: return "argmax";
    case Op::Nms: return "nms";
    case Op::TopK: return "topk";
  }
  return "?";
}

void validate(const ProgramDesc& p) {
  if (p.formatVersion != kFormatVersion) {
    fail("ERR_PLAN_MISMATCH", "Builtin program format " + std::to_string(p.formatVersion) + " is not " + std::to_string(kFormatVersion));
  }
  if (p.minBatch < 1 || p.minBatch > p.optBatch || p.optBatch > p.maxBatch) corrupt("bad batch profile");
  if (p.fixedArenaBytes < 0 || p.batchedArenaBytes < 0 || p.weightsBytes < 0) corrupt("negative sizes");
  for (size_t t = 0; t < p.tensors.size(); ++t) {
    const TensorDesc& d = p.tensors[t];
    if (d.offset < 0 || d.bytes < 0) corrupt("tensor " + std::to_string(t) + " has a negative offset or size");
    int64_t limit = d.loc == Loc::Weights ? p.weightsBytes : (d.batched ? p.batchedArenaBytes : p.fixedArenaBytes);
    if (d.offset + d.bytes > limit) corrupt("tensor " + std::to_string(t) + " lies outside its memory region");
  }
  auto checkId = [&](int id, bool optional, const LayerDesc& l) {
    if (id == -1 && optional) return;
    if (id < 0 || id >= static_cast<int>(p.tensors.size())) corrupt("layer '" + l.name + "' refers to tensor " + std::to_string(id));
  };
  for (const LayerDesc& l : p.layers) {
    for (int id : l.inputs) checkId(id, true, l);
    for (int id : l.outputs) {
      checkId(id, false, l);
      if (p.tensors[id].loc != Loc::Arena) corrupt("layer '" + l.name + "' writes to a weight");
    }
    if (l.outputs.empty()) corrupt("layer '" + l.name + "' has no output");
  }
  for (const IODesc& io : p.io) {
    if (io.tensor < 0 || io.tensor >= static_cast<int>(p.tensors.size())) corrupt("I/O '" + io.name + "' has no tensor");
    if (p.tensors[io.tensor].loc != Loc::Arena) corrupt("I/O '" + io.name + "' is not an activation");
  }
}

}  // namespace ntrt::builtin
