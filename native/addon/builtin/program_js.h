// Reads the lowered program (lib/builtin/program.ts) from a JS object into plain C++ structs.
#pragma once
#include <napi.h>

#include "../../builtin/program.h"
#include "../../builtin/validate.h"

namespace ntrt::addon {

//! Converts on the JS thread; malformed input is ERR_PLAN_CORRUPT.
builtin::ProgramDesc programFromJs(const Napi::Value& v);
//! A plan header's I/O and profile, as lib/builtin/validate.ts converts it.
builtin::HeaderDesc headerFromJs(const Napi::Value& v);

//! validateBuiltinProgram(program, weightsBytes, header | null, stage?) → sizes; ERR_PLAN_CORRUPT / ERR_PLAN_MISMATCH.
Napi::Value ValidateBuiltinProgram(const Napi::CallbackInfo& info);
//! validatedOps() → names of the ops the validator has a rule for.
Napi::Value ValidatedOps(const Napi::CallbackInfo& info);

}  // namespace ntrt::addon
