#include "cuda/cuda_backend.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "cpp/errors.h"
#include "cpp/staged_step.h"
#include "cuda/capture_lock.h"
#include "cuda/check.h"
#include "cuda/cuda_fused_step.h"
#include "cuda/current_device.h"
#include "cuda/event_marker.h"
#include "cuda/graph.h"
#include "cuda/kernels.h"

namespace tinynn::gpu {
namespace {

std::string describe_bytes(size_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%zu bytes (%.2f GiB)", bytes, bytes / 1073741824.0);
  return buf;
}

cublasOperation_t op(bool transposed) { return transposed ? CUBLAS_OP_T : CUBLAS_OP_N; }

}  // namespace

CudaBackend::CudaBackend(int device, const CublasApi& cublas, const QueueOptions& options)
    : device_(device), resources_(std::make_shared<StreamResources>(device, cublas, options.tf32)) {}

cudaStream_t CudaBackend::enter() {
  make_current(device_);
  return resources_->stream();
}

const StreamResources& CudaBackend::enter_queue() {
  make_current(device_);
  return *resources_;
}

bool CudaBackend::use_stream_ordered_memory() {
  make_current(device_);
  int supported = 0;
  if (cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, device_) != cudaSuccess || !supported) {
    cudaGetLastError();
    return false;
  }
  cudaMemPool_t pool = nullptr;
  check_cuda(cudaDeviceGetDefaultMemPool(&pool, device_), "cudaDeviceGetDefaultMemPool");
  // Keep freed memory in the pool (the default threshold 0 hands it back at every synchronize).
  uint64_t keep = UINT64_MAX;
  check_cuda(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep),
             "cudaMemPoolSetAttribute(release threshold)");
  stream_ordered_ = true;
  return true;
}

void* CudaBackend::alloc(size_t bytes) {
  cudaStream_t stream = enter();
  void* p = nullptr;
  std::unique_lock<std::mutex> no_capture_meanwhile(capture_lock());
  const size_t size = std::max<size_t>(bytes, 1);
  const cudaError_t status = stream_ordered_ ? cudaMallocAsync(&p, size, stream) : cudaMalloc(&p, size);
  no_capture_meanwhile.unlock();
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky: the device stays usable
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    cudaGetLastError();
    throw OutOfMemory("CUDA out of memory: allocating " + describe_bytes(bytes) + " on cuda:" +
                      std::to_string(device_) + " failed (" + describe_bytes(free_bytes) +
                      " free of " + describe_bytes(total_bytes) + ")");
  }
  check_cuda(status, stream_ordered_ ? "cudaMallocAsync" : "cudaMalloc");
  return p;
}

void CudaBackend::free(void* p) noexcept {
  // cudaFree waits for the work that may still use p on any stream; cudaFreeAsync orders the free
  // after the work queued on this stream (where the process-wide backend's tensors are used). The
  // status is ignored: at process exit the runtime may already be unloading
  // (cudaErrorCudartUnloading), and a sticky device fault is reported by the next checked call.
  if (!p) return;
  cudaStream_t stream = nullptr;
  try {
    stream = enter();
  } catch (...) {
    return;
  }
  std::lock_guard<std::mutex> no_capture_meanwhile(capture_lock());
  if (!stream_ordered_) ++host_sync_count();
  if ((stream_ordered_ ? cudaFreeAsync(p, stream) : cudaFree(p)) != cudaSuccess) cudaGetLastError();
}

void CudaBackend::upload(void* dst, const void* host_src, size_t bytes) {
  // From pageable memory the runtime stages the bytes before returning, so the caller may
  // reuse host_src at once; the device copy stays ordered on the stream.
  check_cuda(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, enter()),
             "cudaMemcpyAsync(host to device)");
}

void CudaBackend::download(void* host_dst, const void* src, size_t bytes) {
  ++host_sync_count();
  cudaStream_t stream = enter();
  check_cuda(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream),
             "cudaMemcpyAsync(device to host)");
  check_cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
}

void CudaBackend::copy(void* dst, const void* src, size_t bytes) {
  check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, enter()),
             "cudaMemcpyAsync(device to device)");
}

void CudaBackend::zero(void* dst, size_t bytes) {
  check_cuda(cudaMemsetAsync(dst, 0, bytes, enter()), "cudaMemsetAsync");
}

void CudaBackend::synchronize() {
  ++host_sync_count();
  check_cuda(cudaStreamSynchronize(enter()), "cudaStreamSynchronize");
}

std::unique_ptr<Marker> CudaBackend::mark() { return record_marker(device_, enter()); }

// The unqueued transfers run on the copy stream, which nothing else uses, and wait for it alone:
// a copy on stream() would wait for all the work queued there. The caller guarantees that no
// queued work touches the bytes (Backend's contract), so no event orders the two streams.
void CudaBackend::upload_unqueued(void* dst, const void* host_src, size_t bytes) {
  make_current(device_);
  cudaStream_t copy_stream = resources_->copy_stream();
  check_cuda(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, copy_stream),
             "cudaMemcpyAsync(host to device, copy stream)");
  check_cuda(cudaStreamSynchronize(copy_stream), "cudaStreamSynchronize(copy stream)");
}

void CudaBackend::download_unqueued(void* host_dst, const void* src, size_t bytes) {
  ++host_sync_count();
  make_current(device_);
  cudaStream_t copy_stream = resources_->copy_stream();
  check_cuda(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, copy_stream),
             "cudaMemcpyAsync(device to host, copy stream)");
  check_cuda(cudaStreamSynchronize(copy_stream), "cudaStreamSynchronize(copy stream)");
}

