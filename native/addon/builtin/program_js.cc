#include "program_js.h"

#include <array>
#include <cmath>

#include "../../cuda/error.h"
#include "../addon.h"

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

double num(const Napi::Value& v, const char* key) {
  if (!v.IsNumber()) corrupt(std::string("'") + key + "' is not a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) corrupt(std::string("'") + key + "' is not finite");
  return d;
}

double num(const Napi::Object& o, const char* key) { return num(o.Get(key), key); }

int64_t i64(const Napi::Value& v, const char* key) {
  double d = num(v, key);
  if (d != std::floor(d) || std::fabs(d) > 9.0e15) corrupt(std::string("'") + key + "' is not an integer");
  return static_cast<int64_t>(d);
}

int64_t i64(const Napi::Object& o, const char* key) { return i64(o.Get(key), key); }

// An int32 (tensor ids, batches, op numbers): a fraction or an out-of-range value is refused, never truncated.
int i32(const Napi::Value& v, const char* key) {
  if (!v.IsNumber()) corrupt(std::string("'") + key + "' holds a non-number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < -2147483648.0 || d > 2147483647.0) {
    corrupt(std::string("'") + key + "' holds a value that is not a 32-bit integer");
  }
  return static_cast<int>(d);
}

std::vector<int> ids(const Napi::Object& o, const char* key) {
  Napi::Array a = arr(o, key);
  std::vector<int> out;
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(i32(a.Get(i), key));
  return out;
}

int i32(const Napi::Object& o, const char* key) { return i32(o.Get(key), key); }

std::vector<builtin::IODesc> ioFromJs(const Napi::Object& o);

cuda::DType dtype(int64_t d) {
  if (d < 0 || d >= cuda::kDTypeCount) corrupt("unknown dtype " + std::to_string(d));
  return static_cast<cuda::DType>(d);
}

}  // namespace

builtin::ProgramDesc programFromJs(const Napi::Value& v) {
  Napi::Object o = obj(v, "program");
  builtin::ProgramDesc p;
  p.formatVersion = i32(o, "formatVersion");
  p.fixedArenaBytes = i64(o, "fixedArenaBytes");
  p.batchedArenaBytes = i64(o, "batchedArenaBytes");
  p.weightsBytes = i64(o, "weightsBytes");
  p.minBatch = i32(o, "minBatch");
  p.optBatch = i32(o, "optBatch");
  p.maxBatch = i32(o, "maxBatch");
  Napi::Array tensors = arr(o, "tensors");
  for (uint32_t i = 0; i < tensors.Length(); ++i) {
    Napi::Object t = obj(tensors.Get(i), "tensor");
    builtin::TensorDesc d;
    d.dtype = dtype(i64(t, "dtype"));
    int64_t loc = i64(t, "loc");
    if (loc != 0 && loc != 1) corrupt("unknown tensor location " + std::to_string(loc));
    d.loc = loc == 1 ? builtin::Loc::Weights : builtin::Loc::Arena;
    d.batched = t.Get("batched").ToBoolean().Value();
    d.offset = i64(t, "offset");
    d.bytes = i64(t, "bytes");
    Napi::Value db = t.Get("dimBytes");
    if (!db.IsUndefined() && !db.IsNull()) {
      Napi::Array a = arr(t, "dimBytes");
      if (a.Length() != 3) corrupt("'dimBytes' is not three numbers");
      for (uint32_t k = 0; k < 3; ++k) d.dimBytes[k] = i64(a.Get(k), "dimBytes");
      d.hasDimBytes = true;
    }
    p.tensors.push_back(d);
  }
  Napi::Array layers = arr(o, "layers");
  for (uint32_t i = 0; i < layers.Length(); ++i) {
    Napi::Object l = obj(layers.Get(i), "layer");
    builtin::LayerDesc d;
    d.name = l.Get("name").ToString().Utf8Value();
    // Any op number passes here: the validator refuses those without a rule (validate_ops.cc).
    d.op = static_cast<builtin::Op>(i32(l, "op"));
    d.inputs = ids(l, "inputs");
    d.outputs = ids(l, "outputs");
    d.batched = l.Get("batched").ToBoolean().Value();
    Napi::Value tac = l.Get("tactics");
    if (tac.IsArray()) {
      Napi::Array a = tac.As<Napi::Array>();
      for (uint32_t j = 0; j < a.Length(); ++j) {
        Napi::Object c = obj(a.Get(j), "tactic choice");
        builtin::TacticChoice choice;
        choice.upTo = i32(c, "upTo");
        choice.name = c.Get("tactic").ToString().Utf8Value();
        if (choice.name.empty() || (!d.tactics.empty() && choice.upTo <= d.tactics.back().upTo)) {
          corrupt("layer '" + d.name + "' has malformed tactic choices");
        }
        d.tactics.push_back(std::move(choice));
      }
    }
    auto readParams = [&](Napi::Object params, std::map<std::string, std::vector<double>>& into) {
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
        into.emplace(key, std::move(vals));
      }
    };
    readParams(obj(l.Get("params"), "params"), d.params);
    Napi::Value per = l.Get("perBatch");
    if (!per.IsUndefined() && !per.IsNull()) readParams(obj(per, "perBatch"), d.perBatch);
    Napi::Value perDim = l.Get("perDim");
    if (!perDim.IsUndefined() && !perDim.IsNull()) {
      // { key: [c_t, c_tt, c_bt, c_btt] }, each a number or list like the parameter (ProgramDesc::atDim).
      Napi::Object forms = obj(perDim, "perDim");
      Napi::Array keys = forms.GetPropertyNames();
      for (uint32_t k = 0; k < keys.Length(); ++k) {
        const std::string key = keys.Get(k).ToString().Utf8Value();
        Napi::Value fv = forms.Get(key);
        if (!fv.IsArray() || fv.As<Napi::Array>().Length() != 4) corrupt("dim form '" + key + "' of layer '" + d.name + "' is not four coefficients");
        Napi::Object four = Napi::Object::New(o.Env());
        for (uint32_t j = 0; j < 4; ++j) four.Set(std::to_string(j), fv.As<Napi::Array>().Get(j));
        std::map<std::string, std::vector<double>> read;
        readParams(four, read);
        std::array<std::vector<double>, 4> c;
        for (uint32_t j = 0; j < 4; ++j) c[j] = read[std::to_string(j)];
        d.perDim.emplace(key, std::move(c));
      }
    }
    p.layers.push_back(std::move(d));
  }
  p.io = ioFromJs(o);
  Napi::Value dim = o.Get("dim");
  if (!dim.IsUndefined() && !dim.IsNull()) {
    Napi::Object d = obj(dim, "dim");
    p.hasDim = true;
    p.dim.name = d.Get("name").ToString().Utf8Value();
    p.dim.min = i32(d, "min");
    p.dim.opt = i32(d, "opt");
    p.dim.max = i32(d, "max");
    p.dim.base = i32(d, "base");
  }
  return p;
}

