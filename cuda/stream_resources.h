// Everything one queue of work owns on its device: a non-blocking stream, a second one for the
// transfers that must not queue behind the first one's work, a cuBLAS handle bound to the first
// with a workspace of its own (so cuBLAS never allocates while a graph is being captured), and the
// scratch of the cross-block reductions of the loss kernels, the fused head and the split-K GEMMs. A
// backend and every recording made on it share one (shared_ptr), so a graph never outlives the
// stream and buffers it launches into.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "cuda/cublas_loader.h"
#include "cuda/scratch.h"

namespace tinynn::gpu {

class StreamResources {
 public:
  // tf32: the cuBLAS handle may run fp32 GEMMs on TF32 tensor cores (QueueOptions::tf32);
  // otherwise it computes in plain fp32.
  StreamResources(int device, const CublasApi& cublas, bool tf32);
  ~StreamResources();
  StreamResources(const StreamResources&) = delete;
  StreamResources& operator=(const StreamResources&) = delete;

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  // For Backend::upload_unqueued/download_unqueued: never ordered with stream().
  cudaStream_t copy_stream() const { return copy_stream_; }
  cublasHandle_t cublas() const { return handle_; }
  const CublasApi& api() const { return api_; }
  const LossScratch& loss() const { return loss_; }
  const HeadScratch& head() const { return head_; }
  const GemmScratch& gemm() const { return gemm_; }

 private:
  void release() noexcept;

  int device_;
  const CublasApi& api_;
  cudaStream_t stream_ = nullptr;
  cudaStream_t copy_stream_ = nullptr;
  cublasHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  void* scratch_ = nullptr;
  LossScratch loss_{};
  HeadScratch head_{};
  GemmScratch gemm_{};
};

}  // namespace tinynn::gpu
