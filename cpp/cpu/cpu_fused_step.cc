// CpuBackend's fused training-step ops: gather_linear, linear_xent_sgd_step, linear_grad_sgd.
//
// Each gives exactly the numbers of Backend's default composition (bit for bit): the GEMMs are
// the same sgemm calls restricted to a block of rows or columns (sgemm sums every element in an
// order that does not depend on the split), the reductions run in row order, and the element-wise
// kernels repeat the scalar formulas. What changes is the shape of the work: one parallel region
// per phase instead of one per op (an sgemm called from inside a region runs in line on that
// thread), and the SGD step of a block of W applied right after its gradient is computed, while
// the block is still in cache.
#include <algorithm>

#include "cpp/cpu/cpu_backend.h"
#include "cpp/cpu/cpu_fused_kernels.h"
#include "cpp/cpu/gemm.h"

namespace tinynn::cpu {
namespace {

// Rows of one thread's share in the head's forward/backward phase: at least this many, so that
// the per-part GEMMs stay on the tile path the whole-batch call takes (sgemm sends M <= 4 to the
// dot kernels) and the region pays for itself.
constexpr int kHeadRowGrain = 32;
// Columns are split in whole 16-float vectors.
constexpr int kColUnit = 16;
// Rows of dW computed (and stepped) at a time in linear_grad_sgd: two micro-tile rows; the block
// (16 x 784 floats, 49 KiB) is still in L1/L2 when its SGD step runs.
constexpr int kGradRowBlock = 16;

template <typename Fn>
void run_parts(ThreadPool& pool, int parts, Fn&& fn) {
  if (parts <= 1) {
    fn(0);
    return;
  }
  pool.parallel_for(parts, [&](int p) { fn(p); });
}

}  // namespace

void CpuBackend::gather_linear(const uint8_t* images, const uint8_t* labels, int features,
                               const int32_t* indices, int rows, float scale, float shift,
                               const float* W, int out, const GemmEpilogue& epilogue, float* x,
                               int32_t* y, float* h) {
  gather_batch(images, labels, features, indices, rows, scale, shift, x, y);
  sgemm(pool_, false, true, rows, out, features, 1.f, x, features, W, features, 0.f, h, out, epilogue);
}

void CpuBackend::linear_xent_sgd_step(float* h, float* h_bias, bool relu_input, float* W, float* b,
                                      const int32_t* labels, int rows, int in, int out, float* logits,
                                      float* dlogits, float* loss, int32_t* correct, float* dW, float* db,
                                      float* dh, float* dh_bias, float* W_mom, float* b_mom,
                                      float* h_bias_mom, const SgdConfig& cfg, bool first_step) {
  if (rows <= 0 || in <= 0 || out <= 0) {
    Backend::linear_xent_sgd_step(h, h_bias, relu_input, W, b, labels, rows, in, out, logits, dlogits, loss,
                                  correct, dW, db, dh, dh_bias, W_mom, b_mom, h_bias_mom, cfg, first_step);
    return;
  }
  RowStats& st = row_stats(rows);
  const float inv_rows = 1.0f / static_cast<float>(rows);
  const int threads = pool_.size();

  // Phase 1, by rows: h ← act(h + h_bias); logits = h·Wᵀ + b; softmax-xent; dh = dlogits·W, masked.
  const int row_parts = std::max(1, std::min(threads, rows / kHeadRowGrain));
  run_parts(pool_, row_parts, [&](int p) {
    const int r0 = static_cast<int>(long{rows} * p / row_parts);
    const int r1 = static_cast<int>(long{rows} * (p + 1) / row_parts);
    const int nr = r1 - r0;
    float* hp = h + static_cast<size_t>(r0) * in;
    if (h_bias)
      for (int r = 0; r < nr; ++r) bias_relu_kernel(hp + static_cast<size_t>(r) * in, h_bias, in, relu_input);
    float* lp = logits + static_cast<size_t>(r0) * out;
    float* dp = dlogits + static_cast<size_t>(r0) * out;
    sgemm(pool_, false, true, nr, out, in, 1.f, hp, in, W, in, 0.f, lp, out, GemmEpilogue{b, false});
    for (int r = r0; r < r1; ++r)
      st.hit[r] = xent_row(logits + static_cast<size_t>(r) * out, labels[r], out, inv_rows,
                           dlogits + static_cast<size_t>(r) * out, &st.loss[r]);
    if (dh) {
      float* dhp = dh + static_cast<size_t>(r0) * in;
      sgemm(pool_, false, false, nr, in, out, 1.f, dp, out, W, in, 0.f, dhp, in, GemmEpilogue{});
      if (relu_input) relu_backward_kernel(dhp, hp, dhp, static_cast<size_t>(nr) * in);
    }
  });

  // Phase 2, by columns of h: dW = dlogitsᵀ·h and W's SGD step, dh_bias = Σ_rows dh and h_bias's
  // step; part 0 also db = Σ_rows dlogits and b's step.
  const bool step_h_bias = h_bias && dh && dh_bias;
  const int units = (in + kColUnit - 1) / kColUnit;
  const int col_parts = std::max(1, std::min(threads, units));
  run_parts(pool_, col_parts, [&](int p) {
    const int c0 = std::min(in, static_cast<int>(long{units} * p / col_parts) * kColUnit);
    const int c1 = std::min(in, static_cast<int>(long{units} * (p + 1) / col_parts) * kColUnit);
    const int nc = c1 - c0;
    if (nc > 0) {
      sgemm(pool_, true, false, out, nc, rows, 1.f, dlogits, out, h + c0, in, 0.f, dW + c0, in, GemmEpilogue{});
      for (int j = 0; j < out; ++j) {
        const size_t o = static_cast<size_t>(j) * in + c0;
        sgd_kernel(W + o, dW + o, W_mom ? W_mom + o : nullptr, nc, cfg, first_step);
      }
      if (dh && dh_bias) {
        std::fill(dh_bias + c0, dh_bias + c1, 0.f);
        for (int r = 0; r < rows; ++r) add_row_kernel(dh_bias + c0, dh + static_cast<size_t>(r) * in + c0, nc);
        if (step_h_bias)
          sgd_kernel(h_bias + c0, dh_bias + c0, h_bias_mom ? h_bias_mom + c0 : nullptr, nc, cfg, first_step);
      }
    }
    if (p == 0) {
      std::fill(db, db + out, 0.f);
      for (int r = 0; r < rows; ++r) {
        const float* row = dlogits + static_cast<size_t>(r) * out;
        for (int c = 0; c < out; ++c) db[c] += row[c];
      }
      sgd_kernel(b, db, b_mom, out, cfg, first_step);
    }
  });

  st.finish(rows, loss, correct);
}

void CpuBackend::linear_grad_sgd(const float* dy, const float* x, int rows, int in, int out, float* dW,
                                 float* W, float* W_mom, const SgdConfig& cfg, bool first_step) {
  if (rows <= 0 || in <= 0 || out <= 0) {
    Backend::linear_grad_sgd(dy, x, rows, in, out, dW, W, W_mom, cfg, first_step);
    return;
  }
  // dW [out, in] = dyᵀ·x by blocks of rows of dW, each block's SGD step right after it.
  const int blocks = (out + kGradRowBlock - 1) / kGradRowBlock;
  const int parts = std::max(1, std::min(pool_.size(), blocks));
  run_parts(pool_, parts, [&](int p) {
    const int b0 = static_cast<int>(long{blocks} * p / parts), b1 = static_cast<int>(long{blocks} * (p + 1) / parts);
    for (int blk = b0; blk < b1; ++blk) {
      const int m0 = blk * kGradRowBlock, m = std::min(kGradRowBlock, out - m0);
      const size_t o = static_cast<size_t>(m0) * in;
      sgemm(pool_, true, false, m, in, rows, 1.f, dy + m0, out, x, in, 0.f, dW + o, in, GemmEpilogue{});
      sgd_kernel(W + o, dW + o, W_mom ? W_mom + o : nullptr, static_cast<size_t>(m) * in, cfg, first_step);
    }
  });
}

}  // namespace tinynn::cpu
