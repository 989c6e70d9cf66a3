// The reducing primitive kernels through the CPU emulator, with their launchers' paths and grids:
//   - reduce (cuda/kernels_reduce.cuh), Sum, Mean, Max and Min along the last axis (inner == 1:
//     a warp per row; rows longer than kLongRow a block each), a middle axis and the first axis
//     (inner > 1: the column kernel), with and without accumulate, empty axes (len 0), NaN and
//     ±inf, and grids smaller than the outputs (the row and column kernels' strides, which only
//     65535+ blocks' worth of outputs reach on the launcher's grids);
//   - argmax (same header), rows and columns, ties, several NaNs, all −inf, len 0 and 1;
//   - mse (cuda/kernels_mse.cuh): one block; several blocks, whose last (a ticket) adds the
//     blocks' sums; more than 32 blocks (a lane adding several); a grid stride; dpred in place of
//     pred, or not asked for; n = 0 (NaN). Each runs twice on the same scratch, the second time
//     with the blocks in another order (another block is last): the ticket must be back at 0
//     after each, and the results the same bits;
//   - softmax and log-softmax rows (cuda/kernels_softmax.cuh): 1, 10, 33 and 100 columns, rows of
//     ±inf, NaN (first or later) and huge values, in place, and a grid stride.
// References: each reduce output bit for bit against the kernel's documented order of operations
// (lane / thread / warp / row-group partials in k order, then the fixed trees), computed here in
// float, and against float64: Sum and Mean within 1e-5·Σ|x| (float rounding of a sum of len terms
// grows like √len·ε·Σ|x|; a lost or doubled element is off by ~Σ|x|/len), Max and Min exactly
// (either zero of ±0). argmax exactly against the CPU backend's scan. mse's loss bit for bit
// against its documented double-precision order and within 1e-6 of float64, its gradient bit for
// bit against 2·(pred − target)/n (the kernel's rounding: the CPU backend's (2/n)·d rounds twice).
// Softmax against float64 (the CPU backend sums the exponentials in double) within 1e-5 of |p|
// (log-softmax: of |x − max| + |log Σ| + 1); where the float64 formula gives NaN or ±inf, the
// kernel must too.
#include "tests/kernel-emulation/cuda_emulator.h"
#include "cuda/kernels_mse.cuh"
#include "cuda/kernels_reduce.cuh"
#include "cuda/kernels_softmax.cuh"
#include "tests/kernel-emulation/check.h"
#include "tests/kernel-emulation/primitives.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>

