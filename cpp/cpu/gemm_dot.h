// The loop over dot-product groups shared by the kernel sets that have a DotBlock kernel: each
// set supplies Dot<rows, cols> with a static run() computing rows x cols outputs (rows <= 4)
// with rows·cols vector accumulators; this walks the block in groups sized to keep about 8
// accumulators busy (FMA latency x two pipes).
#pragma once
#include <algorithm>
#include <array>
#include <utility>

#include "cpp/cpu/gemm_kernels.h"

namespace tinynn::cpu {

// a, b at the group's first row of A and of B, c at its C(0, 0), bias at its first column.
using DotKernel = void (*)(const DotBlock& d, const float* a, const float* b, float* c,
                           const float* bias);

// The epilogue of one output s = Σ_k a·b.
inline float dot_epilogue(const DotBlock& d, float s, const float* c, const float* bias) {
  float r = d.alpha * s;
  if (d.beta != 0.f) r += d.beta * *c;
  if (bias) r += *bias;
  if (d.relu) r = r < 0.f ? 0.f : r;  // NaN stays NaN
  return r;
}

template <template <int, int> class Dot>
class DotWalker {
 public:
  static void compute(const DotBlock& d) {
    for (int i0 = 0; i0 < d.m; i0 += kMaxRows) {
      const int rows = std::min(kMaxRows, d.m - i0);
      const int group = max_cols(rows);
      for (int j0 = 0; j0 < d.n; j0 += group) {
        const int cols = std::min(group, d.n - j0);
        kTable[rows - 1][cols - 1](d, d.a + i0 * d.lda, d.b + j0 * d.ldb, d.c + i0 * d.ldc + j0,
                                   d.bias ? d.bias + j0 : nullptr);
      }
    }
  }

 private:
  static constexpr int kMaxRows = 4;
  static constexpr int kMaxCols = 8;
  static constexpr int max_cols(int rows) { return std::max(2, kMaxCols / rows); }

  using Row = std::array<DotKernel, kMaxCols>;  // [cols - 1]
  template <int R, int... C>
  static constexpr Row row(std::integer_sequence<int, C...>) {
    return {{&Dot<R, std::min(C + 1, max_cols(R))>::run...}};
  }
  template <int... R>
  static constexpr std::array<Row, kMaxRows> table(std::integer_sequence<int, R...>) {
    return {{row<R + 1>(std::make_integer_sequence<int, kMaxCols>{})...}};
  }
  static constexpr std::array<Row, kMaxRows> kTable =
      table(std::make_integer_sequence<int, kMaxRows>{});
};

}  // namespace tinynn::cpu
