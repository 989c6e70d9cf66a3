// The GEMM epilogue: y += bias (per column), then the activation, in place on cuBLAS's output.
#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/kernels_epilogue.cuh"
#include "cuda/launch_shape.cuh"

namespace tinynn::gpu {
namespace {

// The body in kernels_epilogue.cuh.
template <typename Index, Activation A>
__global__ void bias_activation_kernel(float* __restrict__ y, int ld, const float* __restrict__ bias, Index rows,
                                       Index cols, float slope) {
  epilogue::bias_activation_body<Index, A>(y, ld, bias, rows, cols, slope);
}

template <Activation A>
void launch(cudaStream_t stream, float* y, int ld, const float* bias, int rows, int cols, float slope) {
  const size_t n = static_cast<size_t>(rows) * cols;
  if (fits_u32(rows, cols))
    bias_activation_kernel<uint32_t, A><<<blocks_for(n), kThreads, 0, stream>>>(y, ld, bias, rows, cols, slope);
  else
    bias_activation_kernel<size_t, A><<<blocks_for(n), kThreads, 0, stream>>>(y, ld, bias, rows, cols, slope);
}

}  // namespace

void launch_bias_activation(cudaStream_t stream, float* y, int ld, const float* bias, int rows, int cols,
                            Activation activation, float slope) {
  if (rows <= 0 || cols <= 0) return;
  switch (activation) {
    case Activation::None: launch<Activation::None>(stream, y, ld, bias, rows, cols, slope); break;
    case Activation::Relu: launch<Activation::Relu>(stream, y, ld, bias, rows, cols, slope); break;
    case Activation::LeakyRelu: launch<Activation::LeakyRelu>(stream, y, ld, bias, rows, cols, slope); break;
    case Activation::Sigmoid: launch<Activation::Sigmoid>(stream, y, ld, bias, rows, cols, slope); break;
    case Activation::Tanh: launch<Activation::Tanh>(stream, y, ld, bias, rows, cols, slope); break;
    case Activation::Gelu: launch<Activation::Gelu>(stream, y, ld, bias, rows, cols, slope); break;
  }
  check_launch("bias_activation kernel launch");
}

}  // namespace tinynn::gpu