namespace {

namespace gpu = tinynn::gpu;
namespace rd = tinynn::gpu::reduce;
using emu::DeviceBuffer;
using namespace emu_test;
using tinynn::ReduceOp;

constexpr double kSumTol = 1e-5;

// ---- reduce -----------------------------------------------------------------------------------

const char* reduce_name(ReduceOp op) {
  static const char* const names[] = {"sum", "mean", "max", "min"};
  return names[static_cast<int>(op)];
}

template <class F>
void with_reduce(ReduceOp op, F f) {
  switch (op) {
    case ReduceOp::Sum: return f(std::integral_constant<ReduceOp, ReduceOp::Sum>{});
    case ReduceOp::Mean: return f(std::integral_constant<ReduceOp, ReduceOp::Mean>{});
    case ReduceOp::Max: return f(std::integral_constant<ReduceOp, ReduceOp::Max>{});
    case ReduceOp::Min: return f(std::integral_constant<ReduceOp, ReduceOp::Min>{});
  }
}

// The documented combination (kernels_reduce.cuh): Max / Min keep a NaN accumulator, else take
// the larger / smaller, else v; Sum and Mean add.
float combine(ReduceOp op, float acc, float v) {
  switch (op) {
    case ReduceOp::Max: return acc > v || std::isnan(acc) ? acc : v;
    case ReduceOp::Min: return acc < v || std::isnan(acc) ? acc : v;
    default: return acc + v;
  }
}
float identity(ReduceOp op) { return op == ReduceOp::Max ? -INFINITY : op == ReduceOp::Min ? INFINITY : 0.f; }

// `threads` partials, partial t combining x(k) for k = t, t + threads, ... in k order.
template <class X>
std::vector<float> strided_partials(ReduceOp op, int64_t len, int threads, X x) {
  std::vector<float> p(threads, identity(op));
  for (int t = 0; t < threads; ++t)
    for (int64_t k = t; k < len; k += threads) p[t] = combine(op, p[t], x(k));
  return p;
}

// warp_combine's butterfly over 32 lanes (each lane's own value first); lane 0's result.
float butterfly(ReduceOp op, const float* lanes) {
  float v[32], w[32];
  std::copy(lanes, lanes + 32, v);
  for (int off = 16; off > 0; off >>= 1) {
    for (int l = 0; l < 32; ++l) w[l] = combine(op, v[l], v[l ^ off]);
    std::copy(w, w + 32, v);
  }
  return v[0];
}

// What the kernel on `path` stores for one output, in its order of operations.
template <class X>
float documented(ReduceOp op, rd::ReducePath path, int64_t len, X x, float out0, bool accumulate) {
  float value;
  if (path == rd::ReducePath::Rows) {
    value = butterfly(op, strided_partials(op, len, 32, x).data());
  } else if (path == rd::ReducePath::LongRows) {
    const std::vector<float> t = strided_partials(op, len, rd::kLongRowThreads, x);
    value = butterfly(op, &t[0]);
    for (int w = 1; w < rd::kLongRowWarps; ++w) value = combine(op, value, butterfly(op, &t[32 * w]));
  } else {
    const std::vector<float> g = strided_partials(op, len, rd::kRowGroups, x);
    value = g[0];
    for (int i = 1; i < rd::kRowGroups; ++i) value = combine(op, value, g[i]);
  }
  if (op == ReduceOp::Mean) value = value / static_cast<float>(len);
  return accumulate ? out0 + value : value;
}

const char* path_name(rd::ReducePath p) {
  return p == rd::ReducePath::Rows ? "warp rows" : p == rd::ReducePath::LongRows ? "block rows" : "columns";
}

struct ReduceShape {
  const char* axis;
  int64_t outer, len, inner;
  unsigned small_grid;  // 0: the launcher's grid; else this many blocks (in y for columns): a stride
};

// out [outer, inner] = op over k of x [outer, len, inner], as launch_reduce runs it.
void run_reduce(ReduceOp op, const float* x, float* out, const ReduceShape& s, bool accumulate) {
  const rd::ReducePath path = rd::reduce_path(s.len, s.inner);
  with_reduce(op, [&](auto o) {
    constexpr ReduceOp OP = decltype(o)::value;
    switch (path) {
      case rd::ReducePath::Columns:
        launch_2d<rd::ColumnsSmem>(rd::column_blocks(s.inner), s.small_grid ? s.small_grid : rd::capped(s.outer),
                                   rd::kCols, rd::kRowGroups, 0, [&](rd::ColumnsSmem& sm) {
                                     rd::reduce_columns_body<OP>(x, out, s.outer, s.len, s.inner, accumulate, sm);
                                   });
        break;
      case rd::ReducePath::LongRows:
        launch_1d<rd::LongRowsSmem>(s.small_grid ? s.small_grid : rd::capped(s.outer), rd::kLongRowThreads, 0,
                                    [&](rd::LongRowsSmem& sm) {
                                      rd::reduce_long_rows_body<OP>(x, out, s.outer, s.len, accumulate, sm);
                                    });
        break;
      case rd::ReducePath::Rows:
        launch_1d<NoSmem>(s.small_grid ? s.small_grid : rd::row_blocks(s.outer), rd::kRowWarps * 32, 0,
                          [&](NoSmem&) { rd::reduce_rows_body<OP>(x, out, s.outer, s.len, accumulate); });
        break;
    }
  });
}

const ReduceShape kReduceShapes[] = {
    {"last axis", 13, 100, 1, 0},       // 2 blocks, the second with 3 of its 8 warps idle
    {"last axis", 9, 31, 1, 0},         // fewer elements than lanes
    {"last axis", 6, 1, 1, 0},
    {"last axis", 3, 0, 1, 0},          // empty: Sum 0, Mean NaN, Max −inf, Min +inf
    {"last axis", 2, 4096, 1, 0},       // kLongRow: still a warp per row
    {"last axis", 20, 70, 1, 1},        // one block: warps take rows w, w + 8, w + 16
    {"last axis", 3, 4097, 1, 0},       // a block per row
    {"last axis", 3, 9000, 1, 1},       // one block for the three rows
    {"middle axis", 3, 37, 50, 0},      // 2 × 3 blocks, the second column block 18 wide
    {"middle axis", 4, 100, 33, 0},
    {"middle axis", 5, 3, 2, 0},        // 30 of each block's 32 columns idle
    {"middle axis", 5, 20, 40, 2},      // 2 blocks in y: outer indices y, y + 2, ...
    {"first axis", 1, 64, 128, 0},      // a bias gradient: Σ over 64 rows of 128 columns
    {"first axis", 1, 0, 40, 0},        // empty
    {"first axis", 1, 1, 70, 0},
};

Case reduce_case(ReduceOp op, uint64_t seed) {
  Case cs;
  Timer timer;
  Rng rng(seed);
  Compare exact, ref;
  const bool is_sum = op == ReduceOp::Sum || op == ReduceOp::Mean;
  int paths[3] = {0, 0, 0};
  for (const ReduceShape& s : kReduceShapes) {
    const rd::ReducePath path = rd::reduce_path(s.len, s.inner);
    ++paths[static_cast<int>(path)];
    const size_t nx = static_cast<size_t>(s.outer * s.len * s.inner), nout = static_cast<size_t>(s.outer * s.inner);
    std::vector<float> x(nx), out0(nout);
    for (auto& v : x) v = rng.uniform(-1.f, 1.f);
    for (auto& v : out0) v = rng.uniform(-1.f, 1.f);
    // Specials, in the lines of the second, third and last outputs: a NaN; only zeros, of both
    // signs (which Max / Min keep depends on the order: the documented one); +inf (and −inf for
    // Max / Min).
    auto at = [&](int64_t o, int64_t k, int64_t i) -> float& { return x[static_cast<size_t>((o * s.len + k) * s.inner + i)]; };
    if (s.len >= 3 && nout >= 4) {
      const int64_t o1 = 1 / s.inner, i1 = 1 % s.inner, o2 = 2 / s.inner, i2 = 2 % s.inner;
      const int64_t ol = (s.outer * s.inner - 1) / s.inner, il = (s.outer * s.inner - 1) % s.inner;
      at(o1, s.len / 2, i1) = NAN;
      for (int64_t k = 0; k < s.len; ++k) at(o2, k, i2) = k % 3 == 1 ? -0.f : 0.f;
      at(ol, 1, il) = INFINITY;
      if (!is_sum) at(ol, s.len - 1, il) = -INFINITY;
    }
    for (int acc = 0; acc < 2; ++acc) {
      const bool accumulate = acc == 1;
      DeviceBuffer<float> dx(nx), dout(nout);
      upload(dx, x);
      if (accumulate) upload(dout, out0);
      run_reduce(op, dx.data(), dout.data(), s, accumulate);
      const std::vector<float> got = download(dout);
      char what[160];
      std::snprintf(what, sizeof what, "%s [%lld, %lld, %lld] %s%s%s", s.axis, static_cast<long long>(s.outer),
                    static_cast<long long>(s.len), static_cast<long long>(s.inner), path_name(path),
                    s.small_grid ? " (small grid)" : "", accumulate ? " accumulate" : "");
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t i = 0; i < s.inner; ++i) {
          const size_t e = static_cast<size_t>(o * s.inner + i);
          auto xk = [&](int64_t k) { return at(o, k, i); };
          exact.same(what, e, got[e], documented(op, path, s.len, xk, out0[e], accumulate));
          // float64: the sum and its scale, or the extreme (NaN if any).
          Reference r;
          bool nan = false;
          double ext = identity(op);
          for (int64_t k = 0; k < s.len; ++k) {
            const double v = xk(k);
            nan = nan || std::isnan(v);
            r.add(v);
            ext = op == ReduceOp::Max ? std::fmax(ext, v) : std::fmin(ext, v);
          }
          if (is_sum) {
            double value = r.value, scale = r.scale;
            if (op == ReduceOp::Mean) value /= static_cast<double>(s.len), scale /= static_cast<double>(s.len);
            if (accumulate) value += out0[e], scale += std::fabs(out0[e]);
            if (nan || std::isnan(value)) ref.same(what, e, got[e], NAN);
            else if (std::isinf(value)) ref.same(what, e, got[e], static_cast<float>(value));
            else ref.near(what, e, got[e], value, scale, kSumTol);
          } else {
            const float m = nan ? NAN : static_cast<float>(ext);
            ref.same(what, e, got[e], accumulate ? out0[e] + m : m, true);
          }
        }
    }
  }
  cs.name = std::string("reduce ") + reduce_name(op) + ": " + std::to_string(std::size(kReduceShapes)) +
            " shapes (" + std::to_string(paths[2]) + " warp-row, " + std::to_string(paths[1]) + " block-row, " +
            std::to_string(paths[0]) + " column), accumulate or not, len 0, NaN, ±inf, ±0, small grids";
  Report::fold(cs, exact);
  Report::fold(cs, ref);
  cs.seconds = timer.seconds();
  return cs;
}

