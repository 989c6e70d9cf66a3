#include "cuda/stream_resources.h"

#include "cuda/capture_lock.h"
#include "cuda/check.h"
#include "cuda/current_device.h"

namespace tinynn::gpu {
namespace {

// cuBLAS's guidance for a user workspace: 32 MiB on Hopper and newer, 4 MiB before.
size_t cublas_workspace_bytes(int device) {
  int major = 0;
  check_cuda(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device),
             "cudaDeviceGetAttribute(ComputeCapabilityMajor)");
  return (major >= 9 ? 32u : 4u) << 20;
}

// fp32 GEMMs by default (CUBLAS_DEFAULT_MATH never uses TF32 for sgemm); with tf32, cuBLAS may
// round the inputs to TF32 on tensor cores: faster on Ampere and newer, ~1e-3 relative.
cublasMath_t math_mode(bool tf32) { return tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH; }

}  // namespace

StreamResources::StreamResources(int device, const CublasApi& cublas, bool tf32) : device_(device), api_(cublas) {
  make_current(device);
  try {
    std::lock_guard<std::mutex> no_capture_meanwhile(capture_lock());  // released before release()
    // Non-blocking: no implicit ordering with the legacy default stream (which nothing here uses).
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    check_cuda(cudaStreamCreateWithFlags(&copy_stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags(copy)");
    check_cublas(api_.create(&handle_), "cublasCreate_v2");
    // SetStream first: it resets the handle to cuBLAS's own workspace pool.
    check_cublas(api_.set_stream(handle_, stream_), "cublasSetStream_v2");
    const size_t workspace_bytes = cublas_workspace_bytes(device);
    check_cuda(cudaMalloc(&workspace_, workspace_bytes), "cudaMalloc(cuBLAS workspace)");
    check_cublas(api_.set_workspace(handle_, workspace_, workspace_bytes), "cublasSetWorkspace_v2");
    check_cublas(api_.set_math_mode(handle_, math_mode(tf32)), "cublasSetMathMode");

    // One allocation for all scratches; the doubles come first in each, so they are aligned.
    const size_t gemm_offset = (kLossScratchBytes + kHeadScratchBytes + 255) / 256 * 256;
    const size_t scratch_bytes = gemm_offset + kGemmScratchBytes;
    check_cuda(cudaMalloc(&scratch_, scratch_bytes), "cudaMalloc(reduction scratch)");
    char* base = static_cast<char*>(scratch_);
    loss_.loss_partials = reinterpret_cast<double*>(base);
    loss_.hit_partials = reinterpret_cast<int32_t*>(base + kLossMaxBlocks * sizeof(double));
    loss_.ticket = reinterpret_cast<unsigned*>(base + kLossMaxBlocks * (sizeof(double) + sizeof(int32_t)));
    base += kLossScratchBytes;  // a multiple of 8
    head_.loss_partials = reinterpret_cast<double*>(base);
    head_.hit_partials = reinterpret_cast<int32_t*>(base + kHeadMaxBlocks * sizeof(double));
    // The fused head's last block reads the partials as float4s: 16-byte aligned.
    static_assert((kLossScratchBytes + kHeadMaxBlocks * (sizeof(double) + sizeof(int32_t))) % 16 == 0 &&
                      kHeadMaxPartial % 4 == 0,
                  "head partials are float4-aligned");
    head_.partials = reinterpret_cast<float*>(base + kHeadMaxBlocks * (sizeof(double) + sizeof(int32_t)));
    head_.ticket = reinterpret_cast<unsigned*>(base + kHeadScratchBytes - 16);
    // The split-K partial tiles are read as float4s: 256-byte aligned.
    gemm_.partials = reinterpret_cast<float*>(static_cast<char*>(scratch_) + gemm_offset);
    gemm_.tickets = reinterpret_cast<unsigned*>(gemm_.partials + kGemmMaxSplitBlocks * kGemmTileFloats);
    // The tickets start at zero; each kernel's last block puts its ticket back to zero.
    check_cuda(cudaMemsetAsync(scratch_, 0, scratch_bytes, stream_), "cudaMemsetAsync(reduction scratch)");
  } catch (...) {
    release();
    throw;
  }
}

StreamResources::~StreamResources() { release(); }

void StreamResources::release() noexcept {
  // Teardown never throws and may run at process exit after the runtime has unloaded: every
  // status is ignored. Pending work finishes first, so nothing still reads the buffers.
  try {
    make_current(device_);
  } catch (...) {
    return;
  }
  if (stream_) cudaStreamSynchronize(stream_);
  std::lock_guard<std::mutex> no_capture_meanwhile(capture_lock());
  if (handle_) api_.destroy(handle_);
  if (workspace_) cudaFree(workspace_);
  if (scratch_) cudaFree(scratch_);
  if (stream_) cudaStreamDestroy(stream_);
  if (copy_stream_) cudaStreamDestroy(copy_stream_);
  cudaGetLastError();
  stream_ = copy_stream_ = nullptr;
  handle_ = nullptr;
  workspace_ = scratch_ = nullptr;
}

}  // namespace tinynn::gpu
