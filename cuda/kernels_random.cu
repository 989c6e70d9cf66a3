// Backend::bernoulli_mask: dropout's mask drawn on the device (the body in kernels_random.cuh).
#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/kernels_random.cuh"
#include "cuda/launch_shape.cuh"

namespace tinynn::gpu {
namespace {

template <typename Index>
__global__ void bernoulli_kernel(float* out, Index n, float keep, float scale, uint32_t key0, uint32_t key1) {
  random::bernoulli_body<Index>(out, n, keep, scale, key0, key1);
}

}  // namespace

void launch_bernoulli_mask(cudaStream_t stream, float* out, size_t n, float keep, float scale, uint32_t key0,
                           uint32_t key1) {
  if (n == 0) return;
  if (fits_u32(n))
    bernoulli_kernel<uint32_t><<<blocks_for(n), kThreads, 0, stream>>>(out, static_cast<uint32_t>(n), keep, scale, key0, key1);
  else
    bernoulli_kernel<size_t><<<blocks_for(n), kThreads, 0, stream>>>(out, n, keep, scale, key0, key1);
  check_launch("bernoulli mask kernel launch");
}

}  // namespace tinynn::gpu
