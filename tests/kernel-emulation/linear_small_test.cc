// The first layer's fused GEMM kernels for batches of up to 128 rows (cuda/kernels_linear.cuh: the
// direct kernels the MNIST net runs at batch 64, and the split-K kernels with their ticket + last
// block reduction for shapes the direct ones do not take) run through the CPU emulator with the
// launchers' plans (gather_linear_plan / linear_grad_sgd_plan, as cuda/kernels_linear.cu calls
// them), on seeded random data:
//   gather_linear: x = images[indices]·scale + shift and y = labels[indices] exactly,
//   h = act(x·Wᵀ + b) against float64 (from the kernel's own x);
//   linear_grad_sgd: dW = dyᵀ·x against float64, then W and its momentum buffer exactly,
//   recomputed in float from the kernel's dW with PyTorch's formula in the CPU backend's operation
//   order (no FMA); with momentum a second step reads the buffer the first wrote.
// Outputs start as NaN (0xFF bytes) so an element never written fails, every buffer ends at an
// inaccessible page so an access past its end crashes, the split-K tickets must be back at 0, and
// every case runs twice, the second time with the blocks in another order (so that another slice
// is a tile's last), and must give the same bits.
//
// x: nvcc contracts `pixel·scale + shift` into one FMA in these kernels, g++ with -ffp-contract=off
// does not, so x must equal either fmaf(pixel, scale, shift) (the GPU) or the product and the sum
// rounded each (the emulator); the sums downstream start from the x the kernel wrote.
// Tolerance: |got − ref| ≤ 1e-5 · Σ|terms| (for h: Σ_k|x·w| + |b|). Float32 rounding of a K-term
// sum is bounded by ~K·ε·Σ|terms| and in practice grows like √K·ε·Σ|terms| (~2e-6·Σ|terms| at
// K = 1000): well under 1e-5, while a wrong index, a lost slice or a missing barrier is off by
// whole terms (≥ ~1/K of Σ|terms|). A bound relative to |ref| would fail on sums that cancel.
#include "tests/kernel-emulation/cuda_emulator.h"
// The CUDA code compares threadIdx.x (unsigned) with ints, as nvcc accepts without a word.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#include "cuda/kernels_linear.cuh"
#pragma GCC diagnostic pop
#include "tests/kernel-emulation/linear_problems.h"

#include <cstring>
#include <string>

