// Host-only checks of the convolution kernels' index math and thread/fragment mappings (no GPU needed):
// the (r, s, c) walk, split plans, input offsets, loader and epilogue coverage of every tensor-core tile,
// ldmatrix bank spread, and one warp's ldmatrix + mma.m16n8k16 emulated from the PTX fragment tables.
#pragma once
#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "../conv_tc.cuh"
#include "harness.h"

namespace convtest {

using namespace ntrt::kernels::convimpl;

inline void hostCheck(const std::string& name, bool ok, const std::string& why = "") {
  ++harness::cases();
  if (!ok) {
    ++harness::failures();
    std::printf("FAIL host %s %s\n", name.c_str(), why.c_str());
  }
}

inline ConvArgs argsFor(int n, int h, int w, int c, int k, int r, int s, int sh, int sw, int ph, int pw, int dh, int dw) {
  ConvArgs a{};
  a.N = n, a.H = h, a.W = w, a.C = c, a.K = k, a.R = r, a.S = s;
  a.strideH = sh, a.strideW = sw, a.padH = ph, a.padW = pw, a.dilH = dh, a.dilW = dw, a.groups = 1;
  a.P = (h + 2 * ph - dh * (r - 1) - 1) / sh + 1;
  a.Q = (w + 2 * pw - dw * (s - 1) - 1) / sw + 1;
  a.M = n * a.P * a.Q;
  a.Kg = r * s * c;
  return a;
}

inline void checkIndexMath() {
  harness::Rng rng(7);
  const int shapes[][13] = {{2, 7, 9, 3, 5, 3, 3, 1, 1, 1, 1, 1, 1},  {1, 13, 11, 8, 4, 5, 5, 2, 2, 2, 2, 1, 1},
                            {3, 5, 6, 24, 7, 3, 3, 2, 1, 0, 1, 2, 2}, {1, 9, 9, 16, 3, 7, 1, 1, 1, 3, 0, 1, 1},
                            {2, 4, 4, 64, 9, 1, 1, 1, 1, 0, 0, 1, 1},  {1, 10, 8, 1, 2, 2, 3, 3, 2, 1, 2, 1, 3}};
  for (const auto& v : shapes) {
    const ConvArgs a = argsFor(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12]);
    const std::string tag = "shape c=" + std::to_string(a.C) + " r=" + std::to_string(a.R) + " s=" + std::to_string(a.S);
    // The incremental walk equals the divisions, for every step size the kernels use.
    for (int step : {1, 8, 16, 32, 64}) {
      bool ok = true;
      for (int start = 0; start < a.Kg && ok; start += 1 + (start % 7)) {
        KPos kp = kposAt(a, start);
        for (int kk = start; kk < a.Kg + 2 * step && ok; kk += step) {
          const KPos ref = kposAt(a, kk);
          ok = kp.kk == ref.kk && kp.r == ref.r && kp.s == ref.s && kp.c == ref.c;
          kposAdvance(a, kp, step);
        }
      }
      hostCheck("kposAdvance " + tag + " step=" + std::to_string(step), ok);
    }
    // inputOffset against the textbook formula, padding and row tails included.
    bool ok = true;
    for (int t = 0; t < 4000 && ok; ++t) {
      const int m = static_cast<int>((rng.next() * 0.5f + 0.5f) * (a.M + 3));
      const int kk = static_cast<int>((rng.next() * 0.5f + 0.5f) * (a.Kg + 2));
      const int64_t got = inputOffset(a, pixelOrigin(a, m), kposAt(a, kk));
      int64_t want = -1;
      if (m < a.M && kk < a.Kg) {
        const int img = m / (a.P * a.Q), pp = (m / a.Q) % a.P, qq = m % a.Q;
        const int r = kk / (a.S * a.C), s = (kk / a.C) % a.S, c = kk % a.C;
        const int ih = pp * a.strideH - a.padH + r * a.dilH, iw = qq * a.strideW - a.padW + s * a.dilW;
        if (ih >= 0 && ih < a.H && iw >= 0 && iw < a.W) want = ((int64_t(img) * a.H + ih) * a.W + iw) * a.C + c;
      }
      ok = got == want;
    }
    hostCheck("inputOffset " + tag, ok);
    if (a.R == 1 && a.S == 1 && a.padH == 0 && a.padW == 0) {
      bool ok1 = true;
      for (int m = 0; m <= a.M && ok1; ++m) {
        const int64_t want = m < a.M ? inputOffset(a, pixelOrigin(a, m), kposAt(a, 0)) : -1;
        ok1 = pixelOffset1x1(a, m) == want;
      }
      hostCheck("pixelOffset1x1 " + tag, ok1);
    }
  }
  bool ok = true;
  for (int kt = 1; kt <= 200 && ok; ++kt)
    for (int req = 1; req <= 24 && ok; ++req) {
      const SplitPlan sp = splitPlan(kt, req);
      ok = sp.splits >= 1 && sp.splits <= req && sp.perSplit * sp.splits >= kt && (sp.splits - 1) * sp.perSplit < kt;
    }
  hostCheck("splitPlan covers every k-tile with non-empty splits", ok);
}

