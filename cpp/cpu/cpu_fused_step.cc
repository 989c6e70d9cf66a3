// The CPU's fused executor: the staged step (cpp/staged_step.h) with its three stages as CPU
// kernels.
//
// Each gives exactly the numbers of the composed stages (bit for bit): the GEMMs are the same
// sgemm calls restricted to a block of rows or columns (sgemm sums every element in an order that
// does not depend on the split), the reductions run in row order, and the element-wise kernels
// repeat the scalar formulas. What changes is the shape of the work: one parallel region per phase
// instead of one per op (an sgemm called from inside a region runs in line on that thread), and the
// SGD step of a block of W applied right after its gradient is computed, while the block is still
// in cache.
#include <algorithm>

#include "cpp/cpu/cpu_backend.h"
#include "cpp/cpu/gemm.h"
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
  void input_layer(const InputLayer& s) override {
    const StepBatch& b = *s.batch;
    be_.gather_batch(b.images, b.labels, b.features, b.order, b.rows, b.scale, b.shift, s.x, s.y);
    sgemm(pool_, false, true, b.rows, s.out, b.features, 1.f, s.x, b.features, s.weight, b.features, 0.f, s.h, s.out,
          s.epilogue);
  }

  void head(const Head& s) override;
  void input_layer_grad_update(const InputLayerGrad& s) override;

 private:
  ThreadPool& pool_;
};

void CpuFusedStep::head(const Head& s) {
  const int rows = s.rows, in = s.in, out = s.out;
  if (rows <= 0) return StagedStep::head(s);
  const LayerTensors& w = s.last;
  const SgdConfig& cfg = *s.sgd;
  const bool first_step = s.step == 1;
  RowStats& st = row_stats(rows);
  const float inv_rows = 1.0f / static_cast<float>(rows);
  const int threads = pool_.size();

  // Phase 1, by rows: h ← act(h + h_bias); logits = h·Wᵀ + b; softmax-xent; dh = dlogits·W, masked.
  const int row_parts = std::max(1, std::min(threads, rows / kHeadRowGrain));
  run_parts(pool_, row_parts, [&](int p) {
    const int r0 = static_cast<int>(long{rows} * p / row_parts);
    const int r1 = static_cast<int>(long{rows} * (p + 1) / row_parts);
    const int nr = r1 - r0;
    float* hp = s.h + static_cast<size_t>(r0) * in;
    if (s.h_bias)
      for (int r = 0; r < nr; ++r) bias_relu_kernel(hp + static_cast<size_t>(r) * in, s.h_bias, in, s.relu_input);
    float* lp = w.act + static_cast<size_t>(r0) * out;
    float* dp = w.grad + static_cast<size_t>(r0) * out;
    sgemm(pool_, false, true, nr, out, in, 1.f, hp, in, w.weight, in, 0.f, lp, out, GemmEpilogue{w.bias});
    for (int r = r0; r < r1; ++r)
      st.hit[r] = xent_row(w.act + static_cast<size_t>(r) * out, s.labels[r], out, inv_rows,
                           w.grad + static_cast<size_t>(r) * out, &st.loss[r]);
    if (s.dh) {
      float* dhp = s.dh + static_cast<size_t>(r0) * in;
      sgemm(pool_, false, false, nr, in, out, 1.f, dp, out, w.weight, in, 0.f, dhp, in, GemmEpilogue{});
      if (s.relu_input) relu_backward_kernel(dhp, hp, dhp, static_cast<size_t>(nr) * in);
    }
  });

  // Phase 2, by columns of h: dW = dlogitsᵀ·h and W's SGD step, dh_bias = Σ_rows dh and h_bias's
  // step; part 0 also db = Σ_rows dlogits and b's step.
  const bool step_h_bias = s.h_bias && s.dh && s.dh_bias;
  const int units = (in + kColUnit - 1) / kColUnit;
  const int col_parts = std::max(1, std::min(threads, units));
  run_parts(pool_, col_parts, [&](int p) {
    const int c0 = std::min(in, static_cast<int>(long{units} * p / col_parts) * kColUnit);
    const int c1 = std::min(in, static_cast<int>(long{units} * (p + 1) / col_parts) * kColUnit);
    const int nc = c1 - c0;
    if (nc > 0) {
      sgemm(pool_, true, false, out, nc, rows, 1.f, w.grad, out, s.h + c0, in, 0.f, w.dweight + c0, in, GemmEpilogue{});
      for (int j = 0; j < out; ++j) {
        const size_t o = static_cast<size_t>(j) * in + c0;
        sgd_kernel(w.weight + o, w.dweight + o, w.weight_state[0] ? w.weight_state[0] + o : nullptr, nc, cfg,
                   first_step);
      }
      if (s.dh && s.dh_bias) {
        std::fill(s.dh_bias + c0, s.dh_bias + c1, 0.f);
        for (int r = 0; r < rows; ++r) add_row_kernel(s.dh_bias + c0, s.dh + static_cast<size_t>(r) * in + c0, nc);
        if (step_h_bias)
          sgd_kernel(s.h_bias + c0, s.dh_bias + c0, s.h_bias_state ? s.h_bias_state + c0 : nullptr, nc, cfg, first_step);
      }
    }
    if (p == 0) {
      std::fill(w.dbias, w.dbias + out, 0.f);
      for (int r = 0; r < rows; ++r) {
        const float* row = w.grad + static_cast<size_t>(r) * out;
        for (int c = 0; c < out; ++c) w.dbias[c] += row[c];
      }
      sgd_kernel(w.bias, w.dbias, w.bias_state[0], out, cfg, first_step);
    }
  });

  st.finish(rows, s.loss, s.correct);
}

void CpuFusedStep::input_layer_grad_update(const InputLayerGrad& s) {
  const int rows = s.rows, in = s.in, out = s.out;
  if (rows <= 0) return StagedStep::input_layer_grad_update(s);
  const bool first_step = s.step == 1;
  // dW [out, in] = dyᵀ·x by blocks of rows of dW, each block's SGD step right after it.
  const int blocks = (out + kGradRowBlock - 1) / kGradRowBlock;
  const int parts = std::max(1, std::min(pool_.size(), blocks));
  run_parts(pool_, parts, [&](int p) {
    const int b0 = static_cast<int>(long{blocks} * p / parts), b1 = static_cast<int>(long{blocks} * (p + 1) / parts);
    for (int blk = b0; blk < b1; ++blk) {
      const int m0 = blk * kGradRowBlock, m = std::min(kGradRowBlock, out - m0);
      const size_t o = static_cast<size_t>(m0) * in;
      sgemm(pool_, true, false, m, in, rows, 1.f, s.dy + m0, out, s.x, in, 0.f, s.dweight + o, in, GemmEpilogue{});
      sgd_kernel(s.weight + o, s.dweight + o, s.weight_state ? s.weight_state + o : nullptr, static_cast<size_t>(m) * in,
                 *s.sgd, first_step);
    }
  });
}

}  // namespace

std::unique_ptr<StepExecutor> CpuBackend::fused_executor(const StepPlan& plan, const FusionOptions&) {
  if (!staged_plan_supported(plan)) return nullptr;
  return std::make_unique<CpuFusedStep>(*this, plan);
}

}  // namespace tinynn::cpu
