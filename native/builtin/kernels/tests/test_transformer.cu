// GPU test of the transformer kernels (layerNorm, gather, compare/predicate/where, integer arithmetic and range,
// strided matmul, attention and the new activations) against CPU double references, outputs poisoned with NaN so unwritten elements fail.
// F32 within 1e-5 (attention/matmul 1e-4), F16 within 1e-2. Exits 1 on any failure. --quick skips the timings;
// --timing runs them alone.
#include <cfloat>
#include <cmath>

#include "misc_util.h"

namespace tf {

using namespace misc;
namespace k = ntrt::kernels;

void testActivations() {
  Group g("acts");
  const Act acts[] = {Act::Erf, Act::Gelu, Act::GeluTanh, Act::Sqrt, Act::Exp, Act::Log, Act::Neg, Act::Abs,
                      Act::Reciprocal, Act::Scale, Act::Silu};
  const char* names[] = {"erf", "gelu", "gelu_tanh", "sqrt", "exp", "log", "neg", "abs", "recip", "scale", "silu"};
  for (DType t : {DType::F32, DType::F16}) {
    for (int a = 0; a < 11; ++a) {
      Act act = acts[a];
      bool positive = act == Act::Sqrt || act == Act::Log || act == Act::Reciprocal;
      auto x = asStored(randomVec(1003, 300 + a, positive ? 1.f : 3.f, positive ? 1.5f : 0.f), t);
      std::vector<float> ref(x.size());
      for (size_t i = 0; i < x.size(); ++i) {
        double v = x[i], r;
        switch (act) {
          case Act::Erf: r = std::erf(v); break;
          case Act::Gelu: r = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); break;
          case Act::GeluTanh: r = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))); break;
          case Act::Sqrt: r = std::sqrt(v); break;
          case Act::Exp: r = std::exp(v); break;
          case Act::Log: r = std::log(v); break;
          case Act::Neg: r = -v; break;
          case Act::Abs: r = std::fabs(v); break;
          case Act::Reciprocal: r = 1 / v; break;
          case Act::Silu: r = v / (1 + std::exp(-v)); break;
          default: r = 0.5 * v - 2; break;
        }
        ref[i] = float(r);
      }
      DevBuf dx, dy;
      upload(dx, x, t);
      poison(dy, x.size(), t);
      k::unary(act, 0.5f, -2.f, int64_t(x.size()), t, dx.ptr, dy.ptr, nullptr);
      check(std::string(names[a]) + " " + dtName(t), compare(download(dy.ptr, x.size(), t), ref, t), tol(t));
    }
  }
}

void layerNormCase(DType t, int64_t rows, int cols, bool residual, bool sum, bool affine) {
  auto x = asStored(randomVec(size_t(rows) * cols, 400 + cols, 2.f, 3.f), t);  // a large mean tests the two passes
  auto r = asStored(randomVec(x.size(), 401 + cols), t);
  auto gm = randomVec(cols, 402, 1.f, 1.f), bt = randomVec(cols, 403);
  std::vector<float> ref(x.size()), sref(x.size());
  for (int64_t i = 0; i < rows; ++i) {
    std::vector<double> h(cols);
    double mean = 0, var = 0;
    for (int c = 0; c < cols; ++c) {
      float v = x[i * cols + c] + (residual ? r[i * cols + c] : 0.f);
      if (residual) v = storedAs(v, t);
      h[c] = v, mean += v, sref[i * cols + c] = v;
    }
    mean /= cols;
    for (int c = 0; c < cols; ++c) var += (h[c] - mean) * (h[c] - mean);
    var /= cols;
    for (int c = 0; c < cols; ++c)
      ref[i * cols + c] = float((h[c] - mean) / std::sqrt(var + 1e-5) * (affine ? gm[c] : 1) + (affine ? bt[c] : 0));
  }
  DevBuf dx, dr, dg, db, dy, ds;
  upload(dx, x, t);
  upload(dr, r, t);
  upload(dg, gm, DType::F32);
  upload(db, bt, DType::F32);
  poison(dy, x.size(), t);
  poison(ds, x.size(), t);
  k::layerNorm(rows, cols, t, dx.ptr, residual ? dr.ptr : nullptr, affine ? static_cast<float*>(dg.ptr) : nullptr,
               affine ? static_cast<float*>(db.ptr) : nullptr, 1e-5f, dy.ptr, sum ? ds.ptr : nullptr, nullptr);
  std::string label = "layernorm " + std::string(dtName(t)) + " " + std::to_string(rows) + "x" + std::to_string(cols) +
                      (residual ? " +res" : "") + (sum ? " sum" : "") + (affine ? "" : " plain");
  check(label, compare(download(dy.ptr, x.size(), t), ref, t), tol(t));
  if (sum) check(label + " (sum)", compare(download(ds.ptr, x.size(), t), sref, t), tol(t));
}

