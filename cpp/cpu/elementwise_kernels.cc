#include "cpp/cpu/elementwise_kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cpp/counter_random.h"
#include "cpp/cpu/isa_dispatch.h"

namespace tinynn::cpu {
namespace {

// The loops are inlined into each instruction set's copy below, so they vectorise at its width
// (left out of line they were compiled once, for SSE).
#define ELEMENTWISE_INLINE TINYNN_ALWAYS_INLINE

template <typename F>
ELEMENTWISE_INLINE void map1(const float* x, float* y, size_t n, F f) {
  for (size_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

template <typename F>
ELEMENTWISE_INLINE void map2(const float* a, size_t as, const float* b, size_t bs, float* out, size_t n, F f) {
  if (as == 1 && bs == 1) {
    for (size_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
  } else if (as == 1) {
    const float s = b[0];
    for (size_t i = 0; i < n; ++i) out[i] = f(a[i], s);
  } else if (bs == 1) {
    const float s = a[0];
    for (size_t i = 0; i < n; ++i) out[i] = f(s, b[i]);
  } else {
    const float v = f(a[0], b[0]);
    std::fill(out, out + n, v);
  }
}

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

ELEMENTWISE_INLINE void unary_body(UnaryOp op, const float* x, float* y, size_t n, float a, float b) {
  switch (op) {
    case UnaryOp::Neg: return map1(x, y, n, [](float v) { return -v; });
    case UnaryOp::Exp: return map1(x, y, n, [](float v) { return exp_vec(v); });
    case UnaryOp::Log: return map1(x, y, n, [](float v) { return std::log(v); });
    case UnaryOp::Sqrt: return map1(x, y, n, [](float v) { return std::sqrt(v); });
    case UnaryOp::Abs: return map1(x, y, n, [](float v) { return std::fabs(v); });
    case UnaryOp::Relu: return map1(x, y, n, [](float v) { return v < 0.f ? 0.f : v; });  // NaN stays NaN
    case UnaryOp::LeakyRelu: return map1(x, y, n, [a](float v) { return v > 0.f ? v : a * v; });
    case UnaryOp::Sigmoid: return map1(x, y, n, [](float v) { return 1.f / (1.f + exp_vec(-v)); });
    case UnaryOp::Tanh: return map1(x, y, n, [](float v) { return std::tanh(v); });
    case UnaryOp::Gelu: return map1(x, y, n, [](float v) { return gelu(v); });
    case UnaryOp::Pow: return map1(x, y, n, [a](float v) { return std::pow(v, a); });
    case UnaryOp::Clamp: return map1(x, y, n, [a, b](float v) { return std::min(std::max(v, a), b); });
    case UnaryOp::Affine: return map1(x, y, n, [a, b](float v) { return a * v + b; });
  }
}

ELEMENTWISE_INLINE void binary_body(BinaryOp op, const float* a, size_t as, const float* b, size_t bs, float* out, size_t n,
                                    float param) {
  switch (op) {
    case BinaryOp::Add: return map2(a, as, b, bs, out, n, [](float x, float y) { return x + y; });
    case BinaryOp::Sub: return map2(a, as, b, bs, out, n, [](float x, float y) { return x - y; });
    case BinaryOp::Mul: return map2(a, as, b, bs, out, n, [](float x, float y) { return x * y; });
    case BinaryOp::Div: return map2(a, as, b, bs, out, n, [](float x, float y) { return x / y; });
    case BinaryOp::Pow: return map2(a, as, b, bs, out, n, [](float x, float y) { return std::pow(x, y); });
    case BinaryOp::Maximum:
      return map2(a, as, b, bs, out, n, [](float x, float y) { return x != x || y != y ? kNaN : std::max(x, y); });
    case BinaryOp::Minimum:
      return map2(a, as, b, bs, out, n, [](float x, float y) { return x != x || y != y ? kNaN : std::min(x, y); });
    case BinaryOp::Eq: return map2(a, as, b, bs, out, n, [](float x, float y) { return x == y ? 1.f : 0.f; });
    case BinaryOp::Gt: return map2(a, as, b, bs, out, n, [](float x, float y) { return x > y ? 1.f : 0.f; });
    case BinaryOp::Lt: return map2(a, as, b, bs, out, n, [](float x, float y) { return x < y ? 1.f : 0.f; });
    case BinaryOp::ReluGrad:
      return map2(a, as, b, bs, out, n, [](float dy, float y) { return y > 0.f ? dy : 0.f; });
    case BinaryOp::LeakyReluGrad:
      return map2(a, as, b, bs, out, n, [param](float dy, float y) { return y > 0.f ? dy : param * dy; });
    case BinaryOp::SigmoidGrad:
      return map2(a, as, b, bs, out, n, [](float dy, float y) { return dy * (y * (1.f - y)); });
    case BinaryOp::TanhGrad:
      return map2(a, as, b, bs, out, n, [](float dy, float y) { return dy * (1.f - y * y); });
    case BinaryOp::GeluGrad:
      return map2(a, as, b, bs, out, n, [](float dy, float x) { return dy * gelu_grad(x); });
  }
}

ELEMENTWISE_INLINE void bernoulli_body(float* out, size_t first, size_t n, float keep, float scale, uint32_t key0,
                                       uint32_t key1) {
  for (size_t i = 0; i < n; ++i) out[i] = bernoulli_mask_value(key0, key1, first + i, keep, scale);
}

// Each kernel compiled for AVX-512, AVX2 and the baseline: the loops vectorise 16, 8 or 4 floats wide.
TINYNN_ISA_COPIES(unary, (UnaryOp op, const float* x, float* y, size_t n, float a, float b), unary_body(op, x, y, n, a, b))
TINYNN_ISA_COPIES(binary, (BinaryOp op, const float* a, size_t as, const float* b, size_t bs, float* out, size_t n, float p),
                  binary_body(op, a, as, b, bs, out, n, p))
TINYNN_ISA_COPIES(bernoulli, (float* out, size_t first, size_t n, float keep, float scale, uint32_t k0, uint32_t k1),
                  bernoulli_body(out, first, n, keep, scale, k0, k1))

}  // namespace

void unary_kernel(UnaryOp op, const float* x, float* y, size_t n, float a, float b) {
  static const auto widest = TINYNN_WIDEST(unary);
  widest(op, x, y, n, a, b);
}

void binary_kernel(BinaryOp op, const float* a, size_t as, const float* b, size_t bs, float* out, size_t n, float param) {
  static const auto widest = TINYNN_WIDEST(binary);
  widest(op, a, as, b, bs, out, n, param);
}

void bernoulli_kernel(float* out, size_t first, size_t n, float keep, float scale, uint32_t key0, uint32_t key1) {
  static const auto widest = TINYNN_WIDEST(bernoulli);
  widest(out, first, n, keep, scale, key0, key1);
}

}  // namespace tinynn::cpu
