#include "cuda/check.h"

#include <string>

#include "cpp/errors.h"

namespace tinynn::gpu {

void throw_cuda_error(cudaError_t status, const char* call) {
  // Clears the runtime's last-error slot so that a non-sticky failure (a bad launch
  // configuration, say) is not reported again by the next unrelated check.
  cudaGetLastError();
  throw RuntimeError(std::string(call) + " failed: " + cudaGetErrorName(status) + " (" +
                     cudaGetErrorString(status) + ")");
}

}  // namespace tinynn::gpu
