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
#include "tests/kernel-emulation/check.h"

#include <cstring>
#include <string>

namespace {

namespace cl = tinynn::gpu::cluster_linear;
using emu::DeviceBuffer;
using emu_test::Case;
using emu_test::Compare;
using emu_test::Report;
using emu_test::Rng;

constexpr double kTol = 1e-5;

template <class T>
void upload(DeviceBuffer<T>& d, const std::vector<T>& h) { std::memcpy(d.data(), h.data(), h.size() * sizeof(T)); }
template <class T>
std::vector<T> download(const DeviceBuffer<T>& d) { return std::vector<T>(d.data(), d.data() + d.size()); }

std::string shape(int a, int b, int c) { return std::to_string(a) + "×" + std::to_string(b) + "→" + std::to_string(c); }

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

GatherOut run_gather(const GatherProblem& p) {
  const int M = p.rows, N = p.out, K = p.features;
  DeviceBuffer<uint8_t> images(p.pixels.size()), labels(p.labels.size());
  DeviceBuffer<int32_t> indices(p.indices.size()), y(M);
  DeviceBuffer<float> W(p.W.size()), bias(p.b.size()), x(static_cast<size_t>(M) * K), h(static_cast<size_t>(M) * N);
  upload(images, p.pixels);
  upload(labels, p.labels);
  upload(indices, p.indices);
  upload(W, p.W);
  upload(bias, p.b);
  // As launch_gather_linear_cluster builds them.
  const cl::GatherLinearArgs a{images.data(), labels.data(), indices.data(), W.data(), p.bias ? bias.data() : nullptr,
                               x.data(), y.data(), h.data(), M, N, K, p.scale, p.shift, p.relu,
                               cl::geometry(M, N, K, 4)};
  emulate_launch<cl::GatherLinearSmem>(a.g.blocks, cl::kThreads, static_cast<unsigned>(a.g.slices),
                                       [&](cl::GatherLinearSmem& s) {
                                         cl::gather_linear_cluster_body(a, s, cooperative_groups::this_cluster());
                                       });
  return {download(x), download(h), download(y)};
}

Case gather_case(int rows, int features, int out, bool bias, bool relu, uint64_t seed) {
  Case c;
  c.name = "gather_linear " + shape(rows, features, out) + (bias ? " +bias" : "") + (relu ? " relu" : "");
  const cl::Geometry g = cl::geometry(rows, out, features, 4);
  c.name += " (" + std::to_string(g.blocks / g.slices) + " clusters of " + std::to_string(g.slices) + ")";
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

  const GatherOut r = run_gather(p), again = run_gather(p);
  Compare x, y, h, same;
  std::vector<float> xref(static_cast<size_t>(rows) * features);
  for (int m = 0; m < rows; ++m)
    for (int k = 0; k < features; ++k) {
      const size_t e = static_cast<size_t>(m) * features + k;
      // The kernel's stated value: fmaf(pixel, scale, shift), as nvcc contracts it in the other
      // CUDA gather kernels.
      xref[e] = std::fmaf(static_cast<float>(p.pixels[static_cast<size_t>(p.indices[m]) * features + k]), p.scale, p.shift);
      x.exact("x", e, r.x[e], xref[e]);
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
        const double t = static_cast<double>(xref[static_cast<size_t>(m) * features + k]) * p.W[static_cast<size_t>(n) * features + k];
        ref += t;
        mag += std::fabs(t);
      }
      if (relu && ref < 0) ref = 0;
      const size_t e = static_cast<size_t>(m) * out + n;
      h.near("h", e, r.h[e], ref, mag, kTol);
      same.exact("h (second run)", e, again.h[e], r.h[e]);
    }
  for (const Compare* cmp : {&x, &y, &h, &same}) Report::fold(c, *cmp);
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

constexpr int kSteps = 3;

// kSteps launches, as launch_linear_grad_sgd_cluster builds them; step s uses dy[s], x[s].
SgdOut run_grad_sgd(int rows, int in, int out, const Sgd& o, const std::vector<float>& W0,
                    const std::vector<std::vector<float>>& dys, const std::vector<std::vector<float>>& xs) {
  DeviceBuffer<float> dy(static_cast<size_t>(rows) * out), x(static_cast<size_t>(rows) * in);
  DeviceBuffer<float> dW(static_cast<size_t>(out) * in), W(W0.size()), buf(W0.size());  // buf starts NaN
  upload(W, W0);
  const bool has_buf = o.momentum != 0.f;  // the optimizer has no momentum buffer without momentum
  SgdOut r;
  for (int s = 0; s < kSteps; ++s) {
    upload(dy, dys[s]);
    upload(x, xs[s]);
    const tinynn::gpu::SgdParams sgd{o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov, s == 0};
    const cl::GradSgdClusterArgs a{dy.data(), x.data(), dW.data(), W.data(), has_buf ? buf.data() : nullptr,
                                   out, in, rows, sgd, cl::geometry(out, in, rows, 1)};
    emulate_launch<cl::GradSgdSmem>(a.g.blocks, cl::kThreads, static_cast<unsigned>(a.g.slices),
                                    [&](cl::GradSgdSmem& sm) {
                                      cl::linear_grad_sgd_cluster_body(a, sm, cooperative_groups::this_cluster());
                                    });
    r.dW.push_back(download(dW));
    r.W.push_back(download(W));
    r.buf.push_back(download(buf));
  }
  return r;
}

Case grad_sgd_case(int rows, int in, int out, const Sgd& o, bool twice, uint64_t seed) {
  Case c;
  c.name = std::string("linear_grad_sgd ") + shape(rows, in, out) + " " + o.name;
  const cl::Geometry g = cl::geometry(out, in, rows, 1);
  c.name += " (" + std::to_string(g.blocks / g.slices) + " clusters of " + std::to_string(g.slices) + ")";
  emu_test::Timer timer;
  Rng rng(seed);
  std::vector<float> W0(static_cast<size_t>(out) * in);
  for (auto& v : W0) v = rng.uniform(-0.05f, 0.05f);
  std::vector<std::vector<float>> dys(kSteps), xs(kSteps);
  for (int s = 0; s < kSteps; ++s) {
    dys[s].resize(static_cast<size_t>(rows) * out);
    for (auto& v : dys[s]) v = rng.uniform(-1.f, 1.f) / static_cast<float>(rows);  // a mean loss's gradient
    xs[s].resize(static_cast<size_t>(rows) * in);
    for (auto& v : xs[s]) v = rng.uniform(-0.5f, 2.5f);
  }
  const SgdOut r = run_grad_sgd(rows, in, out, o, W0, dys, xs);
  const SgdOut again = twice ? run_grad_sgd(rows, in, out, o, W0, dys, xs) : r;
  if (twice) c.name += ", run twice";

  // PyTorch's SGD in double, each value with its magnitude (the same update on absolute values).
  const size_t n = W0.size();
  std::vector<double> w(W0.begin(), W0.end()), mw(n), buf(n, 0.0), mbuf(n, 0.0);
  for (size_t e = 0; e < n; ++e) mw[e] = std::fabs(w[e]);
  Compare dW, W, B, same;
  for (int s = 0; s < kSteps; ++s) {
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
        double gr = grad + static_cast<double>(o.weight_decay) * w[e];
        double mg = mgrad + std::fabs(static_cast<double>(o.weight_decay)) * mw[e];
        if (o.momentum != 0.f) {
          const double mom = o.momentum, damp = o.dampening;
          buf[e] = s == 0 ? gr : mom * buf[e] + (1 - damp) * gr;
          mbuf[e] = s == 0 ? mg : std::fabs(mom) * mbuf[e] + std::fabs(1 - damp) * mg;
          if (o.nesterov) {
            gr += mom * buf[e];
            mg += std::fabs(mom) * mbuf[e];
          } else {
            gr = buf[e];
            mg = mbuf[e];
          }
          B.near("momentum", e, r.buf[s][e], buf[e], mbuf[e], kTol);
        }
        w[e] -= static_cast<double>(o.lr) * gr;
        mw[e] += std::fabs(static_cast<double>(o.lr)) * mg;
        W.near("W", e, r.W[s][e], w[e], mw[e], kTol);
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
  for (const Compare* cmp : {&dW, &W, &B, &same}) Report::fold(c, *cmp);
  c.seconds = timer.seconds();
  return c;
}

// The bodies depend on the launch: run with clusters of 1 block instead of geometry()'s slices,
// the reduction's map_shared_rank of rank 1 must be caught.
int death(const std::string& name) {
  if (name != "gather launched without clusters") return 2;
  GatherProblem p;
  p.rows = 256, p.features = 784, p.out = 64, p.images = 256;
  p.pixels.assign(static_cast<size_t>(p.images) * p.features, 1);
  p.labels.assign(p.images, 1);
  p.indices.assign(p.rows, 0);
  p.W.assign(static_cast<size_t>(p.out) * p.features, 0.f);
  DeviceBuffer<uint8_t> images(p.pixels.size()), labels(p.labels.size());
  DeviceBuffer<int32_t> indices(p.indices.size()), y(p.rows);
  DeviceBuffer<float> W(p.W.size()), x(p.pixels.size()), h(static_cast<size_t>(p.rows) * p.out);
  upload(images, p.pixels), upload(labels, p.labels), upload(indices, p.indices), upload(W, p.W);
  const cl::GatherLinearArgs a{images.data(), labels.data(), indices.data(), W.data(), nullptr, x.data(), y.data(),
                               h.data(), p.rows, p.out, p.features, 1.f, 0.f, false,
                               cl::geometry(p.rows, p.out, p.features, 4)};
  emulate_launch<cl::GatherLinearSmem>(a.g.blocks, cl::kThreads, 1, [&](cl::GatherLinearSmem& s) {
    cl::gather_linear_cluster_body(a, s, cooperative_groups::this_cluster());
  });
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

  const Sgd plain{"lr 0.1", 0.1f, 0.f, 0.f, 0.f, false};
  const Sgd momentum{"lr 0.05 momentum 0.9", 0.05f, 0.9f, 0.f, 0.f, false};
  const Sgd damped{"lr 0.05 momentum 0.9 dampening 0.1 wd 1e-2", 0.05f, 0.9f, 0.1f, 1e-2f, false};
  const Sgd nesterov{"lr 0.05 nesterov momentum 0.9 wd 1e-3", 0.05f, 0.9f, 0.f, 1e-3f, true};
  // linear_grad_sgd: (rows, in, out)
  const Sgd* all[] = {&plain, &momentum, &damped, &nesterov};
  struct Shape {
    int rows, in, out;
    std::vector<const Sgd*> settings;
  };
  const Shape shapes[] = {{512, 784, 128, {&momentum, &damped}},
                          {129, 784, 128, {all, all + 4}},
                          {1024, 784, 128, {&nesterov, &plain}},
                          {200, 100, 64, {all, all + 4}},
                          {700, 36, 8, {all, all + 4}}};
  for (const Shape& s : shapes)
    for (const Sgd* o : s.settings)
      report.add(grad_sgd_case(s.rows, s.in, s.out, *o, o == s.settings.front(), ++seed));
  return report.print("linear_cluster_test");
}
