// The shape that both backends' fused executors share: a training step of a stack of Linear
// layers, cut into three stages that a backend can fuse:
//   1. input_layer: the batch gather and the first layer's GEMM;
//   2. head: the last hidden layer's bias and activation, the last Linear layer, the loss, its
//      backward, and the optimizer step of the parameters nothing later reads (last W and b, the
//      last hidden layer's bias);
//   3. input_layer_grad_update: the first layer's weight gradient and its optimizer step.
// The rest of the step (middle layers' backward, their optimizer step) runs as primitives. Each
// stage's default composes primitives, so a backend overrides only the stages (and shapes) it fuses.
#pragma once
#include "cpp/step_executor.h"

namespace tinynn {

class StagedStep : public StepExecutor {
 public:
  using StepExecutor::StepExecutor;
  const char* name() const override { return "fused"; }
  void train_step(const StepTensors& t, const StepBatch& batch) override;

 protected:
  struct InputLayer {
    const StepTensors* tensors;
    const StepBatch* batch;
    const float* weight;  // [out, features]
    int out;
    GemmEpilogue epilogue;  // empty when the bias and activation ride in the head
    float* x;               // [rows, features]
    int32_t* y;             // [rows]
    float* h;               // [rows, out]
  };
  // The gathered batch (StepExecutor::gather); h = epilogue(x·Wᵀ).
  virtual void input_layer(const InputLayer& s);

  struct Head {
    // h [rows, in]: the last Linear layer's input. When h_bias is given, the previous layer's
    // pre-activation (without its bias) is in h_pre, or in h itself when h_pre is null, and is
    // first made act(· + h_bias) into h (h_pre keeps · + h_bias: Gelu's backward reads it).
    float* h;
    float* h_pre;
    float* h_bias;
    Activation activation;  // of the layer before; None when there is none
    float slope;            // LeakyRelu's
    float* h_bias_state[kMaxOptimizerStates];  // optimizer state of h_bias
    LayerTensors last;      // W, b, outputs (act), their gradient (grad), dW, db, states
    LossKind loss;
    const int32_t* labels;  // [rows] (cross-entropy)
    const float* targets;   // [rows, out] (MSE)
    int rows, in, out;
    float* loss_value;
    int32_t* correct;
    float* dh;       // [rows, in] dLoss/d(pre-activation of h); null: not wanted
    float* dh_bias;  // [in] Σ_rows dh, then h_bias's update (needs dh); null: not wanted
    const OptimizerConfig* optimizer;
    int64_t step;
  };
  // outputs = h·Wᵀ + b; loss, its gradient and hits; dW = gradᵀ·h, db = Σ grad; dh = grad·W
  // through the activation; dh_bias = Σ dh; then the optimizer step of W, b and h_bias.
  virtual void head(const Head& s);

  struct InputLayerGrad {
    const float* dy;  // [rows, out]
    const float* x;   // [rows, in]
    int rows, in, out;
    float* dweight;   // [out, in]
    float* weight;
    float* weight_state[kMaxOptimizerStates];
    const OptimizerConfig* optimizer;
    int64_t step;
  };
  // dW = dyᵀ·x, then W's optimizer step.
  virtual void input_layer_grad_update(const InputLayerGrad& s);

 private:
  std::vector<ParamUpdate> updates_;
};

}  // namespace tinynn
