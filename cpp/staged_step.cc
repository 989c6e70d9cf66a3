#include "cpp/staged_step.h"

namespace tinynn {

bool staged_plan_supported(const StepPlan& plan) {
  if (plan.loss != LossKind::CrossEntropy || plan.input != InputKind::Bytes || plan.optimizer.kind != OptimizerKind::Sgd) {
    return false;
  }
  for (const LayerPlan& layer : plan.layers) {
    if (layer.activation != Activation::None && layer.activation != Activation::Relu) return false;
  }
  return true;
}

void StagedStep::sgd_update(float* param, const float* grad, float* state, size_t n, const SgdConfig& sgd,
                            int64_t step) {
  OptimizerConfig config;
  config.sgd = sgd;
  const ParamUpdate update{param, grad, {state, nullptr}, n};
  be_.optimizer_update(&update, 1, config, step);
}

void StagedStep::input_layer(const InputLayer& s) {
  const StepBatch& b = *s.batch;
  be_.gather_batch(b.images, b.labels, b.features, b.order, b.rows, b.scale, b.shift, s.x, s.y);
  be_.gemm(false, true, b.rows, s.out, b.features, 1.f, s.x, b.features, s.weight, b.features, 0.f, s.h, s.out,
           s.epilogue);
}

void StagedStep::head(const Head& s) {
  const size_t h_size = static_cast<size_t>(s.rows) * s.in;
  if (s.h_bias) {
    be_.binary(BinaryOp::Add, s.h, s.h_bias, s.h, row_broadcast(s.rows, s.in), 0.f);
    if (s.relu_input) be_.unary(UnaryOp::Relu, s.h, s.h, h_size, 0.f, 0.f);
  }
  const LayerTensors& w = s.last;
  be_.gemm(false, true, s.rows, s.out, s.in, 1.f, s.h, s.in, w.weight, s.in, 0.f, w.act, s.out, GemmEpilogue{w.bias});
  be_.softmax_xent(w.act, s.labels, s.rows, s.out, s.loss, w.grad, s.correct);
  be_.gemm(true, false, s.out, s.in, s.rows, 1.f, w.grad, s.out, s.h, s.in, 0.f, w.dweight, s.in, GemmEpilogue{});
  be_.reduce(ReduceOp::Sum, w.grad, w.dbias, 1, s.rows, s.out, false);
  if (s.dh) {
    be_.gemm(false, false, s.rows, s.in, s.out, 1.f, w.grad, s.out, w.weight, s.in, 0.f, s.dh, s.in, GemmEpilogue{});
    if (s.relu_input) be_.binary(BinaryOp::ReluGrad, s.dh, s.h, s.dh, elementwise_shape(static_cast<int64_t>(h_size)), 0.f);
    if (s.dh_bias) be_.reduce(ReduceOp::Sum, s.dh, s.dh_bias, 1, s.rows, s.in, false);
  }
  OptimizerConfig config;
  config.sgd = *s.sgd;
  const ParamUpdate updates[3] = {{w.weight, w.dweight, {w.weight_state[0], nullptr}, static_cast<size_t>(s.out) * s.in},
                                  {w.bias, w.dbias, {w.bias_state[0], nullptr}, static_cast<size_t>(s.out)},
                                  {s.h_bias, s.dh_bias, {s.h_bias_state, nullptr}, static_cast<size_t>(s.in)}};
  be_.optimizer_update(updates, s.h_bias && s.dh && s.dh_bias ? 3 : 2, config, s.step);
}

void StagedStep::input_layer_grad_update(const InputLayerGrad& s) {
  be_.gemm(true, false, s.out, s.in, s.rows, 1.f, s.dy, s.out, s.x, s.in, 0.f, s.dweight, s.in, GemmEpilogue{});
  sgd_update(s.weight, s.dweight, s.weight_state, static_cast<size_t>(s.out) * s.in, *s.sgd, s.step);
}

void StagedStep::train_step(const StepTensors& t, const StepBatch& b) {
  const size_t L = plan_.layers.size();
  const int rows = b.rows;
  const SgdConfig& sgd = plan_.optimizer.sgd;
  // Forward. The batch gather rides with the first layer's GEMM; the last hidden layer's bias and
  // ReLU ride in the head.
  if (L == 1) be_.gather_batch(b.images, b.labels, b.features, b.order, rows, b.scale, b.shift, t.x, t.y);
  const float* input = t.x;
  for (size_t l = 0; l + 1 < L; ++l) {
    const LayerPlan& p = plan_.layers[l];
    const LayerTensors& lt = t.layers[l];
    const GemmEpilogue epilogue = l + 2 == L ? GemmEpilogue{} : GemmEpilogue{lt.bias, p.activation};
    if (l == 0) {
      input_layer({&b, lt.weight, p.out, epilogue, t.x, t.y, lt.act});
    } else {
      be_.gemm(false, true, rows, p.out, p.in, 1.f, input, p.in, lt.weight, p.in, 0.f, lt.act, p.out, epilogue);
    }
    input = lt.act;
  }
  const LayerTensors* hidden = L >= 2 ? &t.layers[L - 2] : nullptr;
  Head head_stage{};
  head_stage.h = hidden ? hidden->act : t.x;
  head_stage.h_bias = hidden ? hidden->bias : nullptr;
  head_stage.relu_input = hidden && plan_.layers[L - 2].activation == Activation::Relu;
  head_stage.h_bias_state = hidden ? hidden->bias_state[0] : nullptr;
  head_stage.last = t.layers[L - 1];
  head_stage.labels = t.y;
  head_stage.rows = rows;
  head_stage.in = plan_.layers[L - 1].in;
  head_stage.out = plan_.layers[L - 1].out;
  head_stage.loss = b.loss;
  head_stage.correct = t.correct;
  head_stage.dh = hidden ? hidden->grad : nullptr;
  head_stage.dh_bias = hidden ? hidden->dbias : nullptr;
  head_stage.sgd = &sgd;
  head_stage.step = b.optimizer_step;
  head(head_stage);
  // Backward through the hidden layers: grad holds dLoss/d(pre-activation). The first layer's dW
  // comes with its SGD step; the other hidden layers' W (read by the backward pass) and the biases
  // the head did not update step together at the end.
  updates_.clear();  // capacity kept: nothing allocated per step
  for (size_t l = L - 1; l-- > 0;) {
    const LayerPlan& p = plan_.layers[l];
    const LayerTensors& lt = t.layers[l];
    if (l + 2 != L) {
      be_.reduce(ReduceOp::Sum, lt.grad, lt.dbias, 1, rows, p.out, false);
      updates_.push_back({lt.bias, lt.dbias, {lt.bias_state[0], nullptr}, static_cast<size_t>(p.out)});
    }
    if (l == 0) {  // the input needs no gradient
      input_layer_grad_update({lt.grad, t.x, rows, p.in, p.out, lt.dweight, lt.weight, lt.weight_state[0], &sgd,
                               b.optimizer_step});
      break;
    }
    const LayerTensors& below = t.layers[l - 1];
    // dW [out, in] = gradᵀ [out, rows] · input [rows, in]
    be_.gemm(true, false, p.out, p.in, rows, 1.f, lt.grad, p.out, below.act, p.in, 0.f, lt.dweight, p.in, GemmEpilogue{});
    updates_.push_back({lt.weight, lt.dweight, {lt.weight_state[0], nullptr}, static_cast<size_t>(p.out) * p.in});
    // below.grad [rows, in] = grad [rows, out] · W [out, in], then through the layer below's ReLU
    be_.gemm(false, false, rows, p.in, p.out, 1.f, lt.grad, p.out, lt.weight, p.in, 0.f, below.grad, p.in, GemmEpilogue{});
    if (plan_.layers[l - 1].activation == Activation::Relu) {
      be_.binary(BinaryOp::ReluGrad, below.grad, below.act, below.grad,
                 elementwise_shape(static_cast<int64_t>(rows) * p.in), 0.f);
    }
  }
  if (!updates_.empty()) {
    be_.optimizer_update(updates_.data(), static_cast<int>(updates_.size()), plan_.optimizer, b.optimizer_step);
  }
}

}  // namespace tinynn
