#include "cpp/step_executor.h"

#include <string>

#include "cpp/errors.h"

namespace tinynn {

void check_plan(const StepPlan& plan) {
  if (plan.layers.empty()) throw RangeError("the model has no Linear layers");
  for (size_t l = 0; l < plan.layers.size(); ++l) {
    const LayerPlan& layer = plan.layers[l];
    if (layer.in < 1 || layer.out < 1) {
      throw RangeError("layer " + std::to_string(l) + " has shape [" + std::to_string(layer.out) + ", " +
                       std::to_string(layer.in) + "]; sizes must be >= 1");
    }
    if (l > 0 && layer.in != plan.layers[l - 1].out) {
      throw RangeError("layer " + std::to_string(l) + " expects " + std::to_string(layer.in) +
                       " inputs but the layer before it gives " + std::to_string(plan.layers[l - 1].out));
    }
  }
  if (plan.layers.back().activation != Activation::None) {
    throw RangeError("the last Linear layer must give logits, without an activation after it");
  }
}

StepExecutor::StepExecutor(Backend& backend, StepPlan plan) : be_(backend), plan_(std::move(plan)) { check_plan(plan_); }

void StepExecutor::forward(const StepTensors& t, int rows) {
  const float* input = t.x;
  for (size_t l = 0; l < plan_.layers.size(); ++l) {
    forward_layer(l, t.layers[l], input, rows);
    input = t.layers[l].act;
  }
}

void StepExecutor::forward_layer(size_t l, const LayerTensors& lt, const float* input, int rows) {
  const LayerPlan& p = plan_.layers[l];
  if (lt.pre) {
    be_.gemm(false, true, rows, p.out, p.in, 1.f, input, p.in, lt.weight, p.in, 0.f, lt.pre, p.out, GemmEpilogue{lt.bias});
    be_.unary(UnaryOp::Gelu, lt.pre, lt.act, static_cast<size_t>(rows) * p.out, 0.f, 0.f);
  } else {
    be_.gemm(false, true, rows, p.out, p.in, 1.f, input, p.in, lt.weight, p.in, 0.f, lt.act, p.out,
             GemmEpilogue{lt.bias, p.activation, p.slope});
  }
}

void StepExecutor::activation_backward(const LayerPlan& p, const LayerTensors& lt, size_t n) {
  const Broadcast flat = elementwise_shape(static_cast<int64_t>(n));
  switch (p.activation) {
    case Activation::None: return;
    case Activation::Relu: be_.binary(BinaryOp::ReluGrad, lt.grad, lt.act, lt.grad, flat, 0.f); return;
    case Activation::LeakyRelu: be_.binary(BinaryOp::LeakyReluGrad, lt.grad, lt.act, lt.grad, flat, p.slope); return;
    case Activation::Sigmoid: be_.binary(BinaryOp::SigmoidGrad, lt.grad, lt.act, lt.grad, flat, 0.f); return;
    case Activation::Tanh: be_.binary(BinaryOp::TanhGrad, lt.grad, lt.act, lt.grad, flat, 0.f); return;
    case Activation::Gelu: be_.binary(BinaryOp::GeluGrad, lt.grad, lt.pre, lt.grad, flat, 0.f); return;
  }
}

void StepExecutor::gather(const StepTensors& t, const StepBatch& b) {
  if (plan_.input == InputKind::Bytes) {
    be_.gather_batch(b.images, b.labels, b.features, b.order, b.rows, b.scale, b.shift, t.x, t.y);
    return;
  }
  be_.gather_rows(b.float_inputs, b.features, b.order, b.rows, t.x);
  // int32 labels travel as 4-byte rows of one element, bit for bit.
  if (plan_.loss == LossKind::Mse) be_.gather_rows(b.targets, b.target_width, b.order, b.rows, t.target);
  else be_.gather_rows(reinterpret_cast<const float*>(b.int_labels), 1, b.order, b.rows, reinterpret_cast<float*>(t.y));
}

void StepExecutor::loss(const StepTensors& t, const StepBatch& b, float* dout) {
  const LayerTensors& last = t.layers.back();
  const int out = plan_.layers.back().out;
  if (plan_.loss == LossKind::Mse) be_.mse(last.act, t.target, static_cast<size_t>(b.rows) * out, b.loss, dout);
  else be_.softmax_xent(last.act, t.y, b.rows, out, b.loss, dout, t.correct);
}

void StepExecutor::eval_step(const StepTensors& t, const StepBatch& b) {
  gather(t, b);
  forward(t, b.rows);
  loss(t, b, nullptr);
}

std::unique_ptr<StepExecutor> make_executor(Backend& backend, const StepPlan& plan, const FusionOptions& options) {
  check_plan(plan);
  if (options.enabled) {
    if (auto fused = backend.fused_executor(plan, options)) return fused;
  }
  return make_composed_executor(backend, plan);
}

}  // namespace tinynn
