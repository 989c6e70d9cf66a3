#include "cpp/staged_step.h"

#include <algorithm>

namespace tinynn {
namespace {

ParamUpdate update_of(float* param, const float* grad, float* const* state, size_t n) {
  ParamUpdate u{param, grad, {}, n};
  std::copy(state, state + kMaxOptimizerStates, u.state);
  return u;
}

}  // namespace

void StagedStep::input_layer(const InputLayer& s) {
  const StepBatch& b = *s.batch;
  gather(*s.tensors, b);
  be_.gemm(false, true, b.rows, s.out, b.features, 1.f, s.x, b.features, s.weight, b.features, 0.f, s.h, s.out,
           s.epilogue);
}

void StagedStep::head(const Head& s) {
  const size_t h_size = static_cast<size_t>(s.rows) * s.in;
  if (s.h_bias) {
    float* pre = s.h_pre ? s.h_pre : s.h;
    be_.binary(BinaryOp::Add, pre, s.h_bias, pre, row_broadcast(s.rows, s.in), 0.f);
    if (s.activation != Activation::None) be_.unary(activation_op(s.activation), pre, s.h, h_size, s.slope, 0.f);
  }
  const LayerTensors& w = s.last;
  be_.gemm(false, true, s.rows, s.out, s.in, 1.f, s.h, s.in, w.weight, s.in, 0.f, w.act, s.out, GemmEpilogue{w.bias});
  if (s.loss == LossKind::Mse) be_.mse(w.act, s.targets, static_cast<size_t>(s.rows) * s.out, s.loss_value, w.grad);
  else be_.softmax_xent(w.act, s.labels, s.rows, s.out, s.loss_value, w.grad, s.correct);
  be_.gemm(true, false, s.out, s.in, s.rows, 1.f, w.grad, s.out, s.h, s.in, 0.f, w.dweight, s.in, GemmEpilogue{});
  be_.reduce(ReduceOp::Sum, w.grad, w.dbias, 1, s.rows, s.out, false);
  if (s.dh) {
    be_.gemm(false, false, s.rows, s.in, s.out, 1.f, w.grad, s.out, w.weight, s.in, 0.f, s.dh, s.in, GemmEpilogue{});
    if (s.activation != Activation::None) {
      LayerPlan below;
      below.activation = s.activation;
      below.slope = s.slope;
      LayerTensors hidden;
      hidden.act = s.h;
      hidden.pre = s.h_pre;
      hidden.grad = s.dh;
      activation_backward(below, hidden, h_size);
    }
    if (s.dh_bias) be_.reduce(ReduceOp::Sum, s.dh, s.dh_bias, 1, s.rows, s.in, false);
  }
  const ParamUpdate updates[3] = {update_of(w.weight, w.dweight, w.weight_state, static_cast<size_t>(s.out) * s.in),
                                  update_of(w.bias, w.dbias, w.bias_state, static_cast<size_t>(s.out)),
                                  update_of(s.h_bias, s.dh_bias, s.h_bias_state, static_cast<size_t>(s.in))};
  be_.optimizer_update(updates, s.h_bias && s.dh && s.dh_bias ? 3 : 2, *s.optimizer, s.step);
}

void StagedStep::input_layer_grad_update(const InputLayerGrad& s) {
  be_.gemm(true, false, s.out, s.in, s.rows, 1.f, s.dy, s.out, s.x, s.in, 0.f, s.dweight, s.in, GemmEpilogue{});
  const ParamUpdate update = update_of(s.weight, s.dweight, s.weight_state, static_cast<size_t>(s.out) * s.in);
  be_.optimizer_update(&update, 1, *s.optimizer, s.step);
}

void StagedStep::train_step(const StepTensors& t, const StepBatch& b) {
  const size_t L = plan_.layers.size();
  const int rows = b.rows;
  // Forward. The batch gather rides with the first layer's GEMM; the last hidden layer's bias and
  // activation ride in the head (its GEMM writes the pre-activation, without the bias).
  if (L == 1) gather(t, b);
  const float* input = t.x;
  for (size_t l = 0; l + 1 < L; ++l) {
    const LayerPlan& p = plan_.layers[l];
    const LayerTensors& lt = t.layers[l];
    const bool last_hidden = l + 2 == L;
    float* out = last_hidden && lt.pre ? lt.pre : lt.act;
    if (l == 0 && (last_hidden || !lt.pre)) {
      const GemmEpilogue epilogue = last_hidden ? GemmEpilogue{} : GemmEpilogue{lt.bias, p.activation, p.slope};
      input_layer({&t, &b, lt.weight, p.out, epilogue, t.x, t.y, out});
    } else {
      if (l == 0) gather(t, b);
      if (last_hidden) {
        be_.gemm(false, true, rows, p.out, p.in, 1.f, input, p.in, lt.weight, p.in, 0.f, out, p.out, GemmEpilogue{});
      } else {
        forward_layer(l, lt, input, rows);
      }
    }
    input = lt.act;
  }
  const LayerTensors* hidden = L >= 2 ? &t.layers[L - 2] : nullptr;
  Head head_stage{};
  head_stage.h = hidden ? hidden->act : t.x;
  head_stage.h_pre = hidden ? hidden->pre : nullptr;
  head_stage.h_bias = hidden ? hidden->bias : nullptr;
  head_stage.activation = hidden ? plan_.layers[L - 2].activation : Activation::None;
  head_stage.slope = hidden ? plan_.layers[L - 2].slope : 0.f;
  if (hidden) std::copy(hidden->bias_state, hidden->bias_state + kMaxOptimizerStates, head_stage.h_bias_state);
  head_stage.last = t.layers[L - 1];
  head_stage.loss = plan_.loss;
  head_stage.labels = t.y;
  head_stage.targets = t.target;
  head_stage.rows = rows;
  head_stage.in = plan_.layers[L - 1].in;
  head_stage.out = plan_.layers[L - 1].out;
  head_stage.loss_value = b.loss;
  head_stage.correct = t.correct;
  head_stage.dh = hidden ? hidden->grad : nullptr;
  head_stage.dh_bias = hidden ? hidden->dbias : nullptr;
  head_stage.optimizer = &plan_.optimizer;
  head_stage.step = b.optimizer_step;
  head(head_stage);
  // Backward through the hidden layers: grad holds dLoss/d(pre-activation). The first layer's dW
  // comes with its optimizer step; the other hidden layers' W (read by the backward pass) and the
  // biases the head did not update step together at the end.
  updates_.clear();  // capacity kept: nothing allocated per step
  for (size_t l = L - 1; l-- > 0;) {
    const LayerPlan& p = plan_.layers[l];
    const LayerTensors& lt = t.layers[l];
    if (l + 2 != L) {
      be_.reduce(ReduceOp::Sum, lt.grad, lt.dbias, 1, rows, p.out, false);
      updates_.push_back(update_of(lt.bias, lt.dbias, lt.bias_state, static_cast<size_t>(p.out)));
    }
    if (l == 0) {  // the input needs no gradient
      InputLayerGrad stage{lt.grad, t.x, rows, p.in, p.out, lt.dweight, lt.weight, {}, &plan_.optimizer, b.optimizer_step};
      std::copy(lt.weight_state, lt.weight_state + kMaxOptimizerStates, stage.weight_state);
      input_layer_grad_update(stage);
      break;
    }
    const LayerTensors& below = t.layers[l - 1];
    // dW [out, in] = gradᵀ [out, rows] · input [rows, in]
    be_.gemm(true, false, p.out, p.in, rows, 1.f, lt.grad, p.out, below.act, p.in, 0.f, lt.dweight, p.in, GemmEpilogue{});
    updates_.push_back(update_of(lt.weight, lt.dweight, lt.weight_state, static_cast<size_t>(p.out) * p.in));
    // below.grad [rows, in] = grad [rows, out] · W [out, in], then through the layer below's activation
    be_.gemm(false, false, rows, p.in, p.out, 1.f, lt.grad, p.out, lt.weight, p.in, 0.f, below.grad, p.in, GemmEpilogue{});
    activation_backward(plan_.layers[l - 1], below, static_cast<size_t>(rows) * p.in);
  }
  if (!updates_.empty()) {
    be_.optimizer_update(updates_.data(), static_cast<int>(updates_.size()), plan_.optimizer, b.optimizer_step);
  }
}

}  // namespace tinynn
