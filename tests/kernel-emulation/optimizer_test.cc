// The Adam / AdamW and RMSprop kernels (cuda/kernels_optimizer.cuh) through the CPU emulator, as
// the launcher runs them: 19 tensors (4 empty) packed 16 per launch by optimizer_args, the
// launcher's grid or a grid smaller than the data (threads crossing tensors), 3 steps. Settings:
// Adam plain, with L2 weight decay and amsgrad, AdamW decoupled (with and without amsgrad);
// RMSprop plain, with momentum, centered, both with weight decay.
// Reference: PyTorch's single-tensor rules (torch.optim.Adam / RMSprop, as documented) written
// again here in float64, from the same settings; parameters and every state buffer within 2e-6 of
// max(|value|, 1) (float rounding of a few operations), and a tensor's untouched neighbours stay so.
#include "tests/kernel-emulation/cuda_emulator.h"
#include "cuda/kernels_optimizer.cuh"
#include "cuda/launch_shape.cuh"
#include "tests/kernel-emulation/check.h"
#include "tests/kernel-emulation/primitives.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace gpu = tinynn::gpu;
using emu::DeviceBuffer;
using namespace emu_test;
using tinynn::AdamConfig;
using tinynn::OptimizerConfig;
using tinynn::OptimizerKind;
using tinynn::ParamUpdate;
using tinynn::RmsPropConfig;

constexpr unsigned kStrideBlocks = 2;
constexpr double kTol = 2e-6;
const std::vector<size_t> kSizes = {300, 0, 1, 17, 256, 5, 0, 1000, 3, 64, 7, 0, 129, 31, 2, 500, 11, 0, 40};

// One element's state in float64: the parameter and up to three buffers.
struct State {
  double p, s[3] = {0, 0, 0};
};

void adam_ref(State& st, double g, const AdamConfig& c, int step) {
  if (c.decoupled_weight_decay) st.p *= 1 - c.lr * c.weight_decay;
  else g += c.weight_decay * st.p;
  st.s[0] += (1 - c.beta1) * (g - st.s[0]);
  st.s[1] = c.beta2 * st.s[1] + (1 - c.beta2) * g * g;
  double v = st.s[1];
  if (c.amsgrad) v = st.s[2] = std::fmax(st.s[2], st.s[1]);
  const double bc1 = 1 - std::pow(c.beta1, step), bc2 = 1 - std::pow(c.beta2, step);
  st.p -= c.lr / bc1 * st.s[0] / (std::sqrt(v) / std::sqrt(bc2) + c.eps);
}

void rmsprop_ref(State& st, double g, const RmsPropConfig& c) {
  g += c.weight_decay * st.p;
  st.s[0] = c.alpha * st.s[0] + (1 - c.alpha) * g * g;
  const int ga = c.momentum != 0 ? 2 : 1;
  double avg;
  if (c.centered) {
    st.s[ga] += (1 - c.alpha) * (g - st.s[ga]);
    avg = std::sqrt(st.s[0] - st.s[ga] * st.s[ga]) + c.eps;
  } else {
    avg = std::sqrt(st.s[0]) + c.eps;
  }
  if (c.momentum != 0) {
    st.s[1] = c.momentum * st.s[1] + g / avg;
    st.p -= c.lr * st.s[1];
  } else {
    st.p -= c.lr * g / avg;
  }
}