builtin::HeaderDesc headerFromJs(const Napi::Value& v) {
  Napi::Object o = obj(v, "header");
  builtin::HeaderDesc h;
  h.minBatch = i32(o, "minBatch");
  h.optBatch = i32(o, "optBatch");
  h.maxBatch = i32(o, "maxBatch");
  h.io = ioFromJs(o);
  return h;
}

// validateBuiltinProgram(program, weightsBytes, header | null, stage: 'load' | 'build') → report; throws coded errors.
Napi::Value ValidateBuiltinProgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    builtin::ProgramDesc p = programFromJs(info[0]);
    if (!info[1].IsNumber()) fail("ERR_INVALID_ARGUMENT", "Expected the weights' byte length as a number");
    const double weights = info[1].As<Napi::Number>().DoubleValue();
    if (weights != static_cast<double>(p.weightsBytes)) {
      corrupt("the weights are " + std::to_string(static_cast<int64_t>(weights)) + " bytes, the program says " +
              std::to_string(p.weightsBytes));
    }
    const bool build = info[3].IsString() && info[3].As<Napi::String>().Utf8Value() == "build";
    builtin::ValidationReport r = builtin::validateProgram(p, build ? builtin::Stage::Build : builtin::Stage::Load);
    if (!info[2].IsNull() && !info[2].IsUndefined()) builtin::validateHeader(p, headerFromJs(info[2]));
    Napi::Object out = Napi::Object::New(env);
    out.Set("layers", static_cast<double>(r.layers));
    out.Set("arenaBytes", static_cast<double>(r.arenaBytes));
    out.Set("pinnedBytes", static_cast<double>(r.pinnedBytes));
    out.Set("weightsBytes", static_cast<double>(r.weightsBytes));
    out.Set("workspaceBytes", static_cast<double>(r.workspaceBytes));
    return out;
  }
  NTRT_CATCH(env)
}

Napi::Value ValidatedOps(const Napi::CallbackInfo& info) {
  std::vector<std::string> ops = builtin::validatedOps();
  Napi::Array out = Napi::Array::New(info.Env(), ops.size());
  for (size_t i = 0; i < ops.size(); ++i) out.Set(i, ops[i]);
  return out;
}

namespace {
std::vector<builtin::IODesc> ioFromJs(const Napi::Object& o) {
  std::vector<builtin::IODesc> out;
  Napi::Array io = arr(o, "io");
  for (uint32_t i = 0; i < io.Length(); ++i) {
    Napi::Object t = obj(io.Get(i), "io");
    builtin::IODesc d;
    d.name = t.Get("name").ToString().Utf8Value();
    d.tensor = i32(t, "tensor");
    d.isInput = t.Get("isInput").ToBoolean().Value();
    d.dtype = dtype(i64(t, "dtype"));
    Napi::Array shape = arr(t, "shape");
    for (uint32_t j = 0; j < shape.Length(); ++j) {
      Napi::Value dim = shape.Get(j);
      if (!dim.IsNumber()) corrupt("I/O '" + d.name + "' has a non-numeric dimension");
      double x = dim.As<Napi::Number>().DoubleValue();
      if (!std::isfinite(x) || x != std::floor(x) || std::fabs(x) > 9.0e15) corrupt("I/O '" + d.name + "' has a bad dimension");
      d.shape.push_back(static_cast<int64_t>(x));
    }
    out.push_back(std::move(d));
  }
  return out;
}
}  // namespace

}  // namespace ntrt::addon
