#include "cuda/event_marker.h"

#include "cuda/check.h"
#include "cuda/current_device.h"

namespace tinynn::gpu {
namespace {

struct EventDeleter {
  // Safe while the event is still pending: the runtime releases it once it completes. The status
  // is ignored, as in every teardown here (the runtime may be unloading at process exit).
  void operator()(CUevent_st* event) const noexcept {
    if (cudaEventDestroy(event) != cudaSuccess) cudaGetLastError();
  }
};
using EventPtr = std::unique_ptr<CUevent_st, EventDeleter>;

class EventMarker final : public Marker {
 public:
  EventMarker(int device, EventPtr event) : device_(device), event_(std::move(event)) {}

  void wait() override {
    make_current(device_);
    check_cuda(cudaEventSynchronize(event_.get()), "cudaEventSynchronize");
  }

 private:
  int device_;
  EventPtr event_;
};

}  // namespace

std::unique_ptr<Marker> record_marker(int device, cudaStream_t stream) {
  make_current(device);
  cudaEvent_t raw = nullptr;
  check_cuda(cudaEventCreateWithFlags(&raw, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  EventPtr event(raw);
  check_cuda(cudaEventRecord(event.get(), stream), "cudaEventRecord");
  return std::make_unique<EventMarker>(device, std::move(event));
}

}  // namespace tinynn::gpu
