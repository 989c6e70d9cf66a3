// Backend::unary: y = f(x) element by element, one kernel per UnaryOp (the op a template
// argument, so each kernel is a plain grid-stride loop).
#include "cuda/activation_math.cuh"
#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/launch_shape.cuh"

namespace tinynn::gpu {
namespace {

template <UnaryOp OP>
__device__ inline float unary_op(float x, float a, float b) {
  if constexpr (OP == UnaryOp::Neg) {
    return -x;
  } else if constexpr (OP == UnaryOp::Exp) {
    return expf(x);
  } else if constexpr (OP == UnaryOp::Log) {
    return logf(x);
  } else if constexpr (OP == UnaryOp::Sqrt) {
    return sqrtf(x);
  } else if constexpr (OP == UnaryOp::Abs) {
    return fabsf(x);
  } else if constexpr (OP == UnaryOp::Relu) {
    return relu(x);
  } else if constexpr (OP == UnaryOp::LeakyRelu) {
    return leaky_relu(x, a);
  } else if constexpr (OP == UnaryOp::Sigmoid) {
    return sigmoid(x);
  } else if constexpr (OP == UnaryOp::Tanh) {
    return tanhf(x);
  } else if constexpr (OP == UnaryOp::Gelu) {
    return gelu(x);
  } else if constexpr (OP == UnaryOp::Pow) {
    return powf(x, a);
  } else if constexpr (OP == UnaryOp::Clamp) {
    // std::min(std::max(x, a), b) as the CPU backend writes it: a NaN x stays NaN.
    const float lo = x < a ? a : x;
    return b < lo ? b : lo;
  } else {
    static_assert(OP == UnaryOp::Affine, "every UnaryOp has its case");
    return __fadd_rn(__fmul_rn(a, x), b);
  }
}

// y may alias x: each element is read, then written, by the same thread.
template <UnaryOp OP, typename Index>
__global__ void unary_kernel(const float* x, float* y, Index n, float a, float b) {
  for (Index i = blockIdx.x * static_cast<Index>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<Index>(gridDim.x) * blockDim.x)
    y[i] = unary_op<OP>(x[i], a, b);
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
