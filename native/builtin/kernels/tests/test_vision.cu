// GPU tests of the vision kernels (resize, deconv, argReduce, topk, nms) against CPU references, FP32 and FP16, aligned
// and unaligned, with hostile values (NaN, ±Inf, −0) for the selection kernels, plus bad-argument errors and a timing
// line for the segmentation-sized resize.
//   native/builtin/kernels/tests/build-misc.sh --run
//   compute-sanitizer --tool memcheck build/kernel-tests/test_vision --no-timing
#include <cmath>

#include "misc_util.h"

namespace vision {

using namespace misc;
namespace k = ntrt::kernels;

//! Linear taps (half_pixel, clamped), as lib/reference/ops-vision.ts resizeTaps computes them.
std::vector<float> linearTaps(int in, int out, std::vector<float>& idx) {
  std::vector<float> w(out * 2);
  idx.assign(out * 2, 0);
  double scale = double(out) / in;
  for (int o = 0; o < out; ++o) {
    double v = std::min(std::max((o + 0.5) / scale - 0.5, 0.0), double(in - 1));
    int x1 = std::min(int(std::floor(v)), in - 1), x2 = std::min(x1 + 1, in - 1);
    idx[o * 2] = float(x1), idx[o * 2 + 1] = float(x2);
    w[o * 2] = x1 == x2 ? 0.5f : float(x2 - v);
    w[o * 2 + 1] = x1 == x2 ? 0.5f : float(v - x1);
  }
  return w;
}

void resizeCase(const std::string& label, DType t, int n, int h, int w, int c, int p, int q, bool nearest, int shift) {
  int taps = nearest ? 1 : 2;
  std::vector<float> hi, wi, hw, ww;
  if (nearest) {
    for (int o = 0; o < p; ++o) hi.push_back(float(std::min(int(std::floor((o + 0.5) * h / p)), h - 1))), hw.push_back(1);
    for (int o = 0; o < q; ++o) wi.push_back(float(std::min(int(std::floor((o + 0.5) * w / q)), w - 1))), ww.push_back(1);
  } else {
    hw = linearTaps(h, p, hi);
    ww = linearTaps(w, q, wi);
  }
  std::vector<float> table;
  for (auto* v : {&hi, &hw, &wi, &ww}) table.insert(table.end(), v->begin(), v->end());
  auto x = asStored(randomVec(size_t(n) * h * w * c, 7 + c, 2.f), t);
  std::vector<float> ref(size_t(n) * p * q * c);
  for (int b = 0; b < n; ++b)
    for (int oy = 0; oy < p; ++oy)
      for (int ox = 0; ox < q; ++ox)
        for (int ch = 0; ch < c; ++ch) {
          double acc = 0;
          for (int ky = 0; ky < taps; ++ky)
            for (int kx = 0; kx < taps; ++kx)
              acc += double(hw[oy * taps + ky]) * ww[ox * taps + kx] *
                     x[((size_t(b) * h + int(hi[oy * taps + ky])) * w + int(wi[ox * taps + kx])) * c + ch];
          ref[((size_t(b) * p + oy) * q + ox) * c + ch] = float(acc);
        }
  DevBuf dx, dt, dy;
  upload(dx, x, t, shift);
  upload(dt, table, DType::F32);
  poison(dy, ref.size(), t, shift);
  k::resize(n, h, w, c, p, q, taps, t, dx.ptr, static_cast<const float*>(dt.ptr), dy.ptr, nullptr);
  H_CUDA(cudaDeviceSynchronize());
  check("resize " + label + (nearest ? " nearest " : " linear ") + dtName(t) + (shift ? " unaligned" : ""),
        compare(download(dy.ptr, ref.size(), t), ref, t), tol(t));
  // The NCHW writer, in the input's dtype and in float32: the same values transposed to [n][c][p][q].
  std::vector<float> nchw(ref.size());
  for (int b = 0; b < n; ++b)
    for (int oy = 0; oy < p; ++oy)
      for (int ox = 0; ox < q; ++ox)
        for (int ch = 0; ch < c; ++ch) nchw[((size_t(b) * c + ch) * p + oy) * q + ox] = ref[((size_t(b) * p + oy) * q + ox) * c + ch];
  for (DType yt : {t, DType::F32}) {
    DevBuf dn;
    poison(dn, ref.size(), yt);
    k::resizeToNchw(n, h, w, c, p, q, taps, t, dx.ptr, static_cast<const float*>(dt.ptr), yt, dn.ptr, nullptr);
    H_CUDA(cudaDeviceSynchronize());
    check("resize " + label + (nearest ? " nearest " : " linear ") + dtName(t) + " -> nchw " + dtName(yt),
          compare(download(dn.ptr, ref.size(), yt), nchw, yt), tol(t));
  }
}

void deconvCase(const std::string& label, DType t, k::DeconvParams p, int shift = 0) {
  int cg = p.c / p.groups, kg = p.k / p.groups;
  auto x = asStored(randomVec(size_t(p.n) * p.h * p.w * p.c, 3 + p.c, 1.f), t);
  auto w = asStored(randomVec(size_t(p.k) * p.r * p.s * cg, 5 + p.k, 0.5f), t);
  auto bias = randomVec(p.k, 9);
  std::vector<double> acc(size_t(p.n) * p.p * p.q * p.k, 0);
  // Scatter form (the definition), unlike the kernel's gather form.
  for (int b = 0; b < p.n; ++b)
    for (int iy = 0; iy < p.h; ++iy)
      for (int ix = 0; ix < p.w; ++ix)
        for (int ci = 0; ci < p.c; ++ci) {
          int g = ci / cg;
          for (int m = g * kg; m < (g + 1) * kg; ++m)
            for (int ky = 0; ky < p.r; ++ky)
              for (int kx = 0; kx < p.s; ++kx) {
                int oy = iy * p.strideH - p.padH + ky * p.dilH, ox = ix * p.strideW - p.padW + kx * p.dilW;
                if (oy < 0 || oy >= p.p || ox < 0 || ox >= p.q) continue;
                acc[((size_t(b) * p.p + oy) * p.q + ox) * p.k + m] +=
                    double(x[((size_t(b) * p.h + iy) * p.w + ix) * p.c + ci]) * w[((size_t(m) * p.r + ky) * p.s + kx) * cg + ci % cg];
              }
        }
  std::vector<float> ref(acc.size());
  for (size_t i = 0; i < ref.size(); ++i) ref[i] = float(acc[i] + bias[i % p.k]);
  DevBuf dx, dw, db, dy;
  upload(dx, x, t, shift);
  upload(dw, w, t);
  upload(db, bias, DType::F32);
  poison(dy, ref.size(), t);
  k::deconv(p, t, dx.ptr, dw.ptr, static_cast<const float*>(db.ptr), dy.ptr, nullptr);
  H_CUDA(cudaDeviceSynchronize());
  check("deconv " + label + " " + dtName(t) + (shift ? " unaligned" : ""), compare(download(dy.ptr, ref.size(), t), ref, t), tol(t));
}

k::DeconvParams dp(int n, int h, int w, int c, int kk, int r, int s, int st, int pad, int dil, int g, int outPad = 0) {
  k::DeconvParams p{};
  p.n = n, p.h = h, p.w = w, p.c = c, p.k = kk, p.r = r, p.s = s, p.strideH = p.strideW = st, p.padH = p.padW = pad;
  p.dilH = p.dilW = dil, p.groups = g;
  p.p = st * (h - 1) + outPad + (r - 1) * dil + 1 - 2 * pad;
  p.q = st * (w - 1) + outPad + (s - 1) * dil + 1 - 2 * pad;
  return p;
}

//! The selection order of select.cu (lib/reference/ops-vision.ts rankCompare): NaN above +Inf, −0 equal to +0.
int rankCmp(float a, float b) {
  bool na = std::isnan(a), nb = std::isnan(b);
  if (na || nb) return na == nb ? 0 : na ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

//! Hostile rows: row r (of outer·inner) by r mod 7 is untouched, all NaN, NaN every third, ±Inf among NaN, NaN first
//! then ties, signed zeros, or all +Inf. The reads of a pick that finds no candidate would show under memcheck.
void hostileRows(std::vector<float>& x, int64_t outer, int64_t len, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i)
      for (int64_t j = 0; j < len; ++j) {
        float& v = x[(o * len + j) * inner + i];
        switch ((o * inner + i) % 7) {
          case 1: v = NAN; break;
          case 2: if (j % 3 == 1) v = NAN; break;
          case 3: v = j % 4 == 0 ? INFINITY : j % 4 == 1 ? -INFINITY : j % 4 == 2 ? NAN : v; break;
          case 4: v = j == 0 ? NAN : float(j % 2); break;
          case 5: v = j % 2 ? -0.f : 0.f; break;
          case 6: v = INFINITY; break;
          default: break;
        }
      }
}

//! 0 when every element is equal or both are NaN, else +inf (exact: picks are elements, not arithmetic).
double sameValues(const std::vector<float>& got, const std::vector<float>& ref) {
  for (size_t i = 0; i < ref.size(); ++i)
    if (!(got[i] == ref[i] || (std::isnan(got[i]) && std::isnan(ref[i])))) return INFINITY;
  return 0;
}

void argCase(const std::string& label, DType t, bool max, bool last, int64_t outer, int64_t len, int64_t inner, bool hostile = false) {
  auto x = randomVec(size_t(outer * len * inner), 11 + len);
  for (auto& v : x) v = std::round(v * 3) / 3;  // coarse values: ties decide by first/last index
  if (hostile) hostileRows(x, outer, len, inner);
  x = asStored(x, t);
  std::vector<float> ref(size_t(outer * inner));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      int64_t best = 0;
      for (int64_t j = 1; j < len; ++j) {
        int c = rankCmp(x[(o * len + j) * inner + i], x[(o * len + best) * inner + i]);
        if ((max ? c > 0 : c < 0) || (last && c == 0)) best = j;
      }
      ref[o * inner + i] = float(best);
    }
  DevBuf dx, dy;
  upload(dx, x, t);
  poison(dy, ref.size(), DType::I64);
  k::argReduce(max, last, outer, len, inner, t, dx.ptr, static_cast<int64_t*>(dy.ptr), nullptr);
  H_CUDA(cudaDeviceSynchronize());
  check(std::string(max ? "argmax " : "argmin ") + label + (last ? " last" : "") + " " + dtName(t),
        compare(download(dy.ptr, ref.size(), DType::I64), ref, DType::I64), 0);
}

