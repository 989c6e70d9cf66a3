// Launchers of the kernels that fuse the stages of a training step (CudaFusedStep, the CUDA side
// of StagedStep in cpp/staged_step.h). Each returns false, launching nothing, for the shapes it is
// not meant for (the caller then composes the stage from primitives); otherwise it enqueues on
// `stream` without synchronising and checks the launch (RuntimeError naming the kernel).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "cpp/backend.h"
#include "cuda/scratch.h"
#include "cuda/sgd_params.h"

namespace tinynn::gpu {

// The SGD step that the fused head applies after its reduction: W, b and h_bias (when given with
// dh_bias) are updated in place; momentum buffers null when momentum is 0.
struct HeadSgd {
  SgdParams params;
  float* W_momentum;
  float* b_momentum;
  float* h_bias_momentum;
};

// The head stage in one launch (kernels_head.cu; the contract is StagedStep::head's): h [rows, in]
// (first updated in place to act(h + h_bias) when h_bias is given, act = ReLU when relu_input);
// logits [rows, out] = h·Wᵀ + b; *loss, dlogits, *correct as Backend::softmax_xent; dW = dlogitsᵀ·h,
// db = Σ_rows dlogits; dh = dlogits·W through the ReLU mask (skipped when null); dh_bias = Σ_rows dh
// (skipped when null); then the SGD step of W, b and h_bias (when given with dh and dh_bias).
// False when out > 32 classes, or W and a row tile outgrow 48 KB of shared memory.
bool launch_linear_xent_step(cudaStream_t stream, const HeadScratch& scratch, float* h, float* h_bias,
                             bool relu_input, float* W, float* b, const int32_t* labels, int rows, int in,
                             int out, float* logits, float* dlogits, float* loss, int32_t* correct, float* dW,
                             float* db, float* dh, float* dh_bias, const HeadSgd& sgd);

// The input stage in one launch (kernels_linear.cu): x and y as Backend::gather_batch, then
// h [rows, out] = epilogue(x·Wᵀ), W [out, features]. False for shapes it is not meant for (large
// ones, where gather_batch + cuBLAS is better) and for epilogue activations other than ReLU.
bool launch_gather_linear(cudaStream_t stream, const GemmScratch& scratch, const uint8_t* images,
                          const uint8_t* labels, int features, const int32_t* indices, int rows,
                          float scale, float shift, const float* W, int out,
                          const GemmEpilogue& epilogue, float* x, int32_t* y, float* h);

// A weight gradient and its SGD step in one launch (kernels_linear.cu): dW [out, in] = dyᵀ·x
// (dy [rows, out], x [rows, in]; dW overwritten), the SGD step of W (and its momentum buffer) in
// the GEMM's epilogue. False for shapes it is not meant for.
bool launch_linear_grad_sgd(cudaStream_t stream, const GemmScratch& scratch, const float* dy,
                            const float* x, int rows, int in, int out, float* dW, float* W,
                            float* W_momentum, const SgdParams& sgd);

// The same two for batches of 129..1024 rows on sm_90+: split-K over the blocks of a thread block
// cluster (kernels_linear_cluster.cu). False where they do not apply (other batch sizes, no
// clusters, empty shapes or ones not multiples of 4, unaligned pointers, activations other than
// ReLU).
bool launch_gather_linear_cluster(cudaStream_t stream, const uint8_t* images, const uint8_t* labels,
                                  int features, const int32_t* indices, int rows, float scale, float shift,
                                  const float* W, int out, const GemmEpilogue& epilogue, float* x, int32_t* y,
                                  float* h);
bool launch_linear_grad_sgd_cluster(cudaStream_t stream, const float* dy, const float* x, int rows, int in,
                                    int out, float* dW, float* W, float* W_momentum, const SgdParams& sgd);

}  // namespace tinynn::gpu
