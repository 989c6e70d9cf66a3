// Launchers for tinynn's own CUDA kernels. Each enqueues on `stream` without synchronising and
// checks the launch (RuntimeError naming the kernel). All matrices are row-major fp32 unless
// said otherwise; shapes are in the comments of cpp/backend.h.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "cpp/backend.h"

namespace tinynn::gpu {

// y[r, c] (row stride ld) += bias[c] (bias may be null), then ReLU when relu.
void launch_bias_relu(cudaStream_t stream, float* y, int ld, const float* bias, int rows, int cols,
                      bool relu);
// dx[i] = y[i] > 0 ? dy[i] : 0.
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

// Per-stream scratch for the fused head's cross-block sums: per block, its partial dW, db and
// dh_bias (out·in + out + in floats), loss and hits; the ticket as for softmax_xent.
constexpr int kHeadMaxBlocks = 128;
constexpr size_t kHeadMaxPartial = 8192;  // floats per block: out·in + out + in must fit
struct HeadScratch {
  float* partials;        // [kHeadMaxBlocks, kHeadMaxPartial]
  double* loss_partials;  // [kHeadMaxBlocks]
  int32_t* hit_partials;  // [kHeadMaxBlocks]
  unsigned* ticket;       // 1, zero between launches
};
constexpr size_t kHeadScratchBytes =
    kHeadMaxBlocks * (kHeadMaxPartial * sizeof(float) + sizeof(double) + sizeof(int32_t)) + 16;

// Backend::linear_xent_step in one launch (see cpp/backend.h for the contract). Returns false,
// launching nothing, when the shapes do not suit the kernel (out > 32 classes, or W and a row
// tile outgrow 48 KB of shared memory); the caller then runs the separate ops.
bool launch_linear_xent_step(cudaStream_t stream, const HeadScratch& scratch, float* h,
                             const float* h_bias, bool relu_input, const float* W, const float* b,
                             const int32_t* labels, int rows, int in, int out, float* logits,
                             float* dlogits, float* loss, int32_t* correct, float* dW, float* db,
                             float* dh, float* dh_bias);

// PyTorch-semantics SGD over all tensors; one launch per 16 tensors.
void launch_sgd_update(cudaStream_t stream, const SgdTensor* tensors, int count,
                       const SgdConfig& config, bool first_step);

// x[r, :] = images[indices[r], :]·scale + shift (u8 → f32), y[r] = labels[indices[r]].
void launch_gather_batch(cudaStream_t stream, const uint8_t* images, const uint8_t* labels,
                         int features, const int32_t* indices, int rows, float scale, float shift,
                         float* x, int32_t* y);

}  // namespace tinynn::gpu
