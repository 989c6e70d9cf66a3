// Whether CUDA is usable here, and the backends of the devices. The probe runs once and checks,
// in order, what a user would have to fix: the driver library, the driver's CUDA version against
// the runtime compiled in, the devices, then cuBLAS. Each failure gets its own true reason.
#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cpp/devices.h"
#include "cpp/errors.h"
#include "cuda/cublas_loader.h"
#include "cuda/cuda_backend.h"

namespace tinynn {
namespace {

std::string cuda_version_text(int version) {  // 12080 → "12.8"
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

// The driver's CUDA version straight from libcuda (0 when unknown). Asking libcuda ourselves
// tells "no driver" apart from "old driver": the static runtime reports both as
// cudaErrorInsufficientDriver.
int driver_version(std::string* missing) {
  void* libcuda = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!libcuda) {
    *missing = "no NVIDIA driver (libcuda.so.1 not found)";
    return 0;
  }
  // The handle stays open: the runtime loads the same library on first use anyway.
  using GetVersion = int (*)(int*);
  auto get = reinterpret_cast<GetVersion>(dlsym(libcuda, "cuDriverGetVersion"));
  int version = 0;
  if (!get || get(&version) != 0) version = 0;
  return version;
}

std::string no_device_reason() {
  std::string reason = "no CUDA device found";
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES"))
    reason += " (CUDA_VISIBLE_DEVICES=\"" + std::string(visible) + "\")";
  return reason;
}

CudaStatus probe() {
  CudaStatus s;
  const std::string runtime = cuda_version_text(CUDART_VERSION);
  std::string missing;
  const int driver = driver_version(&missing);
  if (!missing.empty()) {
    s.reason = missing;
    return s;
  }
  // A CUDA 13.x runtime needs a driver for CUDA 13.0 or newer (minor-version compatibility).
  if (driver != 0 && driver / 1000 < CUDART_VERSION / 1000) {
    s.reason = "the NVIDIA driver is too old for CUDA " + runtime + " (driver supports CUDA " +
               cuda_version_text(driver) + ")";
    return s;
  }
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status == cudaErrorNoDevice || (status == cudaSuccess && count == 0)) {
    s.reason = no_device_reason();
    return s;
  }
  if (status == cudaErrorInsufficientDriver && driver == 0) {
    s.reason = "the NVIDIA driver is too old for CUDA " + runtime + " (its version is unknown)";
    return s;
  }
  if (status != cudaSuccess) {
    s.reason = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(status) + " (" +
               cudaGetErrorString(status) + ")";
    return s;
  }
  if (!gpu::cublas_api()) {
    s.reason = gpu::cublas_error();
    return s;
  }
  s.available = true;
  s.device_count = count;
  return s;
}

// One backend per device, created on first use and never destroyed: tensors freed by
// finalizers at process exit still find their backend (its free() tolerates a runtime that has
// already shut down).
struct Registry {
  std::mutex mutex;
  std::vector<gpu::CudaBackend*> backends;
};

Registry& registry() {
  static Registry* r = new Registry();  // intentionally leaked, see above
  return *r;
}

}  // namespace

const CudaStatus& cuda_status() {
  static const CudaStatus status = probe();
  return status;
}

Backend& cuda_backend(int index) {
  const CudaStatus& status = cuda_status();
  if (!status.available) throw RuntimeError("CUDA is not available: " + status.reason);
  if (index < 0 || index >= status.device_count)
    throw RangeError("no CUDA device cuda:" + std::to_string(index) + " (this machine has " +
                     std::to_string(status.device_count) + ": cuda:0" +
                     (status.device_count > 1 ? " to cuda:" + std::to_string(status.device_count - 1) : "") + ")");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (r.backends.empty()) r.backends.resize(status.device_count, nullptr);
  if (!r.backends[index]) {
    auto* backend = new gpu::CudaBackend(index, *gpu::cublas_api());
    backend->use_stream_ordered_memory();
    r.backends[index] = backend;
  }
  return *r.backends[index];
}

}  // namespace tinynn
