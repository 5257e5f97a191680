#include "executor.h"

#include <algorithm>
#include <cmath>

#include "../cuda/check.h"
#include "../cuda/error.h"
#include "layers_nd.h"
#include "sources/sources.h"
#include "validate_rules.h"

static_assert(ntrt::builtin::validation::kMaxAct == ntrt::kernels::kMaxAct, "the plan validator's activation range");

namespace ntrt::builtin {
namespace {

[[noreturn]] void corrupt(const LayerDesc& l, const std::string& what) {
  fail("ERR_PLAN_CORRUPT", "Corrupt builtin program: layer '" + l.name + "' " + what);
}

kernels::NdShape shapeOf(const LayerDesc& l, const std::vector<double>& v) {
  kernels::NdShape s{};
  if (v.empty() || v.size() > static_cast<size_t>(kernels::kMaxRank)) corrupt(l, "has a bad rank");
  s.rank = static_cast<int>(v.size());
  for (int i = 0; i < s.rank; ++i) s.dims[i] = static_cast<int64_t>(v[i]);
  return s;
}

kernels::NdStrides stridesOf(const LayerDesc& l, const std::vector<double>& v, int rank) {
  kernels::NdStrides s{};
  if (static_cast<int>(v.size()) != rank) corrupt(l, "has strides of the wrong rank");
  for (int i = 0; i < rank; ++i) s.s[i] = static_cast<int64_t>(v[i]);
  return s;
}

}  // namespace

Executor::Executor(ProgramDesc program, Stage stage) : prog_(std::move(program)) {
  // A program with a dynamic dim runs as the plain program at one value of it (ProgramDesc::atDim).
  if (prog_.hasDim) fail("ERR_PLAN_CORRUPT", "An executor takes a program evaluated at one value of its dynamic dim");
  // Every access of every layer is checked (validate.cc) before anything is allocated or launched.
  validateProgram(prog_, stage);
  int slots = 0;
  for (const LayerDesc& l : prog_.layers) affineSlot_.push_back(l.perBatch.empty() ? -1 : slots++);
}

namespace {

//! The three conv tactics of a chain tactic; ERR_PLAN_MISMATCH when malformed.
std::vector<std::string> chainParts(const LayerDesc& l, const std::string& tactic) {
  std::vector<std::string> parts;
  if (!chainTacticParts(tactic, parts)) fail("ERR_PLAN_MISMATCH", "Layer '" + l.name + "' has a malformed chain tactic '" + tactic + "'");
  return parts;
}

}  // namespace

kernels::ConvParams Executor::convParams(const LayerDesc& l, int batch) const {
  kernels::ConvParams c{};
  c.n = l.i("n") * (l.batched ? batch : 1);
  c.h = l.i("h");
  c.w = l.i("w");
  c.c = l.i("c");
  c.k = l.i("k");
  c.r = l.i("r");
  c.s = l.i("s");
  c.p = l.i("p");
  c.q = l.i("q");
  c.strideH = l.i("sh");
  c.strideW = l.i("sw");
  c.padH = l.i("ph");
  c.padW = l.i("pw");
  c.dilH = l.i("dh");
  c.dilW = l.i("dw");
  c.groups = l.i("g");
  return c;
}

Executor::Held Executor::evaluatedAt(int batch) const {
  // Outside 1..maxBatch the validator's two-end check says nothing about a layer's accesses.
  NTRT_REQUIRE(batch >= 1 && batch <= prog_.maxBatch, "ERR_BATCH_OUT_OF_RANGE",
               "Batch " + std::to_string(batch) + " is outside the program's range 1.." + std::to_string(prog_.maxBatch));
  std::lock_guard<std::mutex> lock(cacheMu_);
  auto hit = std::find_if(cache_.begin(), cache_.end(), [&](const Held& e) { return e->batch == batch; });
  if (hit != cache_.end()) {
    std::rotate(cache_.begin(), hit, hit + 1);  // most recently used first
    return cache_.front();
  }
  auto e = std::make_shared<Evaluated>();
  e->batch = batch;
  for (size_t i = 0; i < prog_.layers.size(); ++i)
    if (affineSlot_[i] >= 0) e->layers.push_back(prog_.layers[i].at(batch));
  // Callers hold evicted entries as long as they use them; the cache only bounds what it keeps.
  if (cache_.size() >= kCachedBatches) cache_.pop_back();
  cache_.insert(cache_.begin(), std::move(e));
  return cache_.front();
}

const LayerDesc& Executor::layerAt(size_t i, int batch, Held& hold) const {
  const LayerDesc& l = prog_.layers.at(i);
  if (affineSlot_[i] < 0) return l;
  if (!hold || hold->batch != batch) hold = evaluatedAt(batch);
  return hold->layers[static_cast<size_t>(affineSlot_[i])];
}

kernels::MBConvParams Executor::mbParams(const LayerDesc& l, int batch) const {
  kernels::MBConvParams m{};
  m.n = l.i("n") * (l.batched ? batch : 1);
  m.h = l.i("h");
  m.w = l.i("w");
  m.c = l.i("c");
  m.e = l.i("e");
  m.k = l.i("k");
  m.ks = l.i("ks");
  m.stride = l.i("st");
  m.padH = l.i("ph");
  m.padW = l.i("pw");
  m.p = l.i("p");
  m.q = l.i("q");
  m.act1 = static_cast<kernels::Act>(l.i("act1"));
  m.act2 = static_cast<kernels::Act>(l.i("act2"));
  m.act3 = static_cast<kernels::Act>(l.i("act"));
  m.alpha1 = static_cast<float>(l.num("alpha1", 0));
  m.beta1 = static_cast<float>(l.num("beta1", 0));
  m.alpha2 = static_cast<float>(l.num("alpha2", 0));
  m.beta2 = static_cast<float>(l.num("beta2", 0));
  m.alpha3 = static_cast<float>(l.num("alpha", 0));
  m.beta3 = static_cast<float>(l.num("beta", 0));
  return m;
}

kernels::ConvParams Executor::stageParams(const LayerDesc& l, int stage, int batch, kernels::Epilogue& ep) const {
  const kernels::MBConvParams m = mbParams(l, batch);
  kernels::ConvParams c{};
  c.n = m.n;
  c.r = c.s = 1;
  c.strideH = c.strideW = c.dilH = c.dilW = c.groups = 1;
  c.padH = c.padW = 0;
  ep = kernels::Epilogue{};
  if (stage == 0) {
    c.h = c.p = m.h, c.w = c.q = m.w, c.c = m.c, c.k = m.e;
    ep.act = m.act1, ep.alpha = m.alpha1, ep.beta = m.beta1;
  } else if (stage == 1) {
    c.h = m.h, c.w = m.w, c.c = c.k = c.groups = m.e, c.r = c.s = m.ks, c.p = m.p, c.q = m.q;
    c.strideH = c.strideW = m.stride, c.padH = m.padH, c.padW = m.padW;
    ep.act = m.act2, ep.alpha = m.alpha2, ep.beta = m.beta2;
  } else {
    c.h = c.p = m.p, c.w = c.q = m.q, c.c = m.e, c.k = m.k;
    ep.act = m.act3, ep.alpha = m.alpha3, ep.beta = m.beta3;
  }
  return c;
}

std::vector<Candidate> Executor::stageCandidates(size_t i, int stage, int batch) const {
  Held hold;
  const LayerDesc& l = layerAt(i, batch, hold);
  if (stage == 0 && identityExpand(l)) return {{kSkipStage, 0}};
  kernels::Epilogue ep;
  const kernels::ConvParams p = stageParams(l, stage, batch, ep);
  const DType t = prog_.tensors[l.inputs[0]].dtype;
  std::vector<Candidate> out;
  for (const kernels::Tactic& k : kernels::convTactics(p, t)) out.push_back({k.name, k.workspace});
  for (const kernels::Tactic& k : sources::externalConvTactics(p, t)) out.push_back({k.name, k.workspace});
  return out;
}

size_t Executor::convWorkspace(const LayerDesc& l, const kernels::ConvParams& p, const std::string& tactic) const {
  DType t = prog_.tensors[l.inputs[0]].dtype;
  // External tactics name everything needed to re-create them (a cuBLASLt algo is serialized in the name).
  if (sources::isExternalTactic(tactic)) return sources::externalConvWorkspace(tactic, p, t);
  const int64_t ws = kernels::convTacticWorkspace(tactic, p, t);
  if (ws >= 0) return static_cast<size_t>(ws);
  fail("ERR_PLAN_MISMATCH", "Layer '" + l.name + "' uses tactic '" + tactic + "', which this GPU or build does not offer; rebuild the engine");
}

void Executor::runConv(const kernels::ConvParams& p, DType t, const std::string& tactic, const void* x, const void* w,
                       void* y, const kernels::Epilogue& ep, const Bindings&, void* ws, size_t wsBytes,
                       cudaStream_t s) const {
  if (sources::isExternalTactic(tactic)) {
    sources::externalConv(tactic, p, t, x, w, y, ep, ws, wsBytes, s);
  } else {
    kernels::conv(tactic, p, t, x, w, y, ep, ws, wsBytes, s);
  }
}

void Executor::enqueueStage(size_t i, int stage, int batch, const Bindings& b, cudaStream_t s, const std::string& tactic) const {
  Held hold;
  enqueueStage(i, stage, batch, b, s, tactic, hold);
}

void Executor::enqueueStage(size_t i, int stage, int batch, const Bindings& b, cudaStream_t s, const std::string& tactic,
                            Held& hold) const {
  const LayerDesc& l = layerAt(i, batch, hold);
  if (l.op != Op::MBConv || stage < 0 || stage > 2) fail("ERR_INTERNAL", "enqueueStage on a layer without stages");
  const bool id1 = identityExpand(l);
  if (stage == 0 && id1) {
    if (tactic != kSkipStage) fail("ERR_PLAN_MISMATCH", "Layer '" + l.name + "' runs its identity expand with '" + tactic + "'");
    return;  // the depthwise stage reads x
  }
  void* eBuf = address(l.outputs[1], b);
  void* dBuf = address(l.outputs[2], b);
  auto in = [&](size_t k) -> const void* { return address(l.inputs[k], b); };
  kernels::Epilogue ep;
  const kernels::ConvParams p = stageParams(l, stage, batch, ep);
  ep.bias = static_cast<const float*>(in(2 + 2 * stage));
  ep.biasHalf = halfBias(l.inputs.size() > size_t(2 + 2 * stage) ? l.inputs[2 + 2 * stage] : -1, b);
  ep.residual = stage == 2 ? in(7) : nullptr;
  const void* x = stage == 0 || (stage == 1 && id1) ? in(0) : stage == 1 ? eBuf : dBuf;
  void* y = stage == 0 ? eBuf : stage == 1 ? dBuf : address(l.outputs[0], b);
  runConv(p, prog_.tensors[l.inputs[0]].dtype, tactic, x, in(1 + 2 * stage), y, ep, b, b.workspace, b.workspaceBytes, s);
}

kernels::DeconvParams Executor::deconvParams(const LayerDesc& l, int batch) const {
  kernels::DeconvParams d{};
  d.n = l.i("n") * (l.batched ? batch : 1);
  d.h = l.i("h");
  d.w = l.i("w");
  d.c = l.i("c");
  d.k = l.i("k");
  d.r = l.i("r");
  d.s = l.i("s");
  d.p = l.i("p");
  d.q = l.i("q");
  d.strideH = l.i("sh");
  d.strideW = l.i("sw");
  d.padH = l.i("ph");
  d.padW = l.i("pw");
  d.dilH = l.i("dh");
  d.dilW = l.i("dw");
  d.groups = l.i("g");
  return d;
}

kernels::NmsParams Executor::nmsParams(const LayerDesc& l, int batch) const {
  kernels::NmsParams p{};
  p.batch = l.i("b") * (l.batched ? batch : 1);
  p.n = l.i("n");
  p.c = l.i("c");
  p.k = l.i("k");
  p.cxcywh = l.i("fmt") != 0;
  p.agnostic = l.i("agnostic") != 0;
  p.scoreThreshold = static_cast<float>(l.num("score"));
  p.iouThreshold = static_cast<float>(l.num("iou"));
  return p;
}

char* Executor::address(int id, const Bindings& b) const {
  if (id < 0) return nullptr;
  const TensorDesc& t = prog_.tensors[id];
  if (t.loc == Loc::Weights) return const_cast<char*>(b.weights) + t.offset;
  if (!t.batched) return b.arena + t.offset;
  return b.arena + prog_.fixedArenaBytes + t.offset * b.capacity;
}

const void* Executor::halfBias(int id, const Bindings& b) const {
  return b.halfBiases && id >= 0 ? b.halfBiases->at(id, prog_.tensors[id]) : nullptr;
}

int64_t Executor::bytesAt(int id, int batch) const {
  const TensorDesc& t = prog_.tensors[id];
  return t.loc == Loc::Arena && t.batched ? t.bytes * batch : t.bytes;
}

int64_t Executor::arenaBytes(int capacity) const { return prog_.fixedArenaBytes + prog_.batchedArenaBytes * capacity; }

std::vector<Candidate> Executor::candidates(size_t i, int batch) const {
  Held hold;
  const LayerDesc& l = layerAt(i, batch, hold);
  std::vector<Candidate> out;
  if (l.op == Op::Attention) {
    for (const kernels::Tactic& k : kernels::attentionTactics(attentionDesc(l, batch), prog_.tensors[l.inputs[0]].dtype))
      out.push_back({k.name, k.workspace});
    return out;
  }
  if (l.op == Op::MBConv) {
    // The fused kernels; the builder adds the chain tactic it composes from stageCandidates.
    for (const kernels::Tactic& k : kernels::mbconvTactics(mbParams(l, batch), prog_.tensors[l.inputs[0]].dtype)) {
      out.push_back({k.name, k.workspace});
    }
    return out;
  }
  if (l.op != Op::Conv) {
    out.push_back({"default", 0});
    return out;
  }
  kernels::ConvParams p = convParams(l, batch);
  DType t = prog_.tensors[l.inputs[0]].dtype;
  for (const kernels::Tactic& k : kernels::convTactics(p, t)) out.push_back({k.name, k.workspace});
  for (const kernels::Tactic& k : sources::externalConvTactics(p, t)) out.push_back({k.name, k.workspace});
  return out;
}

size_t Executor::workspaceFor(size_t i, const std::string& tactic, int batch) const {
  Held hold;
  const LayerDesc& l = layerAt(i, batch, hold);
  if (l.op == Op::Attention) {
    for (const kernels::Tactic& k : kernels::attentionTactics(attentionDesc(l, batch), prog_.tensors[l.inputs[0]].dtype))
      if (k.name == tactic) return k.workspace;
    fail("ERR_PLAN_MISMATCH", "Layer '" + l.name + "' uses tactic '" + tactic + "', which this build does not offer; rebuild the engine");
  }
  if (l.op == Op::MBConv) {
    if (isChainTactic(tactic)) {
      const std::vector<std::string> parts = chainParts(l, tactic);
      size_t stages = 0;
      for (int j = identityExpand(l) ? 1 : 0; j < 3; ++j) {
        kernels::Epilogue ep;
        stages = std::max(stages, convWorkspace(l, stageParams(l, j, batch, ep), parts[j]));
      }
      return stages;
    }
    for (const Candidate& c : candidates(i, batch)) {
      if (c.tactic == tactic) return c.workspace;
    }
    fail("ERR_PLAN_MISMATCH", "Layer '" + l.name + "' uses tactic '" + tactic + "', which this GPU or build does not offer; rebuild the engine");
  }
  if (l.op != Op::Conv) return 0;
  return convWorkspace(l, convParams(l, batch), tactic);
}

size_t Executor::workspaceBytes(int capacity) const {
  size_t ws = 0;
  for (size_t i = 0; i < prog_.layers.size(); ++i) {
    int below = 0;  // batches above the previous bucket run this bucket's tactic
    for (const TacticChoice& c : prog_.layers[i].tactics) {
      if (below >= capacity) break;
      ws = std::max(ws, workspaceFor(i, c.name, std::min(std::max(c.upTo, below + 1), capacity)));
      below = c.upTo;
    }
  }
  return ws;
}

void Executor::prepare(int batch) const {
  Held hold;
  for (size_t i = 0; i < prog_.layers.size(); ++i) {
    if (prog_.layers[i].op == Op::Nms) kernels::nmsPrepare();  // raises its shared-memory limit, before any capture
    if (prog_.layers[i].op != Op::Conv && prog_.layers[i].op != Op::MBConv) continue;  // nothing else to prepare
    const LayerDesc& l = layerAt(i, batch, hold);
    const DType t = prog_.tensors[l.inputs[0]].dtype;
    if (l.op == Op::Conv && sources::isExternalTactic(l.tacticFor(batch))) {
      sources::prepareExternalConv(l.tacticFor(batch), convParams(l, batch), t);
    } else if (l.op == Op::MBConv && isChainTactic(l.tacticFor(batch))) {
      const std::vector<std::string> parts = chainParts(l, l.tacticFor(batch));
      for (int j = 0; j < 3; ++j) {
        kernels::Epilogue ep;
        if (sources::isExternalTactic(parts[j])) sources::prepareExternalConv(parts[j], stageParams(l, j, batch, ep), t);
      }
    } else if (l.op == Op::MBConv) {
      kernels::mbconvTactics(mbParams(l, batch), t);  // raises the fused kernels' shared-memory limits
    }
  }
}

void Executor::setTactics(const std::vector<std::vector<TacticChoice>>& tactics) {
  if (tactics.size() != prog_.layers.size()) fail("ERR_INTERNAL", "tactic list does not match the layers");
  for (size_t i = 0; i < tactics.size(); ++i) prog_.layers[i].tactics = tactics[i];
  std::lock_guard<std::mutex> lock(cacheMu_);
  cache_.clear();  // the evaluated copies carry the old tactics
}

void Executor::enqueueLayer(size_t i, int batch, const Bindings& b, cudaStream_t s, const std::string& tacticOverride) const {
  Held hold;
  enqueueLayer(i, batch, b, s, tacticOverride, hold);
}

void Executor::enqueueLayer(size_t i, int batch, const Bindings& b, cudaStream_t s, const std::string& tacticOverride,
                            Held& hold) const {
  const LayerDesc& l = layerAt(i, batch, hold);
  auto in = [&](size_t k) -> const void* { return k < l.inputs.size() ? address(l.inputs[k], b) : nullptr; };
  void* out = address(l.outputs[0], b);
  auto dtypeOf = [&](int id) { return prog_.tensors[id].dtype; };
  const int scale = l.batched ? batch : 1;
  switch (l.op) {
    case Op::Conv: {
      const std::string& tactic = tacticOverride.empty() ? l.tacticFor(batch) : tacticOverride;
      kernels::ConvParams p = convParams(l, batch);
      kernels::Epilogue ep;
      ep.act = static_cast<kernels::Act>(l.i("act"));
      ep.alpha = static_cast<float>(l.num("alpha", 0));
      ep.beta = static_cast<float>(l.num("beta", 0));
      ep.bias = static_cast<const float*>(in(2));
      ep.biasHalf = halfBias(l.inputs.size() > 2 ? l.inputs[2] : -1, b);
      ep.residual = in(3);
      DType t = dtypeOf(l.inputs[0]);
      if (sources::isExternalTactic(tactic)) {
        sources::externalConv(tactic, p, t, in(0), in(1), out, ep, b.workspace, b.workspaceBytes, s);
      } else {
        kernels::conv(tactic, p, t, in(0), in(1), out, ep, b.workspace, b.workspaceBytes, s);
      }
      break;
    }
    case Op::MBConv: {
      const std::string& tactic = tacticOverride.empty() ? l.tacticFor(batch) : tacticOverride;
      if (isChainTactic(tactic)) {
        const std::vector<std::string> parts = chainParts(l, tactic);
        for (int j = 0; j < 3; ++j) enqueueStage(i, j, batch, b, s, parts[j], hold);
      } else {
        const kernels::MBConvTensors io{in(0), in(1), static_cast<const float*>(in(2)), in(3), static_cast<const float*>(in(4)),
                                        in(5), static_cast<const float*>(in(6)), in(7), out};
        kernels::mbconv(tactic, mbParams(l, batch), dtypeOf(l.inputs[0]), io, s);
      }
      break;
    }
    case Op::Pool: {
      kernels::PoolParams p{};
      p.n = l.i("n") * scale;
      p.h = l.i("h");
      p.w = l.i("w");
      p.c = l.i("c");
      p.r = l.i("r");
      p.s = l.i("s");
      p.p = l.i("p");
      p.q = l.i("q");
      p.strideH = l.i("sh");
      p.strideW = l.i("sw");
      p.padH = l.i("ph");
      p.padW = l.i("pw");
      p.max = l.i("max") != 0;
      p.countIncludePad = l.i("cip") != 0;
      kernels::pool(p, dtypeOf(l.inputs[0]), in(0), out, s);
      break;
    }
    case Op::Reduce:
      kernels::reduce(static_cast<kernels::Reduce>(l.i("mode")), static_cast<int64_t>(l.num("outer")) * scale,
                      static_cast<int64_t>(l.num("len")), static_cast<int64_t>(l.num("inner")), dtypeOf(l.inputs[0]),
                      in(0), dtypeOf(l.outputs[0]), out, s);
      break;
    case Op::Softmax:
      kernels::softmax(static_cast<int64_t>(l.num("outer")) * scale, static_cast<int64_t>(l.num("len")),
                       static_cast<int64_t>(l.num("inner")), l.i("log") != 0, dtypeOf(l.inputs[0]), in(0),
                       dtypeOf(l.outputs[0]), out, s);
      break;
    case Op::Binary: {
      kernels::NdShape shape = shapeOf(l, l.list("dims"));
      shape.dims[0] *= scale;
      if (dtypeOf(l.outputs[0]) == DType::I64 || dtypeOf(l.outputs[0]) == DType::I32) {
        kernels::binaryInt(static_cast<kernels::Binary>(l.i("op")), shape, stridesOf(l, l.list("sa"), shape.rank), in(0),
                           stridesOf(l, l.list("sb"), shape.rank), in(1), dtypeOf(l.outputs[0]), out, s);
        break;
      }
      kernels::binary(static_cast<kernels::Binary>(l.i("op")), shape, stridesOf(l, l.list("sa"), shape.rank), in(0),
                      stridesOf(l, l.list("sb"), shape.rank), in(1), dtypeOf(l.outputs[0]), out,
                      static_cast<kernels::Act>(l.i("act")), static_cast<float>(l.num("alpha", 0)),
                      static_cast<float>(l.num("beta", 0)), s);
      break;
    }
    case Op::Unary:
      kernels::unary(static_cast<kernels::Act>(l.i("act")), static_cast<float>(l.num("alpha", 0)),
                     static_cast<float>(l.num("beta", 0)), static_cast<int64_t>(l.num("n")) * scale,
                     dtypeOf(l.outputs[0]), in(0), out, s);
      break;
    case Op::Copy: {
      kernels::NdShape shape = shapeOf(l, l.list("dims"));
      shape.dims[0] *= scale;
      kernels::copy(shape, dtypeOf(l.inputs[0]), in(0), static_cast<int64_t>(l.num("xoff")),
                    stridesOf(l, l.list("xs"), shape.rank), dtypeOf(l.outputs[0]), out,
                    static_cast<int64_t>(l.num("yoff")), stridesOf(l, l.list("ys"), shape.rank), s);
      break;
    }
    case Op::Fill:
      if (l.params.count("step")) {
        kernels::range(static_cast<int64_t>(l.num("n")) * scale, dtypeOf(l.outputs[0]), out, l.num("value"), l.num("step"), s);
        break;
      }
      kernels::fill(static_cast<int64_t>(l.num("n")) * scale, dtypeOf(l.outputs[0]), out,
                    static_cast<float>(l.num("value")), s);
      break;
    case Op::Pad: {
      kernels::NdShape si = shapeOf(l, l.list("in")), so = shapeOf(l, l.list("out"));
      si.dims[0] *= scale;
      so.dims[0] *= scale;
      std::vector<int64_t> before;
      for (double d : l.list("before")) before.push_back(static_cast<int64_t>(d));
      kernels::pad(l.i("mode"), si, so, before.data(), static_cast<float>(l.num("value", 0)), dtypeOf(l.outputs[0]),
                   in(0), out, s);
      break;
    }
    case Op::MatMul:
      if (l.params.count("bd")) {
        kernels::matmul(matmulDesc(l, batch), dtypeOf(l.outputs[0]), in(0), in(1), out, s);
        break;
      }
      kernels::batchedMatmul(static_cast<int64_t>(l.num("bc")) * scale, l.i("m"), l.i("n"), l.i("k"),
                             dtypeOf(l.outputs[0]), in(0), static_cast<int64_t>(l.num("sa")), in(1),
                             static_cast<int64_t>(l.num("sb")), out, static_cast<int64_t>(l.num("sc")), s);
      break;
    case Op::LayerNorm:
      kernels::layerNorm(static_cast<int64_t>(l.num("rows")) * scale, l.i("cols"), dtypeOf(l.outputs[0]), in(0), in(3),
                         static_cast<const float*>(in(1)), static_cast<const float*>(in(2)),
                         static_cast<float>(l.num("eps")), out,
                         l.outputs.size() > 1 ? address(l.outputs[1], b) : nullptr, s);
      break;
    case Op::Gather:
      kernels::gather(static_cast<int64_t>(l.num("outer")) * scale, static_cast<int64_t>(l.num("len")),
                      static_cast<int64_t>(l.num("inner")), dtypeOf(l.outputs[0]), in(0),
                      static_cast<int64_t>(l.num("n")), dtypeOf(l.inputs[1]), in(1), out, nullptr, s);
      break;
    case Op::Compare: {
      kernels::NdShape shape = shapeOf(l, l.list("dims"));
      shape.dims[0] *= scale;
      kernels::compare(static_cast<kernels::Compare>(l.i("op")), shape, stridesOf(l, l.list("sa"), shape.rank), in(0),
                       stridesOf(l, l.list("sb"), shape.rank), in(1), dtypeOf(l.inputs[0]), out, s);
      break;
    }
    case Op::Predicate:
      kernels::predicate(static_cast<kernels::Predicate>(l.i("mode")), static_cast<int64_t>(l.num("n")) * scale,
                         dtypeOf(l.inputs[0]), in(0), out, s);
      break;
    case Op::Where: {
      kernels::NdShape shape = shapeOf(l, l.list("dims"));
      shape.dims[0] *= scale;
      kernels::where(shape, stridesOf(l, l.list("sc"), shape.rank), in(0), stridesOf(l, l.list("sa"), shape.rank),
                     in(1), stridesOf(l, l.list("sb"), shape.rank), in(2), dtypeOf(l.outputs[0]), out, s);
      break;
    }
    case Op::Attention: {
      const std::string& tactic = tacticOverride.empty() ? l.tacticFor(batch) : tacticOverride;
      const int maskId = l.inputs.size() > 3 ? l.inputs[3] : -1;
      // Q, K and V may be views into a larger tensor (the fused QKV projection): element offsets from its start.
      const size_t es = dtypeSize(dtypeOf(l.inputs[0]));
      auto at = [&](size_t k, const char* key) -> const void* {
        return static_cast<const char*>(in(k)) + static_cast<int64_t>(l.num(key, 0)) * es;
      };
      kernels::attention(tactic, attentionDesc(l, batch), dtypeOf(l.inputs[0]), at(0, "qo"), at(1, "ko"), at(2, "vo"),
                         maskId >= 0 ? dtypeOf(maskId) : DType::F32, in(3), out, b.workspace, b.workspaceBytes, s);
      break;
    }
    case Op::Resize:
      if (l.num("nchw", 0) != 0)
        kernels::resizeToNchw(l.i("n") * scale, l.i("h"), l.i("w"), l.i("c"), l.i("p"), l.i("q"), l.i("taps"),
                              dtypeOf(l.inputs[0]), in(0), static_cast<const float*>(in(1)), dtypeOf(l.outputs[0]), out, s);
      else
        kernels::resize(l.i("n") * scale, l.i("h"), l.i("w"), l.i("c"), l.i("p"), l.i("q"), l.i("taps"),
                        dtypeOf(l.inputs[0]), in(0), static_cast<const float*>(in(1)), out, s);
      break;
    case Op::Deconv:
      kernels::deconv(deconvParams(l, batch), dtypeOf(l.inputs[0]), in(0), in(1), static_cast<const float*>(in(2)),
                      out, s);
      break;
    case Op::ArgMax:
      kernels::argReduce(l.i("max") != 0, l.i("last") != 0, static_cast<int64_t>(l.num("outer")) * scale,
                         static_cast<int64_t>(l.num("len")), static_cast<int64_t>(l.num("inner")),
                         dtypeOf(l.inputs[0]), in(0), static_cast<int64_t*>(out), s);
      break;
    case Op::TopK:
      kernels::topk(l.i("largest") != 0, static_cast<int64_t>(l.num("outer")) * scale, static_cast<int64_t>(l.num("len")),
                    static_cast<int64_t>(l.num("inner")), l.i("k"), dtypeOf(l.inputs[0]), in(0), out,
                    reinterpret_cast<int64_t*>(address(l.outputs[1], b)), s);
      break;
    case Op::Nms: {
      auto o = [&](int j) { return address(l.outputs[j], b); };
      kernels::efficientNms(nmsParams(l, batch), static_cast<const float*>(in(0)), static_cast<const float*>(in(1)),
                            static_cast<const float*>(in(2)), reinterpret_cast<int32_t*>(o(0)), reinterpret_cast<float*>(o(1)),
                            reinterpret_cast<float*>(o(2)), reinterpret_cast<int32_t*>(o(3)), reinterpret_cast<int64_t*>(o(4)), s);
      break;
    }
  }
}

void Executor::enqueue(int batch, const Bindings& b, cudaStream_t s, const std::function<void(size_t)>& between) const {
  Held hold;  // one cache look-up for the whole pass
  for (size_t i = 0; i < prog_.layers.size(); ++i) {
    if (between) between(i);
    enqueueLayer(i, batch, b, s, "", hold);
  }
  if (between) between(prog_.layers.size());
}

}  // namespace ntrt::builtin
