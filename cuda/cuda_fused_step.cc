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
  require_momentum(*s.sgd, last.weight_state[0], "the last layer's weight");
  require_momentum(*s.sgd, last.bias_state[0], "the last layer's bias");
  if (s.h_bias && s.dh && s.dh_bias) require_momentum(*s.sgd, s.h_bias_state, "the last hidden layer's bias");
  const HeadSgd sgd{sgd_params(*s.sgd, s.step == 1), last.weight_state[0], last.bias_state[0], s.h_bias_state};
  const StreamResources& q = cuda_.enter_queue();
  if (launch_linear_xent_step(q.stream(), q.head(), s.h, s.h_bias, s.relu_input, last.weight, last.bias, s.labels,
                              s.rows, s.in, s.out, last.act, last.grad, s.loss, s.correct, last.dweight, last.dbias,
                              s.dh, s.dh_bias, sgd))
    return;
  StagedStep::head(s);
}

void CudaFusedStep::input_layer_grad_update(const InputLayerGrad& s) {
  require_momentum(*s.sgd, s.weight_state, "the first layer's weight");
  const SgdParams sgd = sgd_params(*s.sgd, s.step == 1);
  const StreamResources& q = cuda_.enter_queue();
  if (cluster_layer1_ && launch_linear_grad_sgd_cluster(q.stream(), s.dy, s.x, s.rows, s.in, s.out, s.dweight,
                                                        s.weight, s.weight_state, sgd))
    return;
  if (launch_linear_grad_sgd(q.stream(), q.gemm(), s.dy, s.x, s.rows, s.in, s.out, s.dweight, s.weight,
                             s.weight_state, sgd))
    return;
  StagedStep::input_layer_grad_update(s);
}

}  // namespace tinynn::gpu
