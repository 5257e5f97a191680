#include "half_bias.h"

#include "../cuda/check.h"
#include "../cuda/convert.h"
#include "../cuda/stream.h"

namespace ntrt::builtin {
namespace {

// The bias inputs of layer `l`: Conv's third input, each stage's bias of an inverted-residual block.
std::vector<int> biasInputs(const LayerDesc& l) {
  std::vector<int> out;
  auto add = [&](size_t k) {
    if (k < l.inputs.size() && l.inputs[k] >= 0) out.push_back(l.inputs[k]);
  };
  if (l.op == Op::Conv) add(2);
  if (l.op == Op::MBConv) add(2), add(4), add(6);
  return out;
}

bool copied(const TensorDesc& t) { return t.loc == Loc::Weights && t.dtype == DType::F32 && t.bytes > 0 && t.bytes % 4 == 0; }

}  // namespace

std::vector<int64_t> HalfBiases::layout(const ProgramDesc& p, int64_t* total) {
  std::vector<int64_t> off(p.tensors.size(), -1);
  int64_t at = 0;
  for (const LayerDesc& l : p.layers) {
    if (l.inputs.empty() || l.inputs[0] < 0 || p.tensors[l.inputs[0]].dtype != DType::F16) continue;
    for (int id : biasInputs(l)) {
      if (off[id] >= 0 || !copied(p.tensors[id])) continue;
      off[id] = at;
      at += (p.tensors[id].bytes / 2 + 255) / 256 * 256;  // as aligned as the libraries are promised (16 bytes)
    }
  }
  *total = at;
  return off;
}

HalfBiases::HalfBiases(const ProgramDesc& p, const char* deviceWeights) {
  int64_t total = 0;
  offset_ = layout(p, &total);
  source_.assign(p.tensors.size(), -1);
  if (!total) return;
  buf_ = cuda::DeviceBuffer(static_cast<size_t>(total));
  cuda::Stream stream;  // its own non-blocking stream: never ordered against (or inside) another thread's capture
  for (size_t id = 0; id < offset_.size(); ++id) {
    if (offset_[id] < 0) continue;
    const TensorDesc& t = p.tensors[id];
    source_[id] = t.offset;
    cuda::convert(buf_.as<char>() + offset_[id], DType::F16, deviceWeights + t.offset, DType::F32,
                  static_cast<size_t>(t.bytes / 4), stream.get());
  }
  CUDA_CHECK(cudaStreamSynchronize(stream.get()));
}

const void* HalfBiases::at(int id, const TensorDesc& t) const {
  if (id < 0 || static_cast<size_t>(id) >= offset_.size() || offset_[id] < 0) return nullptr;
  if (!copied(t) || t.offset != source_[id]) return nullptr;  // another program's tensor of that id: not this copy
  return buf_.as<char>() + offset_[id];
}

}  // namespace ntrt::builtin
