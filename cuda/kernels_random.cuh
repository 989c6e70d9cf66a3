// The body of Backend::bernoulli_mask's kernel: out[i] = bernoulli_mask_value(keys, i), the same
// counter-based draw as the CPU backend (cpp/counter_random.h). Plain C++ apart from CUDA's
// built-ins: cuda/kernels_random.cu wraps it in a __global__ kernel and launches it, and the CPU
// emulator in tests/kernel-emulation/ runs it on the host.
#pragma once
#include <cstdint>

#include "cpp/counter_random.h"

namespace tinynn::gpu::random {

// A grid-stride loop; each element depends on its index only.
template <typename Index>
__device__ inline void bernoulli_body(float* out, Index n, float keep, float scale, uint32_t key0, uint32_t key1) {
  for (Index i = blockIdx.x * static_cast<Index>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<Index>(gridDim.x) * blockDim.x)
    out[i] = bernoulli_mask_value(key0, key1, i, keep, scale);
}

}  // namespace tinynn::gpu::random