void testLayerNorm() {
  Group g("layernorm");
  for (DType t : {DType::F32, DType::F16}) {
    layerNormCase(t, 197, 192, false, false, true);
    layerNormCase(t, 64, 768, true, true, true);
    layerNormCase(t, 64, 768, true, false, true);  // BERT's post-norm: residual in, no sum out
    layerNormCase(t, 5, 33, true, false, false);
    layerNormCase(t, 3, 4000, true, true, true);  // block path
    // float16 16-byte path: 1, 2 (partly idle lanes), 4, 6 and 8 chunks of 8 per lane
    layerNormCase(t, 9, 64, true, false, true);
    layerNormCase(t, 11, 392, false, true, true);
    layerNormCase(t, 1000, 1024, true, true, true);
    layerNormCase(t, 7, 1536, true, false, false);
    layerNormCase(t, 5, 2048, false, false, true);
  }
}

void testGather() {
  Group g("gather");
  // Rows of 20/10 bytes (the element path), 96/48 bytes and 3104/1552 bytes (16-byte chunks, a warp per row, the
  // last lane pass partial).
  for (int64_t inner : {5, 24, 776})
  for (DType t : {DType::F32, DType::F16}) {
    for (DType it : {DType::I32, DType::I64}) {
      const int64_t outer = 2, len = 50, n = 9;
      auto x = asStored(randomVec(outer * len * inner, 500), t);
      // In range, negative (from the end), and out of range on both sides: those give zero rows and are counted.
      std::vector<float> ids = {0, 49, -1, -50, 7, 50, -51, 1000, 3};
      std::vector<float> ref(outer * n * inner);
      int bad = 0;
      for (int64_t j = 0; j < n; ++j) {
        int64_t id = int64_t(ids[j]);
        if (id < 0) id += len;
        bool ok = id >= 0 && id < len;
        bad += !ok;
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t i = 0; i < inner; ++i) ref[(o * n + j) * inner + i] = ok ? x[(o * len + id) * inner + i] : 0.f;
      }
      DevBuf dx, di, dy, dc;
      upload(dx, x, t);
      upload(di, ids, it);
      poison(dy, ref.size(), t);
      upload(dc, {0.f}, DType::I32);
      k::gather(outer, len, inner, t, dx.ptr, n, it, di.ptr, dy.ptr, static_cast<int32_t*>(dc.ptr), nullptr);
      std::string label = std::string("gather ") + dtName(t) + " ids " + dtName(it) + " inner " + std::to_string(inner);
      check(label, compareEach(download(dy.ptr, ref.size(), t), ref), 0);
      check(label + " out-of-range count", std::fabs(download(dc.ptr, 1, DType::I32)[0] - bad), 0);
    }
  }
  expectError("gather float ids", "ERR_INVALID_ARGUMENT",
              [] { k::gather(1, 2, 3, DType::F32, nullptr, 4, DType::F32, nullptr, nullptr, nullptr, nullptr); });
}

