// The Backend interface: everything the tensor ops and the training driver need from a device.
// All pointers are device pointers of the backend they are passed to. Work may be asynchronous
// (CUDA enqueues on the backend's stream); download() and synchronize() wait for all of it, a
// Marker for the part before it.
#pragma once
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

// Applied after C = alpha·op(A)·op(B) + beta·C: C[m][n] += bias[n], then max(0, ·) when relu.
struct GemmEpilogue {
  const float* bias = nullptr;  // [N] or null
  bool relu = false;
};

// PyTorch's torch.optim.SGD semantics.
struct SgdConfig {
  float lr = 0.01f;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
};

// One parameter for sgd_update: param -= lr·direction(grad, momentum_buf). momentum_buf is
// null when momentum == 0.
struct SgdTensor {
  float* param = nullptr;
  const float* grad = nullptr;
  float* momentum_buf = nullptr;
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
  virtual std::unique_ptr<Backend> fork() = 0;
  // Captures the backend calls that `enqueue` makes on this backend WITHOUT running them (CUDA:
  // stream capture into a graph; CPU: keeps the function); replay() runs them, as often as asked.
  // Pointers and sizes are frozen at capture: replays see new contents of the same buffers.
  virtual std::unique_ptr<Recording> record(const std::function<void()>& enqueue) = 0;