// ---- argmax -----------------------------------------------------------------------------------

Case argmax_case(uint64_t seed) {
  Case cs;
  Timer timer;
  Rng rng(seed);
  Compare c;
  const ReduceShape shapes[] = {
      {"rows", 21, 10, 1, 0}, {"rows", 9, 100, 1, 0}, {"rows", 5, 1, 1, 0}, {"rows", 4, 0, 1, 0},
      {"rows", 20, 40, 1, 1},  // one block: warps take several rows
      {"columns", 3, 7, 50, 0}, {"columns", 1, 64, 300, 0}, {"columns", 2, 0, 5, 0},
      {"columns", 4, 9, 100, 1},  // one block of 256 threads for 400 outputs
  };
  for (const ReduceShape& s : shapes) {
    const bool rows = s.inner == 1;
    const size_t nx = static_cast<size_t>(s.outer * s.len * s.inner), nout = static_cast<size_t>(s.outer * s.inner);
    std::vector<float> x(nx);
    for (auto& v : x) v = std::round(rng.uniform(-4.f, 4.f));  // ties
    auto at = [&](int64_t line, int64_t k) -> float& {
      const int64_t o = line / s.inner, i = line % s.inner;
      return x[static_cast<size_t>((o * s.len + k) * s.inner + i)];
    };
    if (s.len >= 6 && nout >= 4) {
      at(0, s.len - 2) = NAN, at(0, 3) = NAN;                       // the first NaN wins
      for (int64_t k = 0; k < s.len; ++k) at(1, k) = -INFINITY;     // all −inf: index 0
      at(2, s.len - 1) = INFINITY;                                   // the last
      for (int64_t k = 0; k < s.len; ++k) at(3, k) = 1.f;           // all tied: index 0
      at(3, 0) = NAN;                                                 // a NaN first
    }
    DeviceBuffer<int32_t> out(nout);
    DeviceBuffer<float> dx(nx);
    upload(dx, x);
    if (rows)
      launch_1d<NoSmem>(s.small_grid ? s.small_grid : rd::row_blocks(s.outer), rd::kRowWarps * 32, 0,
                        [&](NoSmem&) { rd::argmax_rows_body(dx.data(), out.data(), s.outer, s.len); });
    else
      launch_1d<NoSmem>(s.small_grid ? s.small_grid : rd::argmax_column_blocks(s.outer, s.inner),
                        rd::kArgmaxColumnThreads, 0,
                        [&](NoSmem&) { rd::argmax_columns_body(dx.data(), out.data(), s.outer, s.len, s.inner); });
    const std::vector<int32_t> got = download(out);
    char what[120];
    std::snprintf(what, sizeof what, "%s [%lld, %lld, %lld]%s", s.axis, static_cast<long long>(s.outer),
                  static_cast<long long>(s.len), static_cast<long long>(s.inner), s.small_grid ? " (small grid)" : "");
    for (size_t line = 0; line < nout; ++line) {
      // cpp/cpu/cpu_reductions.cc's scan: the first NaN, else the first largest.
      int64_t best = 0;
      for (int64_t k = 1; k < s.len; ++k) {
        const float v = at(static_cast<int64_t>(line), k), b = at(static_cast<int64_t>(line), best);
        if (b != b) break;
        if (v > b || v != v) best = k;
      }
      c.exact(what, line, int64_t{got[line]}, best);
    }
  }
  cs.name = "argmax: rows (a warp each) and columns (a thread each), ties, NaNs, all −inf, +inf last, len 0 and 1, "
            "small grids";
  Report::fold(cs, c);
  cs.seconds = timer.seconds();
  return cs;
}