//! One warp computing D(16×8 ×2) = A(16×16) · B(16×16)ᵀ from shared memory laid out as the kernels lay it out,
//! through ldmatrix.x4 (addresses from the kernels' lane formulas) and the PTX fragment tables of m16n8k16.
inline void checkFragments() {
  constexpr int pitch = 40;
  harness::Rng rng(11);
  std::vector<float> sA(16 * pitch), sB(16 * pitch);
  for (auto& v : sA) v = rng.next();
  for (auto& v : sB) v = rng.next();
  // ldmatrix.x4: lanes 8i..8i+7 give the row addresses of matrix i; lane l receives row l/4, elements 2(l%4)+{0,1}.
  auto ldsm = [&](const std::vector<float>& s, int (*rowOf)(int), int (*colOf)(int), int lane, int reg, int half) {
    const int src = 8 * reg + lane / 4;
    return s[rowOf(src) * pitch + colOf(src) + 2 * (lane % 4) + half];
  };
  double err = 0;
  for (int ntile = 0; ntile < 2; ++ntile) {
    float d[16][8] = {};
    // Assemble the matrices the mma sees from each lane's registers (PTX ISA tables), then multiply.
    float A[16][16], B[16][8];
    for (int lane = 0; lane < 32; ++lane) {
      const int g = lane / 4, t = lane % 4;
      for (int i = 0; i < 8; ++i) {  // a_i: row g + 8·((i/2)%2), col 2t + i%2 + 8·(i/4)
        A[g + 8 * ((i / 2) % 2)][2 * t + i % 2 + 8 * (i / 4)] = ldsm(sA, ldsmARow, ldsmACol, lane, i / 2, i % 2);
      }
      for (int i = 0; i < 4; ++i) {  // b_i: k = 2t + i%2 + 8·(i/2), n = g; registers 2·ntile, 2·ntile+1 of the x4
        B[2 * t + i % 2 + 8 * (i / 2)][g] = ldsm(sB, ldsmBRow, ldsmBCol, lane, 2 * ntile + i / 2, i % 2);
      }
    }
    for (int m = 0; m < 16; ++m)
      for (int n = 0; n < 8; ++n)
        for (int k = 0; k < 16; ++k) d[m][n] += A[m][k] * B[k][n];
    // Accumulator j of lane: row g + 8·(j/2), col 2t + j%2; the kernels' accRow/accCol must say the same.
    for (int lane = 0; lane < 32; ++lane)
      for (int j = 0; j < 4; ++j) {
        const int row = accRow(lane, j), col = accCol(lane, j);
        const int g = lane / 4, t = lane % 4;
        if (row != g + 8 * (j / 2) || col != 2 * t + j % 2) err += 1;
        double want = 0;  // row `row` of A times n-row `ntile*8 + col` of the n-major B block
        for (int k = 0; k < 16; ++k) want += double(sA[row * pitch + k]) * sB[(ntile * 8 + col) * pitch + k];
        err += std::fabs(want - d[row][col]);
      }
  }
  hostCheck("ldmatrix/mma fragment layouts compute A·Bᵀ", err < 1e-3, "err=" + std::to_string(err));
}

