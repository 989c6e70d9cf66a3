// The body of the GEMM epilogue's kernel: y += bias (per column), then the activation, in place on
// cuBLAS's output. Plain C++ apart from CUDA's built-ins: cuda/kernels_epilogue.cu wraps it in
// __global__ kernels and launches them, and the CPU emulator in tests/kernel-emulation/ runs it on
// the host.
#pragma once
#include <cstddef>

#include "cuda/activation_math.cuh"

namespace tinynn::gpu::epilogue {

// Index is uint32_t when rows·cols fits (cheaper division), else size_t.
template <typename Index, Activation A>
__device__ inline void bias_activation_body(float* __restrict__ y, int ld, const float* __restrict__ bias, Index rows,
                                            Index cols, float slope) {
  const Index total = rows * cols;
  for (Index i = blockIdx.x * static_cast<Index>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<Index>(gridDim.x) * blockDim.x) {
    const Index r = i / cols, c = i - r * cols;
    float* p = y + static_cast<size_t>(r) * ld + c;
    *p = activate(A, *p + (bias ? bias[c] : 0.f), slope);
  }
}

}  // namespace tinynn::gpu::epilogue
