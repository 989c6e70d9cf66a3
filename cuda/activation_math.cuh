// The element-wise activation functions and their gradients, shared by the unary and binary
// kernels and the GEMM epilogue, so that an activation is the same function whichever kernel
// applies it. Semantics: cpp/backend.h (Activation, UnaryOp, BinaryOp). The products and sums
// that a compiler could contract into one FMA are rounded one by one (__fmul_rn / __fadd_rn), as
// the CPU backend's plain C++ rounds them.
#pragma once
#include <cmath>

#include "cpp/backend.h"

namespace tinynn::gpu {

constexpr float kSqrtHalf = 0.70710678118654752440f;     // 1/√2
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;   // 1/√(2π)

// v < 0 ? 0 : v keeps a NaN as NaN, like the CPU backend's std::max(v, 0.f).
__device__ inline float relu(float x) { return x < 0.f ? 0.f : x; }
__device__ inline float leaky_relu(float x, float slope) { return x < 0.f ? __fmul_rn(x, slope) : x; }
__device__ inline float sigmoid(float x) { return 1.f / (1.f + expf(-x)); }
// The exact GELU: x·Φ(x), Φ(x) = (1 + erf(x/√2))/2.
__device__ inline float gelu(float x) { return __fmul_rn(__fmul_rn(0.5f, x), 1.f + erff(__fmul_rn(x, kSqrtHalf))); }

__device__ inline float activate(Activation activation, float v, float slope) {
  switch (activation) {
    case Activation::Relu: return relu(v);
    case Activation::LeakyRelu: return leaky_relu(v, slope);
    case Activation::Sigmoid: return sigmoid(v);
    case Activation::Tanh: return tanhf(v);
    case Activation::Gelu: return gelu(v);
    case Activation::None: break;
  }
  return v;
}

// The backwards: dy·f'(·) from what the forward saved (the output y, or for GELU the input x).
__device__ inline float relu_grad(float dy, float y) { return y > 0.f ? dy : 0.f; }
__device__ inline float leaky_relu_grad(float dy, float y, float slope) { return y > 0.f ? dy : __fmul_rn(slope, dy); }
__device__ inline float sigmoid_grad(float dy, float y) { return __fmul_rn(__fmul_rn(dy, y), 1.f - y); }
__device__ inline float tanh_grad(float dy, float y) { return __fmul_rn(dy, 1.f - __fmul_rn(y, y)); }
// dy·(Φ(x) + x·φ(x)), φ(x) = exp(−x²/2)/√(2π).
__device__ inline float gelu_grad(float dy, float x) {
  const float cdf = __fmul_rn(0.5f, 1.f + erff(__fmul_rn(x, kSqrtHalf)));
  const float pdf = __fmul_rn(kInvSqrt2Pi, expf(__fmul_rn(-0.5f, __fmul_rn(x, x))));
  return __fmul_rn(dy, __fadd_rn(cdf, __fmul_rn(x, pdf)));
}

}  // namespace tinynn::gpu
