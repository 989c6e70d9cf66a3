// One parameter's SGD step (PyTorch's torch.optim.SGD), shared by the SGD kernel and the kernels
// that fuse the update into their epilogue. The operations are those of the CPU backend, in its
// order, each rounded on its own (__fmul_rn / __fadd_rn: no contraction into FMAs), so a CUDA
// update equals the CPU's bit for bit given the same inputs, and the fused and unfused CUDA paths
// agree exactly.
#pragma once
#include "cuda/sgd_params.h"

namespace tinynn::gpu {

// Returns the updated parameter; updates *momentum_buf (unused when s.momentum == 0).
__device__ inline float sgd_step(float param, float grad, float* momentum_buf, const SgdParams& s) {
  float g = grad;
  if (s.weight_decay != 0.f) g = __fadd_rn(g, __fmul_rn(s.weight_decay, param));
  if (s.momentum != 0.f) {
    const float buf = s.first_step ? g
                                   : __fadd_rn(__fmul_rn(s.momentum, *momentum_buf),
                                               __fmul_rn(__fsub_rn(1.f, s.dampening), g));
    *momentum_buf = buf;
    g = s.nesterov ? __fadd_rn(g, __fmul_rn(s.momentum, buf)) : buf;
  }
  return __fsub_rn(param, __fmul_rn(s.lr, g));
}

// The same step on values already in registers (the fused kernels load param and momentum ahead
// of their GEMM, so the epilogue waits on no load): `momentum` is the buffer's old value (ignored
// on the first step or without momentum); the new value goes to *new_momentum when momentum != 0.
__device__ inline float sgd_step_value(float param, float grad, float momentum, float* new_momentum,
                                       const SgdParams& s) {
  float g = grad;
  if (s.weight_decay != 0.f) g = __fadd_rn(g, __fmul_rn(s.weight_decay, param));
  if (s.momentum != 0.f) {
    const float buf = s.first_step ? g
                                   : __fadd_rn(__fmul_rn(s.momentum, momentum),
                                               __fmul_rn(__fsub_rn(1.f, s.dampening), g));
    *new_momentum = buf;
    g = s.nesterov ? __fadd_rn(g, __fmul_rn(s.momentum, buf)) : buf;
  }
  return __fsub_rn(param, __fmul_rn(s.lr, g));
}

// sgd_step_value on 4 consecutive elements (the float4 epilogues of the weight-gradient kernels).
__device__ inline float4 sgd_step_value4(float4 param, float4 grad, float4 momentum, float4* new_momentum,
                                         const SgdParams& s) {
  float4 p;
  p.x = sgd_step_value(param.x, grad.x, momentum.x, &new_momentum->x, s);
  p.y = sgd_step_value(param.y, grad.y, momentum.y, &new_momentum->y, s);
  p.z = sgd_step_value(param.z, grad.z, momentum.z, &new_momentum->z, s);
  p.w = sgd_step_value(param.w, grad.w, momentum.w, &new_momentum->w, s);
  return p;
}

}  // namespace tinynn::gpu
