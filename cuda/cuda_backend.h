// The CUDA implementation of Backend: device memory from cudaMalloc (stream-ordered, from the
// device's memory pool, for the process-wide backend of a device), GEMMs through cuBLAS, the
// other primitives in tinynn's own kernels (cuda/kernels.h), all enqueued on the backend's own
// stream; its fused executor (cuda/cuda_fused_step.h) runs on the same stream. Nothing
// synchronises the host except download(), synchronize(), a Marker's wait() and the unqueued
// transfers (which wait for their own copy only).
#pragma once
#include <memory>

#include "cpp/backend.h"
#include "cuda/stream_resources.h"

namespace tinynn::gpu {

class CudaBackend final : public Backend {
 public:
  // The process-wide backend of a device (cuda_backend(i)) takes the default options: plain fp32.
  CudaBackend(int device, const CublasApi& cublas, const QueueOptions& options = {});
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
  std::unique_ptr<Backend> fork(const QueueOptions& options) override;
  void follow(Backend& other) override;
  std::unique_ptr<Recording> record(const std::function<void()>& enqueue) override;

  void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
            const float* B, int ldb, float beta, float* C, int ldc,
            const GemmEpilogue& epilogue) override;
  void unary(UnaryOp op, const float* x, float* y, size_t n, float a, float b) override;
  void bernoulli_mask(float* out, size_t n, float keep, float scale, uint32_t key0, uint32_t key1) override;
  void binary(BinaryOp op, const float* a, const float* b, float* out, const Broadcast& shape,
              float param) override;
  void reduce(ReduceOp op, const float* x, float* out, int64_t outer, int64_t len, int64_t inner,
              bool accumulate) override;
  void argmax(const float* x, int64_t outer, int64_t len, int64_t inner, int32_t* out) override;
  void softmax(const float* x, int rows, int cols, float* out, bool log) override;
  void softmax_xent(const float* logits, const int32_t* labels, int rows, int cols, float* loss,
                    float* dlogits, int32_t* correct) override;
  void mse(const float* pred, const float* target, size_t n, float* loss, float* dpred) override;
  void optimizer_update(const ParamUpdate* params, int count, const OptimizerConfig& config,
                        int64_t step) override;
  void one_hot(const int32_t* labels, int rows, int classes, float* out) override;
  void gather_rows(const float* src, int cols, const int32_t* indices, int rows, float* dst) override;
  void gather_batch(const uint8_t* images, const uint8_t* labels, int features,
                    const int32_t* indices, int rows, float scale, float shift, float* x,
                    int32_t* y) override;

  // A CudaFusedStep on this backend's queue when the plan has the staged shape
  // (cuda_fused_plan_supported) and fusion is enabled; null otherwise.
  std::unique_ptr<StepExecutor> fused_executor(const StepPlan& plan, const FusionOptions& options) override;

  // For the fused executor's own kernels: makes this backend's device current on the calling
  // thread and returns its queue (stream, cuBLAS handle, reduction scratch).
  const StreamResources& enter_queue();

  // For the process-wide backend of a device, which outlives every tensor on it: memory comes from
  // the device's pool in stream order (cudaMallocAsync / cudaFreeAsync on this stream), so freeing
  // a tensor does not wait for the device as cudaFree does, and the pool keeps freed memory for
  // reuse. Returns false (and changes nothing) where the device has no memory pools. Forked
  // queues keep cudaMalloc / cudaFree: their streams end before their tensors may.
  bool use_stream_ordered_memory();

 private:
  // Makes this backend's device current on the calling thread and returns its stream.
  cudaStream_t enter();

  int device_;
  std::shared_ptr<StreamResources> resources_;
  bool stream_ordered_ = false;
};

}  // namespace tinynn::gpu
