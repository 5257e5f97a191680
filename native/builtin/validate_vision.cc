// Validator rules of the vision layers: resize, deconv, argmax, topk and the NMS stage, matching what executor.cc
// passes kernels/resize.cu, deconv.cu, select.cu and nms.cu (their own argument checks are repeated here, so a plan is
// refused before anything is allocated).
#include "validate_rules.h"

namespace ntrt::builtin::validation {
namespace {

constexpr int64_t M = kInt32Max;
constexpr int64_t kMaxExtent = int64_t(1) << 40;

void checkResize(const LayerCheck& c) {
  const int64_t n = c.mul(c.integer("n", 0, M), c.scale());
  const int64_t h = c.integer("h", 1, M), w = c.integer("w", 1, M), ch = c.integer("c", 0, M);
  const int64_t p = c.integer("p", 0, M), q = c.integer("q", 0, M), taps = c.integer("taps", 1, 4);
  const int x = c.in(0), tab = c.in(1), y = c.out();
  const bool nchw = c.integerOr("nchw", 0, 0, 1) != 0;
  c.floatType(x, "input");
  // kernels::resizeToNchw may also write float32 from float16 input.
  if (!(nchw && c.dtype(y) == DType::F32)) c.dtypeIs(y, c.dtype(x), "output");
  c.dtypeIs(tab, DType::F32, "taps");
  // ResizeArgs are int: the batch-scaled n, and the tap table's offsets (2·p·taps, q·taps) computed in int.
  if (n > M || c.mul(c.mul(2, taps), c.add(p, q)) > M) c.fail("is too large for 32-bit indexing");
  // The taps' indexes are data: the kernel clamps each into [0, h) and [0, w), so the whole image is the bound.
  c.contiguous(x, c.mul(c.mul(c.mul(n, h), w), ch), "input");
  c.contiguous(tab, c.mul(c.mul(2, taps), c.add(p, q)), "taps");
  c.contiguous(y, c.mul(c.mul(c.mul(n, p), q), ch), "output");
}

void checkDeconv(const LayerCheck& c) {
  const int64_t n = c.mul(c.integer("n", 0, M), c.scale());
  const int64_t h = c.integer("h", 1, M), w = c.integer("w", 1, M), ch = c.integer("c", 1, M), k = c.integer("k", 1, M);
  const int64_t r = c.integer("r", 1, M), s = c.integer("s", 1, M), p = c.integer("p", 0, M), q = c.integer("q", 0, M);
  c.integer("sh", 1, M), c.integer("sw", 1, M), c.integer("ph", 0, M), c.integer("pw", 0, M);
  c.integer("dh", 1, M), c.integer("dw", 1, M);
  const int64_t g = c.integer("g", 1, M);
  if (ch % g || k % g) c.fail("has groups that do not divide the channels");
  // The kernel's int32 indexing of pixels and elements.
  if (c.mul(c.mul(c.mul(n, p), q), k) > M || c.mul(c.mul(c.mul(n, h), w), ch) > M) c.fail("is too large for 32-bit indexing");
  const int x = c.in(0), wt = c.in(1), bias = c.in(2), y = c.out();
  c.floatType(x, "input");
  c.dtypeIs(wt, c.dtype(x), "weights");
  c.dtypeIs(y, c.dtype(x), "output");
  c.dtypeIs(bias, DType::F32, "bias");
  c.contiguous(x, c.mul(c.mul(c.mul(n, h), w), ch), "input");
  c.contiguous(wt, c.mul(c.mul(c.mul(k, r), s), ch / g), "weights");
  if (bias >= 0) c.contiguous(bias, k, "bias");
  c.contiguous(y, c.mul(c.mul(c.mul(n, p), q), k), "output");
}

void checkArgMax(const LayerCheck& c) {
  const int64_t outer = c.mul(c.integer("outer", 0, kMaxExtent), c.scale());
  const int64_t len = c.integer("len", 1, kMaxExtent), inner = c.integer("inner", 0, kMaxExtent);
  c.integer("max", 0, 1), c.integerOr("last", 0, 0, 1);
  c.floatType(c.in(0), "input");
  c.dtypeIs(c.out(), DType::I64, "output");
  c.contiguous(c.in(0), c.mul(c.mul(outer, len), inner), "input");
  c.contiguous(c.out(), c.mul(outer, inner), "output");
}

void checkTopK(const LayerCheck& c) {
  const int64_t outer = c.mul(c.integer("outer", 0, kMaxExtent), c.scale());
  const int64_t len = c.integer("len", 1, M), inner = c.integer("inner", 0, kMaxExtent);
  const int64_t k = c.integer("k", 0, len);
  c.integer("largest", 0, 1);
  c.floatType(c.in(0), "input");
  c.dtypeIs(c.out(0), c.dtype(c.in(0)), "values");
  c.dtypeIs(c.out(1), DType::I64, "indices");
  c.contiguous(c.in(0), c.mul(c.mul(outer, len), inner), "input");
  c.contiguous(c.out(0), c.mul(c.mul(outer, k), inner), "values");
  c.contiguous(c.out(1), c.mul(c.mul(outer, k), inner), "indices");
}

//! Whether tensors a and b share bytes (same region; batched tensors sit at offset · capacity, so disjoint offset
//! ranges stay disjoint at every batch).
bool overlaps(const LayerCheck& c, int a, int b) {
  const TensorDesc& x = c.program().tensors[a];
  const TensorDesc& y = c.program().tensors[b];
  if (x.loc != y.loc || x.batched != y.batched || x.bytes == 0 || y.bytes == 0) return false;
  return x.offset < y.offset + y.bytes && y.offset < x.offset + x.bytes;
}

void checkNms(const LayerCheck& c) {
  const int64_t b = c.mul(c.integer("b", 0, M), c.scale());
  const int64_t n = c.integer("n", 0, M), cls = c.integer("c", 1, M), k = c.integer("k", 1, 1024);  // kNmsMaxOutput
  c.integer("fmt", 0, 1);
  const bool agnostic = c.integer("agnostic", 0, 1) != 0;
  c.real("score", 0), c.real("iou", 0.5);
  if (c.mul(n, cls) >= (int64_t(1) << 32) || b > M) c.fail("has too many candidates");
  for (int j = 0; j < 3; ++j) c.dtypeIs(c.in(j), DType::F32, j == 0 ? "boxes" : j == 1 ? "scores" : "anchors");
  const DType want[5] = {DType::I32, DType::F32, DType::F32, DType::I32, DType::I64};
  const char* role[5] = {"count", "boxes out", "scores out", "classes out", "scratch"};
  for (int j = 0; j < 5; ++j) c.dtypeIs(c.out(j), want[j], role[j]);
  c.contiguous(c.in(0), c.mul(c.mul(b, n), 4), "boxes");
  c.contiguous(c.in(1), c.mul(c.mul(b, n), cls), "scores");
  if (c.in(2) >= 0) c.contiguous(c.in(2), c.mul(n, 4), "anchors");
  c.contiguous(c.out(0), b, "count");
  c.contiguous(c.out(1), c.mul(c.mul(b, k), 4), "boxes out");
  c.contiguous(c.out(2), c.mul(b, k), "scores out");
  c.contiguous(c.out(3), c.mul(b, k), "classes out");
  // kernels/nms.cu nmsScratchPerImage: a counter and one key per candidate pair.
  c.contiguous(c.out(4), c.mul(b, c.add(1, agnostic ? n : c.mul(n, cls))), "scratch");
  // The selection reads each image's counter and keys from the scratch and indexes the boxes and scores with them,
  // while other images' blocks already write their outputs: an output sharing the scratch's bytes would turn into
  // candidate indexes outside the boxes.
  for (int j = 0; j < 4; ++j) {
    if (overlaps(c, c.out(4), c.out(j))) c.fail(std::string("has its scratch overlapping its ") + role[j]);
  }
}

}  // namespace

std::vector<OpRule> visionRules() {
  return {
      {Op::Resize, {{"x", true}, {"taps", true}}, 1, &checkResize, nullptr},
      {Op::Deconv, {{"x", true}, {"w", true}, {"bias", false}}, 1, &checkDeconv, nullptr},
      {Op::ArgMax, {{"x", true}}, 1, &checkArgMax, nullptr},
      {Op::TopK, {{"x", true}}, 2, &checkTopK, nullptr},
      {Op::Nms, {{"boxes", true}, {"scores", true}, {"anchors", false}}, 5, &checkNms, nullptr},
  };
}

}  // namespace ntrt::builtin::validation
