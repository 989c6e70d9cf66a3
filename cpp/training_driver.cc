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
  DeviceBuffer<float> x;                    // [B, F] gathered inputs
  DeviceBuffer<int32_t> y;                  // [B] labels
  std::vector<DeviceBuffer<float>> acts;    // acts[l]: [B, out_l]; the last holds the logits
  std::vector<DeviceBuffer<float>> grads;   // grads[l]: dLoss/dacts[l]
  std::vector<DeviceBuffer<float>> dw, db;  // per layer
  DeviceBuffer<int32_t> order;              // [capacity] sample order of the epoch
  DeviceBuffer<float> step_loss;            // [steps] mean loss of each step
  DeviceBuffer<int32_t> correct;            // [1] correct predictions so far this epoch
  std::vector<int32_t> host_order;          // evaluate's staging for `order`
  std::vector<SgdTensor> sgd_params;        // the hidden layers' SGD list of a step (3+ layers)
  // Captured step sequences, keyed by (images, labels, samples, first step, steps, scale, shift).
  std::map<std::tuple<const void*, const void*, int, int, int, float, float>, std::unique_ptr<Recording>> recordings;
};

TrainingDriver::TrainingDriver(Backend& device_backend, DriverModel model)
    : backend_(device_backend.fork()), model_(std::move(model)) {
  if (model_.layers.empty()) throw RangeError("the model has no Linear layers");
  for (size_t l = 1; l < model_.layers.size(); ++l) {
    if (model_.layers[l].in != model_.layers[l - 1].out) {
      throw RangeError("layer " + std::to_string(l) + " expects " + std::to_string(model_.layers[l].in) +
                       " inputs but the layer before it gives " + std::to_string(model_.layers[l - 1].out));
    }
  }
  if (model_.layers.back().relu) throw RangeError("the last Linear layer must give logits, not ReLU outputs");
}

TrainingDriver::~TrainingDriver() {
  // Recordings and workspaces reference the forked queue: finish its work before they go.
  try {
    backend_->synchronize();
  } catch (...) {
  }
  workspaces_.clear();
}

