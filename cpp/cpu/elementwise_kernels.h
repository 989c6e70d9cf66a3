// The scalar formulas of the element-wise ops (UnaryOp, BinaryOp) and loops over one thread's
// share of the elements. The CUDA kernels compute the same functions with CUDA's libm.
#pragma once
#include <cstddef>

#include "cpp/backend.h"
#include "cpp/cpu/vector_math.h"

namespace tinynn::cpu {

// y[i] = op(x[i]) for i < n (y may alias x).
void unary_kernel(UnaryOp op, const float* x, float* y, size_t n, float a, float b);
// out[i] = bernoulli_mask_value(key0, key1, first + i, keep, scale) for i < n.
void bernoulli_kernel(float* out, size_t first, size_t n, float keep, float scale, uint32_t key0, uint32_t key1);

// out[i] = op(a[i·a_step], b[i·b_step]) for i < n (steps 0 or 1: a scalar operand or a row).
void binary_kernel(BinaryOp op, const float* a, size_t a_step, const float* b, size_t b_step, float* out,
                   size_t n, float param);

constexpr float kInvSqrt2Pi = 0.39894228040143268f;

// GELU, exact form: x·Φ(x).
VECTOR_MATH_INLINE float gelu(float x) { return x * normal_cdf(x); }
// d gelu / dx = Φ(x) + x·φ(x)
VECTOR_MATH_INLINE float gelu_grad(float x) { return normal_cdf(x) + x * (kInvSqrt2Pi * exp_vec(-0.5f * x * x)); }

}  // namespace tinynn::cpu