void topkCase(const std::string& label, DType t, bool largest, int64_t outer, int64_t len, int64_t inner, int kk, bool hostile = false) {
  auto x = randomVec(size_t(outer * len * inner), 13 + len);
  for (auto& v : x) v = std::round(v * 4) / 4;  // ties: the lower index first
  if (hostile) hostileRows(x, outer, len, inner);
  x = asStored(x, t);
  std::vector<float> refV(size_t(outer * kk * inner)), refI(refV.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      std::vector<int64_t> ord(len);
      for (int64_t j = 0; j < len; ++j) ord[j] = j;
      auto at = [&](int64_t j) { return x[(o * len + j) * inner + i]; };
      std::stable_sort(ord.begin(), ord.end(), [&](int64_t a, int64_t b) { return largest ? rankCmp(at(a), at(b)) > 0 : rankCmp(at(a), at(b)) < 0; });
      for (int j = 0; j < kk; ++j) refV[(o * kk + j) * inner + i] = at(ord[j]), refI[(o * kk + j) * inner + i] = float(ord[j]);
    }
  DevBuf dx, dv, di;
  upload(dx, x, t);
  poison(dv, refV.size(), t);
  poison(di, refI.size(), DType::I64);
  k::topk(largest, outer, len, inner, kk, t, dx.ptr, dv.ptr, static_cast<int64_t*>(di.ptr), nullptr);
  H_CUDA(cudaDeviceSynchronize());
  std::string name = std::string("topk ") + label + (largest ? " largest " : " smallest ") + dtName(t);
  check(name + " values", sameValues(download(dv.ptr, refV.size(), t), refV), 0);
  check(name + " indices", compare(download(di.ptr, refI.size(), DType::I64), refI, DType::I64), 0);
}

