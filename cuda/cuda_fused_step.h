// The CUDA fused executor: StagedStep (cpp/staged_step.h) with its three stages run by tinynn's
// fused kernels (cuda/kernels_fused.h) where they suit the shapes, else by StagedStep's
// compositions of primitives:
//   input_layer: gather + first GEMM in one launch (the cluster split-K kernel when
//     FusionOptions::cuda_cluster_layer1 asks for it, else the small-batch kernel);
//   head: the last layer's forward, softmax cross-entropy, backward and SGD step in one launch;
//   input_layer_grad_update: dW = dyᵀ·x with W's SGD step in the GEMM's epilogue.
// It enqueues on the stream of the CudaBackend it was made by (the driver's forked backend).
#pragma once
#include "cpp/staged_step.h"
#include "cuda/cuda_backend.h"

namespace tinynn::gpu {

// Whether the fused kernels cover a plan: Linear layers with ReLU or no activation between them,
// u8 image batches, softmax cross-entropy and SGD. Other plans run on the composed executor.
bool cuda_fused_plan_supported(const StepPlan& plan);

class CudaFusedStep final : public StagedStep {
 public:
  CudaFusedStep(CudaBackend& backend, const StepPlan& plan, const FusionOptions& options);

 protected:
  void input_layer(const InputLayer& s) override;
  void head(const Head& s) override;
  void input_layer_grad_update(const InputLayerGrad& s) override;

 private:
  CudaBackend& cuda_;
  bool cluster_layer1_;
};

}  // namespace tinynn::gpu
