// Tests of pool, reduce and softmax (row, column and full layouts), batchedMatmul and rgbaToTensor.
#pragma once
#include "misc_util.h"

namespace misc {

namespace k = ntrt::kernels;

inline void poolCase(const std::string& label, DType t, bool max, bool incl, int n, int h, int w, int c, int r, int s,
                     int sh, int sw, int ph, int pw, bool ceil, int shift = 0) {
  k::PoolParams p{};
  p.n = n, p.h = h, p.w = w, p.c = c, p.r = r, p.s = s, p.strideH = sh, p.strideW = sw, p.padH = ph, p.padW = pw;
  p.max = max, p.countIncludePad = incl;
  auto outSize = [&](int in, int win, int st, int pad) {
    int span = in + 2 * pad - win;
    return (ceil ? (span + st - 1) / st : span / st) + 1;
  };
  p.p = outSize(h, r, sh, ph), p.q = outSize(w, s, sw, pw);
  auto x = asStored(randomVec(size_t(n) * h * w * c, 20 + h * c, 2.f), t);
  std::vector<float> ref(size_t(n) * p.p * p.q * c);
  for (int b = 0; b < n; ++b)
    for (int op = 0; op < p.p; ++op)
      for (int oq = 0; oq < p.q; ++oq)
        for (int ch = 0; ch < c; ++ch) {
          int hs = op * sh - ph, ws = oq * sw - pw;
          double acc = max ? -INFINITY : 0;
          int cnt = 0;
          for (int i = std::max(hs, 0); i < std::min(hs + r, h); ++i)
            for (int j = std::max(ws, 0); j < std::min(ws + s, w); ++j) {
              float v = x[((size_t(b) * h + i) * w + j) * c + ch];
              acc = max ? std::max(acc, double(v)) : acc + v;
              ++cnt;
            }
          if (!max) {
            int div = incl ? (std::min(hs + r, h + ph) - hs) * (std::min(ws + s, w + pw) - ws) : cnt;
            acc /= div;
          }
          ref[((size_t(b) * p.p + op) * p.q + oq) * c + ch] = float(acc);
        }
  DevBuf dx, dy;
  upload(dx, x, t, shift);
  poison(dy, ref.size(), t, shift);
  k::pool(p, t, dx.ptr, dy.ptr, nullptr);
  H_CUDA(cudaDeviceSynchronize());
  check("pool " + label + (max ? " max" : incl ? " avg-incl" : " avg") + " " + dtName(t) + (shift ? " unaligned" : ""),
        compare(download(dy.ptr, ref.size(), t), ref, t), tol(t));
}

inline void testPool() {
  for (DType t : {DType::F32, DType::F16}) {
    for (int mode = 0; mode < 3; ++mode) {
      bool max = mode == 0, incl = mode == 2;
      poolCase("3x3 s2 p1 [2,13,11,16]", t, max, incl, 2, 13, 11, 16, 3, 3, 2, 2, 1, 1, false);
      poolCase("3x3 s2 p1 [2,13,11,16]", t, max, incl, 2, 13, 11, 16, 3, 3, 2, 2, 1, 1, false, 1);
      poolCase("2x2 s2 [1,8,8,6]", t, max, incl, 1, 8, 8, 6, 2, 2, 2, 2, 0, 0, false);
      poolCase("3x3 s1 p1 [1,5,5,3]", t, max, incl, 1, 5, 5, 3, 3, 3, 1, 1, 1, 1, false);
      poolCase("7x7 [2,7,7,64]", t, max, incl, 2, 7, 7, 64, 7, 7, 1, 1, 0, 0, false);
      poolCase("3x2 s(1,2) p(1,0) [2,9,10,12]", t, max, incl, 2, 9, 10, 12, 3, 2, 1, 2, 1, 0, false);
      poolCase("ceil 3x3 s2 [1,6,6,8]", t, max, incl, 1, 6, 6, 8, 3, 3, 2, 2, 0, 0, true);
      poolCase("ceil 3x3 s2 p1 [1,8,8,8]", t, max, incl, 1, 8, 8, 8, 3, 3, 2, 2, 1, 1, true);
    }
  }
}

inline void reduceCase(k::Reduce op, DType inT, DType outT, int64_t outer, int64_t len, int64_t inner, int shift = 0) {
  // Offset inputs keep sums away from zero, so relative errors mean something.
  auto x = asStored(randomVec(size_t(outer * len * inner), 30 + len + inner, 1.f, 0.5f), inT);
  std::vector<float> ref(size_t(outer * inner));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double acc = op == k::Reduce::Max ? -INFINITY : op == k::Reduce::Min ? INFINITY : 0;
      for (int64_t l = 0; l < len; ++l) {
        double v = x[(o * len + l) * inner + i];
        acc = op == k::Reduce::Max ? std::max(acc, v) : op == k::Reduce::Min ? std::min(acc, v) : acc + v;
      }
      if (op == k::Reduce::Mean) acc /= len;
      ref[o * inner + i] = float(acc);
    }
  DevBuf dx, dy;
  upload(dx, x, inT, shift);
  poison(dy, ref.size(), outT);
  k::reduce(op, outer, len, inner, inT, dx.ptr, outT, dy.ptr, nullptr);
  H_CUDA(cudaDeviceSynchronize());
  static const char* ops[] = {"mean", "sum", "max", "min"};
  char label[160];
  std::snprintf(label, sizeof label, "reduce %s [%lld,%lld,%lld] %s->%s%s", ops[int(op)], (long long)outer,
                (long long)len, (long long)inner, dtName(inT), dtName(outT), shift ? " unaligned" : "");
  check(label, compare(download(dy.ptr, ref.size(), outT), ref, outT), tol2(inT, outT));
}

