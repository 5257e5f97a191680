#include "layers_nd.h"

#include <cstdlib>
#include <string>

#include "../cuda/error.h"

namespace ntrt::builtin {
namespace {

[[noreturn]] void corrupt(const LayerDesc& l, const std::string& what) {
  fail("ERR_PLAN_CORRUPT", "Corrupt builtin program: layer '" + l.name + "' " + what);
}

void fill4(const LayerDesc& l, const char* key, int64_t out[4]) {
  const std::vector<double>& v = l.list(key);
  if (v.size() != 4) corrupt(l, std::string("needs 4 values in '") + key + "'");
  for (int i = 0; i < 4; ++i) out[i] = static_cast<int64_t>(v[i]);
}

}  // namespace

kernels::MatmulDesc matmulDesc(const LayerDesc& l, int batch) {
  kernels::MatmulDesc d{};
  d.m = l.i("m");
  d.n = l.i("n");
  d.k = l.i("k");
  const std::vector<double>& bd = l.list("bd");
  const std::vector<double>& sa = l.list("bsa");
  const std::vector<double>& sb = l.list("bsb");
  const std::vector<double>& sc = l.list("bsc");
  if (bd.empty() || bd.size() > 3 || sa.size() != bd.size() || sb.size() != bd.size() || sc.size() != bd.size())
    corrupt(l, "has bad batch levels");
  d.batchRank = static_cast<int>(bd.size());
  for (size_t i = 0; i < bd.size(); ++i) {
    d.batch[i] = static_cast<int64_t>(bd[i]);
    d.sa[i] = static_cast<int64_t>(sa[i]);
    d.sb[i] = static_cast<int64_t>(sb[i]);
    d.sc[i] = static_cast<int64_t>(sc[i]);
  }
  if (l.batched) d.batch[0] *= batch;
  d.am = static_cast<int64_t>(l.num("am"));
  d.ak = static_cast<int64_t>(l.num("ak"));
  d.bk = static_cast<int64_t>(l.num("bk"));
  d.bn = static_cast<int64_t>(l.num("bn"));
  d.cm = static_cast<int64_t>(l.num("cm"));
  d.alpha = static_cast<float>(l.num("alpha", 1));
  return d;
}

kernels::AttentionDesc attentionDesc(const LayerDesc& l, int batch) {
  kernels::AttentionDesc p{};
  p.batch = l.i("b") * (l.batched ? batch : 1);
  p.heads = l.i("h");
  p.sq = l.i("sq");
  p.sk = l.i("sk");
  p.d = l.i("d");
  p.dv = l.i("dv");
  fill4(l, "qs", p.q);
  fill4(l, "ks", p.k);
  fill4(l, "vs", p.v);
  fill4(l, "os", p.o);
  fill4(l, "ms", p.mask);
  p.scale = static_cast<float>(l.num("scale"));
  return p;
}

int64_t stridedExtent(const int64_t* dims, const int64_t* strides, int rank) {
  int64_t e = 1;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] <= 0) return 0;
    e += (dims[i] - 1) * std::llabs(strides[i]);
  }
  return e;
}

}  // namespace ntrt::builtin