//! The NMS stage's rules on the CPU (lib/reference/efficient-nms.ts): corners only, no anchors. `hostile` puts NaN,
//! +Inf and −0 among the scores and NaN / ±Inf into some boxes' corners.
void nmsCase(const std::string& label, int batch, int n, int c, int k, bool agnostic, float scoreThr, float iouThr, bool coarse,
             bool hostile = false) {
  harness::Rng rng(uint64_t(n) * 31 + c);
  std::vector<float> boxes(size_t(batch) * n * 4), scores(size_t(batch) * n * c);
  for (int i = 0; i < batch * n; ++i) {
    float cx = std::floor((rng.next() + 1) * 4) * 20 + rng.next() * 6, cy = std::floor((rng.next() + 1) * 3) * 20 + rng.next() * 6;
    float w = 10 + (rng.next() + 1) * 8, h = 10 + (rng.next() + 1) * 8;
    boxes[i * 4] = cx - w / 2, boxes[i * 4 + 1] = cy - h / 2, boxes[i * 4 + 2] = cx + w / 2, boxes[i * 4 + 3] = cy + h / 2;
  }
  for (auto& v : scores) v = coarse ? std::round((rng.next() + 1) * 2) / 4 : (rng.next() + 1) / 2;
  if (hostile) {
    for (size_t i = 0; i < scores.size(); ++i) scores[i] = i % 7 == 3 ? NAN : i % 11 == 5 ? INFINITY : i % 13 == 6 ? -0.f : scores[i];
    for (size_t i = 0; i < boxes.size() / 4; ++i) {
      if (i % 17 == 2) boxes[i * 4 + 1] = NAN;
      if (i % 19 == 4) boxes[i * 4 + 2] = INFINITY;
      if (i % 23 == 9) boxes[i * 4] = -INFINITY;
    }
    for (int i = 0; i < batch * n; i += 29) std::fill(&scores[size_t(i) * c], &scores[size_t(i) * c] + c, NAN);  // a box of NaN scores
  }
  // fminf / fmaxf as the kernel has them: a NaN operand yields the other one.
  auto iouAbove = [&](const float* a, const float* b) {
    float iw = std::fmin(a[2], b[2]) - std::fmax(a[0], b[0]), ih = std::fmin(a[3], b[3]) - std::fmax(a[1], b[1]);
    float inter = std::fmax(iw, 0.f) * std::fmax(ih, 0.f);
    float areaA = (a[2] - a[0]) * (a[3] - a[1]), areaB = (b[2] - b[0]) * (b[3] - b[1]);
    float uni = (areaA + areaB) - inter;
    return uni > 0.f && inter / uni > iouThr;
  };
  std::vector<float> refCount(batch), refBoxes(size_t(batch) * k * 4, 0.f), refScores(size_t(batch) * k, 0.f), refCls(size_t(batch) * k, -1.f);
  for (int b = 0; b < batch; ++b) {
    struct Cand { float s; int64_t pair; int box, cls; };
    std::vector<Cand> cand;
    for (int i = 0; i < n; ++i) {
      const float* s = &scores[(size_t(b) * n + i) * c];
      if (agnostic) {
        int best = 0;
        for (int j = 1; j < c; ++j) if (s[j] > s[best] || (std::isnan(s[best]) && !std::isnan(s[j]))) best = j;
        if (s[best] > scoreThr) cand.push_back({s[best] + 0.f, i, i, best});  // + 0: −0 scores as +0
      } else {
        for (int j = 0; j < c; ++j) if (s[j] > scoreThr) cand.push_back({s[j] + 0.f, int64_t(i) * c + j, i, j});
      }
    }
    std::sort(cand.begin(), cand.end(), [](const Cand& x, const Cand& y) { return x.s != y.s ? x.s > y.s : x.pair < y.pair; });
    if (cand.size() > size_t(k::kNmsMaxCandidates)) cand.resize(k::kNmsMaxCandidates);
    int kept = 0;
    for (const Cand& cd : cand) {
      if (kept >= k) break;
      const float* bx = &boxes[(size_t(b) * n + cd.box) * 4];
      bool sup = false;
      for (int j = 0; j < kept && !sup; ++j)
        sup = (agnostic || int(refCls[b * k + j]) == cd.cls) && iouAbove(bx, &refBoxes[(size_t(b) * k + j) * 4]);
      if (sup) continue;
      for (int q = 0; q < 4; ++q) refBoxes[(size_t(b) * k + kept) * 4 + q] = bx[q];
      refScores[b * k + kept] = cd.s;
      refCls[b * k + kept] = float(cd.cls);
      ++kept;
    }
    refCount[b] = float(kept);
  }
  k::NmsParams p{};
  p.batch = batch, p.n = n, p.c = c, p.k = k, p.cxcywh = false, p.agnostic = agnostic, p.scoreThreshold = scoreThr, p.iouThreshold = iouThr;
  DevBuf db, ds, dc, dob, dos, doc, dscr;
  upload(db, boxes, DType::F32);
  upload(ds, scores, DType::F32);
  poison(dc, batch, DType::I32);
  poison(dob, refBoxes.size(), DType::F32);
  poison(dos, refScores.size(), DType::F32);
  poison(doc, refCls.size(), DType::I32);
  poison(dscr, size_t(batch) * k::nmsScratchPerImage(p), DType::I64);
  k::efficientNms(p, static_cast<const float*>(db.ptr), static_cast<const float*>(ds.ptr), nullptr, static_cast<int32_t*>(dc.ptr),
                  static_cast<float*>(dob.ptr), static_cast<float*>(dos.ptr), static_cast<int32_t*>(doc.ptr), static_cast<int64_t*>(dscr.ptr), nullptr);
  H_CUDA(cudaDeviceSynchronize());
  std::string name = "nms " + label;
  check(name + " count", sameValues(download(dc.ptr, batch, DType::I32), refCount), 0);
  check(name + " boxes", sameValues(download(dob.ptr, refBoxes.size(), DType::F32), refBoxes), 0);
  check(name + " scores", sameValues(download(dos.ptr, refScores.size(), DType::F32), refScores), 0);
  check(name + " classes", sameValues(download(doc.ptr, refCls.size(), DType::I32), refCls), 0);
}

