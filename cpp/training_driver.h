// The training driver: whole epochs of a step plan run natively on a worker thread, each step by
// the plan's StepExecutor (fused or composed; the same primitives as the eager ops). On CUDA the
// steps between two progress reports are captured once and replayed as a graph, and the next
// chunk is always queued before the host waits for the previous one's losses.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

#include "cpp/backend.h"
#include "cpp/device_buffer.h"
#include "cpp/errors.h"
#include "cpp/step_executor.h"
#include "cpp/tensor.h"

namespace tinynn {

// One Linear layer's parameters and their optimizer state (OptimizerConfig::state_count() each).
struct DriverLayer {
  std::shared_ptr<Storage> weight;  // [out, in]
  std::shared_ptr<Storage> bias;    // [out]
  std::shared_ptr<Storage> weight_state[kMaxOptimizerStates];
  std::shared_ptr<Storage> bias_state[kMaxOptimizerStates];
};

struct DriverModel {
  StepPlan plan;
  std::vector<DriverLayer> layers;
  // Host int32 [2·layers]: the optimizer steps each parameter (W0, b0, W1, …) has taken. The
  // driver starts from them and writes them back when a fit ends; they must be equal.
  std::shared_ptr<Storage> steps;
};

// A dataset the driver trains on: u8 images and u8 labels (InputKind::Bytes), or float features
// with int32 class labels or float targets [n, target_width] (InputKind::Floats).
struct DriverDataset {
  std::shared_ptr<Storage> images;  // [n, features]: u8, or f32 features
  std::shared_ptr<Storage> labels;  // [n] u8 or i32 labels, or f32 targets [n, target_width]
  int n = 0;
  int features = 0;
  InputKind input = InputKind::Bytes;
  int target_width = 0;  // float targets per sample; 0 for class labels
};

struct FitSpec {
  DriverDataset train;
  std::optional<DriverDataset> validation;
  int epochs = 1;
  // The index of the first epoch (0-based): it picks the epochs' shuffles and numbers the records,
  // so a fit run one epoch at a time equals one run of all of them.
  int first_epoch = 0;
  int batch_size = 64;
  bool shuffle = true;
  uint64_t seed = 0;
  bool drop_last = false;
  float scale = 1.f / 255.f;
  float shift = 0.f;
  int progress_every = 50;  // steps between progress reports (and CUDA graph chunks)
};

struct EpochRecord {
  int epoch = 0;
  double loss = 0;
  double accuracy = 0;
  std::optional<double> val_loss;
  std::optional<double> val_accuracy;
  double samples_per_second = 0;
  // Host wall time from the start of the epoch's loop until its loss and accuracy are on the host,
  // validation excluded. The first epoch's includes computing its sample order; later epochs'
  // orders are computed while the epoch before them runs, inside that epoch's time.
  double seconds = 0;
};

struct BatchProgress {
  int epoch = 0;
  int step = 0;            // steps done in this epoch
  int steps_per_epoch = 0;
  double loss = 0;         // running mean over the epoch so far
  double accuracy = 0;
  double samples_per_second = 0;
  double seconds = 0;
};

struct FitCallbacks {
  std::function<void(const BatchProgress&)> on_batch;
  std::function<void(const EpochRecord&)> on_epoch;
};

struct EvalResult {
  double loss = 0;
  double accuracy = 0;
};

class TrainingDriver {
 public:
  // `device_backend` is the backend the model lives on; the driver forks its own queue from it.
  TrainingDriver(Backend& device_backend, DriverModel model, const FusionOptions& fusion, const QueueOptions& queue);
  ~TrainingDriver();

  // Runs on the calling (worker) thread until done, aborted (throws Aborted) or failed.
  std::vector<EpochRecord> fit(const FitSpec& spec, const FitCallbacks& callbacks);
  EvalResult evaluate(const DriverDataset& data, int batch_size, float scale, float shift);
  // Called on the JS thread before a fit is queued, so that an abort() arriving before the
  // worker starts is kept.
  void clear_abort() {
    abort_.store(false);
    stop_.store(false);
  }
  void abort() { abort_.store(true); }
  // Ends the fit after the epoch in progress (its record and callback included).
  void stop_after_epoch() { stop_.store(true); }
  // "fused" or "composed": which executor runs the steps.
  const char* executor_name() const { return executor_->name(); }

 private:
  struct Workspace;
  struct EpochPlan;
  Workspace& workspace(int batch_size, int max_rows_in_dataset);
  // Enqueues one training step over rows [first, first+rows) of the permutation.
  void enqueue_step(Workspace& ws, const DriverDataset& data, int first, int rows, int step, float scale,
                    float shift, int64_t optimizer_step);
  // Enqueues steps [first, first+count) of an epoch: uncaptured for the chunk that holds the
  // optimizer's first step, else as a recording (captured on first use, then replayed).
  void enqueue_chunk(Workspace& ws, const FitSpec& spec, const EpochPlan& plan, int first, int count);
  EpochRecord run_epoch(Workspace& ws, const FitSpec& spec, const EpochPlan& plan, const FitCallbacks& callbacks,
                        int epoch, std::vector<float>& losses);
  // Computes epoch `epoch`'s sample order on the host and uploads it to next_order_.
  void prepare_order(const FitSpec& spec, int epoch);
  // Reads the parameters' common step count from model_.steps / writes steps_taken_ back.
  int64_t read_steps() const;
  void write_steps() const;
  EvalResult evaluate_with(Workspace& ws, const DriverDataset& data, int batch_size, float scale, float shift);
  // RangeError unless the dataset fits the plan: its features, its kind, its labels or targets.
  void check_dataset(const DriverDataset& data) const;

  Backend& device_backend_;  // the model's queue: each fit and evaluate follows it
  std::unique_ptr<Backend> backend_;
  DriverModel model_;
  std::unique_ptr<StepExecutor> executor_;
  int64_t steps_taken_ = 0;  // optimizer steps of the parameters, during a fit
  std::map<int, std::unique_ptr<Workspace>> workspaces_;
  // The next epoch's sample order, prepared while the current epoch runs (so neither the host's
  // shuffle nor its upload leaves the device idle); each epoch starts with an in-stream copy of
  // next_order_ into its workspace's order. order_copied_ marks that copy: until it has run,
  // next_order_ must not be overwritten.
  std::vector<int32_t> next_order_host_;
  DeviceBuffer<int32_t> next_order_;
  std::unique_ptr<Marker> order_copied_;
  std::atomic<bool> abort_{false};
  std::atomic<bool> stop_{false};
};

}  // namespace tinynn