template <class T>
void checkTile(const char* name) {
  const std::string tag = name;
  // cp.async loader: every (row, chunk) of A and B exactly once.
  std::multiset<std::pair<int, int>> a, b;
  for (int tid = 0; tid < T::kThreads; ++tid) {
    for (int i = 0; i < T::kAIters; ++i) a.insert({tid / T::kChunks + i * T::kRowsPerPass, tid % T::kChunks});
    for (int i = 0; i < T::kBIters; ++i) b.insert({tid / T::kChunks + i * T::kRowsPerPass, tid % T::kChunks});
  }
  bool ok = a.size() == size_t(T::BM * T::kChunks) && b.size() == size_t(T::BN * T::kChunks);
  for (auto& e : a) ok = ok && a.count(e) == 1 && e.first < T::BM;
  for (auto& e : b) ok = ok && b.count(e) == 1 && e.first < T::BN;
  hostCheck(tag + " loader covers the tile once", ok);
  // Accumulators: every output of the tile once, each in the epilogue pass that stages it.
  std::multiset<std::pair<int, int>> c;
  bool passOk = true;
  for (int warp = 0; warp < T::WM * T::WN; ++warp) {
    const int wm = warp % T::WM, wn = warp / T::WM;
    const int pass = wm * T::TM / T::kEpiRows;
    for (int lane = 0; lane < 32; ++lane)
      for (int mi = 0; mi < T::MI; ++mi)
        for (int ni = 0; ni < T::NI; ++ni)
          for (int j = 0; j < 4; ++j) {
            const int row = wm * T::TM + mi * 16 + accRow(lane, j), col = wn * T::TN + ni * 8 + accCol(lane, j);
            c.insert({row, col});
            passOk = passOk && row - pass * T::kEpiRows >= 0 && row - pass * T::kEpiRows < T::kEpiRows;
          }
  }
  ok = c.size() == size_t(T::BM * T::BN) && passOk;
  for (auto& e : c) ok = ok && c.count(e) == 1 && e.first < T::BM && e.second < T::BN;
  hostCheck(tag + " accumulators cover the tile once", ok);
  // ldmatrix row addresses of each 8-lane group fall in 8 distinct 16-byte bank groups (no conflicts).
  bool banks = true;
  for (int grp = 0; grp < 4; ++grp) {
    std::set<int> ua, ub;
    for (int l = 8 * grp; l < 8 * grp + 8; ++l) {
      ua.insert(((ldsmARow(l) * T::kPitch + ldsmACol(l)) * 2 / 16) % 8);
      ub.insert(((ldsmBRow(l) * T::kPitch + ldsmBCol(l)) * 2 / 16) % 8);
    }
    banks = banks && ua.size() == 8 && ub.size() == 8;
  }
  hostCheck(tag + " ldmatrix conflict-free", banks);
  hostCheck(tag + " shared memory fits the pipeline and the epilogue",
            T::kSmemBytes >= T::STAGES * (T::BM + T::BN) * T::kPitch * 2 && T::kSmemBytes >= T::kEpiRows * T::kCPitch * 4);
}

template <class T>
void checkGenericTile(const char* name) {
  std::multiset<std::pair<int, int>> a, b;
  for (int tid = 0; tid < T::kThreads; ++tid) {
    for (int j = 0; j < T::kAElems; ++j) a.insert({tid % T::BM, (tid / T::BM) * T::kAElems + j});
    for (int j = 0; j < T::kBElems; ++j) b.insert({tid % T::BN, (tid / T::BN) * T::kBElems + j});
  }
  bool ok = a.size() == size_t(T::BM * T::BK) && b.size() == size_t(T::BN * T::BK);
  for (auto& e : a) ok = ok && a.count(e) == 1 && e.second < T::BK;
  for (auto& e : b) ok = ok && b.count(e) == 1 && e.second < T::BK;
  hostCheck(std::string(name) + " register loader covers the tile once", ok);
}

//! Runs every host check; the tiles listed are the ones conv_tc.cu and conv_tc_large.cu register.
inline void runHostChecks() {
  const int before = harness::failures();
  checkIndexMath();
  checkFragments();
  checkTile<TcTile<256, 128, 32, 4, 2, 3>>("tc_256x128x32_s3");
  checkTile<TcTile<128, 256, 32, 2, 4, 3>>("tc_128x256x32_s3");
  checkTile<TcTile<128, 128, 32, 2, 2, 4>>("tc_128x128x32_s4");
  checkTile<TcTile<128, 128, 64, 2, 2, 3>>("tc_128x128x64_s3");
  checkTile<TcTile<128, 64, 32, 2, 2, 4>>("tc_128x64x32_s4");
  checkTile<TcTile<64, 128, 32, 2, 2, 4>>("tc_64x128x32_s4");
  checkTile<TcTile<64, 64, 32, 2, 2, 4>>("tc_64x64x32_s4");
  checkTile<TcTile<128, 32, 32, 4, 1, 4>>("tc_128x32x32_s4");
  checkTile<TcTile<64, 64, 64, 2, 2, 3>>("tc_64x64x64_s3");
  checkTile<TcTile<64, 32, 64, 2, 2, 4>>("tc_64x32x64_s4");
  checkTile<TcTile<32, 64, 64, 2, 2, 4>>("tc_32x64x64_s4");
  checkTile<TcTile<128, 64, 32, 2, 2, 2>>("tcg_128x64x32");
  checkTile<TcTile<64, 64, 32, 2, 2, 2>>("tcg_64x64x32");
  checkGenericTile<TcTile<128, 64, 32, 2, 2, 2>>("tcg_128x64x32");
  checkGenericTile<TcTile<64, 64, 32, 2, 2, 2>>("tcg_64x64x32");
  std::printf("host checks: %s\n", harness::failures() == before ? "all passed" : "FAILURES above");
}

}  // namespace convtest
