#include "cuda/cuda_fused_step.h"

#include <string>

#include "cpp/errors.h"
#include "cuda/kernels_fused.h"

namespace tinynn::gpu {
namespace {

// The fused kernels step a parameter's momentum buffer in place: with momentum on, each needs one.
void require_momentum(const SgdConfig& sgd, const float* buffer, const char* what) {
  if (sgd.momentum != 0.f && !buffer) throw RangeError(std::string("SGD with momentum: ") + what + " has no momentum buffer");
}

}  // namespace

bool cuda_fused_plan_supported(const StepPlan& plan) {
  if (plan.loss != LossKind::CrossEntropy || plan.input != InputKind::Bytes || plan.optimizer.kind != OptimizerKind::Sgd) {
    return false;
  }
  for (const LayerPlan& layer : plan.layers) {
    if (layer.activation != Activation::None && layer.activation != Activation::Relu) return false;
  }
  return true;
}

CudaFusedStep::CudaFusedStep(CudaBackend& backend, const StepPlan& plan, const FusionOptions& options)
    : StagedStep(backend, plan), cuda_(backend), cluster_layer1_(options.cuda_cluster_layer1) {}

void CudaFusedStep::input_layer(const InputLayer& s) {
  const StepBatch& b = *s.batch;
  const StreamResources& q = cuda_.enter_queue();
  if (cluster_layer1_ && launch_gather_linear_cluster(q.stream(), b.images, b.labels, b.features, b.order, b.rows,
                                                      b.scale, b.shift, s.weight, s.out, s.epilogue, s.x, s.y, s.h))
    return;
  if (launch_gather_linear(q.stream(), q.gemm(), b.images, b.labels, b.features, b.order, b.rows, b.scale, b.shift,
                           s.weight, s.out, s.epilogue, s.x, s.y, s.h))
    return;
  StagedStep::input_layer(s);
}

void CudaFusedStep::head(const Head& s) {
  const LayerTensors& last = s.last;
  const SgdConfig& config = s.optimizer->sgd;
  require_momentum(config, last.weight_state[0], "the last layer's weight");
  require_momentum(config, last.bias_state[0], "the last layer's bias");
  if (s.h_bias && s.dh && s.dh_bias) require_momentum(config, s.h_bias_state[0], "the last hidden layer's bias");
  const HeadSgd sgd{sgd_params(config, s.step == 1), last.weight_state[0], last.bias_state[0], s.h_bias_state[0]};
  const StreamResources& q = cuda_.enter_queue();
  if (launch_linear_xent_step(q.stream(), q.head(), s.h, s.h_bias, s.activation == Activation::Relu, last.weight,
                              last.bias, s.labels, s.rows, s.in, s.out, last.act, last.grad, s.loss_value, s.correct,
                              last.dweight, last.dbias, s.dh, s.dh_bias, sgd))
    return;
  StagedStep::head(s);
}

void CudaFusedStep::input_layer_grad_update(const InputLayerGrad& s) {
  require_momentum(s.optimizer->sgd, s.weight_state[0], "the first layer's weight");
  const SgdParams sgd = sgd_params(s.optimizer->sgd, s.step == 1);
  const StreamResources& q = cuda_.enter_queue();
  if (cluster_layer1_ && launch_linear_grad_sgd_cluster(q.stream(), s.dy, s.x, s.rows, s.in, s.out, s.dweight,
                                                        s.weight, s.weight_state[0], sgd))
    return;
  if (launch_linear_grad_sgd(q.stream(), q.gemm(), s.dy, s.x, s.rows, s.in, s.out, s.dweight, s.weight,
                             s.weight_state[0], sgd))
    return;
  StagedStep::input_layer_grad_update(s);
}

}  // namespace tinynn::gpu