void testLogic() {
  Group g("logic");
  // [2, 3, 4] against a [1, 3, 1]-shaped operand broadcast through zero strides.
  NdShape out = shapeOf({2, 3, 4});
  NdStrides full = contiguous(out), bc{};
  bc.s[0] = 0, bc.s[1] = 1, bc.s[2] = 0;
  std::vector<float> a = {0, 1, 2, 3, 1, 1, 1, 1, 5, 4, 3, 2, 2, 2, 2, 2, 0, 0, 1, 1, 9, 8, 7, 6};
  std::vector<float> b = {1, 2, 3};
  for (DType t : {DType::F32, DType::F16, DType::I32, DType::I64}) {
    for (int op = 0; op <= 4; ++op) {
      std::vector<float> ref(24);
      for (int i = 0; i < 24; ++i) {
        float x = a[i], y = b[(i / 4) % 3];
        ref[i] = op == 0 ? x == y : op == 1 ? x < y : op == 2 ? x <= y : op == 3 ? x > y : x >= y;
      }
      DevBuf da, db, dy;
      upload(da, a, t);
      upload(db, b, t);
      poison(dy, 24, DType::BOOL);
      k::compare(static_cast<k::Compare>(op), out, full, da.ptr, bc, db.ptr, t, dy.ptr, nullptr);
      check("compare op " + std::to_string(op) + " " + dtName(t), compare(download(dy.ptr, 24, DType::BOOL), ref, DType::BOOL), 0);
    }
  }
  std::vector<float> p = {1, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1}, q = {1, 0, 1};
  for (int op = 5; op <= 7; ++op) {
    std::vector<float> ref(24);
    for (int i = 0; i < 24; ++i) {
      bool x = p[i] != 0, y = q[(i / 4) % 3] != 0;
      ref[i] = op == 5 ? (x && y) : op == 6 ? (x || y) : (x != y);
    }
    DevBuf da, db, dy;
    upload(da, p, DType::BOOL);
    upload(db, q, DType::BOOL);
    poison(dy, 24, DType::BOOL);
    k::compare(static_cast<k::Compare>(op), out, full, da.ptr, bc, db.ptr, DType::BOOL, dy.ptr, nullptr);
    check("logical op " + std::to_string(op), compare(download(dy.ptr, 24, DType::BOOL), ref, DType::BOOL), 0);
  }
  {
    DevBuf dx, dy;
    upload(dx, p, DType::BOOL);
    poison(dy, 24, DType::BOOL);
    k::predicate(k::Predicate::Not, 24, DType::BOOL, dx.ptr, dy.ptr, nullptr);
    std::vector<float> ref(24);
    for (int i = 0; i < 24; ++i) ref[i] = p[i] == 0;
    check("not", compare(download(dy.ptr, 24, DType::BOOL), ref, DType::BOOL), 0);
  }
  for (DType t : {DType::F32, DType::F16}) {
    std::vector<float> x = {1.f, NAN, -INFINITY, 0.f, INFINITY, NAN};
    DevBuf dx, dy;
    upload(dx, x, t);
    poison(dy, 6, DType::BOOL);
    k::predicate(k::Predicate::IsNaN, 6, t, dx.ptr, dy.ptr, nullptr);
    check(std::string("isnan ") + dtName(t), compare(download(dy.ptr, 6, DType::BOOL), {0, 1, 0, 0, 0, 1}, DType::BOOL), 0);
  }
  // where(cond [2,1,4], a [2,3,4], b scalar) — three broadcast patterns at once.
  for (DType t : {DType::F32, DType::F16, DType::I64}) {
    std::vector<float> c = {1, 0, 0, 1, 0, 1, 1, 0}, s = {-7};
    NdStrides sc{}, ss{};
    sc.s[0] = 4, sc.s[1] = 0, sc.s[2] = 1;
    std::vector<float> ref(24);
    for (int i = 0; i < 24; ++i) ref[i] = c[(i / 12) * 4 + i % 4] != 0 ? a[i] : -7.f;
    DevBuf dc, da, ds, dy;
    upload(dc, c, DType::BOOL);
    upload(da, a, t);
    upload(ds, s, t);
    poison(dy, 24, t);
    k::where(out, sc, dc.ptr, full, da.ptr, ss, ds.ptr, t, dy.ptr, nullptr);
    check(std::string("where ") + dtName(t), compareEach(download(dy.ptr, 24, t), ref), 0);
  }
}

