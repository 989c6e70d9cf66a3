// The SGD, Adam / AdamW and RMSprop steps over every parameter tensor in one launch per 16 tensors
// (Backend::optimizer_update): the tensors travel by value in the kernel's argument block and the
// grid strides over their concatenation, so the 4 tensors of the MNIST net cost one launch, not
// four (bodies in kernels_optimizer.cuh).
#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/kernels_optimizer.cuh"
#include "cuda/launch_shape.cuh"

namespace tinynn::gpu {
namespace {

using optim::OptimizerArgs;

__global__ void sgd_kernel(const __grid_constant__ OptimizerArgs a, const SgdParams s) { optim::sgd_body(a, s); }
__global__ void adam_kernel(const __grid_constant__ OptimizerArgs a, const AdamStep s) { optim::adam_body(a, s); }
__global__ void rmsprop_kernel(const __grid_constant__ OptimizerArgs a, const RmsPropStep s) { optim::rmsprop_body(a, s); }

template <typename Launch>
void launch_per_group(const ParamUpdate* params, int count, Launch launch) {
  for (int first = 0; first < count; first += optim::kOptimizerTensors) {
    const OptimizerArgs a = optim::optimizer_args(params, first, count);
    if (a.count == 0) continue;
    launch(a, blocks_for(a.end[a.count - 1]));
  }
}

}  // namespace

void launch_sgd_update(cudaStream_t stream, const ParamUpdate* params, int count, const SgdConfig& config,
                       bool first_step) {
  const SgdParams step = sgd_params(config, first_step);
  launch_per_group(params, count, [&](const OptimizerArgs& a, unsigned blocks) {
    sgd_kernel<<<blocks, kThreads, 0, stream>>>(a, step);
    check_launch("sgd_update kernel launch");
  });
}

void launch_adam_update(cudaStream_t stream, const ParamUpdate* params, int count, const AdamStep& step) {
  launch_per_group(params, count, [&](const OptimizerArgs& a, unsigned blocks) {
    adam_kernel<<<blocks, kThreads, 0, stream>>>(a, step);
    check_launch("adam_update kernel launch");
  });
}

void launch_rmsprop_update(cudaStream_t stream, const ParamUpdate* params, int count, const RmsPropStep& step) {
  launch_per_group(params, count, [&](const OptimizerArgs& a, unsigned blocks) {
    rmsprop_kernel<<<blocks, kThreads, 0, stream>>>(a, step);
    check_launch("rmsprop_update kernel launch");
  });
}

}  // namespace tinynn::gpu
