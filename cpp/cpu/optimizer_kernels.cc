#include "cpp/cpu/optimizer_kernels.h"

#include "cpp/cpu/vector_kernels.h"

namespace tinynn::cpu {

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
    case OptimizerKind::Adam: {
      float *m = at(u.state[0]), *v = at(u.state[1]), *v_max = at(u.state[2]);
      for (size_t i = 0; i < n; ++i) p[i] = adam_update(p[i], g[i], m + i, v + i, v_max ? v_max + i : nullptr, c.adam);
      return;
    }
    case OptimizerKind::RmsProp: {
      const RmsPropStep& s = c.rmsprop;
      float* sq = at(u.state[0]);
      float* buf = s.has_momentum ? at(u.state[1]) : nullptr;
      float* grad_avg = s.centered ? at(u.state[s.grad_avg_slot]) : nullptr;
      for (size_t i = 0; i < n; ++i) {
        p[i] = rmsprop_update(p[i], g[i], sq + i, buf ? buf + i : nullptr, grad_avg ? grad_avg + i : nullptr, s);
      }
      return;
    }
  }
}

}  // namespace tinynn::cpu