// Integer arithmetic (exact int64 beyond 2^24, division truncating, x/0 = 0) and Range.
void testIntegers() {
  Group g("integers");
  NdShape out = shapeOf({3, 4});
  NdStrides full = contiguous(out), col{};
  col.s[0] = 1, col.s[1] = 0;  // b[3] broadcast along the rows
  std::vector<float> a = {0, 1, -7, 9, 40000000, 3, 5, -5, 12, 0, 1, 2}, b = {3, -2, 0};
  const char* names[] = {"add", "sub", "mul", "div", "max", "min"};
  for (DType t : {DType::I32, DType::I64}) {
    for (int op = 0; op <= 5; ++op) {
      std::vector<float> ref(12);
      for (int i = 0; i < 12; ++i) {
        int64_t x = int64_t(a[i]), z = int64_t(b[i / 4]);
        int64_t r = op == 0 ? x + z : op == 1 ? x - z : op == 2 ? x * z : op == 3 ? (z == 0 ? 0 : x / z) : op == 4 ? std::max(x, z) : std::min(x, z);
        ref[i] = float(r);
      }
      DevBuf da, db, dy;
      upload(da, a, t);
      upload(db, b, t);
      poison(dy, 12, t);
      k::binaryInt(static_cast<k::Binary>(op), out, full, da.ptr, col, db.ptr, t, dy.ptr, nullptr);
      check(std::string("int ") + names[op] + " " + dtName(t), compare(download(dy.ptr, 12, t), ref, t), 0);
    }
  }
  for (DType t : {DType::I64, DType::F32, DType::F16}) {
    DevBuf dy;
    poison(dy, 37, t);
    k::range(37, t, dy.ptr, -3, 2, nullptr);
    std::vector<float> ref(37);
    for (int i = 0; i < 37; ++i) ref[i] = float(-3 + 2 * i);
    check(std::string("range ") + dtName(t), compare(download(dy.ptr, 37, t), ref, t), 0);
  }
  expectError("binaryInt refuses floats", "ERR_INVALID_ARGUMENT", [] {
    NdShape s = shapeOf({1});
    NdStrides st = contiguous(s);
    k::binaryInt(k::Binary::Add, s, st, nullptr, st, nullptr, DType::F32, nullptr, nullptr);
  });
}

//! CPU matmul over a MatmulDesc in double.
std::vector<float> matmulRef(const k::MatmulDesc& d, const std::vector<float>& a, const std::vector<float>& b,
                             size_t cElems) {
  std::vector<float> c(cElems, NAN);
  int64_t B[3] = {1, 1, 1}, sa[3] = {}, sb[3] = {}, sc[3] = {};
  for (int i = 0; i < d.batchRank; ++i) {
    int j = i + 3 - d.batchRank;
    B[j] = d.batch[i], sa[j] = d.sa[i], sb[j] = d.sb[i], sc[j] = d.sc[i];
  }
  for (int64_t z0 = 0; z0 < B[0]; ++z0)
    for (int64_t z1 = 0; z1 < B[1]; ++z1)
      for (int64_t z2 = 0; z2 < B[2]; ++z2) {
        int64_t oa = z0 * sa[0] + z1 * sa[1] + z2 * sa[2], ob = z0 * sb[0] + z1 * sb[1] + z2 * sb[2],
                oc = z0 * sc[0] + z1 * sc[1] + z2 * sc[2];
        for (int m = 0; m < d.m; ++m)
          for (int n = 0; n < d.n; ++n) {
            double acc = 0;
            for (int kk = 0; kk < d.k; ++kk) acc += double(a[oa + m * d.am + kk * d.ak]) * b[ob + kk * d.bk + n * d.bn];
            c[oc + m * d.cm + n] = float(d.alpha * acc);
          }
      }
  return c;
}

void matmulCase(DType t, int B0, int B1, int m, int n, int kk, bool transB, bool broadcastB) {
  k::MatmulDesc d{};
  d.m = m, d.n = n, d.k = kk, d.batchRank = 2, d.batch[0] = B0, d.batch[1] = B1;
  d.am = kk, d.ak = 1, d.cm = n, d.alpha = 0.37f;
  if (transB) d.bk = 1, d.bn = kk;  // B given as [n][k] (Kᵀ read from K)
  else d.bk = n, d.bn = 1;
  d.sa[0] = int64_t(B1) * m * kk, d.sa[1] = int64_t(m) * kk;
  d.sb[0] = broadcastB ? 0 : int64_t(B1) * kk * n, d.sb[1] = int64_t(kk) * n;
  d.sc[0] = int64_t(B1) * m * n, d.sc[1] = int64_t(m) * n;
  auto a = asStored(randomVec(size_t(B0) * B1 * m * kk, 600 + m), t);
  auto b = asStored(randomVec(size_t(broadcastB ? 1 : B0) * B1 * kk * n, 601 + n), t);
  size_t cn = size_t(B0) * B1 * m * n;
  auto ref = matmulRef(d, a, b, cn);
  DevBuf da, db, dc;
  upload(da, a, t);
  upload(db, b, t);
  poison(dc, cn, t);
  k::matmul(d, t, da.ptr, db.ptr, dc.ptr, nullptr);
  char label[128];
  std::snprintf(label, sizeof label, "matmul %s %dx%d [%d,%d,%d]%s%s", dtName(t), B0, B1, m, n, kk,
                transB ? " Bt" : "", broadcastB ? " bcast" : "");
  check(label, compare(download(dc.ptr, cn, t), ref, t), t == DType::F32 ? 1e-5 : 1e-2);
}