Case optimizer_case(const std::string& name, const OptimizerConfig& config, bool stride, uint64_t seed) {
  constexpr int kSteps = 3;
  Case cs;
  Timer timer;
  Rng rng(seed);
  Compare c;
  const int states = config.state_count();
  std::vector<std::unique_ptr<DeviceBuffer<float>>> p, g, s[3];
  std::vector<std::vector<State>> ref(kSizes.size());
  std::vector<ParamUpdate> ups(kSizes.size());
  for (size_t t = 0; t < kSizes.size(); ++t) {
    p.push_back(std::make_unique<DeviceBuffer<float>>(kSizes[t]));
    g.push_back(std::make_unique<DeviceBuffer<float>>(kSizes[t]));
    std::vector<float> init(kSizes[t]);
    ref[t].resize(kSizes[t]);
    for (size_t e = 0; e < kSizes[t]; ++e) ref[t][e].p = init[e] = rng.uniform(-1.f, 1.f);
    upload(*p[t], init);
    ups[t] = ParamUpdate{p[t]->data(), g[t]->data(), {nullptr, nullptr, nullptr}, kSizes[t]};
    for (int k = 0; k < states; ++k) {
      s[k].push_back(std::make_unique<DeviceBuffer<float>>(kSizes[t]));
      upload(*s[k].back(), std::vector<float>(kSizes[t], 0.f));
      ups[t].state[k] = s[k].back()->data();
    }
  }
  int launches = 0;
  for (int step = 1; step <= kSteps; ++step) {
    std::vector<std::vector<float>> grads(kSizes.size());
    for (size_t t = 0; t < kSizes.size(); ++t) {
      grads[t].resize(kSizes[t]);
      for (auto& v : grads[t]) v = rng.uniform(-2.f, 2.f);
      upload(*g[t], grads[t]);
    }
    launches = 0;
    const int count = static_cast<int>(ups.size());
    const tinynn::AdamStep adam = tinynn::adam_step(config.adam, step);
    const tinynn::RmsPropStep rms = tinynn::rmsprop_step(config.rmsprop);
    for (int first = 0; first < count; first += gpu::optim::kOptimizerTensors) {
      const gpu::optim::OptimizerArgs a = gpu::optim::optimizer_args(ups.data(), first, count);
      if (a.count == 0) continue;
      const unsigned blocks = stride ? kStrideBlocks : gpu::blocks_for(a.end[a.count - 1]);
      launch_1d<NoSmem>(blocks, gpu::kThreads, 0, [&](NoSmem&) {
        if (config.kind == OptimizerKind::Adam) gpu::optim::adam_body(a, adam);
        else gpu::optim::rmsprop_body(a, rms);
      });
      ++launches;
    }
    for (size_t t = 0; t < kSizes.size(); ++t) {
      const std::vector<float> gp = download(*p[t]);
      const std::string where = "step " + std::to_string(step) + " tensor " + std::to_string(t);
      std::vector<std::vector<float>> gs;
      for (int k = 0; k < states; ++k) gs.push_back(download(*s[k][t]));
      for (size_t e = 0; e < kSizes[t]; ++e) {
        State& st = ref[t][e];
        if (config.kind == OptimizerKind::Adam) adam_ref(st, grads[t][e], config.adam, step);
        else rmsprop_ref(st, grads[t][e], config.rmsprop);
        c.near((where + " param").c_str(), e, gp[e], st.p, std::fmax(1.0, std::fabs(st.p)), kTol);
        for (int k = 0; k < states; ++k)
          c.near((where + " state " + std::to_string(k)).c_str(), e, gs[k][e], st.s[k], std::fmax(1.0, std::fabs(st.s[k])), kTol);
      }
    }
  }
  cs.name = name + ": " + std::to_string(kSizes.size()) + " tensors (4 empty) in " + std::to_string(launches) +
            " launches, " + std::to_string(kSteps) + " steps" + (stride ? ", grid stride (threads crossing tensors)" : "");
  Report::fold(cs, c);
  cs.seconds = timer.seconds();
  return cs;
}

OptimizerConfig adam(double lr, double wd, bool decoupled, bool amsgrad) {
  OptimizerConfig c;
  c.kind = OptimizerKind::Adam;
  c.adam.lr = lr;
  c.adam.weight_decay = wd;
  c.adam.decoupled_weight_decay = decoupled;
  c.adam.amsgrad = amsgrad;
  return c;
}

OptimizerConfig rmsprop(double wd, double momentum, bool centered) {
  OptimizerConfig c;
  c.kind = OptimizerKind::RmsProp;
  c.rmsprop.lr = 0.01;
  c.rmsprop.alpha = 0.9;
  c.rmsprop.weight_decay = wd;
  c.rmsprop.momentum = momentum;
  c.rmsprop.centered = centered;
  return c;
}

}  // namespace

int main() {
  Report report;
  uint64_t seed = 900;
  report.add(optimizer_case("adam", adam(0.01, 0, false, false), false, ++seed));
  report.add(optimizer_case("adam wd 0.1 amsgrad", adam(0.02, 0.1, false, true), true, ++seed));
  report.add(optimizer_case("adamw wd 0.5", adam(0.05, 0.5, true, false), false, ++seed));
  report.add(optimizer_case("adamw wd 0.01 amsgrad", adam(0.01, 0.01, true, true), true, ++seed));
  report.add(optimizer_case("rmsprop", rmsprop(0, 0, false), false, ++seed));
  report.add(optimizer_case("rmsprop momentum 0.8", rmsprop(0, 0.8, false), true, ++seed));
  report.add(optimizer_case("rmsprop centered wd 0.05", rmsprop(0.05, 0, true), false, ++seed));
  report.add(optimizer_case("rmsprop centered momentum 0.5 wd 0.05", rmsprop(0.05, 0.5, true), true, ++seed));
  return report.print("optimizer_test");
}