// ---- mse --------------------------------------------------------------------------------------

// warp_sum's tree over 32 lanes (shfl_down: a lane past the end reads its own value); lane 0's.
double warp_sum(const double* lanes) {
  double v[32], w[32];
  std::copy(lanes, lanes + 32, v);
  for (int off = 16; off > 0; off >>= 1) {
    for (int l = 0; l < 32; ++l) w[l] = v[l] + (l + off < 32 ? v[l + off] : v[l]);
    std::copy(w, w + 32, v);
  }
  return v[0];
}

// The loss as mse_body sums it on `blocks` blocks: each thread's squares in index order, its
// warp's tree, the block's warps in order, then (several blocks) lane l of the last block's warp 0
// adding blocks l, l + 32, ... and that warp's tree.
float mse_documented(const std::vector<float>& pred, const std::vector<float>& target, unsigned blocks) {
  const size_t n = pred.size(), T = static_cast<size_t>(blocks) * gpu::mse::kMseThreads;
  std::vector<double> block_sum(blocks);
  for (unsigned b = 0; b < blocks; ++b) {
    double s = 0;
    for (int w = 0; w < gpu::mse::kMseWarps; ++w) {
      double lanes[32];
      for (int l = 0; l < 32; ++l) {
        lanes[l] = 0;
        for (size_t i = static_cast<size_t>(b) * gpu::mse::kMseThreads + 32 * w + l; i < n; i += T) {
          const float d = pred[i] - target[i];
          lanes[l] += static_cast<double>(d) * d;
        }
      }
      s += warp_sum(lanes);
    }
    block_sum[b] = s;
  }
  double total = block_sum[0];
  if (blocks > 1) {
    double lanes[32] = {};
    for (unsigned b = 0; b < blocks; ++b) lanes[b % 32] += block_sum[b];
    total = warp_sum(lanes);
  }
  return static_cast<float>(total / static_cast<double>(n));
}

