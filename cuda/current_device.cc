#include "cuda/current_device.h"

#include <cuda_runtime_api.h>

#include "cuda/check.h"

namespace tinynn::gpu {

void make_current(int device) {
  thread_local int current = -1;
  if (current == device) return;
  check_cuda(cudaSetDevice(device), "cudaSetDevice");
  current = device;
}

}  // namespace tinynn::gpu
