// Recording on CUDA: the backend calls made by `enqueue` are captured from the backend's stream
// into a CUDA graph (cudaStreamCaptureModeThreadLocal: other threads may still allocate and free
// meanwhile) and instantiated. Capturing runs nothing on the device: the work happens at each
// replay(), which launches the whole graph with one call.
// Inside `enqueue` only stream work is allowed: no alloc/free, download or synchronize (those
// invalidate the capture, which then fails with a RuntimeError naming the call).
#pragma once
#include <functional>
#include <memory>

#include "cpp/backend.h"
#include "cuda/stream_resources.h"

namespace tinynn::gpu {

std::unique_ptr<Recording> capture_graph(std::shared_ptr<StreamResources> resources,
                                         const std::function<void()>& enqueue);

}  // namespace tinynn::gpu
