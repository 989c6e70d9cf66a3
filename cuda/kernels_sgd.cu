// The SGD step over every parameter tensor in one launch (Backend::optimizer_update with an SGD
// config): the tensors travel by value in the kernel's argument block (up to kSgdTensors of them,
// ~600 bytes) and the grid strides over their concatenation, so the 4 tensors of the MNIST net
// (101 770 floats) cost one launch, not four.
#include <string>

#include "cpp/errors.h"
#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/launch_shape.cuh"
#include "cuda/sgd_math.cuh"

namespace tinynn::gpu {
namespace {

constexpr int kSgdTensors = 16;

struct SgdArgs {
  float* param[kSgdTensors];
  const float* grad[kSgdTensors];
  float* momentum_buf[kSgdTensors];
  size_t end[kSgdTensors];  // exclusive prefix end of tensor t in the concatenation
  int count;
  SgdParams sgd;
};

// PyTorch's torch.optim.SGD, operation for operation as the CPU backend does it (sgd_math.cuh).
__global__ void sgd_kernel(const __grid_constant__ SgdArgs a) {
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

}  // namespace

void launch_sgd_update(cudaStream_t stream, const ParamUpdate* params, int count, const SgdConfig& config,
                       bool first_step) {
  // With momentum every parameter needs its buffer (the kernel reads and writes it).
  if (config.momentum != 0.f) {
    for (int t = 0; t < count; ++t) {
      if (params[t].n != 0 && !params[t].state[0])
        throw RangeError("SGD with momentum: parameter " + std::to_string(t) + " has no momentum buffer");
    }
  }
  for (int first = 0; first < count; first += kSgdTensors) {
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
    if (a.count == 0) continue;
    sgd_kernel<<<blocks_for(total), kThreads, 0, stream>>>(a);
    check_launch("sgd_update kernel launch");
  }
}

}  // namespace tinynn::gpu
