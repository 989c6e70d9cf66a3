// The CUDA implementation of Backend: device memory from cudaMalloc, GEMMs through cuBLAS, the
// fused parts in tinynn's own kernels (kernels_*.cu), all enqueued on the backend's own stream.
// Nothing synchronises the host except download(), synchronize(), a Marker's wait() and the
// unqueued transfers (which wait for their own copy only).
#pragma once
#include <memory>

#include "cpp/backend.h"
#include "cuda/stream_resources.h"

namespace tinynn::gpu {

class CudaBackend final : public Backend {
 public:
  CudaBackend(int device, const CublasApi& cublas);
  Device device() const override { return {DeviceKind::Cuda, device_}; }

  void* alloc(size_t bytes) override;
  void free(void* p) noexcept override;
  void upload(void* dst, const void* host_src, size_t bytes) override;
  void download(void* host_dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void zero(void* dst, size_t bytes) override;
  void synchronize() override;
  std::unique_ptr<Marker> mark() override;
  void upload_unqueued(void* dst, const void* host_src, size_t bytes) override;
  void download_unqueued(void* host_dst, const void* src, size_t bytes) override;
  std::unique_ptr<Backend> fork() override;
  std::unique_ptr<Recording> record(const std::function<void()>& enqueue) override;

  void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
            const float* B, int ldb, float beta, float* C, int ldc,
            const GemmEpilogue& epilogue) override;
  void bias_relu(float* y, const float* bias, int rows, int cols, bool relu) override;
  void relu_backward(const float* dy, const float* y, float* dx, size_t n) override;
  void add(float* y, const float* x, size_t n) override;
  void bias_grad(const float* dy, int rows, int cols, float* db, bool accumulate) override;
  void softmax_xent(const float* logits, const int32_t* labels, int rows, int cols, float* loss,
                    float* dlogits, int32_t* correct) override;
  void sgd_update(const SgdTensor* tensors, int count, const SgdConfig& config,
                  bool first_step) override;
  void softmax(const float* x, int rows, int cols, float* probs) override;
  void argmax(const float* x, int rows, int cols, int32_t* out) override;
  void gather_batch(const uint8_t* images, const uint8_t* labels, int features,
                    const int32_t* indices, int rows, float scale, float shift, float* x,
                    int32_t* y) override;
  void linear_xent_step(float* h, const float* h_bias, bool relu_input, const float* W,
                        const float* b, const int32_t* labels, int rows, int in, int out,
                        float* logits, float* dlogits, float* loss, int32_t* correct, float* dW,
                        float* db, float* dh, float* dh_bias) override;
  void linear_xent_sgd_step(float* h, float* h_bias, bool relu_input, float* W, float* b,
                            const int32_t* labels, int rows, int in, int out, float* logits,
                            float* dlogits, float* loss, int32_t* correct, float* dW, float* db,
                            float* dh, float* dh_bias, float* W_momentum, float* b_momentum,
                            float* h_bias_momentum, const SgdConfig& config, bool first_step) override;
  void gather_linear(const uint8_t* images, const uint8_t* labels, int features,
                     const int32_t* indices, int rows, float scale, float shift, const float* W,
                     int out, const GemmEpilogue& epilogue, float* x, int32_t* y, float* h) override;
  void linear_grad_sgd(const float* dy, const float* x, int rows, int in, int out, float* dW,
                       float* W, float* W_momentum, const SgdConfig& config, bool first_step) override;

 private:
  // Makes this backend's device current on the calling thread and returns its stream.
  cudaStream_t enter();

  int device_;
  // TINYNN_CUDA_FUSED_HEAD=0 runs linear_xent_step as separate ops (to measure the fusion).
  bool fused_head_;
  // TINYNN_CUDA_FUSED_STEP=0 runs gather_linear, linear_grad_sgd and linear_xent_sgd_step's SGD
  // as their default compositions of separate ops (to measure what those fusions buy).
  bool fused_step_;
  // TINYNN_CUDA_CLUSTER_LAYER1=1 runs gather_linear and linear_grad_sgd at batches 129..1024 as
  // the cluster split-K kernels (sm_90+) instead of cuBLAS compositions. Opt-in until measured on
  // a GPU (cuda/README.md).
  bool cluster_layer1_;
  std::shared_ptr<StreamResources> resources_;
};

}  // namespace tinynn::gpu
