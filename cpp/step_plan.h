// A training step as a value: the layers, the loss and the optimizer. The driver runs a plan's
// steps through a StepExecutor (cpp/step_executor.h): the composed reference or a backend's fused
// executor, chosen per plan.
#pragma once
#include <string>
#include <vector>

#include "cpp/backend.h"

namespace tinynn {

// One Linear layer: y [B, out] = act(x [B, in]·Wᵀ + b), W [out, in], b [out].
struct LayerPlan {
  int in = 0;
  int out = 0;
  Activation activation = Activation::None;
  float slope = 0.01f;  // LeakyRelu's negative slope
};

// Cross-entropy of the logits against class labels; or the mean squared error of the outputs
// against float targets (as wide as the last layer).
enum class LossKind { CrossEntropy, Mse };

// What a dataset's samples are: u8 bytes scaled in the gather (MNIST), or float32 features.
enum class InputKind { Bytes, Floats };

struct StepPlan {
  std::vector<LayerPlan> layers;
  LossKind loss = LossKind::CrossEntropy;
  InputKind input = InputKind::Bytes;
  OptimizerConfig optimizer;
};

// Implementation choices for running a plan, passed from JS per trainer.
struct FusionOptions {
  // false: always the composed reference.
  bool enabled = true;
  // CUDA, sm_90+: the first layer's GEMMs at batches of 129..1024 as thread-block-cluster split-K
  // kernels instead of cuBLAS (experimental until measured on a GPU).
  bool cuda_cluster_layer1 = false;
};

// Throws RangeError when the layers do not chain or the last one has an activation (the losses
// take logits / raw predictions).
void check_plan(const StepPlan& plan);

}  // namespace tinynn
