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
#include "tests/kernel-emulation/check.h"

#include <cstring>
#include <string>

namespace {

namespace sl = tinynn::gpu::small_linear;
using emu::DeviceBuffer;
using emu_test::Case;
using emu_test::Compare;
using emu_test::Report;
using emu_test::Rng;
using tinynn::gpu::GemmScratch;

constexpr double kTol = 1e-5;

template <class T>
void upload(DeviceBuffer<T>& d, const std::vector<T>& h) { std::memcpy(d.data(), h.data(), h.size() * sizeof(T)); }
template <class T>
std::vector<T> download(const DeviceBuffer<T>& d) { return std::vector<T>(d.data(), d.data() + d.size()); }

std::string shape(int a, int b, int c) { return std::to_string(a) + "×" + std::to_string(b) + "→" + std::to_string(c); }

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

struct GatherOut {
  std::vector<float> x, h;
  std::vector<int32_t> y;
};

struct GatherProblem {
  int rows = 0, features = 0, out = 0, images = 0;  // images: how many the indices pick from
  bool bias = false, relu = false;
  float scale = 1.f / (255.f * 0.3081f), shift = -0.1307f / 0.3081f;  // MNIST's normalisation
  std::vector<uint8_t> pixels, labels;
  std::vector<int32_t> indices;
  std::vector<float> W, b;
};

GatherOut run_gather(const GatherProblem& p, uint64_t order_seed, Compare& tickets) {
  const int M = p.rows, N = p.out, K = p.features;
  DeviceBuffer<uint8_t> images(p.pixels.size()), labels(p.labels.size());
  DeviceBuffer<int32_t> indices(p.indices.size()), y(M);
  DeviceBuffer<float> W(p.W.size()), bias(p.b.size()), x(static_cast<size_t>(M) * K), h(static_cast<size_t>(M) * N);
  Scratch scratch;
  upload(images, p.pixels);
  upload(labels, p.labels);
  upload(indices, p.indices);
  upload(W, p.W);
  upload(bias, p.b);
  // As launch_gather_linear builds them.
  const sl::Plan plan = sl::gather_linear_plan(M, N, K, images.data(), W.data(), x.data());
  if (!plan.ok) emu::fail("test: gather_linear_plan refuses %d×%d→%d", M, K, N);
  const sl::GatherLinearArgs a{images.data(), labels.data(), indices.data(), W.data(), p.bias ? bias.data() : nullptr,
                               x.data(), y.data(), h.data(), M, N, K, p.scale, p.shift, p.relu, plan.split,
                               scratch.get()};
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
  return {download(x), download(h), download(y)};
}

Case gather_case(int rows, int features, int out, bool bias, bool relu, bool expect_direct, uint64_t seed) {
  Case c;
  c.name = "gather_linear " + shape(rows, features, out) + (bias ? " +bias" : "") + (relu ? " relu" : "");
  emu_test::Timer timer;
  Rng rng(seed);
  GatherProblem p;
  p.rows = rows, p.features = features, p.out = out, p.images = rows + 37, p.bias = bias, p.relu = relu;
  p.pixels.resize(static_cast<size_t>(p.images) * features);
  for (auto& v : p.pixels) v = static_cast<uint8_t>(rng.below(256));
  p.labels.resize(p.images);
  for (auto& v : p.labels) v = static_cast<uint8_t>(rng.below(10));
  p.indices.resize(rows);
  for (auto& v : p.indices) v = static_cast<int32_t>(rng.below(p.images));
  const float wr = 1.f / std::sqrt(static_cast<float>(features));
  p.W.resize(static_cast<size_t>(out) * features);
  for (auto& v : p.W) v = rng.uniform(-wr, wr);
  p.b.resize(out);
  for (auto& v : p.b) v = rng.uniform(-0.5f, 0.5f);

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
      const float pixel = static_cast<float>(p.pixels[static_cast<size_t>(p.indices[m]) * features + k]);
      const float fused = std::fmaf(pixel, p.scale, p.shift), separate = pixel * p.scale + p.shift;
      std::memcmp(&r.x[e], &fused, sizeof fused) == 0 ? x.exact("x", e, r.x[e], fused) : x.exact("x", e, r.x[e], separate);
      same.exact("x (second run)", e, again.x[e], r.x[e]);
    }
  for (int m = 0; m < rows; ++m) {
    y.exact("y", m, int64_t{r.y[m]}, int64_t{p.labels[p.indices[m]]});
    same.exact("y (second run)", m, int64_t{again.y[m]}, int64_t{r.y[m]});
  }
  for (int m = 0; m < rows; ++m)
    for (int n = 0; n < out; ++n) {
      double ref = bias ? p.b[n] : 0.0, mag = bias ? std::fabs(p.b[n]) : 0.0;
      for (int k = 0; k < features; ++k) {
        const double t = static_cast<double>(r.x[static_cast<size_t>(m) * features + k]) * p.W[static_cast<size_t>(n) * features + k];
        ref += t;
        mag += std::fabs(t);
      }
      if (relu && ref < 0) ref = 0;
      const size_t e = static_cast<size_t>(m) * out + n;
      h.near("h", e, r.h[e], ref, mag, kTol);
      same.exact("h (second run)", e, again.h[e], r.h[e]);
    }
  for (const Compare* cmp : {&plan, &x, &y, &h, &same}) Report::fold(c, *cmp);
  c.seconds = timer.seconds();
  return c;
}

