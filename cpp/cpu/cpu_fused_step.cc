// The CPU's fused executor: the staged step (cpp/staged_step.h) with its head and first-layer
// gradient stages as CPU kernels, for every plan (any activation, loss, input kind and optimizer).
//
// Each gives exactly the numbers of the composed stages (bit for bit): the GEMMs are the same
// sgemm calls restricted to a block of rows or columns (sgemm sums every element in an order that
// does not depend on the split), the reductions run in row order, and the element-wise kernels
// and optimizer updates repeat the same per-element formulas. What changes is the shape of the
// work: one parallel region per phase instead of one per op (an sgemm called from inside a region
// runs in line on that thread), and the optimizer step of a block of W applied right after its
// gradient is computed, while the block is still in cache.
#include <algorithm>

#include "cpp/cpu/cpu_backend.h"
#include "cpp/cpu/elementwise_kernels.h"
#include "cpp/cpu/gemm.h"
#include "cpp/cpu/optimizer_kernels.h"
#include "cpp/cpu/vector_kernels.h"
#include "cpp/staged_step.h"

namespace tinynn::cpu {
namespace {

// Rows of one thread's share in the head's forward/backward phase: at least this many, so that
// the per-part GEMMs stay on the tile path the whole-batch call takes (sgemm sends M <= 4 to the
// dot kernels) and the region pays for itself.
constexpr int kHeadRowGrain = 32;
// Columns are split in whole 16-float vectors.
constexpr int kColUnit = 16;
// Rows of dW computed (and stepped) at a time by the first layer's weight gradient: two micro-tile
// rows; the block (16 x 784 floats, 49 KiB) is still in L1/L2 when its SGD step runs.
constexpr int kGradRowBlock = 16;

template <typename Fn>
void run_parts(ThreadPool& pool, int parts, Fn&& fn) {
  if (parts <= 1) {
    fn(0);
    return;
  }
  pool.parallel_for(parts, [&](int p) { fn(p); });
}

class CpuFusedStep final : public StagedStep {
 public:
  CpuFusedStep(CpuBackend& backend, const StepPlan& plan) : StagedStep(backend, plan), pool_(backend.pool()) {}

 protected:
  void head(const Head& s) override;
  void input_layer_grad_update(const InputLayerGrad& s) override;