void testMatmul() {
  Group g("matmul-nd");
  for (DType t : {DType::F32, DType::F16}) {
    matmulCase(t, 2, 3, 197, 197, 64, true, false);
    matmulCase(t, 2, 3, 197, 64, 197, false, false);
    matmulCase(t, 3, 2, 49, 32, 32, false, true);
    matmulCase(t, 1, 1, 5, 7, 3, true, false);
    matmulCase(t, 2, 1, 130, 70, 0, false, false);  // k = 0: zeros
  }
}

struct AttnCase {
  int b, h, sq, sk, d, dv;
  bool mask, maskHalf, packed, fullyMasked;
  bool finfoMin = false;  //!< masked keys at -FLT_MAX (torch.finfo(float32).min), not -inf: a fully masked row averages V
  bool perQuery = false;  //!< a [b, 1, sq, sk] mask (causal, with finite biases) instead of the key-padding one
};

//! The case's descriptor: extents, strides (tactics are listed from it: flash_mma needs its strides) and mask strides.
k::AttentionDesc descFor(const AttnCase& c) {
  k::AttentionDesc p{};
  p.batch = c.b, p.heads = c.h, p.sq = c.sq, p.sk = c.sk, p.d = c.d, p.dv = c.dv;
  p.scale = 1.f / std::sqrt(float(c.d));
  // `packed`: Q, K, V as [b, s, h, d] views (the layout of a fused QKV projection before its transpose).
  auto strides = [&](int64_t* s, int seq, int dim) {
    if (c.packed) s[0] = int64_t(seq) * c.h * dim, s[1] = dim, s[2] = int64_t(c.h) * dim, s[3] = 1;
    else s[0] = int64_t(c.h) * seq * dim, s[1] = int64_t(seq) * dim, s[2] = dim, s[3] = 1;
  };
  strides(p.q, c.sq, c.d);
  strides(p.k, c.sk, c.d);
  strides(p.v, c.sk, c.dv);
  p.o[0] = int64_t(c.h) * c.sq * c.dv, p.o[1] = int64_t(c.sq) * c.dv, p.o[2] = c.dv, p.o[3] = 1;
  // A [b, 1, 1, sk] key-padding mask (−inf past each batch's length), plus finite bias values.
  p.mask[0] = c.mask ? c.sk : 0, p.mask[1] = 0, p.mask[2] = 0, p.mask[3] = c.mask ? 1 : 0;
  if (c.perQuery) p.mask[0] = int64_t(c.sq) * c.sk, p.mask[2] = c.sk;
  return p;
}

