// Backend::mse: the mean squared error and its gradient in one launch, with a deterministic
// last-block reduction (the body and how it sums in kernels_mse.cuh).
#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/kernels_mse.cuh"

namespace tinynn::gpu {
namespace {

using namespace mse;

// The body in kernels_mse.cuh.
__global__ void __launch_bounds__(kMseThreads) mse_kernel(const float* pred, const float* target, size_t n,
                                                          float* loss, float* dpred, LossScratch scratch) {
  __shared__ MseSmem s;
  mse_body(pred, target, n, loss, dpred, scratch, s);
}

}  // namespace

void launch_mse(cudaStream_t stream, const LossScratch& scratch, const float* pred, const float* target, size_t n,
                float* loss, float* dpred) {
  mse_kernel<<<mse_blocks(n), kMseThreads, 0, stream>>>(pred, target, n, loss, dpred, scratch);
  check_launch("mse kernel launch");
}

}  // namespace tinynn::gpu
