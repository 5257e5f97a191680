#include "executor.h"

#include <algorithm>
#include <cmath>

#include "../cuda/check.h"
#include "../cuda/error.h"
#include "sources/sources.h"

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

// Elements spanned by a strided access over `shape` (1 + Σ (d−1)·|s|), per batch unit.
int64_t extent(const kernels::NdShape& shape, const kernels::NdStrides& st, int64_t offset) {
  int64_t e = offset + 1;
  for (int i = 0; i < shape.rank; ++i) {
    if (shape.dims[i] <= 0) return 0;
    e += (shape.dims[i] - 1) * std::llabs(st.s[i]);
  }
  return e;
}

int64_t product(const std::vector<double>& v) {
  int64_t n = 1;
  for (double d : v) n *= static_cast<int64_t>(d);
  return n;
}

}  // namespace

Executor::Executor(ProgramDesc program) : prog_(std::move(program)) {
  validate(prog_);
  // Every layer's accesses must stay inside its tensors: a damaged program is refused here, not on the GPU.
  auto need = [&](const LayerDesc& l, int id, int64_t elements) {
    if (id < 0) return;
    const TensorDesc& t = prog_.tensors[id];
    int64_t have = t.bytes / static_cast<int64_t>(cuda::dtypeSize(t.dtype));
    if (elements < 0 || elements > have) {
      corrupt(l, "needs " + std::to_string(elements) + " elements of tensor " + std::to_string(id) + ", which holds " +
                     std::to_string(have));
    }
  };
  for (const LayerDesc& l : prog_.layers) {
    auto in = [&](size_t k) { return k < l.inputs.size() ? l.inputs[k] : -1; };
    switch (l.op) {
      case Op::Conv: {
        kernels::ConvParams c = convParams(l, 1);
        if (c.groups < 1 || c.c % c.groups || c.k % c.groups) corrupt(l, "has bad groups");
        bool dw = c.groups == c.c && c.groups == c.k && c.groups > 1;
        need(l, in(0), int64_t(c.n) * c.h * c.w * c.c);
        need(l, in(1), dw ? int64_t(c.r) * c.s * c.c : int64_t(c.k) * c.r * c.s * (c.c / c.groups));
        if (in(2) >= 0) need(l, in(2), c.k);
        need(l, in(3), int64_t(c.n) * c.p * c.q * c.k);
        need(l, l.outputs[0], int64_t(c.n) * c.p * c.q * c.k);
        break;
      }
      case Op::Pool:
        need(l, in(0), int64_t(l.i("n")) * l.i("h") * l.i("w") * l.i("c"));
        need(l, l.outputs[0], int64_t(l.i("n")) * l.i("p") * l.i("q") * l.i("c"));
        break;
      case Op::Reduce:
      case Op::Softmax: {
        int64_t o = static_cast<int64_t>(l.num("outer")), n = static_cast<int64_t>(l.num("len")),
                i = static_cast<int64_t>(l.num("inner"));
        need(l, in(0), o * n * i);
        need(l, l.outputs[0], l.op == Op::Reduce ? o * i : o * n * i);
        break;
      }
      case Op::Binary: {
        kernels::NdShape s = shapeOf(l, l.list("dims"));
        need(l, in(0), extent(s, stridesOf(l, l.list("sa"), s.rank), 0));
        need(l, in(1), extent(s, stridesOf(l, l.list("sb"), s.rank), 0));
        need(l, l.outputs[0], product(l.list("dims")));
        break;
      }
      case Op::Unary:
        need(l, in(0), static_cast<int64_t>(l.num("n")));
        need(l, l.outputs[0], static_cast<int64_t>(l.num("n")));
        break;
      case Op::Copy: {
        kernels::NdShape s = shapeOf(l, l.list("dims"));
        need(l, in(0), extent(s, stridesOf(l, l.list("xs"), s.rank), static_cast<int64_t>(l.num("xoff"))));
        need(l, l.outputs[0], extent(s, stridesOf(l, l.list("ys"), s.rank), static_cast<int64_t>(l.num("yoff"))));
        break;
      }
      case Op::Fill:
        need(l, l.outputs[0], static_cast<int64_t>(l.num("n")));
        break;
      case Op::Pad:
        need(l, in(0), product(l.list("in")));
        need(l, l.outputs[0], product(l.list("out")));
        if (l.list("in").size() != l.list("out").size() || l.list("before").size() != l.list("in").size()) corrupt(l, "has bad pads");
        break;
      case Op::MatMul: {
        int64_t bc = static_cast<int64_t>(l.num("bc")), m = l.i("m"), n = l.i("n"), k = l.i("k");
        need(l, in(0), (bc - 1) * static_cast<int64_t>(l.num("sa")) + m * k);
        need(l, in(1), (bc - 1) * static_cast<int64_t>(l.num("sb")) + k * n);
        need(l, l.outputs[0], (bc - 1) * static_cast<int64_t>(l.num("sc")) + m * n);
        break;
      }
      case Op::Resize: {
        int64_t taps = l.i("taps");
        if (taps < 1 || taps > 4) corrupt(l, "has bad taps");
        need(l, in(0), int64_t(l.i("n")) * l.i("h") * l.i("w") * l.i("c"));
        need(l, in(1), 2 * taps * (int64_t(l.i("p")) + l.i("q")));
        need(l, l.outputs[0], int64_t(l.i("n")) * l.i("p") * l.i("q") * l.i("c"));
        break;
      }
      case Op::Deconv: {
        kernels::DeconvParams d = deconvParams(l, 1);
        if (d.groups < 1 || d.c % d.groups || d.k % d.groups) corrupt(l, "has bad groups");
        need(l, in(0), int64_t(d.n) * d.h * d.w * d.c);
        need(l, in(1), int64_t(d.k) * d.r * d.s * (d.c / d.groups));
        if (in(2) >= 0) need(l, in(2), d.k);
        need(l, l.outputs[0], int64_t(d.n) * d.p * d.q * d.k);
        break;
      }
      case Op::ArgMax: {
        int64_t o = static_cast<int64_t>(l.num("outer")), n = static_cast<int64_t>(l.num("len")),
                i = static_cast<int64_t>(l.num("inner"));
        need(l, in(0), o * n * i);
        need(l, l.outputs[0], o * i);
        if (prog_.tensors[l.outputs[0]].dtype != DType::I64) corrupt(l, "must write int64");
        break;
      }
      case Op::TopK: {
        int64_t o = static_cast<int64_t>(l.num("outer")), n = static_cast<int64_t>(l.num("len")),
                i = static_cast<int64_t>(l.num("inner")), k = l.i("k");
        if (l.outputs.size() != 2 || k < 0 || k > n) corrupt(l, "has bad TopK parameters");
        if (prog_.tensors[l.outputs[1]].dtype != DType::I64 || prog_.tensors[l.outputs[0]].dtype != prog_.tensors[in(0)].dtype)
          corrupt(l, "has outputs of the wrong type");
        need(l, in(0), o * n * i);
        need(l, l.outputs[0], o * k * i);
        need(l, l.outputs[1], o * k * i);
        break;
      }
      case Op::Nms: {
        kernels::NmsParams p = nmsParams(l, 1);
        if (l.outputs.size() != 5 || p.k < 1 || p.k > kernels::kNmsMaxOutput || p.c < 1) corrupt(l, "has bad NMS parameters");
        const DType want[5] = {DType::I32, DType::F32, DType::F32, DType::I32, DType::I64};
        for (int j = 0; j < 5; ++j)
          if (prog_.tensors[l.outputs[j]].dtype != want[j]) corrupt(l, "has an output of the wrong type");
        for (int j = 0; j < 3; ++j)
          if (in(j) >= 0 && prog_.tensors[in(j)].dtype != DType::F32) corrupt(l, "has an input of the wrong type");
        need(l, in(0), int64_t(p.batch) * p.n * 4);
        need(l, in(1), int64_t(p.batch) * p.n * p.c);
        if (in(2) >= 0) need(l, in(2), int64_t(p.n) * 4);
        need(l, l.outputs[0], p.batch);
        need(l, l.outputs[1], int64_t(p.batch) * p.k * 4);
        need(l, l.outputs[2], int64_t(p.batch) * p.k);
        need(l, l.outputs[3], int64_t(p.batch) * p.k);
        need(l, l.outputs[4], int64_t(p.batch) * kernels::nmsScratchPerImage(p));
        break;
      }
    }
  }
}

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

