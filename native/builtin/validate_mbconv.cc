// Validation rule of the fused inverted-residual layer (kernels/mbconv.cu) and of its chain tactic, whose three
// convolutions are checked as the conv rule checks any convolution.
#include <algorithm>

#include "validate_rules.h"

namespace ntrt::builtin::validation {
namespace {

struct Block {
  int64_t n, h, w, c, e, k, ks, st, ph, pw, p, q;
};

Block blockOf(const LayerCheck& c) {
  const int64_t M = kInt32Max;
  Block b{};
  b.n = c.mul(c.integer("n", 1, M), c.scale());
  b.h = c.integer("h", 1, M), b.w = c.integer("w", 1, M), b.c = c.integer("c", 1, M);
  b.e = c.integer("e", 1, M), b.k = c.integer("k", 1, M), b.ks = c.integer("ks", 1, 64), b.st = c.integer("st", 1, 64);
  b.ph = c.integer("ph", 0, 64), b.pw = c.integer("pw", 0, 64), b.p = c.integer("p", 1, M), b.q = c.integer("q", 1, M);
  // The kernels' int32 pixel and element indexing.
  const int64_t widest = std::max({b.c, b.e, b.k});
  if (c.mul(c.mul(c.mul(b.n, b.h), b.w), widest) > M || c.mul(c.mul(c.mul(b.n, b.p), b.q), widest) > M) {
    c.fail("is too large for 32-bit indexing");
  }
  return b;
}

void checkBlock(const LayerCheck& c) {
  const Block b = blockOf(c);
  for (const char* a : {"act1", "act2", "act"}) c.integerOr(a, 0, 0, kMaxAct);
  const bool id1 = c.integerOr("id1", 0, 0, 1) == 1;
  if (id1 && b.e != b.c) c.fail("has an identity expand from " + std::to_string(b.c) + " to " + std::to_string(b.e) + " channels");
  for (const char* r : {"alpha1", "beta1", "alpha2", "beta2", "alpha", "beta"}) c.real(r, 0);
  const int x = c.in(0);
  c.floatType(x, "input");
  const DType t = c.dtype(x);
  c.dtypeIs(c.in(1), t, "expand weights");
  c.dtypeIs(c.in(3), t, "depthwise weights");
  c.dtypeIs(c.in(5), t, "project weights");
  c.dtypeIs(c.in(7), t, "residual");
  for (int k : {2, 4, 6}) c.dtypeIs(c.in(k), DType::F32, "bias");
  for (int o = 0; o < 3; ++o) c.dtypeIs(c.out(o), t, o == 0 ? "output" : "chain intermediate");
  const int64_t out = c.mul(c.mul(c.mul(b.n, b.p), b.q), b.k);
  c.contiguous(x, c.mul(c.mul(c.mul(b.n, b.h), b.w), b.c), "input");
  c.contiguous(c.in(1), c.mul(b.e, b.c), "expand weights");
  c.contiguous(c.in(3), c.mul(c.mul(b.ks, b.ks), b.e), "depthwise weights");
  c.contiguous(c.in(5), c.mul(b.k, b.e), "project weights");
  if (c.in(2) >= 0) c.contiguous(c.in(2), b.e, "expand bias");
  if (c.in(4) >= 0) c.contiguous(c.in(4), b.e, "depthwise bias");
  if (c.in(6) >= 0) c.contiguous(c.in(6), b.k, "project bias");
  if (c.in(7) >= 0) c.contiguous(c.in(7), out, "residual");
  c.contiguous(c.out(0), out, "output");
  // With an identity expand the chain never writes `expanded` (a placeholder); the fused kernel never touches it.
  c.contiguous(c.out(1), id1 ? 1 : c.mul(c.mul(c.mul(b.n, b.h), b.w), b.e), "expanded");
  c.contiguous(c.out(2), c.mul(c.mul(c.mul(b.n, b.p), b.q), b.e), "depthwise output");
}

// The chain's stages as convolutions: 1×1 expand, k×k depthwise, 1×1 project (Executor::stageParams).
ConvShape stage(const Block& b, int j) {
  if (j == 0) return {b.n, b.h, b.w, b.c, b.e, 1, 1, b.h, b.w, 1, 1, 0, 0, 1, 1, 1};
  if (j == 1) return {b.n, b.h, b.w, b.e, b.e, b.ks, b.ks, b.p, b.q, b.st, b.st, b.ph, b.pw, 1, 1, b.e};
  return {b.n, b.p, b.q, b.e, b.k, 1, 1, b.p, b.q, 1, 1, 0, 0, 1, 1, 1};
}

int64_t blockTactic(const LayerCheck& c, const std::string& name) {
  const Block b = blockOf(c);
  const DType t = c.dtype(c.in(0));
  if (isChainTactic(name)) {
    std::vector<std::string> parts;
    if (!chainTacticParts(name, parts)) c.fail("has a malformed chain tactic '" + name + "'");
    const bool id1 = c.integerOr("id1", 0, 0, 1) == 1;
    if ((parts[0] == kSkipStage) != id1) {
      c.fail(id1 ? "runs its identity expand with '" + parts[0] + "' instead of '" + kSkipStage + "'"
                 : "skips an expand stage that is not the identity");
    }
    int64_t ws = 0;
    for (int j = id1 ? 1 : 0; j < 3; ++j) {
      const int64_t need = convTacticOf(c, stage(b, j), t, parts[j]);
      if (need < 0 || ws < 0) ws = -1;
      else ws = std::max(ws, need);
    }
    return ws;
  }
  if (name != "mbconv_8x8" && name != "mbconv_4x8" && name != "mbconv_4x4") c.fail("has unknown tactic '" + name + "'");
  // kernels/mbconv.cu `applies`; its shared-memory need is checked by the kernel against the device.
  const bool ok = t == DType::F16 && (b.ks == 3 || b.ks == 5) && (b.st == 1 || b.st == 2) && b.c % 8 == 0 &&
                  b.e % 8 == 0 && b.k % 8 == 0 && b.k <= 320;
  if (!ok) c.fail("uses tactic '" + name + "', which cannot run this block and dtype");
  return 0;
}

}  // namespace

OpRule mbconvRule() {
  return {Op::MBConv,
          {{"x", true}, {"w1", true}, {"b1", false}, {"wd", true}, {"bd", false}, {"w2", true}, {"b2", false}, {"residual", false}},
          3,
          &checkBlock,
          &blockTactic};
}

}  // namespace ntrt::builtin::validation
