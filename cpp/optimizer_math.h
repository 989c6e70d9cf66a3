// One element's Adam / AdamW and RMSprop update, PyTorch's single-tensor rules operation for
// operation, shared by the CPU backend's loops and the CUDA kernels (plain C++: the CPU emulator
// runs the kernels' bodies too). The per-step constants are derived on the host in double, as
// PyTorch derives them in Python, and enter as floats.
#pragma once
#include <cmath>
#include <cstdint>

#include "cpp/backend.h"
#include "cpp/counter_random.h"

namespace tinynn {

// Adam's constants for one step (1-based).
struct AdamStep {
  float one_minus_beta1;  // lerp weight of exp_avg
  float beta2, one_minus_beta2;
  float eps;
  float weight_decay;     // L2: g += wd·p (0 when decoupled)
  float decay;            // AdamW: p *= 1 − lr·wd (1 otherwise)
  float step_size;        // lr / (1 − beta1^step)
  float bias_correction2_sqrt;  // √(1 − beta2^step)
  bool amsgrad;
};

inline AdamStep adam_step(const AdamConfig& c, int64_t step) {
  AdamStep s;
  s.one_minus_beta1 = static_cast<float>(1.0 - c.beta1);
  s.beta2 = static_cast<float>(c.beta2);
  s.one_minus_beta2 = static_cast<float>(1.0 - c.beta2);
  s.eps = static_cast<float>(c.eps);
  s.weight_decay = c.decoupled_weight_decay ? 0.f : static_cast<float>(c.weight_decay);
  s.decay = c.decoupled_weight_decay ? static_cast<float>(1.0 - c.lr * c.weight_decay) : 1.f;
  const double t = static_cast<double>(step);
  s.step_size = static_cast<float>(c.lr / (1.0 - std::pow(c.beta1, t)));
  s.bias_correction2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(c.beta2, t)));
  s.amsgrad = c.amsgrad;
  return s;
}

// Returns the new parameter; updates exp_avg (m), exp_avg_sq (v) and, with amsgrad, max_exp_avg_sq.
TINYNN_HOST_DEVICE inline float adam_update(float p, float g, float* m, float* v, float* v_max, const AdamStep& s) {
  p = p * s.decay;
  if (s.weight_decay != 0.f) g = g + s.weight_decay * p;
  const float m1 = *m + s.one_minus_beta1 * (g - *m);  // exp_avg.lerp_(grad, 1 − beta1)
  const float v1 = *v * s.beta2 + s.one_minus_beta2 * (g * g);
  *m = m1;
  *v = v1;
  float v_hat = v1;
  if (s.amsgrad) {
    v_hat = *v_max > v1 ? *v_max : v1;
    *v_max = v_hat;
  }
  const float denom = std::sqrt(v_hat) / s.bias_correction2_sqrt + s.eps;
  return p - s.step_size * (m1 / denom);  // addcdiv_(exp_avg, denom, value=−step_size)
}

// RMSprop's constants (the same every step), and where its states are: state[0] square_avg, then
// the momentum buffer when has_momentum, then grad_avg (state[grad_avg_slot]) when centered.
// Decided from the config's doubles, as OptimizerConfig::state_count() decides the count.
struct RmsPropStep {
  float alpha, one_minus_alpha;
  float eps;
  float weight_decay;
  float momentum;
  float lr;
  bool centered;
  bool has_momentum;
  int grad_avg_slot;
};

inline RmsPropStep rmsprop_step(const RmsPropConfig& c) {
  const bool has_momentum = c.momentum != 0.0;
  return {static_cast<float>(c.alpha), static_cast<float>(1.0 - c.alpha), static_cast<float>(c.eps),
          static_cast<float>(c.weight_decay), static_cast<float>(c.momentum), static_cast<float>(c.lr), c.centered,
          has_momentum, has_momentum ? 2 : 1};
}

// Returns the new parameter; updates square_avg, the momentum buffer (when momentum != 0) and
// grad_avg (when centered).
TINYNN_HOST_DEVICE inline float rmsprop_update(float p, float g, float* square_avg, float* buf, float* grad_avg,
                                               const RmsPropStep& s) {
  if (s.weight_decay != 0.f) g = g + s.weight_decay * p;
  const float sq = *square_avg * s.alpha + s.one_minus_alpha * (g * g);
  *square_avg = sq;
  float avg;
  if (s.centered) {
    const float ga = *grad_avg + s.one_minus_alpha * (g - *grad_avg);  // grad_avg.lerp_(grad, 1 − alpha)
    *grad_avg = ga;
    avg = std::sqrt(sq - ga * ga);
  } else {
    avg = std::sqrt(sq);
  }
  avg = avg + s.eps;
  if (s.has_momentum) {
    const float b = *buf * s.momentum + g / avg;
    *buf = b;
    return p - s.lr * b;
  }
  return p - s.lr * (g / avg);
}

}  // namespace tinynn
