#include "cuda/graph.h"

#include "cuda/capture_lock.h"
#include "cuda/check.h"
#include "cuda/current_device.h"

namespace tinynn::gpu {
namespace {

struct GraphDeleter {
  void operator()(cudaGraph_t g) const noexcept { cudaGraphDestroy(g); }
};
using GraphPtr = std::unique_ptr<CUgraph_st, GraphDeleter>;

class GraphRecording final : public Recording {
 public:
  GraphRecording(std::shared_ptr<StreamResources> resources, cudaGraphExec_t exec)
      : resources_(std::move(resources)), exec_(exec) {}
  ~GraphRecording() override { cudaGraphExecDestroy(exec_); }
  GraphRecording(const GraphRecording&) = delete;
  GraphRecording& operator=(const GraphRecording&) = delete;

  void replay() override {
    make_current(resources_->device());
    check_cuda(cudaGraphLaunch(exec_, resources_->stream()), "cudaGraphLaunch");
  }

 private:
  std::shared_ptr<StreamResources> resources_;
  cudaGraphExec_t exec_;
};

}  // namespace

std::unique_ptr<Recording> capture_graph(std::shared_ptr<StreamResources> resources,
                                         const std::function<void()>& enqueue) {
  make_current(resources->device());
  cudaStream_t stream = resources->stream();
  std::lock_guard<std::mutex> no_frees_meanwhile(capture_lock());
  check_cuda(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
  try {
    enqueue();
  } catch (...) {
    // Ends the (possibly invalidated) capture so the stream is usable again, then reports the
    // error that stopped it.
    cudaGraph_t partial = nullptr;
    cudaStreamEndCapture(stream, &partial);
    if (partial) cudaGraphDestroy(partial);
    cudaGetLastError();
    throw;
  }
  cudaGraph_t raw = nullptr;
  check_cuda(cudaStreamEndCapture(stream, &raw), "cudaStreamEndCapture");
  GraphPtr graph(raw);
  cudaGraphExec_t exec = nullptr;
  check_cuda(cudaGraphInstantiate(&exec, graph.get(), 0), "cudaGraphInstantiate");
  auto recording = std::make_unique<GraphRecording>(std::move(resources), exec);
  // Uploads the executable now, so the first replay does not pay for it.
  check_cuda(cudaGraphUpload(exec, stream), "cudaGraphUpload");
  return recording;
}

}  // namespace tinynn::gpu
