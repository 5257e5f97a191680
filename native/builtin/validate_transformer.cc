// Validator rules of the transformer layers: layernorm, gather, compare, predicate, where and attention (with its
// tactics and their workspace), matching what executor.cc passes kernels/norm.cu, gather.cu, logic.cu and
// attention.cu. Accesses are declared with signed strides at the batch the LayerCheck stands for.
#include "validate_rules.h"

namespace ntrt::builtin::validation {
namespace {

constexpr int kMaxRank = 6;  // kernels::kMaxRank
constexpr int64_t kMaxExtent = int64_t(1) << 40;
constexpr int64_t M = kInt32Max;

void checkLayerNorm(const LayerCheck& c) {
  const int64_t rows = c.mul(c.integer("rows", 0, kMaxExtent), c.scale());
  const int64_t cols = c.integer("cols", 0, M);
  if (c.real("eps", 1e-5) < 0) c.fail("has a negative epsilon");
  const int x = c.in(0), gamma = c.in(1), beta = c.in(2), res = c.in(3), y = c.out();
  c.floatType(y, "output");
  c.dtypeIs(x, c.dtype(y), "input");
  c.dtypeIs(res, c.dtype(y), "residual");
  c.dtypeIs(gamma, DType::F32, "scale");
  c.dtypeIs(beta, DType::F32, "bias");
  const int64_t n = c.mul(rows, cols);
  c.contiguous(x, n, "input");
  if (res >= 0) c.contiguous(res, n, "residual");
  if (gamma >= 0) c.contiguous(gamma, cols, "scale");
  if (beta >= 0) c.contiguous(beta, cols, "bias");
  c.contiguous(y, n, "output");
  if (c.layer().outputs.size() > 1) {
    c.dtypeIs(c.out(1), c.dtype(y), "residual sum");
    c.contiguous(c.out(1), n, "residual sum");
  }
}

void checkGather(const LayerCheck& c) {
  const int64_t outer = c.mul(c.integer("outer", 0, kMaxExtent), c.scale());
  const int64_t len = c.integer("len", 0, kMaxExtent), inner = c.integer("inner", 0, kMaxExtent);
  const int64_t n = c.integer("n", 0, kMaxExtent);
  const int x = c.in(0), ids = c.in(1), y = c.out();
  c.dtypeIs(y, c.dtype(x), "output");
  if (c.dtype(ids) != DType::I32 && c.dtype(ids) != DType::I64) c.fail("needs int32 or int64 ids");
  // Ids are data: the kernel reads a row only for an id inside [-len, len), so the whole table is the bound.
  c.contiguous(x, c.mul(c.mul(outer, len), inner), "table");
  c.contiguous(ids, n, "ids");
  c.contiguous(y, c.mul(c.mul(outer, n), inner), "output");
}

std::vector<int64_t> dimsOf(const LayerCheck& c) {
  std::vector<int64_t> dims = c.ints("dims", 1, kMaxRank, 0, kMaxExtent);
  dims[0] = c.mul(dims[0], c.scale());
  return dims;
}

void checkCompare(const LayerCheck& c) {
  const int64_t op = c.integer("op", 0, 7);
  const std::vector<int64_t> dims = dimsOf(c);
  const std::vector<int64_t> sa = c.ints("sa", dims.size(), dims.size(), -kMaxExtent, kMaxExtent);
  const std::vector<int64_t> sb = c.ints("sb", dims.size(), dims.size(), -kMaxExtent, kMaxExtent);
  const int a = c.in(0), b = c.in(1), y = c.out();
  c.dtypeIs(b, c.dtype(a), "second operand");
  if (op >= 5) c.dtypeIs(a, DType::BOOL, "first operand");
  c.dtypeIs(y, DType::BOOL, "output");
  c.strided(a, dims, sa, 0, "first operand");
  c.strided(b, dims, sb, 0, "second operand");
  c.contiguous(y, c.product(dims), "output");
}

void checkPredicate(const LayerCheck& c) {
  const int64_t mode = c.integer("mode", 0, 2);
  const int64_t n = c.mul(c.integer("n", 0, kMaxExtent), c.scale());
  const int x = c.in(0), y = c.out();
  if (mode == 0) c.dtypeIs(x, DType::BOOL, "input");
  else c.floatType(x, "input");
  c.dtypeIs(y, DType::BOOL, "output");
  c.contiguous(x, n, "input");
  c.contiguous(y, n, "output");
}

void checkWhere(const LayerCheck& c) {
  const std::vector<int64_t> dims = dimsOf(c);
  const std::vector<int64_t> sc = c.ints("sc", dims.size(), dims.size(), -kMaxExtent, kMaxExtent);
  const std::vector<int64_t> sa = c.ints("sa", dims.size(), dims.size(), -kMaxExtent, kMaxExtent);
  const std::vector<int64_t> sb = c.ints("sb", dims.size(), dims.size(), -kMaxExtent, kMaxExtent);
  const int cond = c.in(0), a = c.in(1), b = c.in(2), y = c.out();
  c.dtypeIs(cond, DType::BOOL, "condition");
  c.dtypeIs(a, c.dtype(y), "first choice");
  c.dtypeIs(b, c.dtype(y), "second choice");
  c.strided(cond, dims, sc, 0, "condition");
  c.strided(a, dims, sa, 0, "first choice");
  c.strided(b, dims, sb, 0, "second choice");
  c.contiguous(y, c.product(dims), "output");
}

struct Attn {
  int64_t b, h, sq, sk, d, dv;
};

Attn attnOf(const LayerCheck& c) {
  Attn a{};
  a.b = c.mul(c.integer("b", 0, M), c.scale());
  a.h = c.integer("h", 0, M), a.sq = c.integer("sq", 0, M), a.sk = c.integer("sk", 0, M);
  a.d = c.integer("d", 0, M), a.dv = c.integer("dv", 0, M);
  return a;
}

void checkAttention(const LayerCheck& c) {
  const Attn a = attnOf(c);
  c.real("scale", 1);
  auto strides = [&](const char* key) { return c.ints(key, 4, 4, -kMaxExtent, kMaxExtent); };
  const int q = c.in(0), k = c.in(1), v = c.in(2), mask = c.in(3), y = c.out();
  c.floatType(q, "queries");
  c.dtypeIs(k, c.dtype(q), "keys");
  c.dtypeIs(v, c.dtype(q), "values");
  c.dtypeIs(y, c.dtype(q), "output");
  if (mask >= 0) c.floatType(mask, "mask");
  if (y == q) c.fail("writes over its queries");
  // Element offsets of Q, K and V inside their tensors (views into one fused projection).
  auto offset = [&](const char* key) { return c.integerOr(key, 0, 0, kMaxExtent); };
  c.strided(q, {a.b, a.h, a.sq, a.d}, strides("qs"), offset("qo"), "queries");
  c.strided(k, {a.b, a.h, a.sk, a.d}, strides("ks"), offset("ko"), "keys");
  c.strided(v, {a.b, a.h, a.sk, a.dv}, strides("vs"), offset("vo"), "values");
  const std::vector<int64_t> ms = strides("ms");
  if (mask >= 0) c.strided(mask, {a.b, a.h, a.sq, a.sk}, ms, 0, "mask");
  c.strided(y, {a.b, a.h, a.sq, a.dv}, strides("os"), 0, "output");
}

// kernels::attentionTactics: the same names, conditions and workspace.
int64_t attentionTactic(const LayerCheck& c, const std::string& name) {
  const Attn a = attnOf(c);
  if (name == "flash_mma" || name == "flash_mma_w2" || name == "flash_mma_w8") {
    if (c.dtype(c.in(0)) != DType::F16 || a.d != a.dv || (a.d != 16 && a.d != 32 && a.d != 64 && a.d != 128))
      c.fail("uses " + name + " for head sizes or a dtype it does not run");
    if (c.mul(a.b, a.h) > 65535) c.fail("has more batch·heads than " + name + "'s grid");
    for (const char* key : {"qs", "ks", "vs"}) {
      const std::vector<int64_t> s = c.ints(key, 4, 4, -kMaxExtent, kMaxExtent);
      if (s[3] != 1 || s[0] % 8 || s[1] % 8 || s[2] % 8) c.fail("uses " + name + " with strides it does not load");
    }
    for (const char* key : {"qo", "ko", "vo"})
      if (c.integerOr(key, 0, 0, kMaxExtent) % 8) c.fail("uses " + name + " with an offset off 16-byte alignment");
    const std::vector<int64_t> os = c.ints("os", 4, 4, -kMaxExtent, kMaxExtent);
    if (os[3] != 1 || os[0] % 2 || os[1] % 2 || os[2] % 2) c.fail("uses " + name + " with output strides it does not store");
    return 0;
  }
  if (name == "flash_wmma") {
    if (c.dtype(c.in(0)) != DType::F16 || a.d % 16 || a.dv % 16 || a.d > 128 || a.dv > 128 || a.d == 0 || a.dv == 0)
      c.fail("uses flash_wmma for head sizes or a dtype it does not run");
    if (c.mul(a.b, a.h) > 65535) c.fail("has more batch·heads than flash_wmma's grid");
    return 0;
  }
  if (name == "flash_warp") {
    if (a.d > 256 || a.dv > 256) c.fail("uses flash_warp for a head size above 256");
    return 0;
  }
  if (name == "unfused") {
    if (c.ints("os", 4, 4, -kMaxExtent, kMaxExtent)[3] != 1) c.fail("uses unfused with non-contiguous output rows");
    const int64_t es = c.dtype(c.in(0)) == DType::F16 ? 2 : 4;
    return c.mul(c.mul(c.mul(c.mul(a.b, a.h), a.sq), a.sk), es);
  }
  c.fail("has an unknown attention tactic '" + name + "'");
}

}  // namespace

std::vector<OpRule> transformerRules() {
  return {
      {Op::LayerNorm, {{"x", true}, {"scale", false}, {"bias", false}, {"residual", false}}, 1, &checkLayerNorm, nullptr, 1},
      {Op::Gather, {{"table", true}, {"ids", true}}, 1, &checkGather, nullptr},
      {Op::Compare, {{"a", true}, {"b", true}}, 1, &checkCompare, nullptr},
      {Op::Predicate, {{"x", true}}, 1, &checkPredicate, nullptr},
      {Op::Where, {{"cond", true}, {"a", true}, {"b", true}}, 1, &checkWhere, nullptr},
      {Op::Attention, {{"q", true}, {"k", true}, {"v", true}, {"mask", false}}, 1, &checkAttention, &attentionTactic},
  };
}

}  // namespace ntrt::builtin::validation
