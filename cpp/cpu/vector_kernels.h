// Element-wise kernels of the CPU backend (one thread's share of the work each):
// AVX-512 where the CPU has it, portable C++ otherwise. Every kernel computes exactly what the
// scalar loop it replaces computes, operation for operation (no fused multiply-adds where the
// scalar code rounds twice), so results are bit-identical whichever path runs.
#pragma once
#include <cstddef>
#include <cstdint>

#include <algorithm>
#include <vector>

#include "cpp/backend.h"
#include "cpp/cpu/thread_pool.h"

namespace tinynn::cpu {

// torch.optim.SGD's update over n elements of one tensor (momentum null when cfg.momentum == 0;
// first_step: the buffer starts as the gradient).
void sgd_kernel(float* param, const float* grad, float* momentum, size_t n, const SgdConfig& cfg,
                bool first_step);
// dx = y > 0 ? dy : 0 (dx may alias dy).
void relu_backward_kernel(const float* dy, const float* y, float* dx, size_t n);
// y = act(y + bias) over n elements (bias may be null; act = ReLU when relu).
void bias_relu_kernel(float* y, const float* bias, size_t n, bool relu);
// dst = src·scale + shift, u8 to f32.
void u8_to_f32_kernel(const uint8_t* src, float* dst, size_t n, float scale, float shift);
// acc[c] += row[c] for c < n.
void add_row_kernel(float* acc, const float* row, size_t n);

// One row of softmax cross-entropy as CpuBackend::softmax_xent computes it: returns whether the
// row's argmax is the label; *row_loss = logsumexp(x) - x[label] (in double; NaN when the label is
// outside [0, cols)); d (if not null) = (softmax(x) - onehot(label))·inv_rows.
bool xent_row(const float* x, int label, int cols, float inv_rows, float* d, double* row_loss);

// Per-row loss and hit of the rows of one call, summed afterwards in row order so that the
// totals never depend on the thread count. Grown in the calling thread (before any region), so
// nothing is allocated once the largest batch has been seen.
struct RowStats {
  std::vector<double> loss;
  std::vector<int32_t> hit;
  // *mean_loss = the mean of the first `rows` losses; *correct (if not null) += their hits.
  void finish(int rows, float* mean_loss, int32_t* correct) const;
};
RowStats& row_stats(int rows);

// Splits [0, n) into at most pool.size() contiguous chunks of at least `grain` items and runs
// fn(begin, end) on each (in line when one chunk).
template <typename Fn>
void parallel_range(ThreadPool& pool, size_t n, size_t grain, Fn&& fn) {
  size_t parts = std::min<size_t>(pool.size(), (n + grain - 1) / grain);
  if (parts <= 1) {
    fn(size_t{0}, n);
    return;
  }
  pool.parallel_for(static_cast<int>(parts), [&](int p) { fn(n * p / parts, n * (p + 1) / parts); });
}

}  // namespace tinynn::cpu