  // Row-major C[M,N] = alpha·op(A)·op(B) + beta·C, op(A): [M,K], op(B): [K,N], then the epilogue.
  // lda/ldb/ldc are row strides of A, B, C as stored (A stored [K,M] when ta).
  virtual void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc,
                    const GemmEpilogue& epilogue) = 0;
  // y[rows, cols] += bias[cols], then ReLU when relu (bias may be null).
  virtual void bias_relu(float* y, const float* bias, int rows, int cols, bool relu) = 0;
  // dx = y > 0 ? dy : 0 over n elements (dx may alias dy).
  virtual void relu_backward(const float* dy, const float* y, float* dx, size_t n) = 0;
  // y += x over n elements (gradient accumulation).
  virtual void add(float* y, const float* x, size_t n) = 0;
  // db[cols] = Σ_rows dy (accumulate: db += Σ_rows dy).
  virtual void bias_grad(const float* dy, int rows, int cols, float* db, bool accumulate) = 0;
  // Mean softmax cross-entropy over rows: *loss = mean_r(logsumexp(x_r) - x_r[label_r]);
  // dlogits (if not null) = (softmax(x) - onehot(label)) / rows; correct (if not null) += number
  // of rows whose argmax equals the label. Labels must be in [0, cols).
  virtual void softmax_xent(const float* logits, const int32_t* labels, int rows, int cols,
                            float* loss, float* dlogits, int32_t* correct) = 0;
  // One SGD step over all tensors. first_step: momentum buffers are initialised to the
  // (weight-decayed) gradient, as PyTorch does on its first step.
  virtual void sgd_update(const SgdTensor* tensors, int count, const SgdConfig& config,
                          bool first_step) = 0;
  // probs[r, :] = softmax(x[r, :]) (stable: the row maximum is subtracted first).
  virtual void softmax(const float* x, int rows, int cols, float* probs) = 0;
  // out[r] = first index of the maximum of x[r, :].
  virtual void argmax(const float* x, int rows, int cols, int32_t* out) = 0;
  // x[r, :] = images[indices[r], :]·scale + shift (u8 → f32); y[r] = labels[indices[r]].
  virtual void gather_batch(const uint8_t* images, const uint8_t* labels, int features,
                            const int32_t* indices, int rows, float scale, float shift, float* x,
                            int32_t* y) = 0;

  // The tail of a training step in one call: the last Linear layer with softmax cross-entropy,
  // forward and backward. h [rows, in] is that layer's input. When h_bias is given, h holds the
  // previous layer's pre-activation and is first updated in place to act(h + h_bias) (act = ReLU
  // when relu_input): that layer's epilogue rides along. Then
  //   logits [rows, out] = h·Wᵀ + b;  *loss, dlogits [rows, out], *correct: as softmax_xent
  //   dW [out, in] = dlogitsᵀ·h;  db [out] = Σ_rows dlogits                (both overwritten)
  //   dh [rows, in] = dlogits·W, zeroed where h <= 0 when relu_input       (skipped when null)
  //   dh_bias [in] = Σ_rows dh: the previous layer's bias gradient         (skipped when null)
  // logits and dlogits are required. This default runs the separate ops; CUDA fuses all of it
  // into one kernel when W fits in shared memory.
  virtual void linear_xent_step(float* h, const float* h_bias, bool relu_input, const float* W,
                                const float* b, const int32_t* labels, int rows, int in, int out,
                                float* logits, float* dlogits, float* loss, int32_t* correct,
                                float* dW, float* db, float* dh, float* dh_bias) {
    if (h_bias) bias_relu(h, h_bias, rows, in, relu_input);
    gemm(false, true, rows, out, in, 1.f, h, in, W, in, 0.f, logits, out, GemmEpilogue{b, false});
    softmax_xent(logits, labels, rows, out, loss, dlogits, correct);
    gemm(true, false, out, in, rows, 1.f, dlogits, out, h, in, 0.f, dW, in, GemmEpilogue{});
    bias_grad(dlogits, rows, out, db, false);
    if (!dh) return;
    gemm(false, false, rows, in, out, 1.f, dlogits, out, W, in, 0.f, dh, in, GemmEpilogue{});
    if (relu_input) relu_backward(dh, h, dh, static_cast<size_t>(rows) * in);
    if (dh_bias) bias_grad(dh, rows, in, dh_bias, false);
  }

  // linear_xent_step, then one SGD step (sgd_update's semantics) of the parameters whose complete
  // gradients it has just computed and that nothing later in a training step reads: W with dW, b
  // with db, and h_bias with dh_bias when both are given. *_momentum: the momentum buffers (null
  // when config.momentum == 0). CUDA applies the updates in the fused kernel's final reduction.
  virtual void linear_xent_sgd_step(float* h, float* h_bias, bool relu_input, float* W, float* b,
                                    const int32_t* labels, int rows, int in, int out, float* logits,
                                    float* dlogits, float* loss, int32_t* correct, float* dW, float* db,
                                    float* dh, float* dh_bias, float* W_momentum, float* b_momentum,
                                    float* h_bias_momentum, const SgdConfig& config, bool first_step) {
    linear_xent_step(h, h_bias, relu_input, W, b, labels, rows, in, out, logits, dlogits, loss, correct,
                     dW, db, dh, dh_bias);
    const SgdTensor params[3] = {{W, dW, W_momentum, static_cast<size_t>(out) * in},
                                 {b, db, b_momentum, static_cast<size_t>(out)},
                                 {h_bias, dh_bias, h_bias_momentum, static_cast<size_t>(in)}};
    sgd_update(params, h_bias && dh && dh_bias ? 3 : 2, config, first_step);
  }

  // The batch gather and the first Linear layer in one call: x [rows, features] and y [rows] as
  // gather_batch, then h [rows, out] = x·Wᵀ (W [out, features]) followed by the epilogue (bias,
  // ReLU; empty when they ride in a later call such as linear_xent_step's h_bias).
  virtual void gather_linear(const uint8_t* images, const uint8_t* labels, int features,
                             const int32_t* indices, int rows, float scale, float shift,
                             const float* W, int out, const GemmEpilogue& epilogue, float* x,
                             int32_t* y, float* h) {
    gather_batch(images, labels, features, indices, rows, scale, shift, x, y);
    gemm(false, true, rows, out, features, 1.f, x, features, W, features, 0.f, h, out, epilogue);
  }

  // A Linear layer's weight gradient and its SGD step in one call: dW [out, in] = dyᵀ·x
  // (dy [rows, out], x [rows, in]; dW overwritten), then sgd_update of W with dW (W_momentum null
  // when config.momentum == 0). For the layer whose W nothing later in the step reads.
  virtual void linear_grad_sgd(const float* dy, const float* x, int rows, int in, int out, float* dW,
                               float* W, float* W_momentum, const SgdConfig& config, bool first_step) {
    gemm(true, false, out, in, rows, 1.f, dy, out, x, in, 0.f, dW, in, GemmEpilogue{});
    const SgdTensor param{W, dW, W_momentum, static_cast<size_t>(out) * in};
    sgd_update(&param, 1, config, first_step);
  }
};

}  // namespace tinynn
