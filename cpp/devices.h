// Where backends come from: the CPU backend always, CUDA backends when compiled in and usable.
#pragma once
#include <string>

#include "cpp/backend.h"

namespace tinynn {

Backend& cpu_backend();

struct CudaStatus {
  bool available = false;
  int device_count = 0;
  std::string reason;  // why not available (empty when available)
};

// Probed once (driver, devices, cuBLAS), then cached. Implemented in cuda/ when CUDA is
// compiled in, else in cpp/cuda_unavailable/.
const CudaStatus& cuda_status();
// The backend of CUDA device `index`. Throws RuntimeError with cuda_status().reason when CUDA is
// unavailable and RangeError when index is not a device.
Backend& cuda_backend(int index);

// Parses "cpu", "cuda" or "cuda:N" (TypeError/RangeError on anything else).
Device parse_device(const std::string& name);
Backend& backend_for(const Device& device);

}  // namespace tinynn