// ---- linear_grad_sgd ---------------------------------------------------------------------------

struct Sgd {
  const char* name;
  float lr, momentum, dampening, weight_decay;
  bool nesterov;
};

struct SgdOut {
  std::vector<std::vector<float>> dW, W, buf;  // after each step
};

// Steps as launch_linear_grad_sgd builds them; step s uses dy[s], x[s].
SgdOut run_grad_sgd(int rows, int in, int out, const Sgd& o, int steps, const std::vector<float>& W0,
                    const std::vector<std::vector<float>>& dys, const std::vector<std::vector<float>>& xs,
                    uint64_t order_seed, Compare& tickets) {
  DeviceBuffer<float> dy(static_cast<size_t>(rows) * out), x(static_cast<size_t>(rows) * in);
  DeviceBuffer<float> dW(static_cast<size_t>(out) * in), W(W0.size()), buf(W0.size());  // buf starts NaN
  Scratch scratch;
  upload(W, W0);
  const bool has_buf = o.momentum != 0.f;  // the optimizer has no momentum buffer without momentum
  SgdOut r;
  for (int s = 0; s < steps; ++s) {
    upload(dy, dys[s]);
    upload(x, xs[s]);
    const tinynn::gpu::SgdParams sgd{o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov, s == 0};
    float* Wm = has_buf ? buf.data() : nullptr;
    const sl::Plan plan = sl::linear_grad_sgd_plan(rows, in, out, dy.data(), x.data(), dW.data(), W.data(), Wm);
    if (!plan.ok) emu::fail("test: linear_grad_sgd_plan refuses %d×%d→%d", rows, in, out);
    const sl::GradSgdArgs a{dy.data(), x.data(), dW.data(), W.data(), Wm, out, in, rows, sgd, plan.split, scratch.get()};
    using DirectSmem = sl::GradDirectSmem<sl::kGradTO>;
    launch<sl::GradSgdArgs>(
        plan, order_seed,
        [&](const emu::Launch& l) {
          emulate_launch<DirectSmem>(l, [&](DirectSmem& sm, void*) { sl::linear_grad_sgd_direct_body<sl::kGradTO>(a, sm); });
        },
        [&](sl::SplitSmem& sm) { sl::linear_grad_sgd_body(a, sm); });
    r.dW.push_back(download(dW));
    r.W.push_back(download(W));
    r.buf.push_back(download(buf));
  }
  scratch.check(tickets);
  return r;
}

// PyTorch's SGD step in float, each operation rounded (the CPU backend's order).
float sgd_ref(float p, float g, float buf_old, float* buf_new, const Sgd& o, bool first) {
  if (o.weight_decay != 0.f) g = g + o.weight_decay * p;
  if (o.momentum != 0.f) {
    const float buf = first ? g : o.momentum * buf_old + (1.f - o.dampening) * g;
    *buf_new = buf;
    g = o.nesterov ? g + o.momentum * buf : buf;
  }
  return p - o.lr * g;
}