struct MseConfig {
  size_t n;
  unsigned blocks;  // 0: the launcher's mse_blocks(n)
  bool dpred, in_place;
};

Case mse_case(const MseConfig& m, uint64_t seed) {
  Case cs;
  Timer timer;
  Rng rng(seed);
  Compare c, same;
  const size_t n = m.n;
  const unsigned blocks = m.blocks ? m.blocks : gpu::mse::mse_blocks(n);
  std::vector<float> pred(n), target(n);
  for (auto& v : pred) v = rng.uniform(-2.f, 2.f);
  for (auto& v : target) v = rng.uniform(-2.f, 2.f);
  DeviceBuffer<double> loss_partials(gpu::kLossMaxBlocks);
  DeviceBuffer<int32_t> hit_partials(gpu::kLossMaxBlocks);
  DeviceBuffer<unsigned> ticket(1);
  ticket[0] = 0;
  const gpu::LossScratch scratch{loss_partials.data(), hit_partials.data(), ticket.data()};
  float losses[2];
  std::vector<float> dpreds[2];
  for (int run = 0; run < 2; ++run) {
    DeviceBuffer<float> dp(n), dt(n), dd(n), loss(1);  // loss and dd start as NaN
    upload(dp, pred), upload(dt, target);
    float* dpred = m.dpred ? (m.in_place ? dp.data() : dd.data()) : nullptr;
    launch_1d<gpu::mse::MseSmem>(blocks, gpu::mse::kMseThreads, run == 0 ? 0 : seed, [&](gpu::mse::MseSmem& s) {
      gpu::mse::mse_body(dp.data(), dt.data(), n, loss.data(), dpred, scratch, s);
    });
    c.exact(run ? "ticket after the second run" : "ticket", 0, int64_t{ticket[0]}, 0);
    losses[run] = loss[0];
    dpreds[run] = m.in_place ? download(dp) : download(dd);
    if (!m.dpred) untouched(c, "dpred (not asked for)", dpreds[run]);
  }
  // float64, and the documented order bit for bit.
  Reference r;
  for (size_t i = 0; i < n; ++i) {
    const float d = pred[i] - target[i];
    r.add(static_cast<double>(d) * d);
  }
  if (n == 0) {
    c.same("loss", 0, losses[0], NAN);
  } else {
    c.near("loss", 0, losses[0], r.value / static_cast<double>(n), r.scale / static_cast<double>(n), 1e-6);
    c.same("loss (documented order)", 0, losses[0], mse_documented(pred, target, blocks));
  }
  if (m.dpred)
    for (size_t i = 0; i < n; ++i) c.same("dpred", i, dpreds[0][i], 2.f * (pred[i] - target[i]) / static_cast<float>(n));
  same.same("loss (second run, blocks in another order)", 0, losses[1], losses[0]);
  same_bits(same, "dpred", dpreds[0], dpreds[1]);
  cs.name = "mse n " + std::to_string(n) + ": " + std::to_string(blocks) + (blocks == 1 ? " block" : " blocks") +
            (m.blocks ? " (grid stride)" : "") + (!m.dpred ? ", no dpred" : m.in_place ? ", dpred in place of pred" : "") +
            ", twice";
  Report::fold(cs, c);
  Report::fold(cs, same);
  cs.seconds = timer.seconds();
  return cs;
}

