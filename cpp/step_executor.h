// StepExecutor: enqueues a plan's training and evaluation steps on a backend. The composed
// executor (make_composed_executor) builds every step from Backend primitives and is the
// reference; a backend's fused executor (Backend::fused_executor) computes the same step in fewer
// launches and passes over memory, and is checked against the reference in the tests.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "cpp/backend.h"
#include "cpp/step_plan.h"

namespace tinynn {

// One layer's device buffers, sized for the workspace's batch B.
struct LayerTensors {
  float* weight = nullptr;  // [out, in]
  float* bias = nullptr;    // [out]
  float* weight_state[kMaxOptimizerStates] = {};  // optimizer state (ParamUpdate::state)
  float* bias_state[kMaxOptimizerStates] = {};
  float* act = nullptr;      // [B, out] the layer's output; the last layer's: the logits
  float* pre = nullptr;      // [B, out] the pre-activation, kept for Gelu's backward (else null)
  float* grad = nullptr;     // [B, out] dLoss/d(pre-activation) during backward
  float* dweight = nullptr;  // [out, in]
  float* dbias = nullptr;    // [out]
};

// Everything a step touches besides the batch description, fixed for a workspace.
struct StepTensors {
  std::vector<LayerTensors> layers;
  float* x = nullptr;         // [B, features] gathered inputs
  int32_t* y = nullptr;       // [B] labels
  float* target = nullptr;    // [B, out] regression targets (LossKind::Mse)
  int32_t* correct = nullptr; // [1] hits, accumulated by every step until zeroed
};

// One batch: rows samples of a dataset picked by `order`: u8 images scaled to float with u8
// labels (InputKind::Bytes), or float features with int32 labels or float targets (Floats).
struct StepBatch {
  const uint8_t* images = nullptr;  // [n, features] (Bytes)
  const uint8_t* labels = nullptr;  // [n] (Bytes)
  const float* float_inputs = nullptr;  // [n, features] (Floats)
  const int32_t* int_labels = nullptr;  // [n] (Floats, cross-entropy)
  const float* targets = nullptr;       // [n, target_width] (Floats, MSE)
  int target_width = 0;
  int features = 0;
  const int32_t* order = nullptr;   // [rows] sample indices
  int rows = 0;
  float scale = 1.f;
  float shift = 0.f;
  float* loss = nullptr;            // the step's mean loss (device)
  int64_t optimizer_step = 1;       // 1-based count of this update (Backend::optimizer_update)
};

class StepExecutor {
 public:
  StepExecutor(Backend& backend, StepPlan plan);
  virtual ~StepExecutor() = default;
  // "composed" or "fused".
  virtual const char* name() const = 0;
  // Enqueues forward, loss, backward and the optimizer update of every parameter.
  virtual void train_step(const StepTensors& t, const StepBatch& batch) = 0;
  // Enqueues forward and loss only (the loss into batch.loss, hits added to t.correct).
  void eval_step(const StepTensors& t, const StepBatch& batch);
  const StepPlan& plan() const { return plan_; }

 protected:
  // The batch's inputs into t.x, and its labels into t.y or its targets into t.target.
  void gather(const StepTensors& t, const StepBatch& b);
  // The step's loss into b.loss (and hits into t.correct for cross-entropy); dLoss/d(outputs)
  // into dout unless null.
  void loss(const StepTensors& t, const StepBatch& b, float* dout);

 protected:
  // The layers' forward from t.x through every activation (shared by both kinds of executor).
  void forward(const StepTensors& t, int rows);
  // Layer l's forward: lt.act [rows, out] = act(input·Wᵀ + b) (through lt.pre for Gelu).
  void forward_layer(size_t l, const LayerTensors& lt, const float* input, int rows);
  // grad ← grad·act'(·) over n elements of layer `p`'s output, in place.
  void activation_backward(const LayerPlan& p, const LayerTensors& lt, size_t n);
  Backend& be_;
  StepPlan plan_;
};

std::unique_ptr<StepExecutor> make_composed_executor(Backend& backend, const StepPlan& plan);

// The executor a driver uses for `plan`: the backend's fused one when fusion is enabled and the
// backend has one for the plan, else the composed reference.
std::unique_ptr<StepExecutor> make_executor(Backend& backend, const StepPlan& plan, const FusionOptions& options);

}  // namespace tinynn
