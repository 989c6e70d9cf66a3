// The eager ops exported as native.ops: one native call per op, each validating its arguments.
#pragma once
#include <napi.h>

namespace tinynn::binding {

Napi::Object define_ops(Napi::Env env);

}  // namespace tinynn::binding
