// The CUDA entry points of a build without cuda/: CUDA is never available, and says why.
#include "cpp/devices.h"
#include "cpp/errors.h"

namespace tinynn {

const CudaStatus& cuda_status() {
  static const CudaStatus status{false, 0, CUDA_OFF_REASON};
  return status;
}

Backend& cuda_backend(int) { throw RuntimeError("CUDA is not available: " + cuda_status().reason); }

}  // namespace tinynn