inline void testReduce() {
  const int64_t shapes[][3] = {
      {37, 1000, 1},   // rows, a warp each
      {1000, 13, 1},   // short rows, 16-lane groups
      {5, 7, 1},       // tiny rows
      {3, 100000, 1},  // long rows, a block each
      {1, 4097, 1},    // full reduction
      {2, 49, 2048},   // global average pool, batch 2
      {1, 49, 1280},   // one image: narrower vectors for more blocks
      {3, 10, 5},      // odd inner
      {4, 1, 8},       // len 1
      {2, 300, 2},     // long columns, narrow inner
      {1, 64, 3000},   // one row of columns
      {1, 4096, 960},  // a squeeze-excitation pool of one 64×64 image: narrow blocks, many of them
      {3, 1024, 72},   // few columns, long: blocks two sectors wide
  };
  for (auto& s : shapes)
    for (int op = 0; op < 4; ++op)
      for (DType inT : {DType::F32, DType::F16})
        for (DType outT : {DType::F32, DType::F16}) reduceCase(k::Reduce(op), inT, outT, s[0], s[1], s[2]);
  reduceCase(k::Reduce::Mean, DType::F16, DType::F16, 8, 1000, 1, 1);
  reduceCase(k::Reduce::Sum, DType::F32, DType::F32, 2, 49, 2048, 1);
  expectError("reduce empty axis", "ERR_INVALID_ARGUMENT",
              [] { k::reduce(k::Reduce::Sum, 2, 0, 3, DType::F32, nullptr, DType::F32, nullptr, nullptr); });
}

inline void softmaxCase(bool logSm, DType inT, DType outT, int64_t outer, int64_t len, int64_t inner) {
  auto x = asStored(randomVec(size_t(outer * len * inner), 40 + len * 3 + inner, 6.f), inT);
  std::vector<float> ref(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double m = -INFINITY, s = 0;
      for (int64_t l = 0; l < len; ++l) m = std::max(m, double(x[(o * len + l) * inner + i]));
      for (int64_t l = 0; l < len; ++l) s += std::exp(double(x[(o * len + l) * inner + i]) - m);
      for (int64_t l = 0; l < len; ++l) {
        double v = double(x[(o * len + l) * inner + i]) - m;
        ref[(o * len + l) * inner + i] = float(logSm ? v - std::log(s) : std::exp(v) / s);
      }
    }
  DevBuf dx, dy;
  upload(dx, x, inT);
  poison(dy, ref.size(), outT);
  k::softmax(outer, len, inner, logSm, inT, dx.ptr, outT, dy.ptr, nullptr);
  H_CUDA(cudaDeviceSynchronize());
  char label[160];
  std::snprintf(label, sizeof label, "%s [%lld,%lld,%lld] %s->%s", logSm ? "logsoftmax" : "softmax", (long long)outer,
                (long long)len, (long long)inner, dtName(inT), dtName(outT));
  check(label, compare(download(dy.ptr, ref.size(), outT), ref, outT), tol2(inT, outT));
}

inline void testSoftmax() {
  const int64_t shapes[][3] = {
      {8, 1000, 1},  // classifier head
      {3, 10, 1},    {5, 33, 1}, {2, 513, 1}, {4, 1024, 1},  // every register width
      {2, 5000, 1},                                        // block per row
      {2, 21, 64},                                         // over channels of NCHW-like [n, c, hw]
      {1, 3, 7},     {3, 1, 4},                            // tiny, len 1
      {1, 100, 1},                                         // one row
  };
  for (auto& s : shapes)
    for (bool logSm : {false, true})
      for (DType inT : {DType::F32, DType::F16})
        for (DType outT : {DType::F32, DType::F16}) softmaxCase(logSm, inT, outT, s[0], s[1], s[2]);
}