TrainingDriver::Workspace& TrainingDriver::workspace(int batch, int rows) {
  auto& slot = workspaces_[batch];
  if (!slot) {
    auto ws = std::make_unique<Workspace>();
    Backend& be = *backend_;
    ws->batch = batch;
    ws->x = DeviceBuffer<float>(be, static_cast<size_t>(batch) * model_.layers.front().in);
    ws->y = DeviceBuffer<int32_t>(be, batch);
    for (const DriverLayer& layer : model_.layers) {
      ws->acts.emplace_back(be, static_cast<size_t>(batch) * layer.out);
      ws->grads.emplace_back(be, static_cast<size_t>(batch) * layer.out);
      ws->dw.emplace_back(be, static_cast<size_t>(layer.out) * layer.in);
      ws->db.emplace_back(be, layer.out);
    }
    ws->correct = DeviceBuffer<int32_t>(be, 1);
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

void TrainingDriver::enqueue_forward(Workspace& ws, int rows) {
  Backend& be = *backend_;
  const float* input = ws.x.get();
  for (size_t l = 0; l < model_.layers.size(); ++l) {
    const DriverLayer& layer = model_.layers[l];
    // acts[l] [rows, out] = act(input [rows, in] · Wᵀ + b)
    be.gemm(false, true, rows, layer.out, layer.in, 1.f, input, layer.in, static_cast<const float*>(layer.weight->data()),
            layer.in, 0.f, ws.acts[l].get(), layer.out,
            GemmEpilogue{static_cast<const float*>(layer.bias->data()), layer.relu});
    input = ws.acts[l].get();
  }
}

void TrainingDriver::enqueue_step(Workspace& ws, const DriverDataset& data, int first, int rows, int step,
                                  float scale, float shift, bool first_sgd_step) {
  Backend& be = *backend_;
  const size_t L = model_.layers.size();
  auto weight = [&](size_t l) { return static_cast<float*>(model_.layers[l].weight->data()); };
  auto bias = [&](size_t l) { return static_cast<float*>(model_.layers[l].bias->data()); };
  // Momentum buffers: W of layer l at 2l, its bias at 2l + 1 (null when momentum is 0).
  auto momentum = [&](size_t i) { return model_.momentum[i] ? static_cast<float*>(model_.momentum[i]->data()) : nullptr; };
  const uint8_t* images = static_cast<const uint8_t*>(data.images->data());
  const uint8_t* labels = static_cast<const uint8_t*>(data.labels->data());
  const int32_t* order = ws.order.get() + first;

  // Forward. The batch gather rides with the first layer's GEMM; the last hidden layer's bias and
  // ReLU ride in the head call.
  if (L == 1) {
    be.gather_batch(images, labels, data.features, order, rows, scale, shift, ws.x.get(), ws.y.get());
  }
  const float* input = ws.x.get();
  for (size_t l = 0; l + 1 < L; ++l) {
    const DriverLayer& layer = model_.layers[l];
    const GemmEpilogue epilogue = l + 2 == L ? GemmEpilogue{} : GemmEpilogue{bias(l), layer.relu};
    if (l == 0) {
      be.gather_linear(images, labels, data.features, order, rows, scale, shift, weight(0), layer.out, epilogue,
                       ws.x.get(), ws.y.get(), ws.acts[0].get());
    } else {
      be.gemm(false, true, rows, layer.out, layer.in, 1.f, input, layer.in, weight(l), layer.in, 0.f,
              ws.acts[l].get(), layer.out, epilogue);
    }
    input = ws.acts[l].get();
  }
  // The head: last Linear + softmax cross-entropy, its backward, the hidden layer's dh and db, and
  // the SGD step of the head's W and b and of the hidden layer's bias (nothing later reads them).
  const DriverLayer& last = model_.layers[L - 1];
  const DriverLayer* hidden = L >= 2 ? &model_.layers[L - 2] : nullptr;
  be.linear_xent_sgd_step(L >= 2 ? ws.acts[L - 2].get() : ws.x.get(), hidden ? bias(L - 2) : nullptr,
                          hidden && hidden->relu, weight(L - 1), bias(L - 1), ws.y.get(), rows, last.in, last.out,
                          ws.acts[L - 1].get(), ws.grads[L - 1].get(), ws.step_loss.get() + step, ws.correct.get(),
                          ws.dw[L - 1].get(), ws.db[L - 1].get(), hidden ? ws.grads[L - 2].get() : nullptr,
                          hidden ? ws.db[L - 2].get() : nullptr, momentum(2 * (L - 1)), momentum(2 * (L - 1) + 1),
                          hidden ? momentum(2 * (L - 2) + 1) : nullptr, model_.sgd, first_sgd_step);
  // Backward through the hidden layers: grads[l] holds dLoss/dacts[l], already through its ReLU.
  // The first layer's dW comes with its SGD step; the other hidden layers' W (read by the
  // backward pass) and the biases the head did not update step together at the end.
  std::vector<SgdTensor>& params = ws.sgd_params;  // capacity kept: nothing allocated per step
  params.clear();
  for (size_t l = L - 1; l-- > 0;) {
    const DriverLayer& layer = model_.layers[l];
    if (l + 2 != L) {
      be.bias_grad(ws.grads[l].get(), rows, layer.out, ws.db[l].get(), false);
      params.push_back({bias(l), ws.db[l].get(), momentum(2 * l + 1), static_cast<size_t>(layer.out)});
    }
    if (l == 0) {  // the input needs no gradient
      be.linear_grad_sgd(ws.grads[0].get(), ws.x.get(), rows, layer.in, layer.out, ws.dw[0].get(), weight(0),
                         momentum(0), model_.sgd, first_sgd_step);
      break;
    }
    // dW [out, in] = gradsᵀ [out, rows] · input [rows, in]
    be.gemm(true, false, layer.out, layer.in, rows, 1.f, ws.grads[l].get(), layer.out, ws.acts[l - 1].get(), layer.in,
            0.f, ws.dw[l].get(), layer.in, GemmEpilogue{});
    params.push_back({weight(l), ws.dw[l].get(), momentum(2 * l), static_cast<size_t>(layer.out) * layer.in});
    // grads[l-1] [rows, in] = grads[l] [rows, out] · W [out, in], then through layer l-1's ReLU
    be.gemm(false, false, rows, layer.in, layer.out, 1.f, ws.grads[l].get(), layer.out, weight(l), layer.in, 0.f,
            ws.grads[l - 1].get(), layer.in, GemmEpilogue{});
    if (model_.layers[l - 1].relu) {
      be.relu_backward(ws.grads[l - 1].get(), ws.acts[l - 1].get(), ws.grads[l - 1].get(),
                       static_cast<size_t>(rows) * layer.in);
    }
  }
  if (!params.empty()) be.sgd_update(params.data(), static_cast<int>(params.size()), model_.sgd, first_sgd_step);
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
  abort_.store(false);
  const int n = spec.train.n, B = spec.batch_size;
  if (spec.train.features != model_.layers.front().in) {
    throw RangeError("the dataset has " + std::to_string(spec.train.features) + " features per sample but the model's " +
                     "first Linear layer expects " + std::to_string(model_.layers.front().in));
  }
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
    for (int epoch = 0; epoch < spec.epochs; ++epoch) {
      EpochRecord record = run_epoch(ws, spec, plan, callbacks, epoch, losses);
      if (spec.validation) {
        EvalResult v = evaluate(*spec.validation, 1000, spec.scale, spec.shift);
        record.val_loss = v.loss;
        record.val_accuracy = v.accuracy;
      }
      history.push_back(record);
      if (callbacks.on_epoch) callbacks.on_epoch(record);
    }
  } catch (...) {
    // An epoch stopped early (abort, a non-finite loss, a failing callback) may leave a chunk
    // queued. It writes the parameters, which the caller may use as soon as fit returns, so it
    // finishes first; the error that stopped the epoch is the one worth reporting.
    try {
      backend_->synchronize();
    } catch (...) {
    }
    throw;
  }
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
  if (!model_.momentum_initialized) {
    // PyTorch's first momentum step differs (buffer = gradient). The chunk holding it runs
    // uncaptured, so captured chunks keep the same boundaries (and recordings) in every epoch.
    for (int s = first; s < first + count; ++s) {
      enqueue_step(ws, spec.train, s * B, plan.rows(s), s, spec.scale, spec.shift, s == first);
    }
    model_.momentum_initialized = true;
    return;
  }
  auto key = std::make_tuple(spec.train.images->data(), spec.train.labels->data(), n, first, count, spec.scale, spec.shift);
  auto& rec = ws.recordings[key];
  if (!rec) {
    const DriverDataset data = spec.train;
    const float scale = spec.scale, shift = spec.shift;
    rec = backend_->record([this, &ws, data, plan, first, count, scale, shift] {
      for (int s = first; s < first + count; ++s) {
        enqueue_step(ws, data, s * plan.batch, plan.rows(s), s, scale, shift, false);
      }
    });
  }
  rec->replay();
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
  if (epoch == 0) prepare_order(spec, 0);
  be.copy(ws.order.get(), next_order_.get(), sizeof(int32_t) * plan.n);
  order_copied_ = be.mark();
  be.zero(ws.correct.get(), sizeof(int32_t));

  std::deque<PendingChunk> queued;
  int enqueued = 0, retired = 0;
  bool next_order_prepared = epoch + 1 == spec.epochs;
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
  if (data.features != model_.layers.front().in) {
    throw RangeError("the dataset has " + std::to_string(data.features) + " features per sample but the model's " +
                     "first Linear layer expects " + std::to_string(model_.layers.front().in));
  }
  return evaluate_with(workspace(batch_size, data.n), data, batch_size, scale, shift);
}

EvalResult TrainingDriver::evaluate_with(Workspace& ws, const DriverDataset& data, int B, float scale, float shift) {
  Backend& be = *backend_;
  const int n = data.n, L = static_cast<int>(model_.layers.size());
  const int steps = (n + B - 1) / B;
  ws.host_order.resize(n);
  for (int i = 0; i < n; ++i) ws.host_order[i] = i;
  be.upload(ws.order.get(), ws.host_order.data(), sizeof(int32_t) * n);
  be.zero(ws.correct.get(), sizeof(int32_t));
  for (int s = 0; s < steps; ++s) {
    const int rows = std::min(B, n - s * B);
    be.gather_batch(static_cast<const uint8_t*>(data.images->data()), static_cast<const uint8_t*>(data.labels->data()),
                    data.features, ws.order.get() + s * B, rows, scale, shift, ws.x.get(), ws.y.get());
    enqueue_forward(ws, rows);
    be.softmax_xent(ws.acts[L - 1].get(), ws.y.get(), rows, model_.layers.back().out, ws.step_loss.get() + s, nullptr,
                    ws.correct.get());
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
