// The bodies of the SGD, Adam / AdamW and RMSprop kernels over up to kOptimizerTensors parameter
// tensors in one launch, and the launcher's packing of them into the kernel's argument block
// (optimizer_args). The per-element rules are sgd_math.cuh's and cpp/optimizer_math.h's, the CPU
// backend's operation for operation. Plain
// C++ apart from CUDA's built-ins: cuda/kernels_optimizer.cu wraps the bodies in __global__
// kernels and launches them, and the CPU emulator in tests/kernel-emulation/ runs them on the host.
#pragma once
#include <cstddef>

#include "cpp/optimizer_math.h"
#include "cuda/sgd_math.cuh"

namespace tinynn::gpu::optim {

constexpr int kOptimizerTensors = 16;

struct OptimizerArgs {
  float* param[kOptimizerTensors];
  const float* grad[kOptimizerTensors];
  float* state[kMaxOptimizerStates][kOptimizerTensors];
  size_t end[kOptimizerTensors];  // exclusive prefix end of tensor t in the concatenation
  int count;
};

// One launch's arguments: the non-empty tensors among params[first, first + kOptimizerTensors)
// (and below count). count 0: nothing to launch.
inline OptimizerArgs optimizer_args(const ParamUpdate* params, int first, int count) {
  OptimizerArgs a{};
  size_t total = 0;
  const int last = count - first < kOptimizerTensors ? count : first + kOptimizerTensors;
  for (int t = first; t < last; ++t) {
    if (params[t].n == 0) continue;
    a.param[a.count] = params[t].param;
    a.grad[a.count] = params[t].grad;
    for (int k = 0; k < kMaxOptimizerStates; ++k) a.state[k][a.count] = params[t].state[k];
    total += params[t].n;
    a.end[a.count++] = total;
  }
  return a;
}

// Calls f(t, j) for each element j of tensor t; the grid strides over the tensors' concatenation.
template <typename F>
__device__ inline void for_each_element(const OptimizerArgs& a, F f) {
  const size_t total = a.end[a.count - 1];
  int t = 0;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    while (i >= a.end[t]) ++t;  // i only grows, so t only moves forward
    f(t, i - (t ? a.end[t - 1] : 0));
  }
}

// PyTorch's torch.optim.SGD; state: the momentum buffer (momentum != 0).
__device__ inline void sgd_body(const OptimizerArgs& a, const SgdParams& s) {
  for_each_element(a, [&](int t, size_t j) {
    float* p = a.param[t] + j;
    *p = sgd_step(*p, a.grad[t][j], s.momentum != 0.f ? a.state[0][t] + j : nullptr, s);
  });
}

// state: exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad).
__device__ inline void adam_body(const OptimizerArgs& a, const AdamStep& s) {
  for_each_element(a, [&](int t, size_t j) {
    float* p = a.param[t] + j;
    *p = adam_update(*p, a.grad[t][j], a.state[0][t] + j, a.state[1][t] + j,
                     s.amsgrad ? a.state[2][t] + j : nullptr, s);
  });
}

// state: square_avg, then the momentum buffer (momentum != 0), then grad_avg (centered).
__device__ inline void rmsprop_body(const OptimizerArgs& a, const RmsPropStep& s) {
  for_each_element(a, [&](int t, size_t j) {
    float* p = a.param[t] + j;
    *p = rmsprop_update(*p, a.grad[t][j], a.state[0][t] + j, s.has_momentum ? a.state[1][t] + j : nullptr,
                        s.centered ? a.state[s.grad_avg_slot][t] + j : nullptr, s);
  });
}

}  // namespace tinynn::gpu::optim