int64_t Executor::bytesAt(int id, int batch) const {
  const TensorDesc& t = prog_.tensors[id];
  return t.loc == Loc::Arena && t.batched ? t.bytes * batch : t.bytes;
}

int64_t Executor::arenaBytes(int capacity) const { return prog_.fixedArenaBytes + prog_.batchedArenaBytes * capacity; }

std::vector<Candidate> Executor::candidates(size_t i, int batch) const {
  const LayerDesc& l = prog_.layers.at(i);
  std::vector<Candidate> out;
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
  const LayerDesc& l = prog_.layers.at(i);
  if (l.op != Op::Conv) return 0;
  kernels::ConvParams p = convParams(l, batch);
  DType t = prog_.tensors[l.inputs[0]].dtype;
  // External tactics name everything needed to re-create them (a cuBLASLt algo is serialized in the name).
  if (sources::isExternalTactic(tactic)) return sources::externalConvWorkspace(tactic, p, t);
  for (const kernels::Tactic& k : kernels::convTactics(p, t)) {
    if (k.name == tactic) return k.workspace;
  }
  fail("ERR_PLAN_MISMATCH", "Layer '" + l.name + "' uses tactic '" + tactic + "', which this GPU or build does not offer; rebuild the engine");
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
  for (const LayerDesc& l : prog_.layers) {
    if (l.op == Op::Nms) kernels::nmsPrepare();
  }
  for (const LayerDesc& l : prog_.layers) {
    if (l.op == Op::Conv && sources::isExternalTactic(l.tacticFor(batch))) {
      sources::prepareExternalConv(l.tacticFor(batch), convParams(l, batch), prog_.tensors[l.inputs[0]].dtype);
    }
  }
}


