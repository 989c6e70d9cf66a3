// cuBLAS without linking it: libcublas is dlopen()ed on first CUDA use and the few entry points
// tinynn calls are resolved into a table. One addon binary thus loads on machines with and without
// cuBLAS, and says which files it tried when there is none.
#pragma once
#include <cublas_v2.h>

#include <string>

namespace tinynn::gpu {

struct CublasApi {
  decltype(&cublasCreate_v2) create;
  decltype(&cublasDestroy_v2) destroy;
  decltype(&cublasSetStream_v2) set_stream;
  decltype(&cublasSetWorkspace_v2) set_workspace;
  decltype(&cublasSetMathMode) set_math_mode;
  decltype(&cublasSgemm_v2) sgemm;
  std::string path;  // the file that was loaded
};

// The table, loaded once (thread-safe); null when no usable libcublas was found, with the reason
// (every place tried) in error().
const CublasApi* cublas_api();
const std::string& cublas_error();

// "cublasSgemm_v2 failed: CUBLAS_STATUS_EXECUTION_FAILED" as a RuntimeError.
void check_cublas(cublasStatus_t status, const char* call);

}  // namespace tinynn::gpu
