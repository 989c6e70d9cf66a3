// The SGD step over every parameter tensor in one launch (Backend::optimizer_update with an SGD
// config): the tensors travel by value in the kernel's argument block (up to kSgdTensors of them,
// ~600 bytes) and the grid strides over their concatenation, so the 4 tensors of the MNIST net
// (101 770 floats) cost one launch, not four.
#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/kernels_sgd.cuh"
#include "cuda/launch_shape.cuh"

namespace tinynn::gpu {
namespace {

using sgd::SgdArgs;

// The body (and SgdArgs, sgd_args) in kernels_sgd.cuh.
__global__ void sgd_kernel(const __grid_constant__ SgdArgs a) { sgd::sgd_body(a); }

}  // namespace

void launch_sgd_update(cudaStream_t stream, const ParamUpdate* params, int count, const SgdConfig& config,
                       bool first_step) {
  for (int first = 0; first < count; first += sgd::kSgdTensors) {
    const SgdArgs a = sgd::sgd_args(params, first, count, config, first_step);
    if (a.count == 0) continue;
    const size_t total = a.end[a.count - 1];
    sgd_kernel<<<blocks_for(total), kThreads, 0, stream>>>(a);
    check_launch("sgd_update kernel launch");
  }
}

}  // namespace tinynn::gpu