void Executor::setTactics(const std::vector<std::vector<TacticChoice>>& tactics) {
  if (tactics.size() != prog_.layers.size()) fail("ERR_INTERNAL", "tactic list does not match the layers");
  for (size_t i = 0; i < tactics.size(); ++i) prog_.layers[i].tactics = tactics[i];
}

void Executor::enqueueLayer(size_t i, int batch, const Bindings& b, cudaStream_t s, const std::string& tacticOverride) const {
  const LayerDesc& l = prog_.layers[i];
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
      ep.residual = in(3);
      DType t = dtypeOf(l.inputs[0]);
      if (sources::isExternalTactic(tactic)) {
        sources::externalConv(tactic, p, t, in(0), in(1), out, ep, b.workspace, b.workspaceBytes, s);
      } else {
        kernels::conv(tactic, p, t, in(0), in(1), out, ep, b.workspace, b.workspaceBytes, s);
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
      kernels::batchedMatmul(static_cast<int64_t>(l.num("bc")) * scale, l.i("m"), l.i("n"), l.i("k"),
                             dtypeOf(l.outputs[0]), in(0), static_cast<int64_t>(l.num("sa")), in(1),
                             static_cast<int64_t>(l.num("sb")), out, static_cast<int64_t>(l.num("sc")), s);
      break;
    case Op::Resize:
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
  for (size_t i = 0; i < prog_.layers.size(); ++i) {
    if (between) between(i);
    enqueueLayer(i, batch, b, s);
  }
  if (between) between(prog_.layers.size());
}

}  // namespace ntrt::builtin
