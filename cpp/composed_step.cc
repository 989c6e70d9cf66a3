// The composed executor: every step built from Backend primitives, one op at a time. The
// reference that fused executors are checked against, and the path for plans no backend fuses.
#include <vector>

#include "cpp/step_executor.h"

namespace tinynn {
namespace {

class ComposedStep final : public StepExecutor {
 public:
  using StepExecutor::StepExecutor;
  const char* name() const override { return "composed"; }

  void train_step(const StepTensors& t, const StepBatch& b) override {
    const int rows = b.rows;
    const size_t L = plan_.layers.size();
    gather(t, b);
    forward(t, rows);
    // grad of the last layer = dLoss/d(outputs): logits or predictions, no activation after them
    loss(t, b, t.layers[L - 1].grad);
    updates_.clear();  // capacity kept: nothing allocated per step
    for (size_t l = L; l-- > 0;) {
      const LayerPlan& p = plan_.layers[l];
      const LayerTensors& lt = t.layers[l];
      const float* input = l > 0 ? t.layers[l - 1].act : t.x;
      // grad [rows, out] holds dLoss/d(pre-activation): dW = gradᵀ·input, db = Σ_rows grad
      be_.gemm(true, false, p.out, p.in, rows, 1.f, lt.grad, p.out, input, p.in, 0.f, lt.dweight, p.in, GemmEpilogue{});
      be_.reduce(ReduceOp::Sum, lt.grad, lt.dbias, 1, rows, p.out, false);
      updates_.push_back({lt.weight, lt.dweight, {lt.weight_state[0], lt.weight_state[1], lt.weight_state[2]},
                          static_cast<size_t>(p.out) * p.in});
      updates_.push_back({lt.bias, lt.dbias, {lt.bias_state[0], lt.bias_state[1], lt.bias_state[2]}, static_cast<size_t>(p.out)});
      if (l == 0) break;  // the input needs no gradient
      const LayerTensors& below = t.layers[l - 1];
      const LayerPlan& below_plan = plan_.layers[l - 1];
      // below.grad [rows, in] = grad·W, then back through the layer below's activation
      be_.gemm(false, false, rows, p.in, p.out, 1.f, lt.grad, p.out, lt.weight, p.in, 0.f, below.grad, p.in,
               GemmEpilogue{});
      activation_backward(below_plan, below, static_cast<size_t>(rows) * p.in);
    }
    be_.optimizer_update(updates_.data(), static_cast<int>(updates_.size()), plan_.optimizer, b.optimizer_step);
  }

 private:
  std::vector<ParamUpdate> updates_;
};

}  // namespace

std::unique_ptr<StepExecutor> make_composed_executor(Backend& backend, const StepPlan& plan) {
  return std::make_unique<ComposedStep>(backend, plan);
}

}  // namespace tinynn