Case grad_sgd_case(int rows, int in, int out, const Sgd& o, bool expect_direct, uint64_t seed) {
  Case c;
  c.name = std::string("linear_grad_sgd ") + shape(rows, in, out) + " " + o.name;
  emu_test::Timer timer;
  Compare dW, W, B, same, plan;
  {
    DeviceBuffer<float> probe(16);
    const sl::Plan pl = sl::linear_grad_sgd_plan(rows, in, out, probe.data(), probe.data(), probe.data(), probe.data(),
                                                 o.momentum != 0.f ? probe.data() : nullptr);
    c.name += describe(pl);
    plan.exact("direct kernel chosen", 0, int64_t{pl.direct}, int64_t{expect_direct});
  }
  const int steps = o.momentum != 0.f ? 2 : 1;
  if (steps == 2) c.name += ", 2 steps";
  Rng rng(seed);
  std::vector<float> W0(static_cast<size_t>(out) * in);
  for (auto& v : W0) v = rng.uniform(-0.05f, 0.05f);
  std::vector<std::vector<float>> dys(steps), xs(steps);
  for (int s = 0; s < steps; ++s) {
    dys[s].resize(static_cast<size_t>(rows) * out);
    for (auto& v : dys[s]) v = rng.uniform(-1.f, 1.f) / static_cast<float>(rows);  // a mean loss's gradient
    xs[s].resize(static_cast<size_t>(rows) * in);
    for (auto& v : xs[s]) v = rng.uniform(-0.5f, 2.5f);
  }
  const SgdOut r = run_grad_sgd(rows, in, out, o, steps, W0, dys, xs, 0, same);
  const SgdOut again = run_grad_sgd(rows, in, out, o, steps, W0, dys, xs, seed, same);

  const size_t n = W0.size();
  for (int s = 0; s < steps; ++s) {
    const std::vector<float>& w_in = s == 0 ? W0 : r.W[s - 1];
    for (int i = 0; i < out; ++i)
      for (int j = 0; j < in; ++j) {
        const size_t e = static_cast<size_t>(i) * in + j;
        double grad = 0, mgrad = 0;
        for (int k = 0; k < rows; ++k) {
          const double t = static_cast<double>(dys[s][static_cast<size_t>(k) * out + i]) * xs[s][static_cast<size_t>(k) * in + j];
          grad += t;
          mgrad += std::fabs(t);
        }
        dW.near("dW", e, r.dW[s][e], grad, mgrad, kTol);
        float nb = 0;
        const float nw = sgd_ref(w_in[e], r.dW[s][e], s == 0 ? 0.f : r.buf[s - 1][e], &nb, o, s == 0);
        W.exact("W", e, r.W[s][e], nw);
        if (o.momentum != 0.f) B.exact("momentum", e, r.buf[s][e], nb);
        same.exact("dW (second run)", e, again.dW[s][e], r.dW[s][e]);
        same.exact("W (second run)", e, again.W[s][e], r.W[s][e]);
        if (o.momentum != 0.f) same.exact("momentum (second run)", e, again.buf[s][e], r.buf[s][e]);
      }
    if (o.momentum == 0.f)  // no buffer passed: its NaN bytes must be untouched
      for (size_t e = 0; e < n; ++e) {
        uint32_t bits;
        std::memcpy(&bits, &r.buf[s][e], sizeof bits);
        B.exact("momentum buffer (not passed)", e, int64_t{bits}, int64_t{0xFFFFFFFF});
      }
  }
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

  const Sgd plain{"lr 0.1", 0.1f, 0.f, 0.f, 0.f, false};
  const Sgd momentum{"lr 0.05 momentum 0.9", 0.05f, 0.9f, 0.f, 0.f, false};
  const Sgd damped{"lr 0.05 momentum 0.9 dampening 0.1 wd 1e-2", 0.05f, 0.9f, 0.1f, 1e-2f, false};
  const Sgd nesterov{"lr 0.05 nesterov momentum 0.9 wd 1e-3", 0.05f, 0.9f, 0.f, 1e-3f, true};
  // linear_grad_sgd: (rows, in, out, sgd, direct?). Direct: the MNIST layer at batch 64, 32 and
  // 128 (two row chunks), edge tiles and a partial chunk; split-K (in % 4 ≠ 0 or out % 4 ≠ 0):
  // 2 slices over 117 tiles, one slice, 2 slices of one tile.
  report.add(grad_sgd_case(64, 784, 128, momentum, true, ++seed));
  report.add(grad_sgd_case(32, 784, 128, plain, true, ++seed));
  report.add(grad_sgd_case(128, 784, 128, nesterov, true, ++seed));
  report.add(grad_sgd_case(33, 36, 12, damped, true, ++seed));
  report.add(grad_sgd_case(127, 785, 129, damped, false, ++seed));
  report.add(grad_sgd_case(33, 785, 129, plain, false, ++seed));
  report.add(grad_sgd_case(100, 30, 10, nesterov, false, ++seed));
  report.add(grad_sgd_case(128, 9, 3, momentum, false, ++seed));
  return report.print("linear_small_test");
}
