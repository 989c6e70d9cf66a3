// The Backend interface: the device primitives that tensor ops and training steps are composed
// of. No method names a model or a layer: whole training steps are StepExecutors
// (cpp/step_executor.h), composed from these primitives or fused by a backend for the plans it
// supports. All pointers are device pointers of the backend they are passed to. Work may be
// asynchronous (CUDA enqueues on the backend's stream); download() and synchronize() wait for all
// of it, a Marker for the part before it.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tinynn {

enum class DeviceKind { Cpu, Cuda };

struct Device {
  DeviceKind kind = DeviceKind::Cpu;
  int index = 0;
  std::string name() const { return kind == DeviceKind::Cpu ? "cpu" : "cuda:" + std::to_string(index); }
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

// Element-wise activations, as a layer's (or a GEMM epilogue's) output function.
enum class Activation { None, Relu, LeakyRelu, Sigmoid, Tanh, Gelu };

// Applied after C = alpha·op(A)·op(B) + beta·C: C[m][n] += bias[n], then the activation
// (LeakyRelu's negative slope: `slope`).
struct GemmEpilogue {
  const float* bias = nullptr;  // [N] or null
  Activation activation = Activation::None;
  float slope = 0.01f;
};

// y = f(x). Parameters a, b: LeakyRelu slope a; Pow exponent a; Clamp to [a, b]; Affine a·x + b
// (a number operand: x + s is Affine(1, s), x·s is Affine(s, 0)). Gelu is the exact erf form.
enum class UnaryOp { Neg, Exp, Log, Sqrt, Abs, Relu, LeakyRelu, Sigmoid, Tanh, Gelu, Pow, Clamp, Affine };

// The UnaryOp that applies an activation (None: Affine with a = 1, b = 0).
inline UnaryOp activation_op(Activation activation) {
  switch (activation) {
    case Activation::Relu: return UnaryOp::Relu;
    case Activation::LeakyRelu: return UnaryOp::LeakyRelu;
    case Activation::Sigmoid: return UnaryOp::Sigmoid;
    case Activation::Tanh: return UnaryOp::Tanh;
    case Activation::Gelu: return UnaryOp::Gelu;
    case Activation::None: break;
  }
  return UnaryOp::Affine;
}

// out = f(a, b). Comparisons give 1.0 or 0.0. The *Grad ops are activation backwards:
// a is the upstream gradient dy, b what the forward saved (the output y for Relu, LeakyRelu
// (slope `param`), Sigmoid, Tanh; the input x for Gelu); out = dy·f'(·).
enum class BinaryOp {
  Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Gt, Lt,
  ReluGrad, LeakyReluGrad, SigmoidGrad, TanhGrad, GeluGrad
};

// Broadcasting of a binary op: out is contiguous with `shape`; a and b are read at
// Σ index[d]·stride[d] (stride 0 along a broadcast dimension).
constexpr int kMaxRank = 6;
struct Broadcast {
  int rank = 0;
  int64_t shape[kMaxRank] = {};
  int64_t a_stride[kMaxRank] = {};
  int64_t b_stride[kMaxRank] = {};
  int64_t numel() const {
    int64_t n = 1;
    for (int d = 0; d < rank; ++d) n *= shape[d];
    return n;
  }
};

// A reduction of x viewed as [outer, len, inner] along its middle axis → out [outer, inner].
enum class ReduceOp { Sum, Mean, Max, Min };

// Optimizers: one multi-tensor update per step with a config variant.
enum class OptimizerKind { Sgd, Adam, RmsProp };

// torch.optim.SGD's settings.
struct SgdConfig {
  float lr = 0.01f;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
};

// torch.optim.Adam's settings, and AdamW's (decoupled_weight_decay: p *= 1 − lr·wd instead of
// g += wd·p). Doubles, as PyTorch's Python floats: the per-step constants are derived in double.
struct AdamConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled_weight_decay = false;
  bool amsgrad = false;
};

// torch.optim.RMSprop's settings.
struct RmsPropConfig {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
};

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::Sgd;
  SgdConfig sgd;
  AdamConfig adam;
  RmsPropConfig rmsprop;
  // Optimizer state tensors each parameter needs, in this order: SGD: the momentum buffer when
  // momentum != 0. Adam: exp_avg, exp_avg_sq, and max_exp_avg_sq with amsgrad. RMSprop:
  // square_avg, the momentum buffer when momentum != 0, grad_avg when centered.
  int state_count() const {
    switch (kind) {
      case OptimizerKind::Sgd: return sgd.momentum != 0.f ? 1 : 0;
      case OptimizerKind::Adam: return adam.amsgrad ? 3 : 2;
      case OptimizerKind::RmsProp: return 1 + (rmsprop.momentum != 0.0 ? 1 : 0) + (rmsprop.centered ? 1 : 0);
    }
    return 0;
  }
};