void run(bool timing) {
  for (DType t : {DType::F32, DType::F16}) {
    {
      Group g("resize");
      for (bool nearest : {true, false}) {
        resizeCase("[2,12,12,40]→24×24", t, 2, 12, 12, 40, 24, 24, nearest, 0);
        resizeCase("[2,12,12,40]→24×24", t, 2, 12, 12, 40, 24, 24, nearest, 1);
        resizeCase("[1,6,6,21]→96×96", t, 1, 6, 6, 21, 96, 96, nearest, 0);
        resizeCase("[1,9,7,3]→4×5 (down)", t, 1, 9, 7, 3, 4, 5, nearest, 0);
        resizeCase("[3,5,5,2]→11×13", t, 3, 5, 5, 2, 11, 13, nearest, 0);
      }
    }
    {
      Group g("deconv");
      deconvCase("k4 s2 p1 [2,5,6,16]→8", t, dp(2, 5, 6, 16, 8, 4, 4, 2, 1, 1, 1));
      deconvCase("k4 s2 p1 [2,5,6,16]→8", t, dp(2, 5, 6, 16, 8, 4, 4, 2, 1, 1, 1), 1);
      deconvCase("k2 s2 [1,7,7,32]→16", t, dp(1, 7, 7, 32, 16, 2, 2, 2, 0, 1, 1));
      deconvCase("k3 s1 [1,6,5,3]→5", t, dp(1, 6, 5, 3, 5, 3, 3, 1, 0, 1, 1));
      deconvCase("groups 2 k3 s2 p1 out_pad 1 [1,5,5,8]→6", t, dp(1, 5, 5, 8, 6, 3, 3, 2, 1, 1, 2, 1));
      deconvCase("depthwise k3 s2 dil 2 [1,6,6,8]", t, dp(1, 6, 6, 8, 8, 3, 3, 2, 2, 2, 8));
    }
    {
      Group g("argreduce");
      for (bool max : {true, false})
        for (bool last : {false, true}) {
          argCase("channels NHWC [2·96·96, 21, 1]", t, max, last, 2 * 96 * 96, 21, 1);
          argCase("NCHW [2, 21, 96·96]", t, max, last, 2, 21, 96 * 96);
          argCase("len 1", t, max, last, 5, 1, 3);
          argCase("hostile NaN/Inf/±0 rows [3, 12, 7]", t, max, last, 3, 12, 7, true);
          argCase("hostile NaN/Inf/±0 rows NHWC [50, 21, 1]", t, max, last, 50, 21, 1, true);
        }
    }
    {
      Group g("topk");
      for (bool largest : {true, false}) {
        topkCase("[4, 80, 1] k 5", t, largest, 4, 80, 1, 5);
        topkCase("[2, 9, 7] k 9", t, largest, 2, 9, 7, 9);
        topkCase("[1, 8400, 1] k 100", t, largest, 1, 8400, 1, 100);
        // NaN, all-NaN, ±Inf, signed-zero and all-Inf rows; k = len, k = 1, and k between.
        topkCase("hostile [3, 9, 7] k 9", t, largest, 3, 9, 7, 9, true);
        topkCase("hostile [14, 10, 1] k 1", t, largest, 14, 10, 1, 1, true);
        topkCase("hostile [2, 33, 7] k 5", t, largest, 2, 33, 7, 5, true);
        topkCase("hostile len 1 [7, 1, 2] k 1", t, largest, 7, 1, 2, 1, true);
      }
    }
  }
  {
    Group g("nms");
    nmsCase("per class [2, 500, 3] k 50", 2, 500, 3, 50, false, 0.3f, 0.5f, false);
    nmsCase("per class, ties [1, 400, 2] k 100", 1, 400, 2, 100, false, 0.1f, 0.45f, true);
    nmsCase("agnostic [3, 300, 5] k 20", 3, 300, 5, 20, true, 0.2f, 0.5f, false);
    nmsCase("> 4096 candidates [2, 3000, 3] k 300", 2, 3000, 3, 300, false, 0.05f, 0.6f, true);
    nmsCase("none above the threshold [2, 100, 2]", 2, 100, 2, 10, false, 2.f, 0.5f, false);
    nmsCase("zero boxes [2, 0, 3]", 2, 0, 3, 10, false, 0.1f, 0.5f, false);
    nmsCase("hostile NaN/Inf scores and boxes, per class [2, 300, 3] k 100", 2, 300, 3, 100, false, -1.f, 0.5f, true, true);
    nmsCase("hostile NaN/Inf scores and boxes, agnostic [2, 300, 4] k 100", 2, 300, 4, 100, true, -1.f, 0.5f, false, true);
    nmsCase("hostile, threshold above the finite scores [1, 200, 2] k 50", 1, 200, 2, 50, false, 2.f, 0.5f, false, true);
  }
  expectError("resize taps 5", "ERR_INVALID_ARGUMENT", [] { k::resize(1, 2, 2, 1, 2, 2, 5, DType::F32, nullptr, nullptr, nullptr, nullptr); });
  expectError("resize int32", "ERR_INVALID_ARGUMENT", [] { k::resize(1, 2, 2, 1, 2, 2, 1, DType::I32, nullptr, nullptr, nullptr, nullptr); });
  expectError("deconv bad groups", "ERR_INVALID_ARGUMENT", [] { k::deconv(dp(1, 2, 2, 3, 4, 3, 3, 1, 0, 1, 2), DType::F32, nullptr, nullptr, nullptr, nullptr, nullptr); });
  expectError("argReduce empty axis", "ERR_INVALID_ARGUMENT", [] { k::argReduce(true, false, 1, 0, 1, DType::F32, nullptr, nullptr, nullptr); });
  // Timing: the LRASPP / DeepLabV3 head at 512×512, batch 16 (bilinear ×8 of 21 classes).
  for (DType t : {DType::F32, DType::F16}) {
    if (!timing) break;
    int n = 16, h = 64, w = 64, c = 21, p = 512, q = 512;
    std::vector<float> hi, wi, hw = linearTaps(h, p, hi), ww = linearTaps(w, q, wi), table;
    for (auto* v : {&hi, &hw, &wi, &ww}) table.insert(table.end(), v->begin(), v->end());
    DevBuf dx, dt, dy;
    upload(dx, randomVec(size_t(n) * h * w * c, 1), t);
    upload(dt, table, DType::F32);
    poison(dy, size_t(n) * p * q * c, t);
    float ms = harness::timeMs([&] { k::resize(n, h, w, c, p, q, 2, t, dx.ptr, static_cast<const float*>(dt.ptr), dy.ptr, nullptr); });
    double gb = (double(n) * p * q * c * dsize(t)) / 1e9;
    std::printf("timing resize linear [16,64,64,21]→512×512 %s: %.3f ms (%.0f GB/s written)\n", dtName(t), ms, gb / (ms / 1e3));
  }
}

}  // namespace vision

int main(int argc, char** argv) {
  // --no-timing: the checks only (under compute-sanitizer, where timing means nothing and takes long).
  bool timing = !(argc > 1 && std::string(argv[1]) == "--no-timing");
  harness::printDevice();
  try {
    vision::run(timing);
  } catch (const std::exception& e) {
    std::printf("FAIL uncaught exception: %s\n", e.what());
    ++harness::failures();
  }
  return harness::finish();
}
