// Shape ops on native.ops: reshape (a view sharing the storage), permute and expand (strided
// copies through the broadcasting binary kernel), matmul (2-D, and batched 3-D through one GEMM
// per batch), catRows and sliceRows (copies along dimension 0).
#pragma once
#include <napi.h>

namespace tinynn::binding {

void define_shape_ops(Napi::Env env, Napi::Object ops);

}  // namespace tinynn::binding
