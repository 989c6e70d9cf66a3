// The fused training-step ops (Backend::linear_xent_step, linear_xent_sgd_step, gather_linear,
// linear_grad_sgd) exposed on native.ops, so the GPU checks can compare them with the CPU.
#pragma once
#include <napi.h>

namespace tinynn::binding {

void define_fused_ops(Napi::Env env, Napi::Object ops);

}  // namespace tinynn::binding
