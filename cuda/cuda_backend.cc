#include "cuda/cuda_backend.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cpp/errors.h"
#include "cuda/capture_lock.h"
#include "cuda/check.h"
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

bool env_is(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v && std::strcmp(v, value) == 0;
}

}  // namespace

CudaBackend::CudaBackend(int device, const CublasApi& cublas)
    : device_(device),
      fused_head_(!env_is("TINYNN_CUDA_FUSED_HEAD", "0")),
      fused_step_(!env_is("TINYNN_CUDA_FUSED_STEP", "0")),
      cluster_layer1_(env_is("TINYNN_CUDA_CLUSTER_LAYER1", "1")),
      resources_(std::make_shared<StreamResources>(device, cublas)) {}

cudaStream_t CudaBackend::enter() {
  make_current(device_);
  return resources_->stream();
}

void* CudaBackend::alloc(size_t bytes) {
  make_current(device_);
  void* p = nullptr;
  std::unique_lock<std::mutex> no_capture_meanwhile(capture_lock());
  const cudaError_t status = cudaMalloc(&p, std::max<size_t>(bytes, 1));
  no_capture_meanwhile.unlock();
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky: the device stays usable
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    cudaGetLastError();
    throw OutOfMemory("CUDA out of memory: cudaMalloc of " + describe_bytes(bytes) + " on cuda:" +
                      std::to_string(device_) + " failed (" + describe_bytes(free_bytes) +
                      " free of " + describe_bytes(total_bytes) + ")");
  }
  check_cuda(status, "cudaMalloc");
  return p;
}

void CudaBackend::free(void* p) noexcept {
  // cudaFree waits for the work that may still use p on any stream. Its status is ignored: at
  // process exit the runtime may already be unloading (cudaErrorCudartUnloading), and a sticky
  // device fault is reported by the next checked call anyway.
  if (!p) return;
  try {
    make_current(device_);
  } catch (...) {
    return;
  }
  std::lock_guard<std::mutex> no_capture_meanwhile(capture_lock());
  if (cudaFree(p) != cudaSuccess) cudaGetLastError();
}

void CudaBackend::upload(void* dst, const void* host_src, size_t bytes) {
  // From pageable memory the runtime stages the bytes before returning, so the caller may
  // reuse host_src at once; the device copy stays ordered on the stream.
  check_cuda(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, enter()),
             "cudaMemcpyAsync(host to device)");
}

void CudaBackend::download(void* host_dst, const void* src, size_t bytes) {
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

void CudaBackend::synchronize() { check_cuda(cudaStreamSynchronize(enter()), "cudaStreamSynchronize"); }

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
  make_current(device_);
  cudaStream_t copy_stream = resources_->copy_stream();
  check_cuda(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, copy_stream),
             "cudaMemcpyAsync(device to host, copy stream)");
  check_cuda(cudaStreamSynchronize(copy_stream), "cudaStreamSynchronize(copy stream)");
}