// The most state tensors an optimizer keeps per parameter (Adam with amsgrad, centered RMSprop
// with momentum).
constexpr int kMaxOptimizerStates = 3;

// One parameter of an optimizer update: param is stepped with grad, reading and writing its state
// buffers (each of n floats, OptimizerConfig::state_count() of them; the rest null).
struct ParamUpdate {
  float* param = nullptr;
  const float* grad = nullptr;
  float* state[kMaxOptimizerStates] = {nullptr, nullptr, nullptr};
  size_t n = 0;
};

// A captured sequence of backend calls that can be replayed with the same arguments
// (CUDA: a graph; CPU: the calls themselves).
class Recording {
 public:
  virtual ~Recording() = default;
  virtual void replay() = 0;
};

// A point in a backend's queue (Backend::mark()): the work enqueued before it. Lets a caller keep
// the device busy with later work while it waits for, and reads back, the results of earlier work.
class Marker {
 public:
  virtual ~Marker() = default;
  // Blocks until all work enqueued before the mark has finished, not waiting for work enqueued
  // after it. Device faults of that work surface here.
  virtual void wait() = 0;
};

// How a queue forked for a driver computes (Backend::fork).
struct QueueOptions {
  // CUDA: cuBLAS may use TF32 tensor cores for fp32 GEMMs (~1e-3 relative). Ignored on the CPU.
  bool tf32 = false;
};

