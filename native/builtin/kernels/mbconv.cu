// Host side of the fused inverted-residual kernel: which tiles apply to a block, validation and dispatch.
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "../../cuda/check.h"
#include "../../cuda/error.h"
#include "conv_registry.cuh"
#include "mbconv.cuh"

namespace ntrt::kernels {
namespace {

using mbimpl::kTiles;

std::string tileName(int tile) { return "mbconv_" + std::to_string(kTiles[tile][0]) + "x" + std::to_string(kTiles[tile][1]); }

int tileOf(const std::string& name) {
  for (int t = 0; t < 3; ++t)
    if (name == tileName(t)) return t;
  return -1;
}

int smemFor(const MBConvParams& p, int tile) {
  const int cp = (p.c + 15) / 16 * 16;
  if (p.ks == 3) return p.stride == 1 ? mbimpl::smemFor<3, 1>(tile, cp, p.k) : mbimpl::smemFor<3, 2>(tile, cp, p.k);
  return p.stride == 1 ? mbimpl::smemFor<5, 1>(tile, cp, p.k) : mbimpl::smemFor<5, 2>(tile, cp, p.k);
}

//! Positive sizes, consistent window and 32-bit indexable extents.
bool sane(const MBConvParams& p) {
  return p.n > 0 && p.h > 0 && p.w > 0 && p.c > 0 && p.e > 0 && p.k > 0 && p.p > 0 && p.q > 0 && p.ks > 0 &&
         p.stride > 0 && p.padH >= 0 && p.padW >= 0 && int64_t(p.n) * p.h * p.w < (int64_t(1) << 31) &&
         int64_t(p.n) * p.p * p.q < (int64_t(1) << 31);
}

bool applies(const MBConvParams& p, DType t, const convimpl::Device& d, int tile) {
  if (t != DType::F16 || d.cc < 75 || !sane(p)) return false;
  if ((p.ks != 3 && p.ks != 5) || (p.stride != 1 && p.stride != 2)) return false;
  if (p.c % 8 || p.e % 8 || p.k % 8 || p.k > 320) return false;
  return smemFor(p, tile) <= d.smemOptin;
}

//! Raises every fused kernel's shared-memory limit once per device, before any launch (and so before any capture).
void prepare(const convimpl::Device& d) {
  static std::mutex mu;
  static std::set<int> done;
  std::lock_guard<std::mutex> lock(mu);
  if (done.count(d.id)) return;
  std::vector<const void*> ks;
  mbimpl::kernelsFor<3, 1>(ks);
  mbimpl::kernelsFor<3, 2>(ks);
  mbimpl::kernelsFor<5, 1>(ks);
  mbimpl::kernelsFor<5, 2>(ks);
  for (const void* k : ks) convimpl::ensureSmem(k, d.smemOptin);
  done.insert(d.id);
}

bool aligned16(const void* ptr) { return (reinterpret_cast<uintptr_t>(ptr) & 15) == 0; }

}  // namespace

std::vector<Tactic> mbconvTactics(const MBConvParams& p, DType t) {
  const convimpl::Device& d = convimpl::currentDevice();
  std::vector<Tactic> out;
  for (int tile = 0; tile < 3; ++tile)
    if (applies(p, t, d, tile)) out.push_back({tileName(tile), 0});
  if (!out.empty()) prepare(d);
  return out;
}

void mbconv(const std::string& tactic, const MBConvParams& p, DType t, const MBConvTensors& io, cudaStream_t stream) {
  const int tile = tileOf(tactic);
  if (tile < 0) fail("ERR_INVALID_ARGUMENT", "Unknown inverted-residual tactic '" + tactic + "'");
  const convimpl::Device& d = convimpl::currentDevice();
  if (!applies(p, t, d, tile)) {
    fail("ERR_INVALID_ARGUMENT", "Inverted-residual tactic '" + tactic + "' cannot run this block on this device");
  }
  if (!io.x || !io.w1 || !io.wd || !io.w2 || !io.y) fail("ERR_INVALID_ARGUMENT", "Inverted-residual tactic '" + tactic + "' was given a null tensor");
  // 16-byte loads of x and the weights; every arena and weight offset is 256-byte aligned.
  if (!aligned16(io.x) || !aligned16(io.w1) || !aligned16(io.wd) || !aligned16(io.w2) || !aligned16(io.y) ||
      !aligned16(io.residual) || !aligned16(io.b1) || !aligned16(io.bd)) {
    fail("ERR_INVALID_ARGUMENT", "Inverted-residual tactic '" + tactic + "' needs 16-byte aligned tensors");
  }
  prepare(d);
  mbimpl::MbArgs a{};
  a.x = static_cast<const __half*>(io.x);
  a.w1 = static_cast<const __half*>(io.w1);
  a.b1 = io.b1;
  a.wd = static_cast<const __half*>(io.wd);
  a.bd = io.bd;
  a.w2 = static_cast<const __half*>(io.w2);
  a.b2 = io.b2;
  a.residual = static_cast<const __half*>(io.residual);
  a.y = static_cast<__half*>(io.y);
  a.n = p.n, a.h = p.h, a.w = p.w, a.c = p.c, a.e = p.e, a.k = p.k, a.p = p.p, a.q = p.q, a.padH = p.padH, a.padW = p.padW;
  a.cp = (p.c + 15) / 16 * 16;
  a.act1 = mbimpl::stageAct(p.act1, p.alpha1, p.beta1);
  a.act2 = mbimpl::stageAct(p.act2, p.alpha2, p.beta2);
  a.act3 = mbimpl::stageAct(p.act3, p.alpha3, p.beta3);
  bool ok;
  if (p.ks == 3) ok = p.stride == 1 ? mbimpl::launchMbconv<3, 1>(a, tile, d.smemOptin, stream) : mbimpl::launchMbconv<3, 2>(a, tile, d.smemOptin, stream);
  else ok = p.stride == 1 ? mbimpl::launchMbconv<5, 1>(a, tile, d.smemOptin, stream) : mbimpl::launchMbconv<5, 2>(a, tile, d.smemOptin, stream);
  if (!ok) fail("ERR_INVALID_ARGUMENT", "Inverted-residual tactic '" + tactic + "' has no kernel for this block");
  CUDA_CHECK_LAUNCH();
}

}  // namespace ntrt::kernels