namespace {

namespace sl = tinynn::gpu::small_linear;
using emu::DeviceBuffer;
using namespace emu_test;
using tinynn::gpu::GemmScratch;

constexpr double kTol = 1e-5;

std::string describe(const sl::Plan& p) {
  return p.direct ? " (direct, " + std::to_string(p.blocks) + " blocks)"
                  : " (split-K, " + std::to_string(p.blocks / static_cast<unsigned>(p.split.slices)) + " tiles × " +
                        std::to_string(p.split.slices) + " slices)";
}

// The split-K scratch: partial tiles (NaN) and tickets (zero between launches).
struct Scratch {
  DeviceBuffer<float> partials{static_cast<size_t>(tinynn::gpu::kGemmMaxSplitBlocks) * tinynn::gpu::kGemmTileFloats};
  DeviceBuffer<unsigned> tickets{tinynn::gpu::kGemmMaxTiles};
  Scratch() {
    for (size_t i = 0; i < tickets.size(); ++i) tickets[i] = 0;
  }
  GemmScratch get() { return {partials.data(), tickets.data()}; }
  void check(Compare& c) const {
    for (size_t i = 0; i < tickets.size(); ++i) c.exact("ticket", i, int64_t{tickets[i]}, 0);
  }
};

// The plan's kernel, as the launcher picks it.
template <class Args, class Direct, class Split>
void launch(const sl::Plan& p, uint64_t order_seed, Direct direct, Split split) {
  emu::Launch l;
  l.grid_blocks = p.blocks, l.block_threads = p.threads, l.cluster_order_seed = order_seed;
  if (p.direct)
    direct(l);
  else
    emulate_launch<sl::SplitSmem>(l, [&](sl::SplitSmem& s, void*) { split(s); });
}

// ---- gather_linear ----------------------------------------------------------------------------

GatherOut run_gather(const GatherProblem& p, uint64_t order_seed, Compare& tickets) {
  const int M = p.rows, N = p.out, K = p.features;
  GatherBuffers d(p);
  Scratch scratch;
  // As launch_gather_linear builds them.
  const sl::Plan plan = sl::gather_linear_plan(M, N, K, d.images.data(), d.W.data(), d.x.data());
  if (!plan.ok) emu::fail("test: gather_linear_plan refuses %d×%d→%d", M, K, N);
  const sl::GatherLinearArgs a{d.images.data(), d.labels.data(), d.indices.data(), d.W.data(),
                               p.bias ? d.b.data() : nullptr, d.x.data(), d.y.data(), d.h.data(), M, N, K, p.scale,
                               p.shift, p.relu, plan.split, scratch.get()};
  using DirectSmem = sl::GatherDirectSmem<sl::kGatherTM, sl::kGatherTN>;
  launch<sl::GatherLinearArgs>(
      plan, order_seed,
      [&](const emu::Launch& l) {
        emulate_launch<DirectSmem>(l, [&](DirectSmem& s, void*) {
          sl::gather_linear_direct_body<sl::kGatherTM, sl::kGatherTN>(a, s);
        });
      },
      [&](sl::SplitSmem& s) { sl::gather_linear_body(a, s); });
  scratch.check(tickets);
  return d.out();
}

Case gather_case(int rows, int features, int out, bool bias, bool relu, bool expect_direct, uint64_t seed) {
  Case c;
  Timer timer;
  const GatherProblem p = gather_problem(rows, features, out, bias, relu, seed);
  c.name = p.name();
  Compare x, y, h, same, plan;
  {  // the plan (with 16-byte aligned buffers, as DeviceBuffer's)
    DeviceBuffer<float> probe(16);
    const sl::Plan pl = sl::gather_linear_plan(rows, out, features, probe.data(), probe.data(), probe.data());
    c.name += describe(pl);
    plan.exact("direct kernel chosen", 0, int64_t{pl.direct}, int64_t{expect_direct});
  }
  const GatherOut r = run_gather(p, 0, same), again = run_gather(p, seed, same);
  for (int m = 0; m < rows; ++m)
    for (int k = 0; k < features; ++k) {
      const size_t e = static_cast<size_t>(m) * features + k;
      const float pixel = p.pixel(m, k);
      const float fused = std::fmaf(pixel, p.scale, p.shift), separate = pixel * p.scale + p.shift;
      std::memcmp(&r.x[e], &fused, sizeof fused) == 0 ? x.exact("x", e, r.x[e], fused) : x.exact("x", e, r.x[e], separate);
    }
  check_gather(p, r.x, r, again, kTol, y, h, same);
  for (const Compare* cmp : {&plan, &x, &y, &h, &same}) Report::fold(c, *cmp);
  c.seconds = timer.seconds();
  return c;
}

// ---- linear_grad_sgd ---------------------------------------------------------------------------

// The steps as launch_linear_grad_sgd builds them.
SgdOut run_grad_sgd(const GradProblem& p, const Sgd& o, uint64_t order_seed, Compare& tickets) {
  Scratch scratch;
  const SgdOut r = run_steps(p, o, [&](const GradStep& st) {
    const sl::Plan plan = sl::linear_grad_sgd_plan(p.rows, p.in, p.out, st.dy, st.x, st.dW, st.W, st.buf);
    if (!plan.ok) emu::fail("test: linear_grad_sgd_plan refuses %d×%d→%d", p.rows, p.in, p.out);
    const sl::GradSgdArgs a{st.dy, st.x, st.dW, st.W, st.buf, p.out, p.in, p.rows, st.sgd, plan.split, scratch.get()};
    using DirectSmem = sl::GradDirectSmem<sl::kGradTO>;
    launch<sl::GradSgdArgs>(
        plan, order_seed,
        [&](const emu::Launch& l) {
          emulate_launch<DirectSmem>(l, [&](DirectSmem& sm, void*) { sl::linear_grad_sgd_direct_body<sl::kGradTO>(a, sm); });
        },
        [&](sl::SplitSmem& sm) { sl::linear_grad_sgd_body(a, sm); });
  });
  scratch.check(tickets);
  return r;
}

Case grad_sgd_case(int rows, int in, int out, const Sgd& o, bool expect_direct, uint64_t seed) {
  Case c;
  Timer timer;
  const int steps = o.momentum != 0.f ? 2 : 1;
  const GradProblem p = grad_problem(rows, in, out, steps, seed);
  c.name = p.name(o);
  Compare dW, W, B, same, plan;
  {
    DeviceBuffer<float> probe(16);
    const sl::Plan pl = sl::linear_grad_sgd_plan(rows, in, out, probe.data(), probe.data(), probe.data(), probe.data(),
                                                 o.momentum != 0.f ? probe.data() : nullptr);
    c.name += describe(pl);
    plan.exact("direct kernel chosen", 0, int64_t{pl.direct}, int64_t{expect_direct});
  }
  if (steps == 2) c.name += ", 2 steps";
  const SgdOut r = run_grad_sgd(p, o, 0, same), again = run_grad_sgd(p, o, seed, same);

  for (int s = 0; s < steps; ++s) {
    const std::vector<float>& w_in = s == 0 ? p.W0 : r.W[s - 1];
    for (int i = 0; i < out; ++i)
      for (int j = 0; j < in; ++j) {
        const size_t e = static_cast<size_t>(i) * in + j;
        dW.near("dW", e, r.dW[s][e], p.dW(s, i, j), kTol);
        float nb = 0;
        const float nw = sgd_ref(w_in[e], r.dW[s][e], s == 0 ? 0.f : r.buf[s - 1][e], &nb, o, s == 0);
        W.exact("W", e, r.W[s][e], nw);
        if (o.momentum != 0.f) B.exact("momentum", e, r.buf[s][e], nb);
      }
  }
  check_steps(r, again, o, B, same);
  for (const Compare* cmp : {&plan, &dW, &W, &B, &same}) Report::fold(c, *cmp);
  c.seconds = timer.seconds();
  return c;
}

}  // namespace

