// Status checks for the CUDA runtime: every failure becomes a RuntimeError that names the call
// and the status ("cudaMemcpyAsync failed: cudaErrorIllegalAddress (an illegal memory access …)").
#pragma once
#include <cuda_runtime_api.h>

namespace tinynn::gpu {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call);

inline void check_cuda(cudaError_t status, const char* call) {
  if (status != cudaSuccess) throw_cuda_error(status, call);
}

// After a kernel launch: launch-configuration errors show up here at once; faults inside the
// kernel surface later, at the next synchronising call, under that call's name.
inline void check_launch(const char* kernel) { check_cuda(cudaGetLastError(), kernel); }

}  // namespace tinynn::gpu
