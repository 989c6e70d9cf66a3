// The SGD settings the tests run the fused-SGD kernels with, and PyTorch's torch.optim.SGD step
// as their references: in float, rounded as the CPU backend rounds it (for the exact checks of a
// step from the kernel's own gradient), and in float64 with magnitudes (for near checks of steps
// from a float64 gradient).
#pragma once
#include "cuda/sgd_params.h"
#include "tests/kernel-emulation/check.h"

namespace emu_test {

struct Sgd {
  const char* name;
  float lr, momentum, dampening, weight_decay;
  bool nesterov;
};

inline constexpr Sgd kPlain{"lr 0.1", 0.1f, 0.f, 0.f, 0.f, false};
inline constexpr Sgd kMomentum{"lr 0.05 momentum 0.9", 0.05f, 0.9f, 0.f, 0.f, false};
inline constexpr Sgd kDamped{"lr 0.05 momentum 0.9 dampening 0.1 wd 1e-2", 0.05f, 0.9f, 0.1f, 1e-2f, false};
inline constexpr Sgd kNesterov{"lr 0.05 nesterov momentum 0.9 wd 1e-3", 0.05f, 0.9f, 0.f, 1e-3f, true};

// As the kernels take it.
inline tinynn::gpu::SgdParams sgd_params(const Sgd& o, bool first_step) {
  return {o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov, first_step};
}

// PyTorch's SGD step in float, each operation rounded (the CPU backend's order). Returns the new
// parameter; the new momentum buffer goes to *buf_new when o.momentum != 0.
inline float sgd_ref(float p, float g, float buf_old, float* buf_new, const Sgd& o, bool first) {
  if (o.weight_decay != 0.f) g = g + o.weight_decay * p;
  if (o.momentum != 0.f) {
    const float buf = first ? g : o.momentum * buf_old + (1.f - o.dampening) * g;
    *buf_new = buf;
    g = o.nesterov ? g + o.momentum * buf : buf;
  }
  return p - o.lr * g;
}

// One parameter under PyTorch's SGD in float64, each value with its magnitude (the same update on
// absolute values) as its scale.
struct SgdRef64 {
  Reference w, buf;  // the parameter and its momentum buffer

  void step(const Sgd& o, Reference g, bool first) {
    const double wd = o.weight_decay, lr = o.lr;
    g = {g.value + wd * w.value, g.scale + std::fabs(wd) * w.scale};
    if (o.momentum != 0.f) {
      const double mom = o.momentum, damp = o.dampening;
      buf = first ? g
                  : Reference{mom * buf.value + (1 - damp) * g.value,
                              std::fabs(mom) * buf.scale + std::fabs(1 - damp) * g.scale};
      g = o.nesterov ? Reference{g.value + mom * buf.value, g.scale + std::fabs(mom) * buf.scale} : buf;
    }
    w = {w.value - lr * g.value, w.scale + std::fabs(lr) * g.scale};
  }
};

}  // namespace emu_test
