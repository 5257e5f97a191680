#include "program.h"

#include <cmath>

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

namespace {
bool whole(double v) { return std::isfinite(v) && v == std::floor(v) && std::fabs(v) <= 9.0e15; }
}  // namespace

ProgramDesc ProgramDesc::atDim(int s) const {
  if (!hasDim) corrupt("atDim on a program without a dynamic dim");
  NTRT_REQUIRE(s >= dim.min && s <= dim.max, "ERR_SHAPE_OUT_OF_RANGE",
               "Dimension '" + dim.name + "' = " + std::to_string(s) + " is outside the engine's range " +
                   std::to_string(dim.min) + ".." + std::to_string(dim.max));
  const double t = double(s) - dim.base, t2 = t * (t - 1) / 2;
  ProgramDesc p = *this;
  p.hasDim = false;
  for (TensorDesc& d : p.tensors) {
    if (!d.hasDimBytes) continue;
    const double b = double(d.dimBytes[0]) + double(d.dimBytes[1]) * t + double(d.dimBytes[2]) * t2;
    if (!whole(b) || b < 0 || b > double(d.bytes)) {
      corrupt("a tensor's size at " + dim.name + " = " + std::to_string(s) + " leaves its planned " + std::to_string(d.bytes) + " bytes");
    }
    d.bytes = static_cast<int64_t>(b);
    d.hasDimBytes = false;
  }
  for (LayerDesc& l : p.layers) {
    for (const auto& [key, c] : l.perDim) {
      auto it = l.params.find(key);
      const size_t n = it == l.params.end() ? 0 : it->second.size();
      if (!n || c[0].size() != n || c[1].size() != n || c[2].size() != n || c[3].size() != n) {
        corrupt("layer '" + l.name + "' has a bad dim form of '" + key + "'");
      }
      std::vector<double> inc(n, 0.0);
      bool grows = false;
      for (size_t i = 0; i < n; ++i) {
        for (int k = 0; k < 4; ++k) {
          if (!whole(c[k][i])) corrupt("layer '" + l.name + "' has a non-integral dim coefficient of '" + key + "'");
        }
        it->second[i] += c[0][i] * t + c[1][i] * t2;
        inc[i] = c[2][i] * t + c[3][i] * t2;
        grows = grows || inc[i] != 0;
      }
      if (!grows) continue;  // a batched layer keeps no increments (the validator refuses both)
      std::vector<double>& have = l.perBatch[key];
      if (have.empty()) have.assign(n, 0.0);
      if (have.size() != n) corrupt("layer '" + l.name + "' has a bad increment of '" + key + "'");
      for (size_t i = 0; i < n; ++i) have[i] += inc[i];
    }
    l.perDim.clear();
  }
  for (IODesc& io : p.io) {
    for (int64_t& d : io.shape) {
      if (d == kDimAxis) d = s;
    }
  }
  return p;
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

bool identityExpand(const LayerDesc& l) { return l.op == Op::MBConv && l.num("id1", 0) == 1; }

std::string chainTactic(const std::string& expand, const std::string& dw, const std::string& project) {
  return kChain + expand + "+" + dw + "+" + project;
}

}  // namespace ntrt::builtin
