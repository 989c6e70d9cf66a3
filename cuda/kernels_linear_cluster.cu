// Launchers of the cluster split-K layer-1 kernels (bodies and geometry in
// kernels_linear_cluster.cuh): sm_90+ only, batches of kMinRows < rows ≤ kMaxRows.
#include <cooperative_groups.h>

#include <cstdint>

#include "cuda/check.h"
#include "cuda/cluster_support.h"
#include "cuda/kernels_fused.h"
#include "cuda/kernels_linear_cluster.cuh"

namespace tinynn::gpu {
namespace {

using namespace cluster_linear;
namespace cg = cooperative_groups;

__global__ void __launch_bounds__(kThreads) gather_linear_cluster_kernel(const __grid_constant__ GatherLinearArgs a) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  __shared__ GatherLinearSmem smem;
  gather_linear_cluster_body(a, smem, cg::this_cluster());
#else
  __trap();  // the launcher runs it on sm_90+ only
#endif
}

__global__ void __launch_bounds__(kThreads) linear_grad_sgd_cluster_kernel(const __grid_constant__ GradSgdClusterArgs a) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  __shared__ GradSgdSmem smem;
  linear_grad_sgd_cluster_body(a, smem, cg::this_cluster());
#else
  __trap();
#endif
}

bool aligned(const void* p, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

bool suits(int rows) { return rows > kMinRows && rows <= kMaxRows && device_has_clusters(); }

// One cluster per output tile: its `slices` blocks are consecutive in x.
template <typename Args>
void launch(cudaStream_t stream, void (*kernel)(Args), const Args& a, const char* what) {
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(a.g.blocks);
  config.blockDim = dim3(kThreads);
  config.stream = stream;
  cudaLaunchAttribute attribute[1];
  attribute[0].id = cudaLaunchAttributeClusterDimension;
  attribute[0].val.clusterDim.x = static_cast<unsigned>(a.g.slices);
  attribute[0].val.clusterDim.y = 1;
  attribute[0].val.clusterDim.z = 1;
  config.attrs = attribute;
  config.numAttrs = 1;
  check_cuda(cudaLaunchKernelEx(&config, kernel, a), what);
}

}  // namespace

bool launch_gather_linear_cluster(cudaStream_t stream, const uint8_t* images, const uint8_t* labels,
                                  int features, const int32_t* indices, int rows, float scale, float shift,
                                  const float* W, int out, const GemmEpilogue& epilogue, float* x, int32_t* y,
                                  float* h) {
  if (features <= 0 || out <= 0 || features % 4 != 0 || out % 4 != 0 || !aligned(images, 4) || !aligned(W, 16) || !aligned(x, 16) ||
      !aligned(h, 16) || (epilogue.bias && !aligned(epilogue.bias, 16)) ||
      (epilogue.activation != Activation::None && epilogue.activation != Activation::Relu) || !suits(rows))
    return false;
  const GatherLinearArgs a{images, labels, indices, W, epilogue.bias, x, y, h, rows, out, features, scale, shift,
                           epilogue.activation == Activation::Relu, geometry(rows, out, features, 4)};
  launch(stream, gather_linear_cluster_kernel, a, "gather_linear cluster kernel launch");
  return true;
}

bool launch_linear_grad_sgd_cluster(cudaStream_t stream, const float* dy, const float* x, int rows, int in,
                                    int out, float* dW, float* W, float* W_momentum, const SgdParams& sgd) {
  if (in <= 0 || out <= 0 || in % 4 != 0 || out % 4 != 0 || !aligned(dy, 16) || !aligned(x, 16) || !aligned(dW, 16) || !aligned(W, 16) ||
      (W_momentum && !aligned(W_momentum, 16)) || !suits(rows))
    return false;
  const GradSgdClusterArgs a{dy, x, dW, W, W_momentum, out, in, rows, sgd, geometry(out, in, rows, 1)};
  launch(stream, linear_grad_sgd_cluster_kernel, a, "linear_grad_sgd cluster kernel launch");
  return true;
}

}  // namespace tinynn::gpu
