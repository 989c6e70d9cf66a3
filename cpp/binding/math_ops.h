// The element-wise, reduction and loss primitives on native.ops: unary, binary (broadcasting),
// reduce, logSoftmax, mse, gatherRows. Each returns a new tensor on its inputs' device.
#pragma once
#include <napi.h>

namespace tinynn::binding {

void define_math_ops(Napi::Env env, Napi::Object ops);

}  // namespace tinynn::binding