struct StepPlan;
struct FusionOptions;
class StepExecutor;

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;

  // Memory. alloc never returns null: it throws OutOfMemory.
  virtual void* alloc(size_t bytes) = 0;
  virtual void free(void* p) noexcept = 0;
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  virtual void zero(void* dst, size_t bytes) = 0;
  virtual void synchronize() = 0;

  // Marks the current end of the queue (CUDA: an event recorded on the stream; CPU: everything is
  // already done).
  virtual std::unique_ptr<Marker> mark() = 0;
  // Transfers that bypass the queue: they wait for none of its work and are complete on return
  // (CUDA: a copy stream of their own). Only for memory that no queued work touches: the results
  // of work before a Marker that has been waited for (and that later work does not write), or a
  // buffer that only work enqueued after the upload returns will read.
  virtual void upload_unqueued(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download_unqueued(void* host_dst, const void* src, size_t bytes) = 0;

  // A backend on the same device with a queue of its own (CUDA: its own stream and cuBLAS
  // handle), for a driver on a worker thread. Memory is shared with this backend.
  virtual std::unique_ptr<Backend> fork(const QueueOptions& options) = 0;
  // Work enqueued here from now on starts after the work already enqueued on `other`, a queue of
  // the same device (uploads and writes of tensors this queue is about to read). CUDA: an event
  // between the two streams; CPU: work is done as it is enqueued, nothing to order.
  virtual void follow(Backend& other) = 0;
  // Captures the backend calls that `enqueue` makes on this backend WITHOUT running them (CUDA:
  // stream capture into a graph; CPU: keeps the function); replay() runs them, as often as asked.
  // Pointers and sizes are frozen at capture: replays see new contents of the same buffers.
  virtual std::unique_ptr<Recording> record(const std::function<void()>& enqueue) = 0;

  // Row-major C[M,N] = alpha·op(A)·op(B) + beta·C, op(A): [M,K], op(B): [K,N], then the epilogue.
  // lda/ldb/ldc are row strides of A, B, C as stored (A stored [K,M] when ta).
  virtual void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc,
                    const GemmEpilogue& epilogue) = 0;
  // y[i] = op(x[i]) over n elements (y may alias x).
  virtual void unary(UnaryOp op, const float* x, float* y, size_t n, float a, float b) = 0;
  // out = op(a, b) with broadcasting (out may alias a or b when that operand is not broadcast).
  virtual void binary(BinaryOp op, const float* a, const float* b, float* out, const Broadcast& shape,
                      float param) = 0;
  // out[o, i] = op over k of x[o, k, i] (accumulate: out += it). Sums run in an order fixed by the
  // shapes whatever the threading (k order along strided lines), so results are reproducible. len 0: Sum gives 0, Mean NaN, Max/Min ∓infinity.
  virtual void reduce(ReduceOp op, const float* x, float* out, int64_t outer, int64_t len, int64_t inner,
                      bool accumulate) = 0;
  // out[o, i] = the first k where x[o, k, i] is largest (NaN counts as largest).
  virtual void argmax(const float* x, int64_t outer, int64_t len, int64_t inner, int32_t* out) = 0;
  // out[r, :] = softmax(x[r, :]) or, when log, log_softmax (the row maximum subtracted first).
  virtual void softmax(const float* x, int rows, int cols, float* out, bool log) = 0;
  // Mean softmax cross-entropy over rows: *loss = mean_r(logsumexp(x_r) - x_r[label_r]);
  // dlogits (if not null) = (softmax(x) - onehot(label)) / rows; correct (if not null) += number
  // of rows whose argmax equals the label. A label outside [0, cols) makes the loss NaN (callers
  // validate labels; the kernels stay in bounds regardless).
  virtual void softmax_xent(const float* logits, const int32_t* labels, int rows, int cols,
                            float* loss, float* dlogits, int32_t* correct) = 0;
  // out[i] = scale with probability keep, else 0 (dropout's mask), drawn by counter_uniform
  // (cpp/counter_random.h) under the keys: the same keys give the same mask on every backend.
  virtual void bernoulli_mask(float* out, size_t n, float keep, float scale, uint32_t key0, uint32_t key1) = 0;
  // Mean squared error over n elements: *loss = mean((pred - target)²); dpred (if not null) =
  // 2·(pred - target)/n.
  virtual void mse(const float* pred, const float* target, size_t n, float* loss, float* dpred) = 0;
  // One optimizer step over all tensors in one call. step: this update's 1-based count for these
  // parameters (SGD: step 1 initialises the momentum buffers to the gradient, as PyTorch does;
  // Adam: the bias corrections). Every state starts as zeros but SGD's momentum buffer.
  virtual void optimizer_update(const ParamUpdate* params, int count, const OptimizerConfig& config,
                                int64_t step) = 0;
  // out[r, c] = 1 where c == labels[r], else 0 ([rows, classes]); a row whose label is outside
  // [0, classes) is all NaN, so a loss built on it is NaN (the labels are not read on the host).
  virtual void one_hot(const int32_t* labels, int rows, int classes, float* out) = 0;
  // dst[r, :] = src[indices[r], :] (float rows of `cols`).
  virtual void gather_rows(const float* src, int cols, const int32_t* indices, int rows, float* dst) = 0;
  // x[r, :] = images[indices[r], :]·scale + shift (u8 → f32); y[r] = labels[indices[r]].
  virtual void gather_batch(const uint8_t* images, const uint8_t* labels, int features,
                            const int32_t* indices, int rows, float scale, float shift, float* x,
                            int32_t* y) = 0;

  // The backend's fused executor for `plan`, or null when it has none for it (the driver then
  // runs the composed reference). Default: none.
  virtual std::unique_ptr<StepExecutor> fused_executor(const StepPlan& plan, const FusionOptions& options);
};

// RangeError unless every non-empty parameter has the state buffers `config` needs
// (OptimizerConfig::state_count()): the update kernels read and write them.
void require_optimizer_states(const ParamUpdate* params, int count, const OptimizerConfig& config);

// How many times the host has waited for a device queue: each backend counts its downloads,
// synchronize() calls and frees that wait (CUDA's cudaFree), the CPU backend the same calls, so a
// test on the CPU sees how many waits the same work costs on a GPU (native.hostSyncs()).
std::atomic<uint64_t>& host_sync_count();

// The Broadcast of two shapes (numpy rules), as given with their ranks; throws RangeError when
// they do not broadcast.
Broadcast broadcast_shapes(const int64_t* a, int a_rank, const int64_t* b, int b_rank);
// Both operands contiguous with out's shape: the flat fast path.
bool is_elementwise(const Broadcast& shape);
// n elements, both operands contiguous.
Broadcast elementwise_shape(int64_t n);
// a [rows, cols] with b [cols] repeated over the rows (a bias).
Broadcast row_broadcast(int64_t rows, int64_t cols);

}  // namespace tinynn