 private:
  static void hidden_activation(const Head& s, int r0, int r1);
  static void hidden_activation_backward(const Head& s, int r0, int r1);
  ThreadPool& pool_;
};

// h [r0, r1) ← act(pre + h_bias), where the pre-activation is in h_pre (Gelu) or h.
void CpuFusedStep::hidden_activation(const Head& s, int r0, int r1) {
  const size_t in = static_cast<size_t>(s.in);
  const bool relu = s.activation == Activation::Relu;
  for (int r = r0; r < r1; ++r) {
    float* h = s.h + r * in;
    float* pre = s.h_pre ? s.h_pre + r * in : h;
    bias_relu_kernel(pre, s.h_bias, in, relu);
    if (s.activation != Activation::None && !relu) unary_kernel(activation_op(s.activation), pre, h, in, s.slope, 0.f);
  }
}

// dh [r0, r1) ← dh·act'(·), as StepExecutor::activation_backward computes it.
void CpuFusedStep::hidden_activation_backward(const Head& s, int r0, int r1) {
  const size_t o = static_cast<size_t>(r0) * s.in, n = static_cast<size_t>(r1 - r0) * s.in;
  float* dh = s.dh + o;
  switch (s.activation) {
    case Activation::None: return;
    case Activation::Relu: relu_backward_kernel(dh, s.h + o, dh, n); return;
    case Activation::LeakyRelu: binary_kernel(BinaryOp::LeakyReluGrad, dh, 1, s.h + o, 1, dh, n, s.slope); return;
    case Activation::Sigmoid: binary_kernel(BinaryOp::SigmoidGrad, dh, 1, s.h + o, 1, dh, n, 0.f); return;
    case Activation::Tanh: binary_kernel(BinaryOp::TanhGrad, dh, 1, s.h + o, 1, dh, n, 0.f); return;
    case Activation::Gelu: binary_kernel(BinaryOp::GeluGrad, dh, 1, s.h_pre + o, 1, dh, n, 0.f); return;
  }
}

void CpuFusedStep::head(const Head& s) {
  const int rows = s.rows, in = s.in, out = s.out;
  if (rows <= 0) return StagedStep::head(s);
  const LayerTensors& w = s.last;
  const OptimizerStepConstants constants = optimizer_step_constants(*s.optimizer, s.step);
  const bool xent = s.loss == LossKind::CrossEntropy;
  RowStats& st = row_stats(rows);
  const float inv_rows = 1.0f / static_cast<float>(rows);
  const int threads = pool_.size();

  // Phase 1, by rows: h ← act(pre + h_bias); outputs = h·Wᵀ + b; for cross-entropy also its rows
  // and dh = grad·W through the activation (MSE's loss is one sum over all rows: it and dh follow).
  const int row_parts = std::max(1, std::min(threads, rows / kHeadRowGrain));
  const auto row_range = [&](int p, int* r0, int* r1) {
    *r0 = static_cast<int>(long{rows} * p / row_parts);
    *r1 = static_cast<int>(long{rows} * (p + 1) / row_parts);
  };
  const auto backward_rows = [&](int r0, int r1) {
    if (!s.dh) return;
    float* dhp = s.dh + static_cast<size_t>(r0) * in;
    sgemm(pool_, false, false, r1 - r0, in, out, 1.f, w.grad + static_cast<size_t>(r0) * out, out, w.weight, in, 0.f, dhp, in,
          GemmEpilogue{});
    hidden_activation_backward(s, r0, r1);
  };
  run_parts(pool_, row_parts, [&](int p) {
    int r0, r1;
    row_range(p, &r0, &r1);
    if (s.h_bias) hidden_activation(s, r0, r1);
    sgemm(pool_, false, true, r1 - r0, out, in, 1.f, s.h + static_cast<size_t>(r0) * in, in, w.weight, in, 0.f,
          w.act + static_cast<size_t>(r0) * out, out, GemmEpilogue{w.bias});
    if (!xent) return;
    for (int r = r0; r < r1; ++r)
      st.hit[r] = xent_row(w.act + static_cast<size_t>(r) * out, s.labels[r], out, inv_rows,
                           w.grad + static_cast<size_t>(r) * out, &st.loss[r]);
    backward_rows(r0, r1);
  });
  if (!xent) {
    be_.mse(w.act, s.targets, static_cast<size_t>(rows) * out, s.loss_value, w.grad);
    run_parts(pool_, row_parts, [&](int p) {
      int r0, r1;
      row_range(p, &r0, &r1);
      backward_rows(r0, r1);
    });
  }

  // Phase 2, by columns of h: dW = gradᵀ·h and W's step, dh_bias = Σ_rows dh and h_bias's step;
  // part 0 also db = Σ_rows grad and b's step.
  const bool step_h_bias = s.h_bias && s.dh && s.dh_bias;
  const ParamUpdate weight{w.weight, w.dweight, {w.weight_state[0], w.weight_state[1], w.weight_state[2]},
                           static_cast<size_t>(out) * in};
  const ParamUpdate bias{w.bias, w.dbias, {w.bias_state[0], w.bias_state[1], w.bias_state[2]}, static_cast<size_t>(out)};
  const ParamUpdate h_bias{s.h_bias, s.dh_bias, {s.h_bias_state[0], s.h_bias_state[1], s.h_bias_state[2]},
                           static_cast<size_t>(in)};
  const int units = (in + kColUnit - 1) / kColUnit;
  const int col_parts = std::max(1, std::min(threads, units));
  run_parts(pool_, col_parts, [&](int p) {
    const int c0 = std::min(in, static_cast<int>(long{units} * p / col_parts) * kColUnit);
    const int c1 = std::min(in, static_cast<int>(long{units} * (p + 1) / col_parts) * kColUnit);
    const int nc = c1 - c0;
    if (nc > 0) {
      sgemm(pool_, true, false, out, nc, rows, 1.f, w.grad, out, s.h + c0, in, 0.f, w.dweight + c0, in, GemmEpilogue{});
      for (int j = 0; j < out; ++j) optimizer_update_range(weight, static_cast<size_t>(j) * in + c0, nc, constants);
      if (s.dh && s.dh_bias) {
        std::fill(s.dh_bias + c0, s.dh_bias + c1, 0.f);
        for (int r = 0; r < rows; ++r) add_row_kernel(s.dh_bias + c0, s.dh + static_cast<size_t>(r) * in + c0, nc);
        if (step_h_bias) optimizer_update_range(h_bias, c0, nc, constants);
      }
    }
    if (p == 0) {
      std::fill(w.dbias, w.dbias + out, 0.f);
      for (int r = 0; r < rows; ++r) {
        const float* row = w.grad + static_cast<size_t>(r) * out;
        for (int c = 0; c < out; ++c) w.dbias[c] += row[c];
      }
      optimizer_update_range(bias, 0, out, constants);
    }
  });

  if (xent) st.finish(rows, s.loss_value, s.correct);
}

void CpuFusedStep::input_layer_grad_update(const InputLayerGrad& s) {
  const int rows = s.rows, in = s.in, out = s.out;
  if (rows <= 0) return StagedStep::input_layer_grad_update(s);
  const OptimizerStepConstants constants = optimizer_step_constants(*s.optimizer, s.step);
  const ParamUpdate weight{s.weight, s.dweight, {s.weight_state[0], s.weight_state[1], s.weight_state[2]},
                           static_cast<size_t>(out) * in};
  // dW [out, in] = dyᵀ·x by blocks of rows of dW, each block's optimizer step right after it.
  const int blocks = (out + kGradRowBlock - 1) / kGradRowBlock;
  const int parts = std::max(1, std::min(pool_.size(), blocks));
  run_parts(pool_, parts, [&](int p) {
    const int b0 = static_cast<int>(long{blocks} * p / parts), b1 = static_cast<int>(long{blocks} * (p + 1) / parts);
    for (int blk = b0; blk < b1; ++blk) {
      const int m0 = blk * kGradRowBlock, m = std::min(kGradRowBlock, out - m0);
      const size_t o = static_cast<size_t>(m0) * in;
      sgemm(pool_, true, false, m, in, rows, 1.f, s.dy + m0, out, s.x, in, 0.f, s.dweight + o, in, GemmEpilogue{});
      optimizer_update_range(weight, o, static_cast<size_t>(m) * in, constants);
    }
  });
}

}  // namespace

std::unique_ptr<StepExecutor> CpuBackend::fused_executor(const StepPlan& plan, const FusionOptions&) {
  return std::make_unique<CpuFusedStep>(*this, plan);
}

}  // namespace tinynn::cpu
