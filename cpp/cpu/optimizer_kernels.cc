#include "cpp/cpu/optimizer_kernels.h"

#include "cpp/cpu/isa_dispatch.h"
#include "cpp/cpu/vector_kernels.h"

namespace tinynn::cpu {
namespace {

// As the element-wise kernels: each loop compiled for AVX-512, AVX2 and the baseline
// (cpp/cpu/isa_dispatch.h), vectorised with state in registers; the file is built without FP
// contraction, so the vector body and the scalar tail round alike and any split of a tensor gives
// the same bits. One template instance per state layout.
#define OPTIMIZER_INLINE TINYNN_ALWAYS_INLINE

template <bool kAmsgrad>
OPTIMIZER_INLINE void adam_range(float* __restrict p, const float* __restrict g, float* __restrict m,
                                 float* __restrict v, float* __restrict v_max, size_t n, const AdamStep& s) {
  for (size_t i = 0; i < n; ++i) {
    float mi = m[i], vi = v[i], vmax = kAmsgrad ? v_max[i] : 0.f;
    p[i] = adam_update(p[i], g[i], &mi, &vi, &vmax, s);
    m[i] = mi;
    v[i] = vi;
    if (kAmsgrad) v_max[i] = vmax;
  }
}

template <bool kMomentum, bool kCentered>
OPTIMIZER_INLINE void rmsprop_range(float* __restrict p, const float* __restrict g, float* __restrict sq,
                                    float* __restrict buf, float* __restrict grad_avg, size_t n, const RmsPropStep& s) {
  for (size_t i = 0; i < n; ++i) {
    float sqi = sq[i], bi = kMomentum ? buf[i] : 0.f, gai = kCentered ? grad_avg[i] : 0.f;
    p[i] = rmsprop_update(p[i], g[i], &sqi, &bi, &gai, s);
    sq[i] = sqi;
    if (kMomentum) buf[i] = bi;
    if (kCentered) grad_avg[i] = gai;
  }
}

// v_max is null unless s.amsgrad.
OPTIMIZER_INLINE void adam_body(float* p, const float* g, float* m, float* v, float* v_max, size_t n, const AdamStep& s) {
  if (s.amsgrad) adam_range<true>(p, g, m, v, v_max, n, s);
  else adam_range<false>(p, g, m, v, nullptr, n, s);
}

// buf and grad_avg are null unless the step has momentum / is centered.
OPTIMIZER_INLINE void rmsprop_body(float* p, const float* g, float* sq, float* buf, float* grad_avg, size_t n,
                                   const RmsPropStep& s) {
  if (buf && grad_avg) rmsprop_range<true, true>(p, g, sq, buf, grad_avg, n, s);
  else if (buf) rmsprop_range<true, false>(p, g, sq, buf, nullptr, n, s);
  else if (grad_avg) rmsprop_range<false, true>(p, g, sq, nullptr, grad_avg, n, s);
  else rmsprop_range<false, false>(p, g, sq, nullptr, nullptr, n, s);
}

TINYNN_ISA_COPIES(adam, (float* p, const float* g, float* m, float* v, float* v_max, size_t n, const AdamStep& s),
                  adam_body(p, g, m, v, v_max, n, s))
TINYNN_ISA_COPIES(rmsprop, (float* p, const float* g, float* sq, float* buf, float* grad_avg, size_t n, const RmsPropStep& s),
                  rmsprop_body(p, g, sq, buf, grad_avg, n, s))

}  // namespace

OptimizerStepConstants optimizer_step_constants(const OptimizerConfig& config, int64_t step) {
  return {&config, config.kind == OptimizerKind::Adam ? adam_step(config.adam, step) : AdamStep{},
          rmsprop_step(config.rmsprop), step == 1};
}

void optimizer_update_range(const ParamUpdate& u, size_t offset, size_t n, const OptimizerStepConstants& c) {
  float* p = u.param + offset;
  const float* g = u.grad + offset;
  const auto at = [offset](float* state) { return state ? state + offset : nullptr; };
  switch (c.config->kind) {
    case OptimizerKind::Sgd:
      sgd_kernel(p, g, at(u.state[0]), n, c.config->sgd, c.first_step);
      return;
    case OptimizerKind::Adam:
      static const auto adam = TINYNN_WIDEST(adam);
      adam(p, g, at(u.state[0]), at(u.state[1]), c.adam.amsgrad ? at(u.state[2]) : nullptr, n, c.adam);
      return;
    case OptimizerKind::RmsProp: {
      const RmsPropStep& s = c.rmsprop;
      float* sq = at(u.state[0]);
      float* buf = s.has_momentum ? at(u.state[1]) : nullptr;
      float* grad_avg = s.centered ? at(u.state[s.grad_avg_slot]) : nullptr;
      static const auto rmsprop = TINYNN_WIDEST(rmsprop);
      rmsprop(p, g, sq, buf, grad_avg, n, s);
      return;
    }
  }
}

}  // namespace tinynn::cpu