std::unique_ptr<Backend> CudaBackend::fork() {
  cudaStream_t parent = enter();
  auto child = std::make_unique<CudaBackend>(device_, resources_->api());
  // The child's stream starts after everything already enqueued here (uploads of the tensors
  // it is about to use, say). Later ordering between the two is the caller's: synchronize().
  cudaEvent_t ready = nullptr;
  check_cuda(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  cudaError_t status = cudaEventRecord(ready, parent);
  if (status == cudaSuccess) status = cudaStreamWaitEvent(child->resources_->stream(), ready, 0);
  cudaEventDestroy(ready);  // safe while the wait is pending: released when it completes
  check_cuda(status, "cudaEventRecord/cudaStreamWaitEvent (fork)");
  return child;
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
  if (epilogue.bias || epilogue.relu)
    launch_bias_relu(stream, C, ldc, epilogue.bias, M, N, epilogue.relu);
}

void CudaBackend::bias_relu(float* y, const float* bias, int rows, int cols, bool relu) {
  launch_bias_relu(enter(), y, cols, bias, rows, cols, relu);
}

void CudaBackend::add(float* y, const float* x, size_t n) { launch_add(enter(), y, x, n); }

void CudaBackend::relu_backward(const float* dy, const float* y, float* dx, size_t n) {
  launch_relu_backward(enter(), dy, y, dx, n);
}

void CudaBackend::bias_grad(const float* dy, int rows, int cols, float* db, bool accumulate) {
  launch_bias_grad(enter(), dy, rows, cols, db, accumulate);
}

void CudaBackend::softmax_xent(const float* logits, const int32_t* labels, int rows, int cols,
                               float* loss, float* dlogits, int32_t* correct) {
  cudaStream_t stream = enter();
  launch_softmax_xent(stream, resources_->xent(), logits, labels, rows, cols, loss, dlogits, correct);
}

void CudaBackend::sgd_update(const SgdTensor* tensors, int count, const SgdConfig& config,
                             bool first_step) {
  launch_sgd_update(enter(), tensors, count, config, first_step);
}

void CudaBackend::softmax(const float* x, int rows, int cols, float* probs) {
  launch_softmax(enter(), x, rows, cols, probs);
}

void CudaBackend::argmax(const float* x, int rows, int cols, int32_t* out) {
  launch_argmax(enter(), x, rows, cols, out);
}

void CudaBackend::gather_batch(const uint8_t* images, const uint8_t* labels, int features,
                               const int32_t* indices, int rows, float scale, float shift,
                               float* x, int32_t* y) {
  launch_gather_batch(enter(), images, labels, features, indices, rows, scale, shift, x, y);
}

void CudaBackend::linear_xent_step(float* h, const float* h_bias, bool relu_input, const float* W,
                                   const float* b, const int32_t* labels, int rows, int in, int out,
                                   float* logits, float* dlogits, float* loss, int32_t* correct,
                                   float* dW, float* db, float* dh, float* dh_bias) {
  cudaStream_t stream = enter();
  if (fused_head_ && launch_linear_xent_step(stream, resources_->head(), h, h_bias, relu_input, W, b,
                                             labels, rows, in, out, logits, dlogits, loss, correct,
                                             dW, db, dh, dh_bias))
    return;
  Backend::linear_xent_step(h, h_bias, relu_input, W, b, labels, rows, in, out, logits, dlogits,
                            loss, correct, dW, db, dh, dh_bias);
}

void CudaBackend::linear_xent_sgd_step(float* h, float* h_bias, bool relu_input, float* W, float* b,
                                       const int32_t* labels, int rows, int in, int out, float* logits,
                                       float* dlogits, float* loss, int32_t* correct, float* dW, float* db,
                                       float* dh, float* dh_bias, float* W_momentum, float* b_momentum,
                                       float* h_bias_momentum, const SgdConfig& config, bool first_step) {
  cudaStream_t stream = enter();
  const HeadSgd sgd{sgd_params(config, first_step), W_momentum, b_momentum, h_bias_momentum};
  if (fused_head_ && fused_step_ &&
      launch_linear_xent_step(stream, resources_->head(), h, h_bias, relu_input, W, b, labels, rows, in, out,
                              logits, dlogits, loss, correct, dW, db, dh, dh_bias, &sgd))
    return;
  Backend::linear_xent_sgd_step(h, h_bias, relu_input, W, b, labels, rows, in, out, logits, dlogits, loss,
                                correct, dW, db, dh, dh_bias, W_momentum, b_momentum, h_bias_momentum, config,
                                first_step);
}

void CudaBackend::gather_linear(const uint8_t* images, const uint8_t* labels, int features,
                                const int32_t* indices, int rows, float scale, float shift,
                                const float* W, int out, const GemmEpilogue& epilogue, float* x,
                                int32_t* y, float* h) {
  cudaStream_t stream = enter();
  if (fused_step_ && cluster_layer1_ &&
      launch_gather_linear_cluster(stream, images, labels, features, indices, rows, scale, shift, W, out, epilogue,
                                   x, y, h))
    return;
  if (fused_step_ && launch_gather_linear(stream, resources_->gemm(), images, labels, features, indices, rows,
                                          scale, shift, W, out, epilogue, x, y, h))
    return;
  Backend::gather_linear(images, labels, features, indices, rows, scale, shift, W, out, epilogue, x, y, h);
}

void CudaBackend::linear_grad_sgd(const float* dy, const float* x, int rows, int in, int out, float* dW,
                                  float* W, float* W_momentum, const SgdConfig& config, bool first_step) {
  cudaStream_t stream = enter();
  if (fused_step_ && cluster_layer1_ &&
      launch_linear_grad_sgd_cluster(stream, dy, x, rows, in, out, dW, W, W_momentum, sgd_params(config, first_step)))
    return;
  if (fused_step_ && launch_linear_grad_sgd(stream, resources_->gemm(), dy, x, rows, in, out, dW, W, W_momentum,
                                            sgd_params(config, first_step)))
    return;
  Backend::linear_grad_sgd(dy, x, rows, in, out, dW, W, W_momentum, config, first_step);
}

}  // namespace tinynn::gpu