// ---- softmax / log-softmax --------------------------------------------------------------------

Case softmax_case(bool log, uint64_t seed) {
  Case cs;
  Timer timer;
  Rng rng(seed);
  Compare c, same;
  struct S {
    int rows, cols;
    unsigned small_grid;
  };
  const S shapes[] = {{19, 10, 0}, {9, 1, 0}, {17, 33, 0}, {7, 100, 0}, {27, 12, 1}};
  for (const S& s : shapes) {
    const size_t n = static_cast<size_t>(s.rows) * s.cols;
    std::vector<float> x(n);
    for (auto& v : x) v = rng.uniform(-10.f, 10.f);
    auto row = [&](int r) { return &x[static_cast<size_t>(r) * s.cols]; };
    if (s.rows >= 7 && s.cols >= 3) {
      row(0)[1] = -INFINITY;                                             // finite, that entry 0 / −inf
      for (int k = 0; k < s.cols; ++k) row(1)[k] = -INFINITY;           // NaN
      row(2)[s.cols - 1] = INFINITY;                                     // NaN
      row(3)[0] = NAN;                                                   // NaN (the max is NaN)
      row(4)[s.cols / 2] = NAN;                                          // NaN
      for (int k = 0; k < s.cols; ++k) row(5)[k] = 1e30f + 1e24f * k;    // huge: stable through the max
      row(6)[0] = row(6)[s.cols - 1] = 12.f;                             // the max twice
    }
    const unsigned blocks = s.small_grid ? s.small_grid : gpu::softmax::row_blocks(s.rows, gpu::softmax::kMaxRowBlocks);
    std::vector<float> outs[2];
    for (int in_place = 0; in_place < 2; ++in_place) {
      DeviceBuffer<float> dx(n), dout(n);
      upload(dx, x);
      float* out = in_place ? dx.data() : dout.data();
      launch_1d<NoSmem>(blocks, gpu::softmax::kWarps * 32, 0, [&](NoSmem&) {
        if (log)
          gpu::softmax::softmax_body<true>(dx.data(), s.rows, s.cols, out);
        else
          gpu::softmax::softmax_body<false>(dx.data(), s.rows, s.cols, out);
      });
      outs[in_place] = in_place ? download(dx) : download(dout);
    }
    char what[80];
    std::snprintf(what, sizeof what, "%d×%d%s", s.rows, s.cols, s.small_grid ? " (small grid)" : "");
    for (int r = 0; r < s.rows; ++r) {
      // The CPU backend's formula: x − max in float, the exponentials summed in double.
      const float* in = row(r);
      const float mx = *std::max_element(in, in + s.cols);
      double sum = 0;
      for (int k = 0; k < s.cols; ++k) sum += std::exp(static_cast<double>(in[k] - mx));
      for (int k = 0; k < s.cols; ++k) {
        const size_t e = static_cast<size_t>(r) * s.cols + k;
        const double d = in[k] - mx;
        const double want = log ? d - std::log(sum) : std::exp(d) / sum;
        const double scale = log ? std::fabs(d) + std::fabs(std::log(sum)) + 1 : std::fabs(want);
        c.near_or_special(what, e, outs[0][e], static_cast<float>(want), want, scale, kSumTol);
      }
    }
    same_bits(same, std::string(what) + " in place", outs[0], outs[1]);
  }
  cs.name = std::string(log ? "log_softmax" : "softmax") +
            ": rows of 1, 10, 12, 33 and 100 columns, ±inf, NaN, huge values, a tied max, in place, a small grid";
  Report::fold(cs, c);
  Report::fold(cs, same);
  cs.seconds = timer.seconds();
  return cs;
}

}  // namespace

int main() {
  Report report;
  uint64_t seed = 900;
  for (int op = 0; op <= static_cast<int>(ReduceOp::Min); ++op) report.add(reduce_case(static_cast<ReduceOp>(op), ++seed));
  report.add(argmax_case(++seed));
  const MseConfig mses[] = {
      {0, 0, true, false},                 // one block, NaN
      {200, 0, true, false},               // one block: no ticket
      {256 * 5 + 17, 0, true, false},      // 6 blocks: the last one adds them
      {256 * 5 + 17, 0, true, true},       // dpred in place of pred
      {70 * 256, 0, false, false},         // 70 blocks: lanes add 2 or 3 partials each
      {31000, 40, true, false},            // 40 blocks, each thread ~3 elements
  };
  for (const MseConfig& m : mses) report.add(mse_case(m, ++seed));
  report.add(softmax_case(false, ++seed));
  report.add(softmax_case(true, ++seed));
  return report.print("reductions_test");
}
