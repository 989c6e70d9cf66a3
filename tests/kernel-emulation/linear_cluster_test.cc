// The cluster split-K kernels of cuda/kernels_linear_cluster.cuh run through the CPU emulator with
// the launchers' geometry (geometry() as cuda/kernels_linear_cluster.cu calls it), on seeded random
// data, against float64 references:
//   gather_linear_cluster_body: x and y exactly, h = act(x·Wᵀ + b);
//   linear_grad_sgd_cluster_body: dW = dyᵀ·x and three SGD steps of W and its momentum buffer
//   (PyTorch's torch.optim.SGD), for several settings.
// Outputs start as NaN (0xFF bytes) so an element never written fails, every buffer ends at an
// inaccessible page so an access past its end crashes, and every gather case and one SGD setting
// per shape run twice and must give the same bits (the kernels promise a reduction order fixed by
// the shapes). The emulator costs ~1.5 ms per barrier phase of a 1024-thread cluster (context
// switches), so the large shapes get two SGD settings each and the others all four.
//
// Tolerance: |got − ref| ≤ 1e-5 · Σ|terms|, Σ|terms| being the reference computed on absolute
// values (for h: Σ_k|x·w| + |b|; for the SGD step the magnitudes carried through the update).
// Float32 rounding of a K-term sum is bounded by ~K·ε·Σ|terms| and in practice grows like
// √K·ε·Σ|terms| (~2e-6·Σ|terms| at K = 1024): well under 1e-5, while a wrong index, a lost slice
// or a missing barrier is off by whole terms (≥ ~1/K of Σ|terms|). A relative bound on |ref| alone
// would fail on sums that cancel to near zero.
#include "tests/kernel-emulation/cuda_emulator.h"
#include "cuda/kernels_linear_cluster.cuh"
#include "tests/kernel-emulation/linear_problems.h"

#include <cstring>
#include <string>

