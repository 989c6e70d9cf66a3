// CpuBackend's reductions: reduce along an axis, argmax, the softmax family and the loss kernels.
// Every sum runs in an order fixed by the shapes, never by the thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpp/cpu/cpu_backend.h"
#include "cpp/cpu/vector_kernels.h"

namespace tinynn::cpu {
namespace {

// Elements per partial sum of mse: the partials are then added in order, so the result does not
// depend on the thread count.
constexpr size_t kMseBlock = 4096;

// Σ x[k] over a contiguous line: 16 running sums (lane j takes k ≡ j mod 16, so the loop
// vectorises without reassociating), then added pairwise in a fixed order. Deterministic, and a
// dependency chain 16 times shorter than one running sum.
float sum_contiguous(const float* x, int64_t len) {
  constexpr int kLanes = 16;
  float lane[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= len; k += kLanes)
    for (int j = 0; j < kLanes; ++j) lane[j] += x[k + j];
  for (int j = 0; k < len; ++k, ++j) lane[j] += x[k];
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int j = 0; j < width; ++j) lane[j] += lane[j + width];
  return lane[0];
}

float reduce_line(ReduceOp op, const float* x, int64_t len, int64_t stride) {
  if (op == ReduceOp::Sum || op == ReduceOp::Mean) {
    float s = 0.f;
    if (stride == 1) {
      s = sum_contiguous(x, len);
    } else {
      for (int64_t k = 0; k < len; ++k) s += x[k * stride];
    }
    return op == ReduceOp::Mean ? s / static_cast<float>(len) : s;
  }
  const bool is_max = op == ReduceOp::Max;
  float best = is_max ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  for (int64_t k = 0; k < len; ++k) {
    const float v = x[k * stride];
    if (v != v) return v;  // NaN propagates, as in PyTorch
    best = is_max ? std::max(best, v) : std::min(best, v);
  }
  return best;
}

}  // namespace

void CpuBackend::reduce(ReduceOp op, const float* x, float* out, int64_t outer, int64_t len, int64_t inner,
                        bool accumulate) {
  if (inner >= 16 && (op == ReduceOp::Sum || op == ReduceOp::Mean)) {
    // Column sums: a block of columns per task, rows streamed in order (contiguous loads).
    for (int64_t o = 0; o < outer; ++o) {
      const float* xo = x + o * len * inner;
      float* oo = out + o * inner;
      parallel_range(pool_, inner, 16, [&](size_t c0, size_t c1) {
        thread_local std::vector<float> acc;
        acc.assign(c1 - c0, 0.f);
        for (int64_t k = 0; k < len; ++k) add_row_kernel(acc.data(), xo + k * inner + c0, c1 - c0);
        for (size_t c = c0; c < c1; ++c) {
          const float v = op == ReduceOp::Mean ? acc[c - c0] / static_cast<float>(len) : acc[c - c0];
          oo[c] = accumulate ? oo[c] + v : v;
        }
      });
    }
    return;
  }
  const int64_t lines = outer * inner;
  parallel_range(pool_, lines, std::max<int64_t>(1, 4096 / std::max<int64_t>(len, 1)), [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i) {
      const int64_t o = static_cast<int64_t>(i) / inner, c = static_cast<int64_t>(i) % inner;
      const float v = reduce_line(op, x + o * len * inner + c, len, inner);
      out[i] = accumulate ? out[i] + v : v;
    }
  });
}

void CpuBackend::argmax(const float* x, int64_t outer, int64_t len, int64_t inner, int32_t* out) {
  const int64_t lines = outer * inner;
  parallel_range(pool_, lines, std::max<int64_t>(1, 4096 / std::max<int64_t>(len, 1)), [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i) {
      const int64_t o = static_cast<int64_t>(i) / inner, c = static_cast<int64_t>(i) % inner;
      const float* line = x + o * len * inner + c;
      int64_t best = 0;
      for (int64_t k = 1; k < len; ++k) {
        const float v = line[k * inner], b = line[best * inner];
        if (b != b) break;  // a NaN is the largest: the first one wins
        if (v > b || v != v) best = k;
      }
      out[i] = static_cast<int32_t>(best);
    }
  });
}

void CpuBackend::softmax(const float* x, int rows, int cols, float* out, bool log) {
  parallel_range(pool_, rows, 32, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      const float* in = x + r * cols;
      float* o = out + r * cols;
      const float mx = *std::max_element(in, in + cols);
      double sum = 0.0;
      for (int c = 0; c < cols; ++c) sum += std::exp(static_cast<double>(in[c] - mx));
      if (log) {
        const double log_sum = std::log(sum);
        for (int c = 0; c < cols; ++c) o[c] = static_cast<float>(static_cast<double>(in[c] - mx) - log_sum);
      } else {
        for (int c = 0; c < cols; ++c) o[c] = static_cast<float>(std::exp(static_cast<double>(in[c] - mx)) / sum);
      }
    }
  });
}

void CpuBackend::softmax_xent(const float* logits, const int32_t* labels, int rows, int cols, float* loss,
                              float* dlogits, int32_t* correct) {
  // Per-row losses in double, summed in row order: the result is independent of threading.
  RowStats& st = row_stats(rows);
  const float inv_rows = 1.0f / static_cast<float>(rows);
  parallel_range(pool_, rows, 32, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r)
      st.hit[r] = xent_row(logits + r * cols, labels[r], cols, inv_rows, dlogits ? dlogits + r * cols : nullptr,
                           &st.loss[r]);
  });
  st.finish(rows, loss, correct);
}

void CpuBackend::mse(const float* pred, const float* target, size_t n, float* loss, float* dpred) {
  const size_t blocks = (n + kMseBlock - 1) / kMseBlock;
  thread_local std::vector<double> partial;  // this (calling) thread's; the workers write through `sums`
  partial.assign(blocks, 0.0);
  double* sums = partial.data();
  const float scale = 2.f / static_cast<float>(n);
  parallel_range(pool_, blocks, 1, [&](size_t b0, size_t b1) {
    for (size_t blk = b0; blk < b1; ++blk) {
      const size_t i0 = blk * kMseBlock, i1 = std::min(n, i0 + kMseBlock);
      double s = 0.0;
      for (size_t i = i0; i < i1; ++i) {
        const float d = pred[i] - target[i];
        s += static_cast<double>(d) * d;
        if (dpred) dpred[i] = scale * d;
      }
      sums[blk] = s;
    }
  });
  double total = 0.0;
  for (double s : partial) total += s;
  *loss = static_cast<float>(total / static_cast<double>(n));
}

}  // namespace tinynn::cpu
