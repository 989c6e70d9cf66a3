// Launchers for tinynn's own CUDA kernels. Each enqueues on `stream` without synchronising and
// checks the launch (RuntimeError naming the kernel). All matrices are row-major fp32 unless
// said otherwise; shapes are in the comments of cpp/backend.h.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "cpp/backend.h"
#include "cuda/scratch.h"
#include "cuda/sgd_params.h"

namespace tinynn::gpu {

// y[r, c] (row stride ld) += bias[c] (bias may be null), then ReLU when relu.
void launch_bias_relu(cudaStream_t stream, float* y, int ld, const float* bias, int rows, int cols,
                      bool relu);
// dx[i] = y[i] > 0 ? dy[i] : 0.
void launch_add(cudaStream_t stream, float* y, const float* x, size_t n);
void launch_relu_backward(cudaStream_t stream, const float* dy, const float* y, float* dx, size_t n);
// db[c] (+)= Σ_r dy[r, c]; each column summed in a fixed order, so results are reproducible.
void launch_bias_grad(cudaStream_t stream, const float* dy, int rows, int cols, float* db,
                      bool accumulate);

// Per-stream scratch for the cross-block reduction of softmax_xent: one partial per block and a
// ticket counter that the last block to finish resets to 0.
constexpr int kXentMaxBlocks = 1024;
struct XentScratch {
  double* loss_partials;  // [kXentMaxBlocks]
  int32_t* hit_partials;  // [kXentMaxBlocks]
  unsigned* ticket;       // 1, zero between launches
};
constexpr size_t kXentScratchBytes = kXentMaxBlocks * (sizeof(double) + sizeof(int32_t)) + 16;

// Mean softmax cross-entropy of logits [rows, cols] against labels [rows] into *loss (device),
// dlogits (optional) = (softmax - onehot) / rows, *correct (optional) += argmax hits. One launch.
void launch_softmax_xent(cudaStream_t stream, const XentScratch& scratch, const float* logits,
                         const int32_t* labels, int rows, int cols, float* loss, float* dlogits,
                         int32_t* correct);
void launch_softmax(cudaStream_t stream, const float* x, int rows, int cols, float* probs);
void launch_argmax(cudaStream_t stream, const float* x, int rows, int cols, int32_t* out);

// The SGD step that the fused head applies after its reduction (linear_xent_sgd_step): W, b and
// h_bias (when given with dh_bias) are updated in place; momentum buffers null when momentum is 0.
struct HeadSgd {
  SgdParams params;
  float* W_momentum;
  float* b_momentum;
  float* h_bias_momentum;
};

// Backend::linear_xent_step in one launch (see cpp/backend.h for the contract), followed by
// linear_xent_sgd_step's SGD step when sgd is given (W, b, h_bias then written). Returns false,
// launching nothing, when the shapes do not suit the kernels (out > 32 classes, or W and a row
// tile outgrow 48 KB of shared memory); the caller then runs the separate ops.
bool launch_linear_xent_step(cudaStream_t stream, const HeadScratch& scratch, float* h,
                             const float* h_bias, bool relu_input, const float* W, const float* b,
                             const int32_t* labels, int rows, int in, int out, float* logits,
                             float* dlogits, float* loss, int32_t* correct, float* dW, float* db,
                             float* dh, float* dh_bias, const HeadSgd* sgd = nullptr);

// Backend::gather_linear in one launch (x, y and h = epilogue(x·Wᵀ)); false, launching nothing,
// for shapes it is not meant for (large ones, where gather_batch + cuBLAS is better).
bool launch_gather_linear(cudaStream_t stream, const GemmScratch& scratch, const uint8_t* images,
                          const uint8_t* labels, int features, const int32_t* indices, int rows,
                          float scale, float shift, const float* W, int out,
                          const GemmEpilogue& epilogue, float* x, int32_t* y, float* h);

// Backend::linear_grad_sgd in one launch: dW = dyᵀ·x and the SGD step of W (and its momentum
// buffer) in the GEMM's epilogue. False, launching nothing, for shapes it is not meant for.
bool launch_linear_grad_sgd(cudaStream_t stream, const GemmScratch& scratch, const float* dy,
                            const float* x, int rows, int in, int out, float* dW, float* W,
                            float* W_momentum, const SgdParams& sgd);

// The same two ops for batches of 129..1024 rows on sm_90+: split-K over the blocks of a thread
// block cluster (cuda/kernels_linear_cluster.cuh). False, launching nothing, where they do not
// apply (other batch sizes, no clusters, empty shapes or ones not multiples of 4, unaligned pointers).
bool launch_gather_linear_cluster(cudaStream_t stream, const uint8_t* images, const uint8_t* labels,
                                  int features, const int32_t* indices, int rows, float scale, float shift,
                                  const float* W, int out, const GemmEpilogue& epilogue, float* x, int32_t* y,
                                  float* h);
bool launch_linear_grad_sgd_cluster(cudaStream_t stream, const float* dy, const float* x, int rows, int in,
                                    int out, float* dW, float* W, float* W_momentum, const SgdParams& sgd);

// PyTorch-semantics SGD over all tensors; one launch per 16 tensors.
void launch_sgd_update(cudaStream_t stream, const SgdTensor* tensors, int count,
                       const SgdConfig& config, bool first_step);

// x[r, :] = images[indices[r], :]·scale + shift (u8 → f32), y[r] = labels[indices[r]].
void launch_gather_batch(cudaStream_t stream, const uint8_t* images, const uint8_t* labels,
                         int features, const int32_t* indices, int rows, float scale, float shift,
                         float* x, int32_t* y);

}  // namespace tinynn::gpu
