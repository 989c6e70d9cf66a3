// The first layer's two fused ops as linear_cluster_test and linear_small_test run them, each on
// its own kernels: seeded random problems, their device buffers and steps, the float64 references
// and the checks both tests make.
//   gather_linear: x = images[indices]·scale + shift, y = labels[indices], h = act(x·Wᵀ + b);
//   linear_grad_sgd: per step dW = dyᵀ·x, then an SGD step of W and its momentum buffer.
#pragma once
#include "tests/kernel-emulation/check.h"
#include "tests/kernel-emulation/sgd_reference.h"

namespace emu_test {

// ---- gather_linear ----------------------------------------------------------------------------

struct GatherProblem {
  int rows = 0, features = 0, out = 0, images = 0;  // images: how many the indices pick from
  bool bias = false, relu = false;
  float scale = 1.f / (255.f * 0.3081f), shift = -0.1307f / 0.3081f;  // MNIST's normalisation
  std::vector<uint8_t> pixels, labels;
  std::vector<int32_t> indices;
  std::vector<float> W, b;

  std::string name() const {
    return "gather_linear " + shape(rows, features, out) + (bias ? " +bias" : "") + (relu ? " relu" : "");
  }
  // The pixel x[m][k] is made from.
  float pixel(int m, int k) const {
    return static_cast<float>(pixels[static_cast<size_t>(indices[m]) * features + k]);
  }
};

// Seeded random data; the indices pick from rows + 37 images.
inline GatherProblem gather_problem(int rows, int features, int out, bool bias, bool relu, uint64_t seed) {
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
  return p;
}

struct GatherOut {
  std::vector<float> x, h;
  std::vector<int32_t> y;
};

// A problem on the device: inputs uploaded, outputs NaN. The launch passes b only when p.bias.
struct GatherBuffers {
  emu::DeviceBuffer<uint8_t> images, labels;
  emu::DeviceBuffer<int32_t> indices, y;
  emu::DeviceBuffer<float> W, b, x, h;

  explicit GatherBuffers(const GatherProblem& p)
      : images(p.pixels.size()), labels(p.labels.size()), indices(p.indices.size()), y(p.rows), W(p.W.size()),
        b(p.b.size()), x(static_cast<size_t>(p.rows) * p.features), h(static_cast<size_t>(p.rows) * p.out) {
    upload(images, p.pixels);
    upload(labels, p.labels);
    upload(indices, p.indices);
    upload(W, p.W);
    upload(b, p.b);
  }
  GatherOut out() const { return {download(x), download(h), download(y)}; }
};

// y exactly; h against float64 sums over the x given (the reference's or the kernel's own):
// Σ_k x·w + b, then the ReLU, with Σ_k|x·w| + |b| as the scale; and the second run `again` bit
// for bit as the first.
inline void check_gather(const GatherProblem& p, const std::vector<float>& x, const GatherOut& r, const GatherOut& again,
                         double tol, Compare& y, Compare& h, Compare& same) {
  const int K = p.features;
  for (int m = 0; m < p.rows; ++m) y.exact("y", m, int64_t{r.y[m]}, int64_t{p.labels[p.indices[m]]});
  for (int m = 0; m < p.rows; ++m)
    for (int n = 0; n < p.out; ++n) {
      Reference ref = dot(&x[static_cast<size_t>(m) * K], 1, &p.W[static_cast<size_t>(n) * K], 1, K,
                          p.bias ? Reference{p.b[n], std::fabs(p.b[n])} : Reference{});
      if (p.relu && ref.value < 0) ref.value = 0;
      const size_t e = static_cast<size_t>(m) * p.out + n;
      h.near("h", e, r.h[e], ref, tol);
    }
  same_bits(same, "x", r.x, again.x);
  same_bits(same, "y", r.y, again.y);
  same_bits(same, "h", r.h, again.h);
}

// ---- linear_grad_sgd ---------------------------------------------------------------------------

struct GradProblem {
  int rows = 0, in = 0, out = 0;
  std::vector<float> W0;                    // [out][in]
  std::vector<std::vector<float>> dys, xs;  // step s: dys[s] [rows][out], xs[s] [rows][in]

  int steps() const { return static_cast<int>(dys.size()); }
  std::string name(const Sgd& o) const { return "linear_grad_sgd " + shape(rows, in, out) + " " + o.name; }
  // dW[i][j] = Σ_k dy[k][i]·x[k][j] of step s.
  Reference dW(int s, int i, int j) const { return dot(&dys[s][i], out, &xs[s][j], in, rows); }
};

inline GradProblem grad_problem(int rows, int in, int out, int steps, uint64_t seed) {
  Rng rng(seed);
  GradProblem p;
  p.rows = rows, p.in = in, p.out = out;
  p.W0.resize(static_cast<size_t>(out) * in);
  for (auto& v : p.W0) v = rng.uniform(-0.05f, 0.05f);
  p.dys.resize(steps), p.xs.resize(steps);
  for (int s = 0; s < steps; ++s) {
    p.dys[s].resize(static_cast<size_t>(rows) * out);
    for (auto& v : p.dys[s]) v = rng.uniform(-1.f, 1.f) / static_cast<float>(rows);  // a mean loss's gradient
    p.xs[s].resize(static_cast<size_t>(rows) * in);
    for (auto& v : p.xs[s]) v = rng.uniform(-0.5f, 2.5f);
  }
  return p;
}

struct SgdOut {
  std::vector<std::vector<float>> dW, W, buf;  // after each step
};

// One step's launch: device pointers (buf null without momentum) and the step's parameters.
struct GradStep {
  const float* dy;
  const float* x;
  float *dW, *W, *buf;
  tinynn::gpu::SgdParams sgd;
};

// p's steps as the optimizer runs them: W and its momentum buffer carried from step to step, the
// buffer starting NaN and passed only with momentum (the optimizer has none without); step s on
// dys[s], xs[s]. launch(const GradStep&) runs one.
template <class Launch>
SgdOut run_steps(const GradProblem& p, const Sgd& o, Launch launch) {
  emu::DeviceBuffer<float> dy(static_cast<size_t>(p.rows) * p.out), x(static_cast<size_t>(p.rows) * p.in);
  emu::DeviceBuffer<float> dW(p.W0.size()), W(p.W0.size()), buf(p.W0.size());
  upload(W, p.W0);
  SgdOut r;
  for (int s = 0; s < p.steps(); ++s) {
    upload(dy, p.dys[s]);
    upload(x, p.xs[s]);
    launch(GradStep{dy.data(), x.data(), dW.data(), W.data(), o.momentum != 0.f ? buf.data() : nullptr,
                    sgd_params(o, s == 0)});
    r.dW.push_back(download(dW));
    r.W.push_back(download(W));
    r.buf.push_back(download(buf));
  }
  return r;
}

// Beyond the references: without momentum the buffer, not passed, keeps its NaN bytes; the second
// run `again` is bit for bit the first.
inline void check_steps(const SgdOut& r, const SgdOut& again, const Sgd& o, Compare& buf, Compare& same) {
  const bool momentum = o.momentum != 0.f;
  for (size_t s = 0; s < r.W.size(); ++s) {
    if (!momentum) untouched(buf, "momentum buffer (not passed)", r.buf[s]);
    same_bits(same, "dW", r.dW[s], again.dW[s]);
    same_bits(same, "W", r.W[s], again.W[s]);
    if (momentum) same_bits(same, "momentum", r.buf[s], again.buf[s]);
  }
}

}  // namespace emu_test
