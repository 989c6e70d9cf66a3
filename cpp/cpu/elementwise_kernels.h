// The scalar formulas of the element-wise ops (UnaryOp, BinaryOp) and loops over one thread's
// share of the elements. The CUDA kernels compute the same formulas.
#pragma once
#include <cmath>
#include <cstddef>

#include "cpp/backend.h"

namespace tinynn::cpu {

// The UnaryOp that applies an activation.
UnaryOp activation_op(Activation activation);

// y[i] = op(x[i]) for i < n (y may alias x).
void unary_kernel(UnaryOp op, const float* x, float* y, size_t n, float a, float b);

// out[i] = op(a[i·a_step], b[i·b_step]) for i < n (steps 0 or 1: a scalar operand or a row).
void binary_kernel(BinaryOp op, const float* a, size_t a_step, const float* b, size_t b_step, float* out,
                   size_t n, float param);

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

inline float gelu(float x) { return 0.5f * x * (1.f + std::erf(x * kInvSqrt2)); }
// d gelu / dx = Φ(x) + x·φ(x)
inline float gelu_grad(float x) {
  return 0.5f * (1.f + std::erf(x * kInvSqrt2)) + x * (kInvSqrt2Pi * std::exp(-0.5f * x * x));
}

}  // namespace tinynn::cpu
