// Launchers of the first layer's fused GEMM kernels for batches of up to kDirectMaxRows rows:
// the bodies, their plans and the why of them are in kernels_linear.cuh; here the __global__
// wrappers (their shared memory) and the launches.
#include <cstdint>

#include "cuda/check.h"
#include "cuda/kernels_fused.h"
#include "cuda/kernels_linear.cuh"

namespace tinynn::gpu {
namespace {

using namespace small_linear;

__global__ void __launch_bounds__(kGemmThreads) gather_linear_kernel(const __grid_constant__ GatherLinearArgs a) {
  __shared__ SplitSmem smem;
  gather_linear_body(a, smem);
}

__global__ void __launch_bounds__(kGemmThreads) linear_grad_sgd_kernel(const __grid_constant__ GradSgdArgs a) {
  __shared__ SplitSmem smem;
  linear_grad_sgd_body(a, smem);
}

template <int TM, int TN>
__global__ void __launch_bounds__(kDThreads) gather_linear_direct_kernel(const __grid_constant__ GatherLinearArgs a) {
  __shared__ GatherDirectSmem<TM, TN> smem;
  gather_linear_direct_body<TM, TN>(a, smem);
}

template <int TO>
__global__ void __launch_bounds__(TO * kDI / 4) linear_grad_sgd_direct_kernel(const __grid_constant__ GradSgdArgs a) {
  __shared__ GradDirectSmem<TO> smem;
  linear_grad_sgd_direct_body<TO>(a, smem);
}

}  // namespace

bool launch_gather_linear(cudaStream_t stream, const GemmScratch& scratch, const uint8_t* images,
                          const uint8_t* labels, int features, const int32_t* indices, int rows,
                          float scale, float shift, const float* W, int out,
                          const GemmEpilogue& epilogue, float* x, int32_t* y, float* h) {
  if (epilogue.activation != Activation::None && epilogue.activation != Activation::Relu) return false;
  const Plan p = gather_linear_plan(rows, out, features, images, W, x);
  if (!p.ok) return false;
  GatherLinearArgs a{images, labels, indices, W, epilogue.bias, x, y, h, rows, out, features, scale, shift,
                     epilogue.activation == Activation::Relu, p.split, scratch};
  if (p.direct)
    gather_linear_direct_kernel<kGatherTM, kGatherTN><<<p.blocks, p.threads, 0, stream>>>(a);
  else
    gather_linear_kernel<<<p.blocks, p.threads, 0, stream>>>(a);
  check_launch("gather_linear kernel launch");
  return true;
}

bool launch_linear_grad_sgd(cudaStream_t stream, const GemmScratch& scratch, const float* dy,
                            const float* x, int rows, int in, int out, float* dW, float* W,
                            float* W_momentum, const SgdParams& sgd) {
  const Plan p = linear_grad_sgd_plan(rows, in, out, dy, x, dW, W, W_momentum);
  if (!p.ok) return false;
  GradSgdArgs a{dy, x, dW, W, W_momentum, out, in, rows, sgd, p.split, scratch};
  if (p.direct)
    linear_grad_sgd_direct_kernel<kGradTO><<<p.blocks, p.threads, 0, stream>>>(a);
  else
    linear_grad_sgd_kernel<<<p.blocks, p.threads, 0, stream>>>(a);
  check_launch("linear_grad_sgd kernel launch");
  return true;
}

}  // namespace tinynn::gpu
