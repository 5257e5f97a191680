// Tests of unary, fill, binary (every op, activation and broadcast pattern), copy (transposes, casts, slices, concat
// pieces, reversed strides) and pad (every mode).
#pragma once
#include "misc_util.h"

namespace misc {

using ntrt::kernels::Binary;
namespace k = ntrt::kernels;

inline void testUnary() {
  const int64_t sizes[] = {1, 7, 1000, 65536 + 3};
  for (DType t : {DType::F32, DType::F16}) {
    for (Act a : kActs) {
      for (int64_t n : sizes) {
        for (int shift : {0, 1}) {
          float al, be;
          actParams(a, al, be);
          auto x = asStored(randomVec(n, 11 + n, 3.f), t);
          std::vector<float> ref(n);
          for (int64_t i = 0; i < n; ++i) ref[i] = actRef(a, x[i], al, be);
          DevBuf dx, dy;
          upload(dx, x, t, shift);
          poison(dy, n, t, shift);
          bool inPlace = n == 1000;  // in place on one size
          k::unary(a, al, be, n, t, dx.ptr, inPlace ? dx.ptr : dy.ptr, nullptr);
          H_CUDA(cudaDeviceSynchronize());
          auto got = download(inPlace ? dx.ptr : dy.ptr, n, t);
          check(std::string("unary ") + actName(a) + " " + dtName(t) + " n=" + std::to_string(n) +
                             (shift ? " unaligned" : "") + (inPlace ? " in-place" : ""),
                         compare(got, ref, t), tol(t));
        }
      }
    }
  }
}

inline void testFill() {
  for (DType t : {DType::F32, DType::F16, DType::I32, DType::I64, DType::U8, DType::BOOL}) {
    for (int64_t n : {int64_t(1), int64_t(13), int64_t(4099)}) {
      for (int shift : {0, 1}) {
        float v = t == DType::BOOL ? 1.f : 42.f;
        DevBuf dy;
        poison(dy, n + 1, t, shift);
        k::fill(n, t, dy.ptr, v, nullptr);
        H_CUDA(cudaDeviceSynchronize());
        auto got = download(dy.ptr, n + 1, t);
        std::vector<float> ref(n, v);
        bool past = std::isnan(got[n]) || got[n] != v;  // the element after the range stays poisoned
        got.resize(n);
        check(std::string("fill ") + dtName(t) + " n=" + std::to_string(n) + (shift ? " unaligned" : ""),
                       past ? compare(got, ref, t) : INFINITY, tol(t));
      }
    }
  }
  expectError("fill negative count", "ERR_INVALID_ARGUMENT", [] { k::fill(-1, DType::F32, nullptr, 0, nullptr); });
}

inline float binaryRef(Binary op, float a, float b) {
  switch (op) {
    case Binary::Add:
      return a + b;
    case Binary::Sub:
      return a - b;
    case Binary::Mul:
      return a * b;
    case Binary::Div:
      return a / b;
    case Binary::Max:
      return std::max(a, b);
    case Binary::Min:
      return std::min(a, b);
    default:
      return std::pow(a, b);
  }
}

// a and b given by their own shapes, broadcast numpy-style to `out` (same rank) through zero strides.
inline void binaryCase(const std::string& label, Binary op, Act act, DType t, std::vector<int64_t> outDims,
                       std::vector<int64_t> aDims, std::vector<int64_t> bDims, int shift, uint64_t seed) {
  NdShape out = shapeOf(outDims), as = shapeOf(aDims), bs = shapeOf(bDims);
  NdStrides ca = contiguous(as), cb = contiguous(bs), sa{}, sb{};
  for (int d = 0; d < out.rank; ++d) {
    sa.s[d] = as.dims[d] == 1 ? 0 : ca.s[d];
    sb.s[d] = bs.dims[d] == 1 ? 0 : cb.s[d];
  }
  // Positive bases for Pow, divisors away from zero for Div.
  bool positive = op == Binary::Pow;
  auto a = asStored(randomVec(count(as), seed, positive ? 0.5f : 2.f, positive ? 1.f : 0.f), t);
  auto b = asStored(randomVec(count(bs), seed + 1, op == Binary::Div ? 0.5f : 2.f, op == Binary::Div ? 1.f : 0.f), t);
  float al, be;
  actParams(act, al, be);
  std::vector<float> ref(count(out));
  forEach(out, {&sa, &sb}, [&](int64_t i, const std::vector<int64_t>& o) {
    ref[i] = actRef(act, binaryRef(op, a[o[0]], b[o[1]]), al, be);
  });
  DevBuf da, db, dy;
  upload(da, a, t, shift);
  upload(db, b, t, shift);
  poison(dy, ref.size(), t, shift);
  k::binary(op, out, sa, da.ptr, sb, db.ptr, t, dy.ptr, act, al, be, nullptr);
  H_CUDA(cudaDeviceSynchronize());
  auto got = download(dy.ptr, ref.size(), t);
  static const char* ops[] = {"add", "sub", "mul", "div", "max", "min", "pow"};
  check("binary " + label + " " + ops[int(op)] + " " + actName(act) + " " + dtName(t) +
                     (shift ? " unaligned" : ""),
                 compare(got, ref, t), tol(t));
}

inline void testBinary() {
  const Binary ops[] = {Binary::Add, Binary::Sub, Binary::Mul, Binary::Div, Binary::Max, Binary::Min, Binary::Pow};
  int ai = 0;
  for (DType t : {DType::F32, DType::F16}) {
    for (Binary op : ops) {
      for (int shift : {0, 1}) {
        auto next = [&] { return kActs[(ai++) % std::size(kActs)]; };
        uint64_t s = 100 + int(op) * 10 + shift;
        binaryCase("same [2,3,5,7]", op, next(), t, {2, 3, 5, 7}, {2, 3, 5, 7}, {2, 3, 5, 7}, shift, s);
        binaryCase("same [70001]", op, next(), t, {70001}, {70001}, {70001}, shift, s + 1);
        binaryCase("channel [2,5,7,16]x[16]", op, next(), t, {2, 5, 7, 16}, {2, 5, 7, 16}, {1, 1, 1, 16}, shift, s + 2);
        binaryCase("channel [3,4,5,3]x[3]", op, next(), t, {3, 4, 5, 3}, {3, 4, 5, 3}, {1, 1, 1, 3}, shift, s + 3);
        binaryCase("channel-left [16]x[2,5,7,16]", op, next(), t, {2, 5, 7, 16}, {1, 1, 1, 16}, {2, 5, 7, 16}, shift,
                   s + 4);
        binaryCase("scalar [4,9,8]x[1]", op, next(), t, {4, 9, 8}, {4, 9, 8}, {1, 1, 1}, shift, s + 5);
        binaryCase("scalar-left [1]x[37]", op, next(), t, {37}, {1}, {37}, shift, s + 6);
        binaryCase("batch-scalar [3,4,4,8]x[3,1,1,1]", op, next(), t, {3, 4, 4, 8}, {3, 4, 4, 8}, {3, 1, 1, 1}, shift,
                   s + 7);
        binaryCase("SE [2,6,6,32]x[2,1,1,32]", op, next(), t, {2, 6, 6, 32}, {2, 6, 6, 32}, {2, 1, 1, 32}, shift,
                   s + 8);
        binaryCase("both [2,5,4,6,3]", op, next(), t, {2, 5, 4, 6, 3}, {2, 1, 4, 1, 3}, {1, 5, 1, 6, 3}, shift, s + 9);
        binaryCase("6-D", op, next(), t, {2, 3, 2, 4, 3, 5}, {2, 3, 1, 4, 1, 5}, {1, 3, 2, 1, 3, 5}, shift, s + 10);
        binaryCase("column [6,5]x[6,1]", op, next(), t, {6, 5}, {6, 5}, {6, 1}, shift, s + 11);
      }
    }
  }
  expectError("binary int32", "ERR_INVALID_ARGUMENT", [] {
    NdShape s = shapeOf({4});
    NdStrides st = contiguous(s);
    k::binary(Binary::Add, s, st, nullptr, st, nullptr, DType::I32, nullptr, Act::None, 0, 0, nullptr);
  });
}

// y[yOff + Σ i·ys] = x[xOff + Σ i·xs]: checked on the whole y buffer (untouched elements keep a sentinel).
inline void copyCase(const std::string& label, const NdShape& shape, DType inT, const std::vector<float>& x,
                     int64_t xOff, const NdStrides& xs, DType outT, size_t yCount, int64_t yOff, const NdStrides& ys) {
  std::vector<float> ref(yCount, storedAs(101.f, outT));  // a sentinel no input value equals (but for bool)
  forEach(shape, {&xs, &ys}, [&](int64_t, const std::vector<int64_t>& o) {
    float v = storedAs(x[xOff + o[0]], inT);  // e.g. a bool input holds 1, not the 37 it was made from
    if (outT == DType::F16) v = harness::roundHalf(v);
    if (outT == DType::I32 || outT == DType::I64 || outT == DType::U8 || outT == DType::I8) v = std::trunc(v);
    if (outT == DType::BOOL) v = v != 0.f;
    ref[yOff + o[1]] = v;
  });
  DevBuf dx, dy;
  upload(dx, x, inT);
  upload(dy, std::vector<float>(yCount, 101.f), outT);
  k::copy(shape, inT, dx.ptr, xOff, xs, outT, dy.ptr, yOff, ys, nullptr);
  H_CUDA(cudaDeviceSynchronize());
  auto got = download(dy.ptr, yCount, outT);
  bool exact = outT != DType::F32 && outT != DType::F16;
  double err = exact ? compare(got, ref, outT) : compareEach(got, ref);
  check("copy " + label + " " + dtName(inT) + "->" + dtName(outT), err, tol2(inT, outT));
}

// Permutation: y (contiguous, dims permuted) = transpose(x contiguous).
inline void permuteCase(const std::string& label, std::vector<int64_t> xDims, std::vector<int> perm, DType inT,
                        DType outT) {
  NdShape xsh = shapeOf(xDims);
  NdStrides xc = contiguous(xsh);
  std::vector<int64_t> yDims;
  for (int p : perm) yDims.push_back(xDims[p]);
  NdShape ysh = shapeOf(yDims);
  NdStrides xs{};  // strides of x in y's index order
  for (size_t d = 0; d < perm.size(); ++d) xs.s[d] = xc.s[perm[d]];
  auto x = asStored(randomVec(count(xsh), 500 + count(xsh)), inT);
  copyCase(label, ysh, inT, x, 0, xs, outT, count(ysh), 0, contiguous(ysh));
}

// NHWC data read as NCHW: the view [n, c, h, w] with strides {h·w·c, 1, w·c, c} (collapses to [n, c, h·w] with
// {c·h·w, 1, c}), copied into a contiguous NCHW y, as the engine does before flattening an NHWC activation.
inline void nhwcViewCase(int64_t n, int64_t c, int64_t h, int64_t w, DType inT, DType outT) {
  NdShape sh = shapeOf({n, c, h, w});
  NdStrides xs{};
  xs.s[0] = h * w * c, xs.s[1] = 1, xs.s[2] = w * c, xs.s[3] = c;
  auto x = asStored(randomVec(count(sh), 600 + count(sh)), inT);
  std::string label = "NHWC view as NCHW [" + std::to_string(n) + "," + std::to_string(c) + "," + std::to_string(h) +
                      "," + std::to_string(w) + "]";
  copyCase(label, sh, inT, x, 0, xs, outT, count(sh), 0, contiguous(sh));
}

// Large transposes: many 32x32 tiles with partial ones at both edges, batches past the 65535 grid.y limit.
inline void testCopyLarge() {
  nhwcViewCase(32, 64, 56, 56, DType::F16, DType::F32);  // the bandwidth table's shape
  nhwcViewCase(8, 64, 56, 56, DType::F16, DType::F16);
  for (DType o : {DType::F32, DType::F16}) nhwcViewCase(4, 130, 45, 47, DType::F32, o);
  nhwcViewCase(4, 130, 45, 47, DType::F16, DType::F32);
  nhwcViewCase(2, 1000, 37, 39, DType::F16, DType::F32);
  nhwcViewCase(3, 33, 1, 1000, DType::F16, DType::F32);
  permuteCase("batched 9x9 transpose [70000,9,9]", {70000, 9, 9}, {0, 2, 1}, DType::F16, DType::F32);
  permuteCase("2-D transpose 1031x2053", {1031, 2053}, {1, 0}, DType::F32, DType::F16);
  permuteCase("NCHW->NHWC c=3 [16,3,224,224]", {16, 3, 224, 224}, {0, 2, 3, 1}, DType::F32, DType::F16);
}

inline void testCopy() {
  for (DType t : {DType::F32, DType::F16}) {
    DType o = t == DType::F32 ? DType::F16 : DType::F32;
    // Contiguous, same type and converting.
    NdShape flat = shapeOf({3, 1001});
    auto xf = asStored(randomVec(3003, 1), t);
    copyCase("contiguous [3,1001]", flat, t, xf, 0, contiguous(flat), t, 3003, 0, contiguous(flat));
    copyCase("contiguous [3,1001]", flat, t, xf, 0, contiguous(flat), o, 3003, 0, contiguous(flat));
    // NCHW <-> NHWC, thin (3 channels) and tiled (64, 33 channels), with and without conversion.
    for (int64_t c : {3, 33, 64}) {
      std::string cs = std::to_string(c);
      permuteCase("NCHW->NHWC c=" + cs, {2, c, 37, 41}, {0, 2, 3, 1}, t, t);
      permuteCase("NCHW->NHWC c=" + cs, {2, c, 37, 41}, {0, 2, 3, 1}, t, o);
      permuteCase("NHWC->NCHW c=" + cs, {2, 37, 41, c}, {0, 3, 1, 2}, t, t);
      permuteCase("NHWC->NCHW c=" + cs, {2, 37, 41, c}, {0, 3, 1, 2}, t, o);
    }
    permuteCase("5-D permute (0,3,1,4,2)", {2, 3, 4, 5, 6}, {0, 3, 1, 4, 2}, t, t);
    permuteCase("5-D permute (4,2,0,3,1)", {3, 5, 4, 2, 7}, {4, 2, 0, 3, 1}, t, o);
    permuteCase("2-D transpose 100x300", {100, 300}, {1, 0}, t, t);
    permuteCase("6-D (0,2,1,3,5,4)", {2, 3, 4, 2, 3, 8}, {0, 2, 1, 3, 5, 4}, t, t);
    permuteCase("keep-inner (0,2,1,3)", {2, 3, 5, 8}, {0, 2, 1, 3}, t, t);
    permuteCase("keep-inner (1,0,2)", {3, 4, 6}, {1, 0, 2}, t, t);
    // Converting with the inner dim contiguous on both sides: runs of 8 (16 wide), of 4 (12 wide), none (6 wide).
    permuteCase("keep-inner converting (0,2,1,3)", {2, 3, 5, 16}, {0, 2, 1, 3}, t, o);
    permuteCase("keep-inner converting (0,2,1,3)", {2, 3, 5, 12}, {0, 2, 1, 3}, t, o);
    permuteCase("keep-inner converting (1,0,2)", {3, 4, 6}, {1, 0, 2}, t, o);
    // Rows of 16 from a pitch of 20 at offset 4: runs of 8 refused (pitch), runs of 4 aligned.
    {
      NdStrides xs{};
      xs.s[0] = 20, xs.s[1] = 1;
      auto x = asStored(randomVec(64, 10), t);
      copyCase("rows of 16, pitch 20, offset 4", shapeOf({3, 16}), t, x, 4, xs, o, 48, 0, contiguous(shapeOf({3, 16})));
    }
    // ViT's patch gather: [N, C, H, W] = [2, 3, 32, 32] into rows of 16x16 patches ordered (c, r, s), converting;
    // then the same from an odd offset (runs misaligned: the per-element path).
    for (int64_t off : {0, 1}) {
      NdShape sh = shapeOf({2, 2, 2, 3, 16, 16});
      NdStrides xs{};
      const int64_t st[6] = {3 * 32 * 32, 16 * 32, 16, 32 * 32, 32, 1};
      for (int d = 0; d < 6; ++d) xs.s[d] = st[d];
      auto x = asStored(randomVec(2 * 3 * 32 * 32 + 1, 9), t);
      copyCase("patch gather offset " + std::to_string(off), sh, t, x, off, xs, o, count(sh), 0, contiguous(sh));
    }
    // Slice x[1:3, 2:9, 3:11] of [4, 10, 12] into a contiguous [2, 7, 8].
    {
      NdShape xsh = shapeOf({4, 10, 12}), ysh = shapeOf({2, 7, 8});
      auto x = asStored(randomVec(count(xsh), 3), t);
      copyCase("slice", ysh, t, x, 1 * 120 + 2 * 12 + 3, contiguous(xsh), t, count(ysh), 0, contiguous(ysh));
    }
    // Concat along channels of NHWC: pieces of 24 and 5 channels into [2, 3, 4, 29] at channel offsets 0 and 24.
    for (int64_t c : {24, 5}) {
      NdShape piece = shapeOf({2, 3, 4, c});
      auto x = asStored(randomVec(count(piece), 4 + c), t);
      NdStrides ys = contiguous(shapeOf({2, 3, 4, 29}));
      copyCase("concat piece c=" + std::to_string(c), piece, t, x, 0, contiguous(piece), t, 2 * 3 * 4 * 29,
               c == 24 ? 0 : 24, ys);
    }
    // Reversed inner axis (negative stride).
    {
      NdShape sh = shapeOf({5, 9});
      auto x = asStored(randomVec(45, 6), t);
      NdStrides xs{};
      xs.s[0] = 9, xs.s[1] = -1;
      copyCase("reverse", sh, t, x, 8, xs, o, 45, 0, contiguous(sh));
    }
  }
  // Casts to and from integers and bool. Non-negative integral inputs < 100 so they survive every type exactly.
  {
    NdShape sh = shapeOf({3, 37});
    std::vector<float> ints(111);
    for (size_t i = 0; i < ints.size(); ++i) ints[i] = float((i * 37) % 100);
    auto fracs = randomVec(111, 8, 40.f, 50.f);
    NdStrides c = contiguous(sh);
    for (DType ft : {DType::F32, DType::F16}) {
      auto f = asStored(fracs, ft);
      for (DType it : {DType::I32, DType::I64, DType::U8, DType::I8, DType::BOOL}) {
        copyCase("cast [3,37]", sh, ft, f, 0, c, it, 111, 0, c);
        copyCase("cast [3,37]", sh, it, ints, 0, c, ft, 111, 0, c);
      }
    }
    copyCase("cast [3,37]", sh, DType::I32, ints, 0, c, DType::I64, 111, 0, c);
    copyCase("cast [3,37]", sh, DType::I64, ints, 0, c, DType::I32, 111, 0, c);
    copyCase("same-type [3,37]", sh, DType::U8, ints, 0, c, DType::U8, 111, 0, c);
    NdStrides tr{};
    tr.s[0] = 1, tr.s[1] = 3;
    copyCase("same-type transpose", sh, DType::I64, ints, 0, tr, DType::I64, 111, 0, c);
    expectError("copy u8->i32", "ERR_INVALID_ARGUMENT",
                [&] { k::copy(sh, DType::U8, nullptr, 0, c, DType::I32, nullptr, 0, c, nullptr); });
  }
  testCopyLarge();
}

inline int64_t padSource(int mode, int64_t o, int64_t before, int64_t n) {
  int64_t i = o - before;
  if (i >= 0 && i < n) return i;
  if (mode == 0) return -1;
  if (mode == 2) return i < 0 ? 0 : n - 1;
  if (mode == 3) return ((i % n) + n) % n;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

inline void padCase(const std::string& label, int mode, DType t, std::vector<int64_t> inDims,
                    std::vector<int64_t> before, std::vector<int64_t> after) {
  NdShape in = shapeOf(inDims);
  std::vector<int64_t> outDims(inDims.size());
  for (size_t d = 0; d < inDims.size(); ++d) outDims[d] = inDims[d] + before[d] + after[d];
  NdShape out = shapeOf(outDims);
  NdStrides ic = contiguous(in), oc = contiguous(out);
  auto x = asStored(randomVec(count(in), 9 + count(in)), t);
  const float value = 0.25f;
  std::vector<float> ref(count(out));
  forEach(out, {&oc}, [&](int64_t i, const std::vector<int64_t>&) {
    int64_t rem = i, src = 0;
    bool inside = true;
    for (int d = out.rank - 1; d >= 0; --d) {
      int64_t o = rem % out.dims[d];
      rem /= out.dims[d];
      int64_t s = padSource(mode, o, before[d], in.dims[d]);
      inside = inside && s >= 0;
      src += s * ic.s[d];
    }
    ref[i] = inside ? x[src] : value;
  });
  DevBuf dx, dy;
  upload(dx, x, t);
  poison(dy, ref.size(), t);
  k::pad(mode, in, out, before.data(), value, t, dx.ptr, dy.ptr, nullptr);
  H_CUDA(cudaDeviceSynchronize());
  static const char* modes[] = {"constant", "reflect", "edge", "wrap"};
  check("pad " + label + " " + modes[mode] + " " + dtName(t), compare(download(dy.ptr, ref.size(), t), ref, t),
                 tol(t));
}

inline void testPad() {
  for (DType t : {DType::F32, DType::F16}) {
    for (int mode = 0; mode < 4; ++mode) {
      padCase("NHWC spatial [2,5,6,16]", mode, t, {2, 5, 6, 16}, {0, 1, 2, 0}, {0, 2, 1, 0});
      padCase("NHWC spatial [1,4,4,3]", mode, t, {1, 4, 4, 3}, {0, 3, 1, 0}, {0, 1, 3, 0});
      padCase("all dims [3,4,5]", mode, t, {3, 4, 5}, {1, 2, 3}, {2, 1, 4});
      padCase("NCHW spatial [1,2,7,9]", mode, t, {1, 2, 7, 9}, {0, 0, 1, 1}, {0, 0, 1, 1});
    }
    padCase("crop [2,6,6,8]", 0, t, {2, 6, 6, 8}, {0, -1, 2, 0}, {0, -2, -1, 0});
  }
}

}  // namespace misc
