#include "cuda/cluster_support.h"

#include <cuda_runtime_api.h>

#include <map>
#include <mutex>

#include "cuda/check.h"

namespace tinynn::gpu {

bool device_has_clusters() {
  static std::mutex mutex;
  static std::map<int, bool> known;
  int device = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  std::lock_guard<std::mutex> lock(mutex);
  auto it = known.find(device);
  if (it != known.end()) return it->second;
  int major = 0;
  check_cuda(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "cudaDeviceGetAttribute");
  return known[device] = major >= 9;
}

}  // namespace tinynn::gpu
