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

LayerDesc LayerDesc::at(int batch) const {
  LayerDesc l = *this;
  for (const auto& [key, inc] : perBatch) {
    std::vector<double>& v = l.params[key];
    for (size_t i = 0; i < v.size() && i < inc.size(); ++i) v[i] += double(batch - 1) * inc[i];
  }
  l.perBatch.clear();
  return l;
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
    case Op::LayerNorm: return "layernorm";
    case Op::Gather: return "gather";
    case Op::Compare: return "compare";
    case Op::Predicate: return "predicate";
    case Op::Where: return "where";
    case Op::Attention: return "attention";
    case Op::MBConv: return "mbconv";
    case Op::Resize: return "resize";
    case Op::Deconv: return "deconv";
    case Op::ArgMax: return "argmax";
    case Op::Nms: return "nms";
    case Op::TopK: return "topk";
  }
  return "?";
}

namespace {
constexpr const char* kChain = "chain:";
}  // namespace

bool isChainTactic(const std::string& tactic) { return tactic.rfind(kChain, 0) == 0; }

bool chainTacticParts(const std::string& tactic, std::vector<std::string>& parts) {
  parts.clear();
  if (!isChainTactic(tactic)) return false;
  size_t at = std::char_traits<char>::length(kChain);
  for (size_t plus; (plus = tactic.find('+', at)) != std::string::npos; at = plus + 1) parts.push_back(tactic.substr(at, plus - at));
  parts.push_back(tactic.substr(at));
  return parts.size() == 3 && !parts[0].empty() && !parts[1].empty() && !parts[2].empty();
}

std::string chainTactic(const std::string& expand, const std::string& dw, const std::string& project) {
  return kChain + expand + "+" + dw + "+" + project;
}

}  // namespace ntrt::builtin
