// The body of Backend::unary's kernel: y = f(x) element by element, the op a template argument.
// Plain C++ apart from CUDA's built-ins: cuda/kernels_unary.cu wraps it in __global__ kernels and
// launches them, and the CPU emulator in tests/kernel-emulation/ runs it on the host.
#pragma once
#include "cuda/activation_math.cuh"

namespace tinynn::gpu::unary {

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

// A grid-stride loop. y may alias x: each element is read, then written, by the same thread.
template <UnaryOp OP, typename Index>
__device__ inline void unary_body(const float* x, float* y, Index n, float a, float b) {
  for (Index i = blockIdx.x * static_cast<Index>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<Index>(gridDim.x) * blockDim.x)
    y[i] = unary_op<OP>(x[i], a, b);
}

}  // namespace tinynn::gpu::unary
