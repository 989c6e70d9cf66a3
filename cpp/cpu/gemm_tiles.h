// The loop over micro-tiles shared by the kernel sets: each set supplies its micro-kernel as a
// class template Micro<ta, rows, vectors> with a static run(); this walks a GemmBlock tile by tile
// and picks the instantiation for the rows and columns left at the edges.
#pragma once
#include <algorithm>
#include <array>
#include <utility>

#include "cpp/cpu/gemm_kernels.h"

namespace tinynn::cpu {

// One micro-tile: a points at op(A)(0, 0) of the tile, b at its B panel (row stride b_rs), c at
// C(0, 0) of the tile, bias at the tile's first column (or null); n valid columns.
using MicroKernel = void (*)(const GemmBlock& g, const float* a, const float* b, long b_rs,
                             float* c, const float* bias, int n);

template <template <bool, int, int> class Micro, int Mr, int Vecs>
class TileWalker {
 public:
  static void compute(const GemmBlock& g) {
    const Table& kernels = kTables[g.ta];
    constexpr int nr = Vecs * kVecWidth;
    const int full = g.n / nr, tail_n = g.n % nr;
    // Tiles row-major: the Mr x kc slice of A stays in L1 across the panels of a row of tiles
    // while the B panels stream from L2.
    for (int i0 = 0; i0 < g.m; i0 += Mr) {
      const int rows = std::min(Mr, g.m - i0);
      const float* a = g.a + (g.ta ? i0 : i0 * g.lda);
      float* c = g.c + i0 * g.ldc;
      for (int p = 0; p < full; ++p)
        kernels[Vecs - 1][rows - 1](g, a, g.b + p * g.b_panel_step, g.b_rs, c + p * nr,
                                    g.bias ? g.bias + p * nr : nullptr, nr);
      if (tail_n)
        kernels[(tail_n - 1) / kVecWidth][rows - 1](g, a, g.tail, g.tail_rs, c + full * nr,
                                                    g.bias ? g.bias + full * nr : nullptr, tail_n);
    }
  }

 private:
  static constexpr int kVecWidth = Micro<false, 1, 1>::kVecWidth;
  using Table = std::array<std::array<MicroKernel, Mr>, Vecs>;  // [vectors - 1][rows - 1]

  template <bool TA, int V, int... R>
  static constexpr std::array<MicroKernel, Mr> rows(std::integer_sequence<int, R...>) {
    return {{&Micro<TA, R + 1, V>::run...}};
  }
  template <bool TA, int... V>
  static constexpr Table table(std::integer_sequence<int, V...>) {
    return {{rows<TA, V + 1>(std::make_integer_sequence<int, Mr>{})...}};
  }
  static constexpr Table kTables[2] = {table<false>(std::make_integer_sequence<int, Vecs>{}),
                                       table<true>(std::make_integer_sequence<int, Vecs>{})};
};

}  // namespace tinynn::cpu