std::unique_ptr<Backend> CudaBackend::fork(const QueueOptions& options) {
  auto child = std::make_unique<CudaBackend>(device_, resources_->api(), options);
  // The child's stream starts after everything already enqueued here (uploads of the tensors
  // it is about to use, say). Later ordering between the two: follow() or synchronize().
  child->follow(*this);
  return child;
}

void CudaBackend::follow(Backend& other) {
  auto* leader = dynamic_cast<CudaBackend*>(&other);
  if (!leader || leader == this) return;
  cudaStream_t after = leader->enter();
  cudaStream_t mine = enter();
  cudaEvent_t ready = nullptr;
  check_cuda(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  cudaError_t status = cudaEventRecord(ready, after);
  if (status == cudaSuccess) status = cudaStreamWaitEvent(mine, ready, 0);
  cudaEventDestroy(ready);  // safe while the wait is pending: released when it completes
  check_cuda(status, "cudaEventRecord/cudaStreamWaitEvent (follow)");
}

std::unique_ptr<Recording> CudaBackend::record(const std::function<void()>& enqueue) {
  make_current(device_);
  return capture_graph(resources_, enqueue);
}

void CudaBackend::gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                       const float* B, int ldb, float beta, float* C, int ldc,
                       const GemmEpilogue& epilogue) {
  if (M <= 0 || N <= 0) return;
  cudaStream_t stream = enter();
  // cuBLAS is column-major. Row-major X with row stride ld is column-major Xᵀ with leading
  // dimension ld, so row-major C[M,N] = op(A)[M,K]·op(B)[K,N] is column-major
  // Cᵀ[N,M] = op(B)ᵀ[N,K]·op(A)ᵀ[K,M]: B goes first, A second, same transpose flags, m = N, n = M.
  // With K = 0 a stored [M,0] operand may come with ld 0; cuBLAS wants ≥ 1 and reads nothing.
  check_cublas(resources_->api().sgemm(resources_->cublas(), op(tb), op(ta), N, M, K, &alpha, B,
                                       std::max(ldb, 1), A, std::max(lda, 1), &beta, C, ldc),
               "cublasSgemm_v2");
  if (epilogue.bias || epilogue.activation != Activation::None)
    launch_bias_activation(stream, C, ldc, epilogue.bias, M, N, epilogue.activation, epilogue.slope);
}

void CudaBackend::unary(UnaryOp op, const float* x, float* y, size_t n, float a, float b) {
  launch_unary(enter(), op, x, y, n, a, b);
}

void CudaBackend::bernoulli_mask(float* out, size_t n, float keep, float scale, uint32_t key0, uint32_t key1) {
  launch_bernoulli_mask(enter(), out, n, keep, scale, key0, key1);
}

void CudaBackend::binary(BinaryOp op, const float* a, const float* b, float* out, const Broadcast& shape,
                         float param) {
  launch_binary(enter(), op, a, b, out, shape, param);
}

void CudaBackend::reduce(ReduceOp op, const float* x, float* out, int64_t outer, int64_t len, int64_t inner,
                         bool accumulate) {
  launch_reduce(enter(), op, x, out, outer, len, inner, accumulate);
}

void CudaBackend::argmax(const float* x, int64_t outer, int64_t len, int64_t inner, int32_t* out) {
  launch_argmax(enter(), x, outer, len, inner, out);
}

void CudaBackend::softmax(const float* x, int rows, int cols, float* out, bool log) {
  launch_softmax(enter(), x, rows, cols, out, log);
}

void CudaBackend::softmax_xent(const float* logits, const int32_t* labels, int rows, int cols,
                               float* loss, float* dlogits, int32_t* correct) {
  cudaStream_t stream = enter();
  launch_softmax_xent(stream, resources_->loss(), logits, labels, rows, cols, loss, dlogits, correct);
}

void CudaBackend::mse(const float* pred, const float* target, size_t n, float* loss, float* dpred) {
  cudaStream_t stream = enter();
  launch_mse(stream, resources_->loss(), pred, target, n, loss, dpred);
}

void CudaBackend::optimizer_update(const ParamUpdate* params, int count, const OptimizerConfig& config,
                                   int64_t step) {
  require_optimizer_states(params, count, config);
  switch (config.kind) {
    case OptimizerKind::Sgd:
      launch_sgd_update(enter(), params, count, config.sgd, step == 1);
      return;
    case OptimizerKind::Adam:
      launch_adam_update(enter(), params, count, adam_step(config.adam, step));
      return;
    case OptimizerKind::RmsProp:
      launch_rmsprop_update(enter(), params, count, rmsprop_step(config.rmsprop));
      return;
  }
  throw RangeError("optimizer_update: unknown optimizer kind");
}

void CudaBackend::one_hot(const int32_t* labels, int rows, int classes, float* out) {
  launch_one_hot(enter(), labels, rows, classes, out);
}

void CudaBackend::gather_rows(const float* src, int cols, const int32_t* indices, int rows, float* dst) {
  launch_gather_rows(enter(), src, cols, indices, rows, dst);
}

void CudaBackend::gather_batch(const uint8_t* images, const uint8_t* labels, int features,
                               const int32_t* indices, int rows, float scale, float shift,
                               float* x, int32_t* y) {
  launch_gather_batch(enter(), images, labels, features, indices, rows, scale, shift, x, y);
}

std::unique_ptr<StepExecutor> CudaBackend::fused_executor(const StepPlan& plan, const FusionOptions& options) {
  if (!options.enabled || !cuda_fused_plan_supported(plan)) return nullptr;
  return std::make_unique<CudaFusedStep>(*this, plan, options);
}

}  // namespace tinynn::gpu
