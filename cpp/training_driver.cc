#include "cpp/training_driver.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <numeric>
#include <string>
#include <tuple>

#include "cpp/errors.h"
#include "cpp/permutation.h"

namespace tinynn {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

// Everything a step touches besides the parameters, sized for one batch size.
struct TrainingDriver::Workspace {
  int batch = 0;
  DeviceBuffer<float> x;                      // [B, F] gathered inputs
  DeviceBuffer<int32_t> y;                    // [B] labels
  DeviceBuffer<float> target;                 // [B, out] targets (MSE)
  std::vector<DeviceBuffer<float>> acts;      // acts[l]: [B, out_l]; the last holds the logits
  std::vector<DeviceBuffer<float>> pres;      // pre-activations of Gelu layers (empty for others)
  std::vector<DeviceBuffer<float>> grads;     // grads[l]: dLoss/d(pre-activation l)
  std::vector<DeviceBuffer<float>> dw, db;    // per layer
  DeviceBuffer<int32_t> order;                // [capacity] sample order of the epoch
  DeviceBuffer<float> step_loss;              // [steps] mean loss of each step
  DeviceBuffer<int32_t> correct;              // [1] correct predictions so far this epoch
  std::vector<int32_t> host_order;            // evaluate's staging for `order`
  StepTensors tensors;                        // the pointers above and the parameters', for the executor
  // Captured step sequences, keyed by (images, labels, samples, first step, steps, scale, shift).
  std::map<std::tuple<const void*, const void*, int, int, int, float, float>, std::unique_ptr<Recording>> recordings;
};

namespace {

float* floats(const std::shared_ptr<Storage>& s) { return s ? static_cast<float*>(s->data()) : nullptr; }

}  // namespace

TrainingDriver::TrainingDriver(Backend& device_backend, DriverModel model, const FusionOptions& fusion,
                               const QueueOptions& queue)
    : device_backend_(device_backend), backend_(device_backend.fork(queue)), model_(std::move(model)) {
  if (model_.layers.size() != model_.plan.layers.size()) throw RangeError("the plan and the parameters differ in layers");
  executor_ = make_executor(*backend_, model_.plan, fusion);
}

TrainingDriver::~TrainingDriver() {
  // Recordings and workspaces reference the forked queue: finish its work before they go.
  try {
    backend_->synchronize();
  } catch (...) {
  }
  workspaces_.clear();
}

int64_t TrainingDriver::read_steps() const {
  const int32_t* steps = static_cast<const int32_t*>(model_.steps->data());
  const size_t count = model_.steps->bytes() / sizeof(int32_t);
  for (size_t i = 1; i < count; ++i) {
    if (steps[i] != steps[0]) {
      throw RangeError("the parameters have taken different numbers of optimizer steps (" + std::to_string(steps[0]) +
                       " and " + std::to_string(steps[i]) + "); the trainer steps them all together");
    }
  }
  return count ? steps[0] : 0;
}

void TrainingDriver::write_steps() const {
  int32_t* steps = static_cast<int32_t*>(model_.steps->data());
  const size_t count = model_.steps->bytes() / sizeof(int32_t);
  for (size_t i = 0; i < count; ++i) steps[i] = static_cast<int32_t>(std::min<int64_t>(steps_taken_, INT32_MAX));
}

TrainingDriver::Workspace& TrainingDriver::workspace(int batch, int rows) {
  auto& slot = workspaces_[batch];
  if (!slot) {
    auto ws = std::make_unique<Workspace>();
    Backend& be = *backend_;
    const StepPlan& plan = model_.plan;
    ws->batch = batch;
    ws->x = DeviceBuffer<float>(be, static_cast<size_t>(batch) * plan.layers.front().in);
    ws->y = DeviceBuffer<int32_t>(be, batch);
    ws->target = DeviceBuffer<float>(be, plan.loss == LossKind::Mse ? static_cast<size_t>(batch) * plan.layers.back().out : 0);
    for (const LayerPlan& layer : plan.layers) {
      ws->acts.emplace_back(be, static_cast<size_t>(batch) * layer.out);
      ws->pres.emplace_back(be, layer.activation == Activation::Gelu ? static_cast<size_t>(batch) * layer.out : 0);
      ws->grads.emplace_back(be, static_cast<size_t>(batch) * layer.out);
      ws->dw.emplace_back(be, static_cast<size_t>(layer.out) * layer.in);
      ws->db.emplace_back(be, layer.out);
    }
    ws->correct = DeviceBuffer<int32_t>(be, 1);
    StepTensors& t = ws->tensors;
    t.x = ws->x.get();
    t.target = ws->target.get();
    t.y = ws->y.get();
    t.correct = ws->correct.get();
    for (size_t l = 0; l < plan.layers.size(); ++l) {
      const DriverLayer& p = model_.layers[l];
      LayerTensors lt;
      lt.weight = floats(p.weight);
      lt.bias = floats(p.bias);
      for (int k = 0; k < kMaxOptimizerStates; ++k) {
        lt.weight_state[k] = floats(p.weight_state[k]);
        lt.bias_state[k] = floats(p.bias_state[k]);
      }
      lt.act = ws->acts[l].get();
      lt.pre = plan.layers[l].activation == Activation::Gelu ? ws->pres[l].get() : nullptr;
      lt.grad = ws->grads[l].get();
      lt.dweight = ws->dw[l].get();
      lt.dbias = ws->db[l].get();
      t.layers.push_back(lt);
    }
    slot = std::move(ws);
  }
  Workspace& ws = *slot;
  // The order and loss buffers grow with the largest dataset seen (recordings point into them).
  if (ws.order.size() < static_cast<size_t>(rows)) {
    ws.recordings.clear();
    ws.order = DeviceBuffer<int32_t>(*backend_, rows);
    ws.step_loss = DeviceBuffer<float>(*backend_, (rows + batch - 1) / batch);
  }
  return ws;
}

namespace {

// The dataset's arrays as a StepBatch reads them.
StepBatch batch_of(const DriverDataset& data) {
  StepBatch batch;
  if (data.input == InputKind::Bytes) {
    batch.images = static_cast<const uint8_t*>(data.images->data());
    batch.labels = static_cast<const uint8_t*>(data.labels->data());
  } else {
    batch.float_inputs = static_cast<const float*>(data.images->data());
    if (data.target_width > 0) batch.targets = static_cast<const float*>(data.labels->data());
    else batch.int_labels = static_cast<const int32_t*>(data.labels->data());
    batch.target_width = data.target_width;
  }
  batch.features = data.features;
  return batch;
}

}  // namespace

void TrainingDriver::check_dataset(const DriverDataset& data) const {
  const StepPlan& plan = model_.plan;
  if (data.features != plan.layers.front().in) {
    throw RangeError("the dataset has " + std::to_string(data.features) + " features per sample but the model's " +
                     "first Linear layer expects " + std::to_string(plan.layers.front().in));
  }
  if (data.input != plan.input) {
    throw RangeError(std::string("the dataset holds ") + (data.input == InputKind::Bytes ? "u8 samples" : "float features") +
                     " but the driver was built for " + (plan.input == InputKind::Bytes ? "u8 samples" : "float features"));
  }
  const bool mse = plan.loss == LossKind::Mse;
  if (mse && data.target_width != plan.layers.back().out) {
    throw RangeError("MSE needs float targets of " + std::to_string(plan.layers.back().out) + " values per sample (the last " +
                     "layer's outputs), the dataset has " + (data.target_width ? std::to_string(data.target_width) : "class labels"));
  }
  if (!mse && data.target_width != 0) throw RangeError("cross-entropy needs class labels, the dataset has float targets");
}

void TrainingDriver::enqueue_step(Workspace& ws, const DriverDataset& data, int first, int rows, int step, float scale,
                                  float shift, int64_t optimizer_step) {
  StepBatch batch = batch_of(data);
  batch.order = ws.order.get() + first;
  batch.rows = rows;
  batch.scale = scale;
  batch.shift = shift;
  batch.loss = ws.step_loss.get() + step;
  batch.optimizer_step = optimizer_step;
  executor_->train_step(ws.tensors, batch);
}

// The shape shared by every epoch of one fit.
struct TrainingDriver::EpochPlan {
  int n = 0;
  int batch = 0;
  int steps = 0;           // per epoch
  int samples = 0;         // per epoch: n less the tail dropped by drop_last
  int chunk = 1;           // steps enqueued at once (CUDA: one graph)
  int progress_every = 1;  // progress is reported only after a multiple of this many steps, and at the end
  int rows(int step) const { return std::min(batch, n - step * batch); }
};

namespace {

// Steps [first, first + count) of an epoch, enqueued and not yet read back.
struct PendingChunk {
  int first = 0;
  int count = 0;
  std::unique_ptr<Marker> done;  // marks the end of the chunk's last step
  bool report = false;           // a progress report follows; nothing is enqueued behind it meanwhile
};

// The chunk the host waits for and two behind it, which keep the device busy meanwhile: the host
// may then lose a chunk's time (a scheduling hiccup; the next epoch's shuffle and upload, ~0.1 ms
// at n = 60 000) without the device running dry. At batch 512 a chunk is 5 steps, ~0.1-0.2 ms.
constexpr size_t kChunksInFlight = 3;
constexpr double kProgressInterval = 0.1;  // seconds between progress reports, at least

}  // namespace

std::vector<EpochRecord> TrainingDriver::fit(const FitSpec& spec, const FitCallbacks& callbacks) {
  const int n = spec.train.n, B = spec.batch_size;
  check_dataset(spec.train);
  if (spec.validation) check_dataset(*spec.validation);
  // Data, weights and optimizer state may have been written on the model's queue since the last
  // fit (an upload, an eager step, a stream-ordered allocation): this fit's work comes after.
  backend_->follow(device_backend_);
  steps_taken_ = read_steps();
  const int full_steps = n / B, tail = n % B;
  EpochPlan plan;
  plan.n = n;
  plan.batch = B;
  plan.steps = full_steps + (tail && !spec.drop_last ? 1 : 0);
  if (plan.steps == 0) throw RangeError("the dataset has " + std::to_string(n) + " samples, fewer than one batch of " + std::to_string(B) + " with dropLast");
  plan.samples = full_steps * B + (plan.steps > full_steps ? tail : 0);
  // CPU: one step at a time (abort and progress at every step boundary cost nothing).
  // CUDA: chunks of progress_every steps, each captured once as a graph and replayed.
  plan.progress_every = std::max(1, spec.progress_every);
  plan.chunk = backend_->device().kind == DeviceKind::Cpu ? 1 : plan.progress_every;
  Workspace& ws = workspace(B, n);
  if (next_order_.size() < static_cast<size_t>(n)) next_order_ = DeviceBuffer<int32_t>(*backend_, n);
  std::vector<float> losses(plan.steps);
  std::vector<EpochRecord> history;
  try {
    for (int epoch = spec.first_epoch; epoch < spec.first_epoch + spec.epochs; ++epoch) {
      EpochRecord record = run_epoch(ws, spec, plan, callbacks, epoch, losses);
      if (spec.validation) {
        EvalResult v = evaluate(*spec.validation, 1000, spec.scale, spec.shift);
        record.val_loss = v.loss;
        record.val_accuracy = v.accuracy;
      }
      history.push_back(record);
      if (callbacks.on_epoch) callbacks.on_epoch(record);
      if (stop_.load()) break;
    }
  } catch (...) {
    // An epoch stopped early (abort, a non-finite loss, a failing callback) may leave a chunk
    // queued. It writes the parameters, which the caller may use as soon as fit returns, so it
    // finishes first; the error that stopped the epoch is the one worth reporting.
    try {
      backend_->synchronize();
    } catch (...) {
    }
    write_steps();
    throw;
  }
  write_steps();
  return history;
}

void TrainingDriver::prepare_order(const FitSpec& spec, int epoch) {
  const int n = spec.train.n;
  next_order_host_.resize(n);
  if (spec.shuffle) {
    epoch_permutation(spec.seed, static_cast<uint64_t>(epoch), next_order_host_.data(), n);
  } else {
    std::iota(next_order_host_.begin(), next_order_host_.end(), 0);
  }
  // Only the copy at an epoch's start reads next_order_: once the last one has run, nothing queued
  // touches it, and the next one is enqueued after this upload has returned.
  if (order_copied_) order_copied_->wait();
  backend_->upload_unqueued(next_order_.get(), next_order_host_.data(), sizeof(int32_t) * n);
}

void TrainingDriver::enqueue_chunk(Workspace& ws, const FitSpec& spec, const EpochPlan& plan, int first, int count) {
  const int B = plan.batch, n = plan.n;
  // Adam's update depends on the step number (its bias corrections), which a recording would
  // freeze: its steps are always enqueued as they come.
  const bool live_steps = model_.plan.optimizer.kind == OptimizerKind::Adam;
  if (steps_taken_ == 0 || live_steps) {
    // The optimizer's first step differs (SGD: momentum buffer = gradient). The chunk holding it
    // runs uncaptured, so captured chunks keep the same boundaries (and recordings) in every epoch.
    for (int s = first; s < first + count; ++s) {
      enqueue_step(ws, spec.train, s * B, plan.rows(s), s, spec.scale, spec.shift, ++steps_taken_);
    }
    return;
  }
  auto key = std::make_tuple(spec.train.images->data(), spec.train.labels->data(), n, first, count, spec.scale, spec.shift);
  auto& rec = ws.recordings[key];
  if (!rec) {
    const DriverDataset data = spec.train;
    const float scale = spec.scale, shift = spec.shift;
    // The step numbers are frozen into the recording. SGD's update depends only on whether the
    // step is the first, which never happens in a recording.
    const int64_t step0 = steps_taken_ + 1;
    rec = backend_->record([this, &ws, data, plan, first, count, scale, shift, step0] {
      for (int s = first; s < first + count; ++s) {
        enqueue_step(ws, data, s * plan.batch, plan.rows(s), s, scale, shift, step0 + (s - first));
      }
    });
  }
  rec->replay();
  steps_taken_ += count;
}

// One epoch, pipelined: chunk c+1 is enqueued before the host waits for chunk c and reads back its
// losses, so the device runs from one chunk into the next without waiting for the host. Why that
// is safe (CUDA; the CPU runs each call as it is made, so every wait is already over):
//  - All the epoch's device work goes, in order, on the driver's one stream: the order copy, the
//    zeroed hit count, the chunks. These are the same kernels in the same order as a loop that
//    waits after every chunk; only the host's waits moved, so the results are the same bits.
//  - A chunk's losses are final once its marker has been waited for: every step writes its own
//    step_loss slot, and the next epoch's steps, which rewrite them, are enqueued only after this
//    epoch's last chunk has been read back. So they come back on the copy stream
//    (download_unqueued) without waiting for the chunk behind.
//  - ws.correct is accumulated by every step, so it is read only where nothing is queued behind
//    the chunk just waited for: after a chunk that reports progress (the next one is enqueued only
//    after the report) and after the epoch's last chunk.
//  - ws.order (which the recordings point into) is rewritten only by this epoch's first call, an
//    in-stream copy that runs after every step of the previous epoch has read the old order.
//    next_order_, its source, is rewritten by prepare_order only after that copy has run.
EpochRecord TrainingDriver::run_epoch(Workspace& ws, const FitSpec& spec, const EpochPlan& plan,
                                      const FitCallbacks& callbacks, int epoch, std::vector<float>& losses) {
  Backend& be = *backend_;
  const auto t0 = Clock::now();
  // Later epochs' orders are prepared while the epoch before them runs.
  if (epoch == spec.first_epoch) prepare_order(spec, epoch);
  be.copy(ws.order.get(), next_order_.get(), sizeof(int32_t) * plan.n);
  order_copied_ = be.mark();
  be.zero(ws.correct.get(), sizeof(int32_t));

  std::deque<PendingChunk> queued;
  int enqueued = 0, retired = 0;
  bool next_order_prepared = epoch + 1 == spec.first_epoch + spec.epochs;
  double loss_sum = 0;  // Σ step mean loss · step rows, over the steps read back
  int32_t correct = 0;
  auto last_progress = t0;
  while (retired < plan.steps) {
    while (enqueued < plan.steps && queued.size() < kChunksInFlight && (queued.empty() || !queued.back().report)) {
      if (abort_.load()) throw Aborted();
      PendingChunk chunk;
      chunk.first = enqueued;
      chunk.count = std::min(plan.chunk, plan.steps - enqueued);
      enqueue_chunk(ws, spec, plan, chunk.first, chunk.count);
      chunk.done = be.mark();
      enqueued += chunk.count;
      chunk.report = callbacks.on_batch && (enqueued == plan.steps || (enqueued % plan.progress_every == 0 &&
                                                                       seconds_since(last_progress) >= kProgressInterval));
      queued.push_back(std::move(chunk));
    }
    // The whole epoch is queued: the host has the time of up to kChunksInFlight chunks to shuffle.
    if (enqueued == plan.steps && !next_order_prepared) {
      prepare_order(spec, epoch + 1);
      next_order_prepared = true;
    }
    const PendingChunk chunk = std::move(queued.front());
    queued.pop_front();
    chunk.done->wait();
    be.download_unqueued(losses.data() + chunk.first, ws.step_loss.get() + chunk.first, sizeof(float) * chunk.count);
    for (int s = chunk.first; s < chunk.first + chunk.count; ++s) {
      if (!std::isfinite(losses[s])) {
        throw RuntimeError("the loss became " + std::string(std::isnan(losses[s]) ? "NaN" : "infinite") + " at epoch " +
                           std::to_string(epoch + 1) + ", step " + std::to_string(s + 1) +
                           "; training stopped (try a lower learning rate)");
      }
      loss_sum += static_cast<double>(losses[s]) * plan.rows(s);
    }
    retired += chunk.count;
    if (chunk.report || retired == plan.steps) be.download(&correct, ws.correct.get(), sizeof(correct));
    if (chunk.report) {
      const int seen = std::min(retired * plan.batch, plan.samples);
      const double secs = seconds_since(t0);
      callbacks.on_batch({epoch + 1, retired, plan.steps, loss_sum / seen, static_cast<double>(correct) / seen,
                          seen / std::max(secs, 1e-9), secs});
      last_progress = Clock::now();
    }
  }
  EpochRecord record;
  record.epoch = epoch + 1;
  record.seconds = seconds_since(t0);
  record.loss = loss_sum / plan.samples;
  record.accuracy = static_cast<double>(correct) / plan.samples;
  record.samples_per_second = plan.samples / std::max(record.seconds, 1e-9);
  return record;
}

EvalResult TrainingDriver::evaluate(const DriverDataset& data, int batch_size, float scale, float shift) {
  check_dataset(data);
  backend_->follow(device_backend_);
  return evaluate_with(workspace(batch_size, data.n), data, batch_size, scale, shift);
}

EvalResult TrainingDriver::evaluate_with(Workspace& ws, const DriverDataset& data, int B, float scale, float shift) {
  Backend& be = *backend_;
  const int n = data.n;
  const int steps = (n + B - 1) / B;
  ws.host_order.resize(n);
  for (int i = 0; i < n; ++i) ws.host_order[i] = i;
  be.upload(ws.order.get(), ws.host_order.data(), sizeof(int32_t) * n);
  be.zero(ws.correct.get(), sizeof(int32_t));
  for (int s = 0; s < steps; ++s) {
    StepBatch batch = batch_of(data);
    batch.order = ws.order.get() + s * B;
    batch.rows = std::min(B, n - s * B);
    batch.scale = scale;
    batch.shift = shift;
    batch.loss = ws.step_loss.get() + s;
    executor_->eval_step(ws.tensors, batch);
  }
  std::vector<float> losses(steps);
  be.download(losses.data(), ws.step_loss.get(), sizeof(float) * steps);
  int32_t correct = 0;
  be.download(&correct, ws.correct.get(), sizeof(correct));
  double total = 0;
  for (int s = 0; s < steps; ++s) total += static_cast<double>(losses[s]) * std::min(B, n - s * B);
  return {total / n, static_cast<double>(correct) / n};
}

}  // namespace tinynn
