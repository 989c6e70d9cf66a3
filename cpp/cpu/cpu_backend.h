// The CPU implementation of Backend: host memory, the blocked GEMM and vectorised loops, all on
// the process-wide thread pool. Work runs synchronously. The primitives are spread over
// cpu_backend.cc (memory, GEMM, optimizer, gathers), cpu_elementwise.cc (unary, binary) and
// cpu_reductions.cc (reduce, argmax, softmax, losses).
#pragma once
#include "cpp/backend.h"
#include "cpp/cpu/thread_pool.h"

namespace tinynn::cpu {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(ThreadPool& pool) : pool_(pool) {}
  Device device() const override { return {DeviceKind::Cpu, 0}; }
  ThreadPool& pool() const { return pool_; }

  void* alloc(size_t bytes) override;
  void free(void* p) noexcept override;
  void upload(void* dst, const void* host_src, size_t bytes) override;
  void download(void* host_dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void zero(void* dst, size_t bytes) override;
  void synchronize() override { ++host_sync_count(); }
  std::unique_ptr<Marker> mark() override;
  void upload_unqueued(void* dst, const void* host_src, size_t bytes) override;
  void download_unqueued(void* host_dst, const void* src, size_t bytes) override;
  std::unique_ptr<Backend> fork(const QueueOptions&) override { return std::make_unique<CpuBackend>(pool_); }
  void follow(Backend&) override {}
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
  std::unique_ptr<StepExecutor> fused_executor(const StepPlan& plan, const FusionOptions& options) override;

 private:
  ThreadPool& pool_;
};

}  // namespace tinynn::cpu
