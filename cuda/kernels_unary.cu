// Backend::unary: y = f(x) element by element, one kernel per UnaryOp (the op a template
// argument, so each kernel is a plain grid-stride loop).
#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/kernels_unary.cuh"
#include "cuda/launch_shape.cuh"

namespace tinynn::gpu {
namespace {

// The body (and unary_op) in kernels_unary.cuh.
template <UnaryOp OP, typename Index>
__global__ void unary_kernel(const float* x, float* y, Index n, float a, float b) {
  unary::unary_body<OP, Index>(x, y, n, a, b);
}

template <UnaryOp OP>
void launch(cudaStream_t stream, const float* x, float* y, size_t n, float a, float b) {
  if (fits_u32(n))
    unary_kernel<OP, uint32_t><<<blocks_for(n), kThreads, 0, stream>>>(x, y, static_cast<uint32_t>(n), a, b);
  else
    unary_kernel<OP, size_t><<<blocks_for(n), kThreads, 0, stream>>>(x, y, n, a, b);
}

}  // namespace

void launch_unary(cudaStream_t stream, UnaryOp op, const float* x, float* y, size_t n, float a, float b) {
  if (n == 0) return;
  switch (op) {
    case UnaryOp::Neg: launch<UnaryOp::Neg>(stream, x, y, n, a, b); break;
    case UnaryOp::Exp: launch<UnaryOp::Exp>(stream, x, y, n, a, b); break;
    case UnaryOp::Log: launch<UnaryOp::Log>(stream, x, y, n, a, b); break;
    case UnaryOp::Sqrt: launch<UnaryOp::Sqrt>(stream, x, y, n, a, b); break;
    case UnaryOp::Abs: launch<UnaryOp::Abs>(stream, x, y, n, a, b); break;
    case UnaryOp::Relu: launch<UnaryOp::Relu>(stream, x, y, n, a, b); break;
    case UnaryOp::LeakyRelu: launch<UnaryOp::LeakyRelu>(stream, x, y, n, a, b); break;
    case UnaryOp::Sigmoid: launch<UnaryOp::Sigmoid>(stream, x, y, n, a, b); break;
    case UnaryOp::Tanh: launch<UnaryOp::Tanh>(stream, x, y, n, a, b); break;
    case UnaryOp::Gelu: launch<UnaryOp::Gelu>(stream, x, y, n, a, b); break;
    case UnaryOp::Pow: launch<UnaryOp::Pow>(stream, x, y, n, a, b); break;
    case UnaryOp::Clamp: launch<UnaryOp::Clamp>(stream, x, y, n, a, b); break;
    case UnaryOp::Affine: launch<UnaryOp::Affine>(stream, x, y, n, a, b); break;
  }
  check_launch("unary kernel launch");
}

}  // namespace tinynn::gpu