inline void matmulCase(DType t, int64_t batch, int m, int n, int kk, bool broadcastB) {
  auto a = asStored(randomVec(size_t(batch) * m * kk, 50 + m), t);
  auto b = asStored(randomVec(size_t(broadcastB ? 1 : batch) * kk * n, 51 + n), t);
  int64_t sa = int64_t(m) * kk, sb = broadcastB ? 0 : int64_t(kk) * n, sc = int64_t(m) * n;
  std::vector<float> ref(size_t(batch) * m * n);
  for (int64_t z = 0; z < batch; ++z)
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double acc = 0;
        for (int q = 0; q < kk; ++q) acc += double(a[z * sa + i * kk + q]) * b[z * sb + q * n + j];
        ref[z * sc + i * n + j] = float(acc);
      }
  DevBuf da, db, dc;
  upload(da, a, t);
  upload(db, b, t);
  poison(dc, ref.size(), t);
  k::batchedMatmul(batch, m, n, kk, t, da.ptr, sa, db.ptr, sb, dc.ptr, sc, nullptr);
  H_CUDA(cudaDeviceSynchronize());
  char label[160];
  std::snprintf(label, sizeof label, "matmul b=%lld %dx%dx%d%s %s", (long long)batch, m, n, kk,
                broadcastB ? " bcastB" : "", dtName(t));
  check(label, compare(download(dc.ptr, ref.size(), t), ref, t), tol(t));
}

inline void testMatmul() {
  for (DType t : {DType::F32, DType::F16}) {
    matmulCase(t, 3, 37, 45, 29, false);
    matmulCase(t, 2, 64, 64, 64, false);
    matmulCase(t, 4, 1, 77, 130, true);
    matmulCase(t, 1, 129, 3, 257, false);
    matmulCase(t, 2, 5, 6, 0, false);  // empty inner dim: zeros
  }
}

inline void rgbaCase(DType t, bool nhwc, int n, int h, int w, int shiftBytes) {
  size_t px = size_t(n) * h * w;
  std::vector<uint8_t> rgba(px * 4);
  harness::Rng r(60 + h * w);
  for (auto& v : rgba) v = static_cast<uint8_t>((r.next() + 1.f) * 127.5f);
  const float mean[3] = {0.485f, 0.456f, 0.406f}, stdv[3] = {0.229f, 0.224f, 0.225f};
  std::vector<float> ref(px * 3);
  for (size_t p = 0; p < px; ++p) {
    size_t img = p / (size_t(h) * w), off = p % (size_t(h) * w);
    for (int c = 0; c < 3; ++c) {
      float v = (rgba[p * 4 + c] / 255.f - mean[c]) / stdv[c];
      ref[nhwc ? p * 3 + c : (img * 3 + c) * h * w + off] = v;
    }
  }
  void* base = nullptr;
  H_CUDA(cudaMalloc(&base, rgba.size() + 64));
  uint8_t* dRgba = static_cast<uint8_t*>(base) + shiftBytes;
  H_CUDA(cudaMemcpy(dRgba, rgba.data(), rgba.size(), cudaMemcpyHostToDevice));
  DevBuf dy;
  poison(dy, ref.size(), t);
  k::rgbaToTensor(n, h, w, dRgba, mean, stdv, nhwc, t, dy.ptr, nullptr);
  H_CUDA(cudaDeviceSynchronize());
  char label[160];
  std::snprintf(label, sizeof label, "rgba %dx%dx%d -> %s %s%s", n, h, w, nhwc ? "NHWC" : "NCHW", dtName(t),
                shiftBytes ? " unaligned" : "");
  check(label, compare(download(dy.ptr, ref.size(), t), ref, t), tol(t));
  cudaFree(base);
}

inline void testRgba() {
  for (DType t : {DType::F32, DType::F16})
    for (bool nhwc : {false, true}) {
      rgbaCase(t, nhwc, 2, 4, 6, 0);    // quads
      rgbaCase(t, nhwc, 2, 5, 7, 0);    // h*w odd: per pixel
      rgbaCase(t, nhwc, 1, 8, 8, 4);    // 4-byte aligned only
      rgbaCase(t, nhwc, 3, 31, 32, 0);  // larger
    }
}

}  // namespace misc
