// The validator's table: one rule per op, matching what executor.cc passes each kernel (kernels/kernels.h).
// A rule reads its parameters with range checks, pins the dtypes each kernel reads and writes, and declares
// every element range a launch touches; LayerCheck does the bounds arithmetic at batch 1 and the maximum batch.
#include "validate_rules.h"

namespace ntrt::builtin::validation {

OpRule convRule();                      // validate_conv.cc
std::vector<OpRule> transformerRules();  // validate_transformer.cc
OpRule mbconvRule();                     // validate_mbconv.cc
std::vector<OpRule> visionRules();       // validate_vision.cc

namespace {

constexpr int kMaxRank = 6;  // kernels::kMaxRank
constexpr int64_t kMaxExtent = int64_t(1) << 40;

//! `dims` with the leading extent scaled by the batch, as enqueueLayer does.
std::vector<int64_t> scaled(const LayerCheck& c, std::vector<int64_t> dims) {
  dims[0] = c.mul(dims[0], c.scale());
  return dims;
}

void checkPool(const LayerCheck& c) {
  const int64_t M = kInt32Max;
  const int64_t n = c.mul(c.integer("n", 0, M), c.scale());
  const int64_t h = c.integer("h", 0, M), w = c.integer("w", 0, M), ch = c.integer("c", 0, M);
  const int64_t r = c.integer("r", 1, M), s = c.integer("s", 1, M), p = c.integer("p", 0, M), q = c.integer("q", 0, M);
  const int64_t sh = c.integer("sh", 1, M), sw = c.integer("sw", 1, M), ph = c.integer("ph", 0, M), pw = c.integer("pw", 0, M);
  c.integerOr("max", 0, 0, 1);
  c.integerOr("cip", 0, 0, 1);
  // poolKernel keeps coordinates and the window count in int.
  if (n > M || c.add(c.mul(p, sh), r) > M || c.add(c.mul(q, sw), s) > M || c.add(h, ph) > M || c.add(w, pw) > M ||
      c.mul(r, s) > M) {
    c.fail("has a window that overflows 32-bit coordinates");
  }
  const int x = c.in(0), y = c.out();
  c.floatType(x, "input");
  c.dtypeIs(y, c.dtype(x), "output");
  const int64_t outputs = c.mul(c.mul(c.mul(n, p), q), ch);
  if (outputs == 0) return;
  c.contiguous(x, c.mul(c.mul(c.mul(n, h), w), ch), "input");
  c.contiguous(y, outputs, "output");
}

void checkReduceLike(const LayerCheck& c, bool softmax) {
  if (softmax) c.integerOr("log", 0, 0, 1);
  else c.integer("mode", 0, 3);
  const int64_t outer = c.mul(c.integer("outer", 0, kMaxExtent), c.scale());
  const int64_t len = c.integer("len", 1, kMaxExtent), inner = c.integer("inner", 0, kMaxExtent);
  const int x = c.in(0), y = c.out();
  c.floatType(x, "input");
  c.floatType(y, "output");
  c.contiguous(x, c.mul(c.mul(outer, len), inner), "input");
  c.contiguous(y, softmax ? c.mul(c.mul(outer, len), inner) : c.mul(outer, inner), "output");
}

void checkReduce(const LayerCheck& c) { checkReduceLike(c, false); }
void checkSoftmax(const LayerCheck& c) { checkReduceLike(c, true); }

void checkBinary(const LayerCheck& c) {
  const int64_t op = c.integer("op", 0, 6);
  c.integerOr("act", 0, 0, kMaxAct);
  c.real("alpha", 0);
  c.real("beta", 0);
  const std::vector<int64_t> dims = scaled(c, c.ints("dims", 1, kMaxRank, 0, kMaxExtent));
  const std::vector<int64_t> sa = c.ints("sa", dims.size(), dims.size(), -kMaxExtent, kMaxExtent);
  const std::vector<int64_t> sb = c.ints("sb", dims.size(), dims.size(), -kMaxExtent, kMaxExtent);
  const int a = c.in(0), b = c.in(1), y = c.out();
  // binary() runs in the output's dtype and reads both operands as it; integers take binaryInt() (no Pow).
  const bool integer = c.dtype(y) == DType::I32 || c.dtype(y) == DType::I64;
  if (!integer) c.floatType(y, "output");
  if (integer && op == 6) c.fail("raises integers to a power");
  c.dtypeIs(a, c.dtype(y), "first operand");
  c.dtypeIs(b, c.dtype(y), "second operand");
  c.strided(a, dims, sa, 0, "first operand");
  c.strided(b, dims, sb, 0, "second operand");
  c.contiguous(y, c.product(dims), "output");
}

void checkUnary(const LayerCheck& c) {
  c.integer("act", 0, kMaxAct);
  c.real("alpha", 0);
  c.real("beta", 0);
  const int64_t n = c.mul(c.integer("n", 0, kMaxExtent), c.scale());
  const int x = c.in(0), y = c.out();
  c.floatType(y, "output");
  c.dtypeIs(x, c.dtype(y), "input");
  c.contiguous(x, n, "input");
  c.contiguous(y, n, "output");
}

// kernels::copy converts float32/float16 to and from any type, and between int32, int64 and bool; other pairs
// only as themselves.
bool convertible(DType from, DType to) {
  auto isFloat = [](DType t) { return t == DType::F32 || t == DType::F16; };
  auto isInt = [](DType t) { return t == DType::I32 || t == DType::I64 || t == DType::BOOL; };
  return from == to || isFloat(from) || isFloat(to) || (isInt(from) && isInt(to));
}

void checkCopy(const LayerCheck& c) {
  const std::vector<int64_t> dims = scaled(c, c.ints("dims", 1, kMaxRank, 0, kMaxExtent));
  const std::vector<int64_t> xs = c.ints("xs", dims.size(), dims.size(), -kMaxExtent, kMaxExtent);
  const std::vector<int64_t> ys = c.ints("ys", dims.size(), dims.size(), -kMaxExtent, kMaxExtent);
  const int64_t xoff = c.integer("xoff", -kMaxExtent, kMaxExtent), yoff = c.integer("yoff", -kMaxExtent, kMaxExtent);
  const int x = c.in(0), y = c.out();
  if (!convertible(c.dtype(x), c.dtype(y))) c.fail("converts between dtypes the copy kernel does not support");
  c.strided(x, dims, xs, xoff, "input");
  c.strided(y, dims, ys, yoff, "output");
}

void checkFill(const LayerCheck& c) {
  c.real("value", 0);
  c.real("step", 0);  // range(): value + i · step
  c.contiguous(c.out(), c.mul(c.integer("n", 0, kMaxExtent), c.scale()), "output");
}

void checkPad(const LayerCheck& c) {
  const int64_t mode = c.integer("mode", 0, 3);
  c.real("value", 0);
  const std::vector<int64_t> in = scaled(c, c.ints("in", 1, kMaxRank, 0, kMaxExtent));
  const std::vector<int64_t> out = scaled(c, c.ints("out", in.size(), in.size(), 0, kMaxExtent));
  c.ints("before", in.size(), in.size(), -kMaxExtent, kMaxExtent);
  const int x = c.in(0), y = c.out();
  c.dtypeIs(x, c.dtype(y), "input");  // pad() moves elements of the output's dtype
  const int64_t nOut = c.product(out);
  if (nOut == 0) return;
  for (size_t d = 0; d < in.size(); ++d) {
    if (mode != 0 && in[d] == 0 && out[d] > 0) c.fail("reflects, repeats or wraps an empty input");
  }
  c.contiguous(x, c.product(in), "input");
  c.contiguous(y, nOut, "output");
}

// The general form (bd present): up to 3 batch levels with their own strides, element strides inside A and B.
void checkMatMulNd(const LayerCheck& c) {
  const int64_t M = kInt32Max;
  const std::vector<int64_t> bd = c.ints("bd", 1, 3, 0, kMaxExtent);
  const std::vector<int64_t> sa = c.ints("bsa", bd.size(), bd.size(), -kMaxExtent, kMaxExtent);
  const std::vector<int64_t> sb = c.ints("bsb", bd.size(), bd.size(), -kMaxExtent, kMaxExtent);
  const std::vector<int64_t> sc = c.ints("bsc", bd.size(), bd.size(), -kMaxExtent, kMaxExtent);
  const int64_t m = c.integer("m", 0, M), n = c.integer("n", 0, M), k = c.integer("k", 0, M);
  const int64_t am = c.integer("am", -kMaxExtent, kMaxExtent), ak = c.integer("ak", -kMaxExtent, kMaxExtent);
  const int64_t bk = c.integer("bk", -kMaxExtent, kMaxExtent), bn = c.integer("bn", -kMaxExtent, kMaxExtent);
  const int64_t cm = c.integer("cm", -kMaxExtent, kMaxExtent);
  c.real("alpha", 1);
  if (c.mul(m, 1) > int64_t(64) * 65535) c.fail("has more rows than the kernel's grid covers");
  const int a = c.in(0), b = c.in(1), y = c.out();
  c.floatType(y, "output");
  c.dtypeIs(a, c.dtype(y), "first operand");
  c.dtypeIs(b, c.dtype(y), "second operand");
  auto with = [&](std::vector<int64_t> s, int64_t d0, int64_t s0, int64_t d1, int64_t s1) {
    std::vector<int64_t> dims = bd;
    dims.push_back(d0), dims.push_back(d1), s.push_back(s0), s.push_back(s1);
    return std::make_pair(dims, s);
  };
  auto [dc, stc] = with(sc, m, cm, n, 1);
  c.strided(y, dc, stc, 0, "output");
  if (k == 0) return;
  auto [da, sta] = with(sa, m, am, k, ak);
  auto [db, stb] = with(sb, k, bk, n, bn);
  c.strided(a, da, sta, 0, "first operand");
  c.strided(b, db, stb, 0, "second operand");
}

void checkMatMul(const LayerCheck& c) {
  if (c.layer().params.count("bd")) return checkMatMulNd(c);
  const int64_t M = kInt32Max;
  const int64_t batches = c.mul(c.integer("bc", 0, kMaxExtent), c.scale());
  const int64_t m = c.integer("m", 0, M), n = c.integer("n", 0, M), k = c.integer("k", 0, M);
  const int64_t sa = c.integer("sa", -kMaxExtent, kMaxExtent), sb = c.integer("sb", -kMaxExtent, kMaxExtent),
                sc = c.integer("sc", -kMaxExtent, kMaxExtent);
  const int a = c.in(0), b = c.in(1), y = c.out();
  c.floatType(y, "output");
  c.dtypeIs(a, c.dtype(y), "first operand");
  c.dtypeIs(b, c.dtype(y), "second operand");
  if (batches == 0 || m == 0 || n == 0) return;
  // Matrix z of each operand starts at z·stride: rows of a batch of matrices as a 2-D strided access.
  c.strided(y, {batches, c.mul(m, n)}, {sc, 1}, 0, "output");
  if (k == 0) return;  // an empty sum writes zeros and reads nothing
  c.strided(a, {batches, c.mul(m, k)}, {sa, 1}, 0, "first operand");
  c.strided(b, {batches, c.mul(k, n)}, {sb, 1}, 0, "second operand");
}

}  // namespace

const std::vector<OpRule>& opRules() {
  static const std::vector<OpRule> rules = {
      convRule(),
      {Op::Pool, {{"x", true}}, 1, &checkPool, nullptr},
      {Op::Reduce, {{"x", true}}, 1, &checkReduce, nullptr},
      {Op::Softmax, {{"x", true}}, 1, &checkSoftmax, nullptr},
      {Op::Binary, {{"a", true}, {"b", true}}, 1, &checkBinary, nullptr},
      {Op::Unary, {{"x", true}}, 1, &checkUnary, nullptr},
      {Op::Copy, {{"x", true}}, 1, &checkCopy, nullptr},
      {Op::Fill, {}, 1, &checkFill, nullptr},
      {Op::Pad, {{"x", true}}, 1, &checkPad, nullptr},
      {Op::MatMul, {{"a", true}, {"b", true}}, 1, &checkMatMul, nullptr},
  };
  static const std::vector<OpRule> all = [] {
    std::vector<OpRule> v = rules;
    for (const OpRule& r : transformerRules()) v.push_back(r);
    v.push_back(mbconvRule());
    for (const OpRule& r : visionRules()) v.push_back(r);
    return v;
  }();
  return all;
}

}  // namespace ntrt::builtin::validation
