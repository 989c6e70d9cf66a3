// The body of the SGD step's kernel over up to kSgdTensors parameter tensors in one launch, and
// the launcher's packing of them into the kernel's argument block (sgd_args). Plain C++ apart from
// CUDA's built-ins: cuda/kernels_sgd.cu wraps the body in a __global__ kernel and launches it, and
// the CPU emulator in tests/kernel-emulation/ runs it on the host (with the same packing).
#pragma once
#include <cstddef>

#include "cuda/sgd_math.cuh"

namespace tinynn::gpu::sgd {

constexpr int kSgdTensors = 16;

struct SgdArgs {
  float* param[kSgdTensors];
  const float* grad[kSgdTensors];
  float* momentum_buf[kSgdTensors];
  size_t end[kSgdTensors];  // exclusive prefix end of tensor t in the concatenation
  int count;
  SgdParams sgd;
};

// One launch's arguments: the non-empty tensors among params[first, first + kSgdTensors) (and
// below count), momentum buffers only when config.momentum != 0. count 0: nothing to launch.
inline SgdArgs sgd_args(const ParamUpdate* params, int first, int count, const SgdConfig& config, bool first_step) {
  SgdArgs a{};
  a.sgd = sgd_params(config, first_step);
  size_t total = 0;
  const int last = count - first < kSgdTensors ? count : first + kSgdTensors;
  for (int t = first; t < last; ++t) {
    if (params[t].n == 0) continue;
    a.param[a.count] = params[t].param;
    a.grad[a.count] = params[t].grad;
    a.momentum_buf[a.count] = config.momentum != 0.f ? params[t].state[0] : nullptr;
    total += params[t].n;
    a.end[a.count++] = total;
  }
  return a;
}

// PyTorch's torch.optim.SGD, operation for operation as the CPU backend does it (sgd_math.cuh).
// The grid strides over the tensors' concatenation.
__device__ inline void sgd_body(const SgdArgs& a) {
  const size_t total = a.end[a.count - 1];
  int t = 0;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    while (i >= a.end[t]) ++t;  // i only grows, so t only moves forward
    const size_t j = i - (t ? a.end[t - 1] : 0);
    float* p = a.param[t] + j;
    *p = sgd_step(*p, a.grad[t][j], a.momentum_buf[t] ? a.momentum_buf[t] + j : nullptr, a.sgd);
  }
}

}  // namespace tinynn::gpu::sgd
