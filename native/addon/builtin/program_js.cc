#include "program_js.h"

#include <cmath>

#include "../../cuda/error.h"

namespace ntrt::addon {
namespace {

[[noreturn]] void corrupt(const std::string& what) { fail("ERR_PLAN_CORRUPT", "Corrupt builtin program: " + what); }

Napi::Object obj(const Napi::Value& v, const char* what) {
  if (!v.IsObject()) corrupt(std::string(what) + " is not an object");
  return v.As<Napi::Object>();
}

Napi::Array arr(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) corrupt(std::string("'") + key + "' is not an array");
  return v.As<Napi::Array>();
}

double num(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) corrupt(std::string("'") + key + "' is not a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) corrupt(std::string("'") + key + "' is not finite");
  return d;
}

int64_t i64(const Napi::Object& o, const char* key) {
  double d = num(o, key);
  if (d != std::floor(d) || std::fabs(d) > 9.0e15) corrupt(std::string("'") + key + "' is not an integer");
  return static_cast<int64_t>(d);
}

std::vector<int> ids(const Napi::Object& o, const char* key) {
  Napi::Array a = arr(o, key);
  std::vector<int> out;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value v = a.Get(i);
    if (!v.IsNumber()) corrupt(std::string("'") + key + "' holds a non-number");
    out.push_back(v.As<Napi::Number>().Int32Value());
  }
  return out;
}

cuda::DType dtype(int64_t d) {
  if (d < 0 || d > 6) corrupt("unknown dtype " + std::to_string(d));
  return static_cast<cuda::DType>(d);
}

}  // namespace

builtin::ProgramDesc programFromJs(const Napi::Value& v) {
  Napi::Object o = obj(v, "program");
  builtin::ProgramDesc p;
  p.formatVersion = static_cast<int>(i64(o, "formatVersion"));
  p.fixedArenaBytes = i64(o, "fixedArenaBytes");
  p.batchedArenaBytes = i64(o, "batchedArenaBytes");
  p.weightsBytes = i64(o, "weightsBytes");
  p.minBatch = static_cast<int>(i64(o, "minBatch"));
  p.optBatch = static_cast<int>(i64(o, "optBatch"));
  p.maxBatch = static_cast<int>(i64(o, "maxBatch"));
  Napi::Array tensors = arr(o, "tensors");
  for (uint32_t i = 0; i < tensors.Length(); ++i) {
    Napi::Object t = obj(tensors.Get(i), "tensor");
    builtin::TensorDesc d;
    d.dtype = dtype(i64(t, "dtype"));
    d.loc = i64(t, "loc") == 1 ? builtin::Loc::Weights : builtin::Loc::Arena;
    d.batched = t.Get("batched").ToBoolean().Value();
    d.offset = i64(t, "offset");
    d.bytes = i64(t, "bytes");
    p.tensors.push_back(d);
  }
  Napi::Array layers = arr(o, "layers");
  for (uint32_t i = 0; i < layers.Length(); ++i) {
    Napi::Object l = obj(layers.Get(i), "layer");
    builtin::LayerDesc d;
    d.name = l.Get("name").ToString().Utf8Value();
    int64_t op = i64(l, "op");
    if (!builtin::knownOp(op)) corrupt("unknown op " + std::to_string(op));
    d.op = static_cast<builtin::Op>(op);
    d.inputs = ids(l, "inputs");
    d.outputs = ids(l, "outputs");
    d.batched = l.Get("batched").ToBoolean().Value();
    Napi::Value tac = l.Get("tactics");
    if (tac.IsArray()) {
      Napi::Array a = tac.As<Napi::Array>();
      for (uint32_t j = 0; j < a.Length(); ++j) {
        Napi::Object c = obj(a.Get(j), "tactic choice");
        builtin::TacticChoice choice;
        choice.upTo = static_cast<int>(i64(c, "upTo"));
        choice.name = c.Get("tactic").ToString().Utf8Value();
        if (choice.name.empty() || (!d.tactics.empty() && choice.upTo <= d.tactics.back().upTo)) {
          corrupt("layer '" + d.name + "' has malformed tactic choices");
        }
        d.tactics.push_back(std::move(choice));
      }
    }
    Napi::Object params = obj(l.Get("params"), "params");
    Napi::Array keys = params.GetPropertyNames();
    for (uint32_t k = 0; k < keys.Length(); ++k) {
      std::string key = keys.Get(k).ToString().Utf8Value();
      Napi::Value pv = params.Get(key);
      std::vector<double> vals;
      if (pv.IsNumber()) {
        vals.push_back(pv.As<Napi::Number>().DoubleValue());
      } else if (pv.IsArray()) {
        Napi::Array a = pv.As<Napi::Array>();
        for (uint32_t j = 0; j < a.Length(); ++j) {
          Napi::Value e = a.Get(j);
          if (!e.IsNumber()) corrupt("parameter '" + key + "' of layer '" + d.name + "' holds a non-number");
          vals.push_back(e.As<Napi::Number>().DoubleValue());
        }
      } else {
        corrupt("parameter '" + key + "' of layer '" + d.name + "' is not a number or array");
      }
      for (double x : vals) {
        if (!std::isfinite(x)) corrupt("parameter '" + key + "' of layer '" + d.name + "' is not finite");
      }
      d.params.emplace(key, std::move(vals));
    }
    p.layers.push_back(std::move(d));
  }
  Napi::Array io = arr(o, "io");
  for (uint32_t i = 0; i < io.Length(); ++i) {
    Napi::Object t = obj(io.Get(i), "io");
    builtin::IODesc d;
    d.name = t.Get("name").ToString().Utf8Value();
    d.tensor = static_cast<int>(i64(t, "tensor"));
    d.isInput = t.Get("isInput").ToBoolean().Value();
    d.dtype = dtype(i64(t, "dtype"));
    Napi::Array shape = arr(t, "shape");
    for (uint32_t j = 0; j < shape.Length(); ++j) d.shape.push_back(shape.Get(j).As<Napi::Number>().Int64Value());
    p.io.push_back(std::move(d));
  }
  return p;
}

}  // namespace ntrt::addon
