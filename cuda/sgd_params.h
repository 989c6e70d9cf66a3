// SgdConfig and first_step as the kernels take them (cuda/sgd_math.cuh applies them). Plain C++
// with no CUDA header, so kernel bodies that include sgd_math.cuh also build on the host (the
// CPU emulator in tests/kernel-emulation/).
#pragma once
#include "cpp/backend.h"

namespace tinynn::gpu {

struct SgdParams {
  float lr, momentum, dampening, weight_decay;
  bool nesterov, first_step;
};

inline SgdParams sgd_params(const SgdConfig& c, bool first_step) {
  return {c.lr, c.momentum, c.dampening, c.weight_decay, c.nesterov, first_step};
}

}  // namespace tinynn::gpu
