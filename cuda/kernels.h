// Launchers of tinynn's own CUDA kernels behind the Backend primitives (those of the fused
// training step: cuda/kernels_fused.h). Each enqueues on `stream` without synchronising and
// checks the launch (RuntimeError naming the kernel). Matrices are row-major fp32; the shapes and
// semantics are those of the Backend methods in cpp/backend.h.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "cpp/backend.h"
#include "cpp/optimizer_math.h"
#include "cuda/scratch.h"

namespace tinynn::gpu {

// The GEMM epilogue (kernels_epilogue.cu): y[r, c] (row stride ld) += bias[c] (bias may be null),
// then the activation (LeakyRelu's negative slope: slope).
void launch_bias_activation(cudaStream_t stream, float* y, int ld, const float* bias, int rows, int cols,
                            Activation activation, float slope);

// Backend::unary (kernels_unary.cu) and Backend::binary (kernels_binary.cu).
void launch_unary(cudaStream_t stream, UnaryOp op, const float* x, float* y, size_t n, float a, float b);
void launch_binary(cudaStream_t stream, BinaryOp op, const float* a, const float* b, float* out,
                   const Broadcast& shape, float param);

// Backend::bernoulli_mask (kernels_random.cu).
void launch_bernoulli_mask(cudaStream_t stream, float* out, size_t n, float keep, float scale, uint32_t key0,
                           uint32_t key1);

// Backend::reduce and Backend::argmax (kernels_reduce.cu).
void launch_reduce(cudaStream_t stream, ReduceOp op, const float* x, float* out, int64_t outer, int64_t len,
                   int64_t inner, bool accumulate);
void launch_argmax(cudaStream_t stream, const float* x, int64_t outer, int64_t len, int64_t inner, int32_t* out);

// Backend::softmax_xent in one launch, and Backend::softmax (kernels_softmax.cu).
void launch_softmax_xent(cudaStream_t stream, const LossScratch& scratch, const float* logits,
                         const int32_t* labels, int rows, int cols, float* loss, float* dlogits,
                         int32_t* correct);
void launch_softmax(cudaStream_t stream, const float* x, int rows, int cols, float* out, bool log);

// Backend::mse in one launch (kernels_mse.cu).
void launch_mse(cudaStream_t stream, const LossScratch& scratch, const float* pred, const float* target, size_t n,
                float* loss, float* dpred);

// Backend::optimizer_update for SGD (kernels_optimizer.cu): PyTorch's torch.optim.SGD over all
// parameters, state[0] the momentum buffer; one launch per 16 parameters. first_step: the momentum
// buffers start as the gradient (the states checked by the caller: require_optimizer_states).
void launch_sgd_update(cudaStream_t stream, const ParamUpdate* params, int count, const SgdConfig& config,
                       bool first_step);

// Backend::optimizer_update for Adam / AdamW and RMSprop (kernels_optimizer.cu): PyTorch's rules
// (cpp/optimizer_math.h) over all parameters, one launch per 16 (the states checked by the caller:
// require_optimizer_states).
void launch_adam_update(cudaStream_t stream, const ParamUpdate* params, int count, const AdamStep& step);
void launch_rmsprop_update(cudaStream_t stream, const ParamUpdate* params, int count, const RmsPropStep& step);

// Backend::gather_batch, Backend::gather_rows and Backend::one_hot (kernels_gather.cu).
void launch_gather_batch(cudaStream_t stream, const uint8_t* images, const uint8_t* labels,
                         int features, const int32_t* indices, int rows, float scale, float shift,
                         float* x, int32_t* y);
void launch_gather_rows(cudaStream_t stream, const float* src, int cols, const int32_t* indices, int rows,
                        float* dst);
void launch_one_hot(cudaStream_t stream, const int32_t* labels, int rows, int classes, float* out);

}  // namespace tinynn::gpu
