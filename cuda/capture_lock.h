// Stream capture on one thread must not overlap device-synchronising calls on another
// (cudaMalloc, cudaFree, creating or destroying streams and cuBLAS handles): a cudaFree from a GC
// finalizer on the JS thread during a driver's capture on its worker thread invalidates the capture
// (seen on an H200 as CUBLAS_STATUS_INTERNAL_ERROR from a captured GEMM). Both sides take this lock.
#pragma once
#include <mutex>

namespace tinynn::gpu {

std::mutex& capture_lock();

}  // namespace tinynn::gpu
