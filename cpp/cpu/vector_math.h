// exp, erfc and the functions built on them, written so that GCC vectorises loops over them
// (no libm calls, no branches): the element-wise kernels of GELU, its gradient, sigmoid and exp
// would otherwise call scalar libm once per element.
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>

namespace tinynn::cpu {

// Inlined into each caller (the element-wise kernels' AVX-512/AVX2 clones among them), so a loop
// over these vectorises at the caller's width.
#if defined(__GNUC__)
#define VECTOR_MATH_INLINE __attribute__((always_inline)) inline
#else
#define VECTOR_MATH_INLINE inline
#endif

// e^x within 2 ulp: x = n·ln2 + r (|r| <= ln2/2, ln2 in two parts), e^r by a degree-6 polynomial
// (Cephes' expf coefficients), 2^n built in the exponent bits. Overflow gives +inf, underflow 0
// (below -87.3, where the result would be denormal), NaN stays NaN.
VECTOR_MATH_INLINE float exp_vec(float x) {
  const float hi = 88.72283f, lo = -87.33654f;
  // NaN is clamped too (to 0): its int conversion below would be undefined; the result is x.
  const float xc = x != x ? 0.f : (x < lo ? lo : (x > hi ? hi : x));
  const float round = 12582912.f;  // 1.5·2^23: adding and subtracting it rounds to an integer
  const float n = (xc * 1.44269504088896341f + round) - round;
  const float r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.f;
  // 2^n as 2^(n/2)·2^(n - n/2): each factor stays a normal float for n = 128 (x near the top,
  // where e^x is still finite) as for n = −126.
  const int32_t ni = static_cast<int32_t>(n), half = ni / 2;
  const int32_t bits1 = (half + 127) << 23, bits2 = (ni - half + 127) << 23;
  float scale1, scale2;
  std::memcpy(&scale1, &bits1, sizeof scale1);
  std::memcpy(&scale2, &bits2, sizeof scale2);
  float y = e * scale1 * scale2;
  y = x > hi ? std::numeric_limits<float>::infinity() : y;
  y = x < lo ? 0.f : y;
  return x != x ? x : y;
}

// erfc(z) for z >= 0 with a relative error below 2e-7 (Numerical Recipes' erfcc, Chebyshev fit).
VECTOR_MATH_INLINE float erfc_nonneg(float z) {
  const float t = 1.f / (1.f + 0.5f * z);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  return t * exp_vec(p - z * z);
}

// Φ(x), the standard normal CDF: 0.5·erfc(-x/√2), accurate in relative terms in both tails.
VECTOR_MATH_INLINE float normal_cdf(float x) {
  const float z = (x < 0.f ? -x : x) * 0.70710678118654752f;
  const float half_tail = 0.5f * erfc_nonneg(z);
  const float cdf = x < 0.f ? half_tail : 1.f - half_tail;
  return x != x ? x : cdf;
}

}  // namespace tinynn::cpu