void attentionCase(DType t, const AttnCase& c, const std::string& tactic) {
  const k::AttentionDesc p = descFor(c);
  auto q = asStored(randomVec(size_t(c.b) * c.h * c.sq * c.d, 700 + c.sq, 2.f), t);
  auto kv = asStored(randomVec(size_t(c.b) * c.h * c.sk * c.d, 701 + c.sk, 2.f), t);
  auto v = asStored(randomVec(size_t(c.b) * c.h * c.sk * c.dv, 702 + c.dv), t);
  DType mt = c.maskHalf ? DType::F16 : DType::F32;
  std::vector<float> mask(size_t(c.b) * (c.perQuery ? c.sq : 1) * c.sk);
  for (int b = 0; c.perQuery && b < c.b; ++b)
    for (int i = 0; i < c.sq; ++i)
      for (int j = 0; j < c.sk; ++j)
        mask[(size_t(b) * c.sq + i) * c.sk + j] = j <= i + b ? storedAs(0.5f * std::cos(float(i * 3 + j)), mt) : -INFINITY;
  for (int b = 0; !c.perQuery && b < c.b; ++b)
    for (int j = 0; j < c.sk; ++j) {
      int valid = c.fullyMasked && b == 0 ? 0 : c.sk - (b * 7) % std::max(1, c.sk / 2);
      mask[b * c.sk + j] = j < valid ? storedAs(0.25f * std::sin(float(j)), mt) : c.finfoMin ? -FLT_MAX : -INFINITY;
    }
  size_t on = size_t(c.b) * c.h * c.sq * c.dv;
  std::vector<float> ref(on);
  for (int b = 0; b < c.b; ++b)
    for (int h = 0; h < c.h; ++h)
      for (int i = 0; i < c.sq; ++i) {
        std::vector<double> s(c.sk);
        double mx = -INFINITY;
        for (int j = 0; j < c.sk; ++j) {
          double acc = 0;
          for (int e = 0; e < c.d; ++e)
            acc += double(q[b * p.q[0] + h * p.q[1] + i * p.q[2] + e]) * kv[b * p.k[0] + h * p.k[1] + j * p.k[2] + e];
          const size_t m = c.perQuery ? (size_t(b) * c.sq + i) * c.sk + j : size_t(b) * c.sk + j;
          s[j] = acc * p.scale + (c.mask ? mask[m] : 0);
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (int j = 0; j < c.sk; ++j) sum += s[j] == -INFINITY ? 0 : std::exp(s[j] - mx);
        for (int e = 0; e < c.dv; ++e) {
          double acc = 0;
          if (mx != -INFINITY)
            for (int j = 0; j < c.sk; ++j)
              if (s[j] != -INFINITY) acc += std::exp(s[j] - mx) / sum * v[b * p.v[0] + h * p.v[1] + j * p.v[2] + e];
          ref[((size_t(b) * c.h + h) * c.sq + i) * c.dv + e] = float(acc);
        }
      }
  DevBuf dq, dk, dv, dm, dout, ws;
  upload(dq, q, t);
  upload(dk, kv, t);
  upload(dv, v, t);
  upload(dm, mask, mt);
  poison(dout, on, t);
  size_t wsBytes = 0;
  for (auto& tc : k::attentionTactics(p, t))
    if (tc.name == tactic) wsBytes = tc.workspace;
  poison(ws, wsBytes + 1, DType::U8);
  k::attention(tactic, p, t, dq.ptr, dk.ptr, dv.ptr, mt, c.mask ? dm.ptr : nullptr, dout.ptr, ws.ptr, wsBytes, nullptr);
  char label[160];
  std::snprintf(label, sizeof label, "attention %s %s b%d h%d sq%d sk%d d%d dv%d%s%s%s%s", tactic.c_str(), dtName(t),
                c.b, c.h, c.sq, c.sk, c.d, c.dv, c.mask ? " mask" : "", c.maskHalf ? "16" : "",
                c.packed ? " packed" : "", c.fullyMasked ? " fully-masked" : c.perQuery ? " per-query" : "");
  check(label, compareEach(download(dout.ptr, on, t), ref), t == DType::F32 ? 1e-4 : 1e-2);
}

void testAttention() {
  Group g("attention");
  const AttnCase cases[] = {
      {2, 3, 197, 197, 64, 64, false, false, false, false},  // ViT-like
      {2, 2, 49, 49, 32, 32, false, false, true, false},     // Swin window, packed layout
      {3, 2, 128, 128, 64, 64, true, false, false, false},   // BERT-like with key padding
      {2, 2, 77, 77, 64, 64, true, true, true, true},        // fp16 mask, one batch fully masked
      {1, 1, 5, 130, 16, 48, true, false, false, false},     // uneven tiles, dv != d
      {1, 2, 70, 33, 128, 128, false, false, false, false},  // largest wmma head
      {3, 4, 17, 17, 16, 16, false, false, true, false},     // ViT-tiny heads, packed
      {2, 3, 49, 49, 32, 32, true, true, true, false},       // Swin window with an fp16 mask
      {1, 2, 300, 513, 64, 64, true, false, false, false},   // many key tiles, ragged last tile
      {2, 1, 1, 200, 128, 128, true, false, true, true},     // one query row, fully masked batch
      {2, 2, 40, 70, 64, 64, true, false, false, true, true},  // float32 finfo.min mask, one batch fully masked
      {2, 3, 150, 150, 64, 64, true, true, false, false, false, true},  // causal fp16 mask per query, ragged tiles
      {1, 2, 33, 97, 32, 32, true, false, true, false, false, true},    // per-query float32 mask, packed
      {2, 2, 40, 32, 64, 64, true, false, false, false},     // sk = 32: flash_mma's two-step tile body, a key mask
      {1, 3, 33, 80, 32, 32, false, false, false, false},    // sk = 80: a whole key tile, then a one-step tile
  };
  int flashMmaRuns = 0, flashMmaCases = 0;
  for (DType t : {DType::F32, DType::F16}) {
    for (const AttnCase& c : cases) {
      flashMmaCases += t == DType::F16 && c.d == c.dv && (c.d == 16 || c.d == 32 || c.d == 64 || c.d == 128);
      for (auto& tc : k::attentionTactics(descFor(c), t)) {
        attentionCase(t, c, tc.name);
        flashMmaRuns += tc.name.rfind("flash_mma", 0) == 0;
      }
    }
  }
  // Every float16 case with d == dv in {16, 32, 64, 128} runs the three flash_mma tactics (key masks, per-query
  // masks, fully masked rows and ragged tiles among them): a listing that left them out would test nothing.
  check("flash_mma tactics ran", flashMmaRuns == 3 * flashMmaCases && flashMmaCases > 0 ? 0.0 : 1.0, 0.5);
  k::AttentionDesc p{};
  // Head sizes must be multiples of 16 up to 128 for the tensor-core tiles: 72 is refused before any launch.
  p.d = 72, p.dv = 64, p.batch = 1, p.heads = 1, p.sq = 4, p.sk = 4;
  expectError("flash_wmma refuses d = 72", "ERR_INVALID_ARGUMENT", [&] {
    k::attention("flash_wmma", p, DType::F16, nullptr, nullptr, nullptr, DType::F32, nullptr, nullptr, nullptr, 0, nullptr);
  });
  expectError("flash_mma refuses d = 72", "ERR_INVALID_ARGUMENT", [&] {
    k::attention("flash_mma", p, DType::F16, nullptr, nullptr, nullptr, DType::F32, nullptr, nullptr, nullptr, 0, nullptr);
  });
  expectError("unfused without workspace", "ERR_INVALID_ARGUMENT", [&] {
    k::attention("unfused", p, DType::F16, nullptr, nullptr, nullptr, DType::F32, nullptr, nullptr, nullptr, 0, nullptr);
  });
}

//! Mean time of `run` over 20 back-to-back launches between two events, after one warm-up launch.
template <typename F>
float meanMs(F&& run) {
  run();
  cudaEvent_t e0, e1;
  H_CUDA(cudaEventCreate(&e0));
  H_CUDA(cudaEventCreate(&e1));
  H_CUDA(cudaEventRecord(e0));
  for (int i = 0; i < 20; ++i) run();
  H_CUDA(cudaEventRecord(e1));
  H_CUDA(cudaEventSynchronize(e1));
  float ms = 0;
  H_CUDA(cudaEventElapsedTime(&ms, e0, e1));
  H_CUDA(cudaEventDestroy(e0));
  H_CUDA(cudaEventDestroy(e1));
  return ms / 20;
}

//! Attention kernel time per tactic at BERT-base (s 128) and ViT-B/16 (s 197) shapes, with the FLOP rate
//! (4·b·h·sq·sk·d flops). Q, K and V are one [b, h, s, d] tensor, or with `packed` as a model's fused QKV
//! projection leaves them: rows of [3, h, d] per token (Q, K and V of a head 768 halves apart, rows 2304 apart),
//! the output [b, s, h, d].
void timing(int batch, int seq, bool masked = false, bool packed = false) {
  k::AttentionDesc p{};
  p.batch = batch, p.heads = 12, p.sq = seq, p.sk = seq, p.d = 64, p.dv = 64, p.scale = 0.125f;
  int64_t n = int64_t(p.batch) * p.heads * p.sq * p.d;
  int64_t st[4] = {int64_t(p.heads) * p.sq * p.d, int64_t(p.sq) * p.d, p.d, 1};
  for (int i = 0; i < 4; ++i) p.q[i] = p.k[i] = p.v[i] = p.o[i] = st[i];
  const int64_t hd = int64_t(p.heads) * p.d;
  if (packed) {
    const int64_t qs[4] = {3 * hd * p.sq, p.d, 3 * hd, 1}, os[4] = {hd * p.sq, p.d, hd, 1};
    for (int i = 0; i < 4; ++i) p.q[i] = p.k[i] = p.v[i] = qs[i], p.o[i] = os[i];
  }
  DevBuf dq, dout, ws;
  upload(dq, randomVec(packed ? 3 * n : n, 9), DType::F16);
  poison(dout, n, DType::F16);
  poison(ws, size_t(p.batch) * p.heads * p.sq * p.sk * 2, DType::U8);
  // BERT's key-padding mask: float16 [b, 1, 1, sk], the last eighth of each sequence masked with a large negative.
  DevBuf dm;
  if (masked) {
    std::vector<float> m(size_t(p.batch) * p.sk);
    for (size_t i = 0; i < m.size(); ++i) m[i] = int(i % p.sk) < p.sk - p.sk / 8 ? 0.f : -65504.f;
    upload(dm, m, DType::F16);
    p.mask[0] = p.sk, p.mask[1] = 0, p.mask[2] = 0, p.mask[3] = 1;
  }
  std::printf("attention timing, f16 b%d h%d s%d d%d%s%s:\n", p.batch, p.heads, p.sq, p.d, masked ? " key mask" : "",
              packed ? " packed QKV" : "");
  const char* q = static_cast<const char*>(dq.ptr);  // float16 elements: 2 bytes each
  const void* kp = packed ? q + 2 * hd : q;
  const void* vp = packed ? q + 4 * hd : q;
  for (auto& tc : k::attentionTactics(p, DType::F16)) {
    auto run = [&] {
      k::attention(tc.name, p, DType::F16, dq.ptr, kp, vp, masked ? DType::F16 : DType::F32, masked ? dm.ptr : nullptr,
                   dout.ptr, ws.ptr, ws.bytes, nullptr);
    };
    const float ms = meanMs(run);
    double tflops = 4.0 * p.batch * p.heads * p.sq * p.sk * p.d / (ms * 1e-3) / 1e12;
    std::printf("  %-12s %8.4f ms  %6.1f TFLOP/s\n", tc.name.c_str(), ms, tflops);
  }
}

//! LayerNorm (float16, with a residual, no sum written) over BERT-base's rows at batch 256: time and the bandwidth
//! it reaches (two rows read, one written).
void timingLayerNorm(int64_t rows, int cols) {
  const int64_t n = rows * cols;
  DevBuf dx, dr, dg, db, dy;
  upload(dx, randomVec(n, 3), DType::F16);
  upload(dr, randomVec(n, 4), DType::F16);
  upload(dg, randomVec(cols, 5), DType::F32);
  upload(db, randomVec(cols, 6), DType::F32);
  poison(dy, n, DType::F16);
  auto run = [&] {
    k::layerNorm(rows, cols, DType::F16, dx.ptr, dr.ptr, static_cast<float*>(dg.ptr), static_cast<float*>(db.ptr), 1e-5f,
                 dy.ptr, nullptr, nullptr);
  };
  const float ms = meanMs(run);
  std::printf("layernorm timing, f16 %lldx%d +residual: %8.4f ms  %6.0f GB/s\n", static_cast<long long>(rows), cols, ms,
              3.0 * n * 2 / (ms * 1e-3) / 1e9);
}

}  // namespace tf

int main(int argc, char** argv) {
  // --quick: the correctness cases only (no timing), as compute-sanitizer runs them.
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  // --timing: the timings alone (for a profiler: the first attention launches are then the timed shapes').
  const bool timingOnly = argc > 1 && std::string(argv[1]) == "--timing";
  harness::printDevice();
  try {
    if (!timingOnly) {
      tf::testActivations();
      tf::testLayerNorm();
      tf::testGather();
      tf::testLogic();
      tf::testIntegers();
      tf::testMatmul();
      tf::testAttention();
      H_CUDA(cudaDeviceSynchronize());
    }
    if (!quick) {
      if (!timingOnly) tf::timing(32, 128);
      tf::timing(256, 197);
      tf::timing(256, 128, true);
      tf::timing(256, 128, true, true);
      tf::timing(256, 197, false, true);
      tf::timingLayerNorm(256 * 128, 768);
    }
  } catch (const std::exception& e) {
    std::printf("FAIL uncaught exception: %s\n", e.what());
    ++harness::failures();
  }
  return harness::finish();
}
