// The shape that both backends' fused executors share: a training step of a Linear(+ReLU) stack
// with softmax cross-entropy and SGD, cut into three stages that a backend can fuse:
//   1. input_layer: the batch gather and the first layer's GEMM;
//   2. head: the last hidden layer's bias+ReLU, the last Linear layer, softmax cross-entropy, its
//      backward, and the SGD step of the parameters nothing later reads (last W and b, the last
//      hidden layer's bias);
//   3. input_layer_grad_update: the first layer's weight gradient and its SGD step.
// The rest of the step (middle layers' backward, their SGD step) runs as primitives. Each stage's
// default composes primitives, so a backend overrides only the stages (and shapes) it fuses.
#pragma once
#include "cpp/step_executor.h"

namespace tinynn {

// Whether a plan has the staged shape: hidden activations None or Relu, cross-entropy, SGD.
bool staged_plan_supported(const StepPlan& plan);

class StagedStep : public StepExecutor {
 public:
  using StepExecutor::StepExecutor;
  const char* name() const override { return "fused"; }
  void train_step(const StepTensors& t, const StepBatch& batch) override;

 protected:
  struct InputLayer {
    const StepBatch* batch;
    const float* weight;  // [out, features]
    int out;
    GemmEpilogue epilogue;  // empty when the bias and ReLU ride in the head
    float* x;               // [rows, features]
    int32_t* y;             // [rows]
    float* h;               // [rows, out]
  };
  // x, y = the gathered batch; h = epilogue(x·Wᵀ).
  virtual void input_layer(const InputLayer& s);

  struct Head {
    // h [rows, in]: the last Linear layer's input. When h_bias is given, h holds the previous
    // layer's pre-activation and is first updated in place to act(h + h_bias) (ReLU when
    // relu_input).
    float* h;
    float* h_bias;
    bool relu_input;
    float* h_bias_state;  // optimizer state of h_bias (null without)
    LayerTensors last;    // W, b, logits (act), dlogits (grad), dW, db, states
    const int32_t* labels;
    int rows, in, out;
    float* loss;
    int32_t* correct;
    float* dh;       // [rows, in] dLoss/d(pre-activation of h), masked; null: not wanted
    float* dh_bias;  // [in] Σ_rows dh, then h_bias's update (needs dh); null: not wanted
    const SgdConfig* sgd;
    int64_t step;
  };
  // logits = h·Wᵀ + b; loss, dlogits and hits; dW = dlogitsᵀ·h, db = Σ dlogits; dh = dlogits·W
  // masked by the ReLU; dh_bias = Σ dh; then the SGD step of W, b and h_bias.
  virtual void head(const Head& s);

  struct InputLayerGrad {
    const float* dy;  // [rows, out]
    const float* x;   // [rows, in]
    int rows, in, out;
    float* dweight;   // [out, in]
    float* weight;
    float* weight_state;
    const SgdConfig* sgd;
    int64_t step;
  };
  // dW = dyᵀ·x, then W's SGD step.
  virtual void input_layer_grad_update(const InputLayerGrad& s);

  void sgd_update(float* param, const float* grad, float* state, size_t n, const SgdConfig& sgd, int64_t step);

 private:
  std::vector<ParamUpdate> updates_;
};

}  // namespace tinynn