namespace {

namespace cl = tinynn::gpu::cluster_linear;
using namespace emu_test;

constexpr double kTol = 1e-5;

std::string describe(const cl::Geometry& g) {
  return " (" + std::to_string(g.blocks / g.slices) + " clusters of " + std::to_string(g.slices) + ")";
}

// ---- gather_linear ----------------------------------------------------------------------------

// As launch_gather_linear_cluster builds it; without `clusters` each block is a cluster of one.
GatherOut run_gather(const GatherProblem& p, bool clusters = true) {
  GatherBuffers d(p);
  const cl::GatherLinearArgs a{d.images.data(), d.labels.data(), d.indices.data(), d.W.data(),
                               p.bias ? d.b.data() : nullptr, d.x.data(), d.y.data(), d.h.data(), p.rows, p.out,
                               p.features, p.scale, p.shift, p.relu, cl::geometry(p.rows, p.out, p.features, 4)};
  emulate_launch<cl::GatherLinearSmem>(a.g.blocks, cl::kThreads, clusters ? static_cast<unsigned>(a.g.slices) : 1,
                                       [&](cl::GatherLinearSmem& s) {
                                         cl::gather_linear_cluster_body(a, s, cooperative_groups::this_cluster());
                                       });
  return d.out();
}

Case gather_case(int rows, int features, int out, bool bias, bool relu, uint64_t seed) {
  Case c;
  Timer timer;
  const GatherProblem p = gather_problem(rows, features, out, bias, relu, seed);
  c.name = p.name() + describe(cl::geometry(rows, out, features, 4));
  const GatherOut r = run_gather(p), again = run_gather(p);
  Compare x, y, h, same;
  std::vector<float> xref(r.x.size());
  for (int m = 0; m < rows; ++m)
    for (int k = 0; k < features; ++k) {
      const size_t e = static_cast<size_t>(m) * features + k;
      // The kernel's stated value: fmaf(pixel, scale, shift), as nvcc contracts it in the other
      // CUDA gather kernels.
      xref[e] = std::fmaf(p.pixel(m, k), p.scale, p.shift);
      x.exact("x", e, r.x[e], xref[e]);
    }
  check_gather(p, xref, r, again, kTol, y, h, same);
  for (const Compare* cmp : {&x, &y, &h, &same}) Report::fold(c, *cmp);
  c.seconds = timer.seconds();
  return c;
}

// ---- linear_grad_sgd ---------------------------------------------------------------------------

constexpr int kSteps = 3;

// The steps as launch_linear_grad_sgd_cluster builds them.
SgdOut run_grad_sgd(const GradProblem& p, const Sgd& o) {
  return run_steps(p, o, [&](const GradStep& st) {
    const cl::GradSgdClusterArgs a{st.dy, st.x, st.dW, st.W, st.buf, p.out, p.in, p.rows, st.sgd,
                                   cl::geometry(p.out, p.in, p.rows, 1)};
    emulate_launch<cl::GradSgdSmem>(a.g.blocks, cl::kThreads, static_cast<unsigned>(a.g.slices),
                                    [&](cl::GradSgdSmem& sm) {
                                      cl::linear_grad_sgd_cluster_body(a, sm, cooperative_groups::this_cluster());
                                    });
  });
}

Case grad_sgd_case(int rows, int in, int out, const Sgd& o, bool twice, uint64_t seed) {
  Case c;
  Timer timer;
  const GradProblem p = grad_problem(rows, in, out, kSteps, seed);
  c.name = p.name(o) + describe(cl::geometry(out, in, rows, 1));
  const SgdOut r = run_grad_sgd(p, o);
  const SgdOut again = twice ? run_grad_sgd(p, o) : r;
  if (twice) c.name += ", run twice";

  // PyTorch's SGD in double from the float64 dW, each value with its magnitude.
  std::vector<SgdRef64> ref(p.W0.size());
  for (size_t e = 0; e < ref.size(); ++e) ref[e].w = {p.W0[e], std::fabs(p.W0[e])};
  Compare dW, W, B, same;
  for (int s = 0; s < kSteps; ++s)
    for (int i = 0; i < out; ++i)
      for (int j = 0; j < in; ++j) {
        const size_t e = static_cast<size_t>(i) * in + j;
        const Reference grad = p.dW(s, i, j);
        dW.near("dW", e, r.dW[s][e], grad, kTol);
        ref[e].step(o, grad, s == 0);
        if (o.momentum != 0.f) B.near("momentum", e, r.buf[s][e], ref[e].buf, kTol);
        W.near("W", e, r.W[s][e], ref[e].w, kTol);
      }
  check_steps(r, again, o, B, same);
  for (const Compare* cmp : {&dW, &W, &B, &same}) Report::fold(c, *cmp);
  c.seconds = timer.seconds();
  return c;
}

// The bodies depend on the launch: run with clusters of 1 block instead of geometry()'s slices,
// the reduction's map_shared_rank of rank 1 must be caught.
int death(const std::string& name) {
  if (name != "gather launched without clusters") return 2;
  GatherProblem p;
  p.rows = 256, p.features = 784, p.out = 64, p.images = 256, p.scale = 1.f, p.shift = 0.f;
  p.pixels.assign(static_cast<size_t>(p.images) * p.features, 1);
  p.labels.assign(p.images, 1);
  p.indices.assign(p.rows, 0);
  p.W.assign(static_cast<size_t>(p.out) * p.features, 0.f);
  run_gather(p, false);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--death") == 0) return death(argv[2]);
  Report report;
  report.death("gather launched without clusters", "rank 1 out of range");
  uint64_t seed = 100;
  // gather_linear: (rows, features, out)
  report.add(gather_case(512, 784, 128, true, true, ++seed));
  report.add(gather_case(512, 784, 128, false, false, ++seed));
  report.add(gather_case(129, 100, 68, true, false, ++seed));
  report.add(gather_case(1024, 784, 128, true, true, ++seed));
  report.add(gather_case(300, 4, 4, true, true, ++seed));
  report.add(gather_case(200, 1000, 20, false, true, ++seed));

  // linear_grad_sgd: (rows, in, out)
  const Sgd* all[] = {&kPlain, &kMomentum, &kDamped, &kNesterov};
  struct Shape {
    int rows, in, out;
    std::vector<const Sgd*> settings;
  };
  const Shape shapes[] = {{512, 784, 128, {&kMomentum, &kDamped}},
                          {129, 784, 128, {all, all + 4}},
                          {1024, 784, 128, {&kNesterov, &kPlain}},
                          {200, 100, 64, {all, all + 4}},
                          {700, 36, 8, {all, all + 4}}};
  for (const Shape& s : shapes)
    for (const Sgd* o : s.settings)
      report.add(grad_sgd_case(s.rows, s.in, s.out, *o, o == s.settings.front(), ++seed));
  return report.print("linear_cluster_test");
}
