// Reads the lowered program (lib/builtin/program.ts) from a JS object into plain C++ structs.
#pragma once
#include <napi.h>

#include "../../builtin/program.h"

namespace ntrt::addon {

//! Converts on the JS thread; malformed input is ERR_PLAN_CORRUPT.
builtin::ProgramDesc programFromJs(const Napi::Value& v);

}  // namespace ntrt::addon
