// The CPU's optimizer updates over a range of one parameter tensor: the whole-step multi-tensor
// update (CpuBackend::optimizer_update) and the fused step's block-by-block updates run the same
// code, so any split of a tensor gives the same bits.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpp/backend.h"
#include "cpp/optimizer_math.h"

namespace tinynn::cpu {

// One step's constants, derived once per step (Adam's bias corrections, SGD's first step).
struct OptimizerStepConstants {
  const OptimizerConfig* config;
  AdamStep adam;
  RmsPropStep rmsprop;
  bool first_step;
};

OptimizerStepConstants optimizer_step_constants(const OptimizerConfig& config, int64_t step);

// Updates u.param[offset, offset + n) from u.grad and u.state over the same range.
void optimizer_update_range(const ParamUpdate& u, size_t offset, size_t n, const OptimizerStepConstants& c);

}  // namespace tinynn::cpu
