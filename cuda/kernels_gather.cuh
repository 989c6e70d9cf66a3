// The bodies of Backend::gather_rows's kernel (float rows by index) and Backend::one_hot's: a
// thread per output element, consecutive threads along a row. Plain C++ apart from CUDA's built-ins: cuda/kernels_gather.cu
// wraps it in __global__ kernels and launches them, and the CPU emulator in tests/kernel-emulation/
// runs it on the host.
#pragma once
#include <cstddef>
#include <cmath>
#include <cstdint>

namespace tinynn::gpu::gather {

// dst [rows, cols] from src [N, cols] at rows indices[r].
template <typename Index>
__device__ inline void gather_rows_body(const float* __restrict__ src, Index cols, const int32_t* __restrict__ indices,
                                        Index rows, float* __restrict__ dst) {
  const Index total = rows * cols;
  for (Index i = blockIdx.x * static_cast<Index>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<Index>(gridDim.x) * blockDim.x) {
    const Index r = i / cols, c = i - r * cols;
    dst[i] = src[static_cast<size_t>(indices[r]) * cols + c];
  }
}

// out [rows, classes]: 1 at labels[r], else 0; all NaN in a row whose label is out of range.
template <typename Index>
__device__ inline void one_hot_body(const int32_t* __restrict__ labels, Index rows, Index classes,
                                    float* __restrict__ out) {
  const Index total = rows * classes;
  for (Index i = blockIdx.x * static_cast<Index>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<Index>(gridDim.x) * blockDim.x) {
    const Index r = i / classes, c = i - r * classes;
    const int32_t label = labels[r];
    const bool valid = label >= 0 && static_cast<Index>(label) < classes;
    out[i] = !valid ? nanf("") : static_cast<Index>(label) == c ? 1.f : 0.f;
  }
}

}  // namespace tinynn::gpu::gather
