// Backend::mark() on CUDA: an event recorded on the backend's stream (timing disabled, the
// cheapest kind); wait() blocks on that event only, so work enqueued after it keeps running.
#pragma once
#include <cuda_runtime_api.h>

#include <memory>

#include "cpp/backend.h"

namespace tinynn::gpu {

std::unique_ptr<Marker> record_marker(int device, cudaStream_t stream);

}  // namespace tinynn::gpu