int main() {
  Report report;
  uint64_t seed = 500;
  // gather_linear: (rows, features, out, bias, relu, direct?). The MNIST layer at batch 64 and
  // its 60000 % 64 = 32-row tail, the largest direct batch, edge tiles; then the split-K kernel
  // (features % 4 ≠ 0): 13 slices, the 16-slice maximum, one slice.
  report.add(gather_case(64, 784, 128, true, true, true, ++seed));
  report.add(gather_case(32, 784, 128, true, true, true, ++seed));
  report.add(gather_case(128, 784, 128, false, false, true, ++seed));
  report.add(gather_case(33, 784, 10, true, false, true, ++seed));
  report.add(gather_case(33, 785, 129, true, true, false, ++seed));
  report.add(gather_case(128, 1001, 20, false, true, false, ++seed));
  report.add(gather_case(100, 30, 70, true, false, false, ++seed));

  // linear_grad_sgd: (rows, in, out, sgd, direct?). Direct: the MNIST layer at batch 64, 32 and
  // 128 (two row chunks), edge tiles and a partial chunk; split-K (in % 4 ≠ 0 or out % 4 ≠ 0):
  // 2 slices over 117 tiles, one slice, 2 slices of one tile.
  report.add(grad_sgd_case(64, 784, 128, kMomentum, true, ++seed));
  report.add(grad_sgd_case(32, 784, 128, kPlain, true, ++seed));
  report.add(grad_sgd_case(128, 784, 128, kNesterov, true, ++seed));
  report.add(grad_sgd_case(33, 36, 12, kDamped, true, ++seed));
  report.add(grad_sgd_case(127, 785, 129, kDamped, false, ++seed));
  report.add(grad_sgd_case(33, 785, 129, kPlain, false, ++seed));
  report.add(grad_sgd_case(100, 30, 10, kNesterov, false, ++seed));
  report.add(grad_sgd_case(128, 9, 3, kMomentum, false, ++seed));
  return report.print("linear_small_test");
}
