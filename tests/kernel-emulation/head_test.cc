// The fused head kernels of cuda/kernels_head.cuh (the head stage of the CUDA fused executor)
// run through the CPU emulator with the launcher's geometry (cluster_grid() for the cluster kernel,
// for the largest cluster an H200 allows (16), the portable 8 and no clusters at all (sm_80: one
// block, the NoCluster instantiation); tiled_plan() for the tiled kernel), on seeded random data:
//   - h (bias+ReLU of the previous layer, written back) exactly;
//   - logits = h·Wᵀ + b, dlogits = (softmax − onehot) / rows and the loss against float64;
//   - hits exactly (the first index of the maximum of the logits the kernel wrote, as the CPU);
//   - dW = dlogitsᵀ·h, db = Σ dlogits, dh = dlogits·W (through the ReLU mask), dh_bias = Σ dh
//     against float64 sums of the kernel's own dlogits / dh (so that each check has only its own
//     rounding to allow for);
//   - the SGD step of W, b and h_bias and their momentum buffers exactly, recomputed in float from
//     the kernel's gradients with PyTorch's formula in the CPU backend's operation order (no FMA);
//   - parameters not stepped, and buffers not passed, untouched; the tiled kernel's ticket back
//     at 0.
// With momentum, two steps run (first_step, then one reading the buffers). Every case runs twice,
// the second time with the blocks in another order, and must give the same bits.
//
// Tolerance: |got − ref| ≤ 1e-5 · scale. For the sums (logits, dW, db, dh, dh_bias) scale is
// Σ|terms| (for the logits + |b|): float32 rounding of a K-term sum is bounded by ~K·ε·Σ|terms|
// (K ≤ 300 here: ≤ 1.8e-5, in practice ~√K·ε ≈ 1e-6), while a wrong index, a lost row or a
// missing barrier is off by whole terms. dlogits inherit the logits' error through exp: with M the
// row's largest logit scale, |Δp| ≤ p·(2·1e-5·M + a few ε), so scale = (p·(2M + 1) + onehot) / rows.
// The loss: per row 2·1e-5·M plus the rounding of logf and of the row's terms, so scale = the mean
// over rows of 2M + |lse − max| + |x[label] − max|.
#include "tests/kernel-emulation/cuda_emulator.h"
#include "cuda/kernels_head.cuh"
#include "tests/kernel-emulation/check.h"
#include "tests/kernel-emulation/sgd_reference.h"

#include <cstring>
#include <string>

namespace {

namespace hd = tinynn::gpu::head;
using emu::DeviceBuffer;
using namespace emu_test;
using tinynn::gpu::HeadScratch;
using tinynn::gpu::SgdParams;

constexpr double kTol = 1e-5;

enum class Kernel { cluster, tiled };

struct Config {
  int rows, in, out;
  Kernel kernel;
  int max_blocks;  // cluster kernel: the largest cluster the device allows (16, 8; 1: no clusters)
  bool h_bias, relu, dh, dh_bias, correct;
  const Sgd* sgd;  // null: linear_xent_step, no SGD
};

// A step's parameters and momentum buffers (momentum: empty when not passed).
struct Params {
  std::vector<float> W, b, h_bias, Wm, bm, hbm;
};

struct StepOut {
  std::vector<float> h, logits, dlogits, dW, db, dh, dh_bias;
  Params p;
  float loss = 0;
  int32_t correct = 0;
  unsigned ticket = 0;
};

constexpr int32_t kCorrectBefore = 7;  // *correct += hits

// The launch as launch_head builds it. dh, dh_bias, correct and the momentum buffers are null
// when not asked for; outputs start as NaN.
StepOut run_step(const Config& c, const std::vector<float>& h0, const std::vector<int32_t>& labels, const Params& in,
                 bool first_step, uint64_t order_seed) {
  const int R = c.rows, K = c.in, O = c.out;
  DeviceBuffer<float> h(h0.size()), h_bias(K), W(in.W.size()), b(O), logits(static_cast<size_t>(R) * O),
      dlogits(static_cast<size_t>(R) * O), loss(1), dW(static_cast<size_t>(O) * K), db(O),
      dh(static_cast<size_t>(R) * K), dh_bias(K), Wm(in.W.size()), bm(O), hbm(K);
  DeviceBuffer<int32_t> lab(labels.size()), correct(1);
  DeviceBuffer<float> partials(static_cast<size_t>(tinynn::gpu::kHeadMaxBlocks) * tinynn::gpu::kHeadMaxPartial);
  DeviceBuffer<double> loss_partials(tinynn::gpu::kHeadMaxBlocks);
  DeviceBuffer<int32_t> hit_partials(tinynn::gpu::kHeadMaxBlocks);
  DeviceBuffer<unsigned> ticket(1);
  ticket[0] = 0;
  correct[0] = kCorrectBefore;
  upload(h, h0);
  upload(lab, labels);
  upload(W, in.W);
  upload(b, in.b);
  upload(h_bias, in.h_bias);
  const bool momentum = c.sgd && c.sgd->momentum != 0.f;  // the optimizer has buffers only with momentum
  if (momentum && !first_step) {
    upload(Wm, in.Wm);
    upload(bm, in.bm);
    if (c.h_bias && c.dh_bias) upload(hbm, in.hbm);
  }
  const SgdParams sgd = c.sgd ? sgd_params(*c.sgd, first_step) : SgdParams{};
  hd::HeadArgs a{h.data(), c.h_bias ? h_bias.data() : nullptr, W.data(), b.data(), lab.data(), R, K, O, 0, c.relu,
                 logits.data(), dlogits.data(), loss.data(), c.correct ? correct.data() : nullptr, dW.data(), db.data(),
                 c.dh ? dh.data() : nullptr, c.dh_bias ? dh_bias.data() : nullptr,
                 HeadScratch{partials.data(), loss_partials.data(), hit_partials.data(), ticket.data()},
                 c.sgd != nullptr, sgd, momentum ? Wm.data() : nullptr, momentum ? bm.data() : nullptr,
                 momentum && c.h_bias && c.dh_bias ? hbm.data() : nullptr};
  emu::Launch l;
  l.cluster_order_seed = order_seed;
  if (c.kernel == Kernel::cluster) {
    const hd::ClusterGrid g = hd::cluster_grid(R, c.max_blocks);
    a.tile = g.tile;
    l.grid_blocks = static_cast<unsigned>(g.blocks);
    l.block_threads = hd::kClusterThreads;
    l.cluster_blocks = g.blocks > 1 ? static_cast<unsigned>(g.blocks) : 1;
    l.non_portable_cluster = g.blocks > hd::kPortableClusterBlocks;
    auto body = [&](auto maxo, auto exact) {
      constexpr int MAXO = decltype(maxo)::value;
      constexpr bool EXACT = decltype(exact)::value;
      l.dynamic_smem_bytes = hd::ClusterLayout<MAXO>::kSmemBytes;
      emulate_launch<hd::ClusterSmem>(l, [&](hd::ClusterSmem& s, void* dyn) {
        if (c.max_blocks == 1)  // the sm_75/80 instantiation
          hd::linear_xent_cluster_body<MAXO, EXACT>(a, s, static_cast<float4*>(dyn), hd::NoCluster{});
        else
          hd::linear_xent_cluster_body<MAXO, EXACT>(a, s, static_cast<float4*>(dyn), cooperative_groups::this_cluster());
      });
    };
    // launch_head's choice of instantiation
    if (O == 10)
      body(std::integral_constant<int, 10>{}, std::true_type{});
    else
      body(std::integral_constant<int, 16>{}, std::false_type{});
  } else {
    const hd::TiledPlan p = hd::tiled_plan(R, K, O);
    if (p.tile == 0) emu::fail("test: no tiled plan for %d×%d→%d", R, K, O);
    a.tile = p.tile;
    l.grid_blocks = p.blocks;
    l.block_threads = hd::kThreads;
    l.dynamic_smem_bytes = p.smem_bytes;
    emulate_launch<hd::TiledSmem>(l, [&](hd::TiledSmem& s, void* dyn) {
      hd::linear_xent_tiled_body(a, s, static_cast<float*>(dyn));
    });
  }
  StepOut o;
  o.h = download(h), o.logits = download(logits), o.dlogits = download(dlogits), o.dW = download(dW);
  o.db = download(db), o.dh = download(dh), o.dh_bias = download(dh_bias);
  o.p.W = download(W), o.p.b = download(b), o.p.h_bias = download(h_bias);
  o.p.Wm = download(Wm), o.p.bm = download(bm), o.p.hbm = download(hbm);
  o.loss = loss[0], o.correct = correct[0], o.ticket = ticket[0];
  return o;
}

// Checks one step's outputs against its inputs.
void check_step(const Config& c, const std::vector<float>& h0, const std::vector<int32_t>& labels, const Params& in,
                bool first_step, const StepOut& o, Compare& exact, Compare& fwd, Compare& bwd) {
  const int R = c.rows, K = c.in, O = c.out;
  // h after the previous layer's epilogue: one float add and the ReLU, so exact.
  std::vector<float> hv(h0.size());
  for (int r = 0; r < R; ++r)
    for (int k = 0; k < K; ++k) {
      const size_t e = static_cast<size_t>(r) * K + k;
      float v = h0[e];
      if (c.h_bias) {
        v = v + in.h_bias[k];
        if (c.relu && v < 0.f) v = 0.f;
      }
      hv[e] = v;
      exact.exact("h", e, o.h[e], v);
    }
  double loss_ref = 0, loss_scale = 0;
  int hits = 0;
  for (int r = 0; r < R; ++r) {
    std::vector<double> z(O);
    double M = 0;
    for (int n = 0; n < O; ++n) {
      const Reference s = dot(&hv[static_cast<size_t>(r) * K], 1, &in.W[static_cast<size_t>(n) * K], 1, K,
                                        {in.b[n], std::fabs(in.b[n])});
      z[n] = s.value, M = std::fmax(M, s.scale);
      fwd.near("logits", static_cast<size_t>(r) * O + n, o.logits[static_cast<size_t>(r) * O + n], s, kTol);
    }
    double mx = z[0];
    for (int n = 1; n < O; ++n) mx = std::fmax(mx, z[n]);
    double sum = 0;
    for (int n = 0; n < O; ++n) sum += std::exp(z[n] - mx);
    const int label = labels[r];
    const double lse = std::log(sum);
    loss_ref += lse - (z[label] - mx);
    loss_scale += 2 * M + std::fabs(lse) + std::fabs(z[label] - mx);
    for (int n = 0; n < O; ++n) {
      const double p = std::exp(z[n] - mx) / sum, hot = n == label ? 1.0 : 0.0;
      const size_t e = static_cast<size_t>(r) * O + n;
      fwd.near("dlogits", e, o.dlogits[e], (p - hot) / R, (p * (2 * M + 1) + hot) / R, kTol);
    }
    // The hit as the kernel must decide it: first index of the maximum of its own logits.
    int best = 0;
    for (int n = 1; n < O; ++n)
      if (o.logits[static_cast<size_t>(r) * O + n] > o.logits[static_cast<size_t>(r) * O + best]) best = n;
    hits += best == label;
  }
  fwd.near("loss", 0, o.loss, loss_ref / R, loss_scale / R, kTol);
  if (c.correct) exact.exact("correct", 0, int64_t{o.correct}, int64_t{kCorrectBefore + hits});
  else exact.exact("correct (not passed)", 0, int64_t{o.correct}, int64_t{kCorrectBefore});

  // The backward, from the kernel's own dlogits (checked above).
  const std::vector<float>& dl = o.dlogits;
  for (int n = 0; n < O; ++n) {
    for (int k = 0; k < K; ++k)
      bwd.near("dW", static_cast<size_t>(n) * K + k, o.dW[static_cast<size_t>(n) * K + k],
               dot(&dl[n], O, &hv[k], K, R), kTol);
    Reference s;
    for (int r = 0; r < R; ++r) s.add(dl[static_cast<size_t>(r) * O + n]);
    bwd.near("db", n, o.db[n], s, kTol);
  }
  if (c.dh) {
    for (int r = 0; r < R; ++r)
      for (int k = 0; k < K; ++k) {
        const size_t e = static_cast<size_t>(r) * K + k;
        Reference s = dot(&dl[static_cast<size_t>(r) * O], 1, &in.W[k], K, O);
        if (c.relu && !(hv[e] > 0.f)) s = {};  // masked: exactly 0
        bwd.near("dh", e, o.dh[e], s, kTol);
      }
  } else {
    untouched(exact, "dh (not passed)", o.dh);
  }
  if (c.dh && c.dh_bias) {
    for (int k = 0; k < K; ++k) {
      Reference s;
      for (int r = 0; r < R; ++r) s.add(o.dh[static_cast<size_t>(r) * K + k]);
      bwd.near("dh_bias", k, o.dh_bias[k], s, kTol);
    }
  } else {
    untouched(exact, "dh_bias (not passed)", o.dh_bias);
  }

  // The SGD step, exactly, from the kernel's gradients; or nothing stepped.
  const bool momentum = c.sgd && c.sgd->momentum != 0.f;
  auto stepped = [&](const char* what, const char* mwhat, const std::vector<float>& p0, const std::vector<float>& m0,
                     const std::vector<float>& grad, const std::vector<float>& p1, const std::vector<float>& m1,
                     bool steps, bool has_buf) {
    for (size_t e = 0; e < p0.size(); ++e) {
      if (!steps) {
        exact.exact(what, e, p1[e], p0[e]);
        continue;
      }
      float nb = 0;
      const float np = sgd_ref(p0[e], grad[e], momentum && !first_step ? m0[e] : 0.f, &nb, *c.sgd, first_step);
      exact.exact(what, e, p1[e], np);
      if (has_buf) exact.exact(mwhat, e, m1[e], nb);
    }
    if (!has_buf) untouched(exact, mwhat, m1);  // no buffer passed
  };
  const bool hb_steps = c.sgd && c.h_bias && c.dh && c.dh_bias;
  stepped("W", "W momentum", in.W, in.Wm, o.dW, o.p.W, o.p.Wm, c.sgd != nullptr, momentum);
  stepped("b", "b momentum", in.b, in.bm, o.db, o.p.b, o.p.bm, c.sgd != nullptr, momentum);
  stepped("h_bias", "h_bias momentum", in.h_bias, in.hbm, o.dh_bias, o.p.h_bias, o.p.hbm, hb_steps,
          momentum && c.h_bias && c.dh_bias);
  if (c.kernel == Kernel::tiled) exact.exact("ticket", 0, int64_t{o.ticket}, 0);
}

std::string describe(const Config& c) {
  std::string s;
  if (c.kernel == Kernel::cluster) {
    const hd::ClusterGrid g = hd::cluster_grid(c.rows, c.max_blocks);
    s = std::string("cluster<") + (c.out == 10 ? "10" : "16") + "> ";
    s += shape(c.rows, c.in, c.out);
    s += c.max_blocks == 1 ? " (1 block, no clusters)"
                           : " (cluster of " + std::to_string(g.blocks) + ", " + std::to_string(g.tile) + " rows each)";
  } else {
    const hd::TiledPlan p = hd::tiled_plan(c.rows, c.in, c.out);
    s = "tiled " + shape(c.rows, c.in, c.out) + " (" + std::to_string(p.blocks) + " blocks, tile " +
        std::to_string(p.tile) + ")";
  }
  if (c.h_bias) s += c.relu ? " h_bias+relu" : " h_bias";
  if (c.dh) s += " dh";
  if (c.dh_bias) s += " dh_bias";
  if (!c.correct) s += " no-correct";
  s += c.sgd ? std::string(", SGD ") + c.sgd->name : ", no SGD";
  return s;
}

Case head_case(const Config& c, uint64_t seed) {
  Case cs;
  cs.name = describe(c);
  Timer timer;
  Rng rng(seed);
  const int R = c.rows, K = c.in, O = c.out;
  std::vector<float> h0(static_cast<size_t>(R) * K);
  for (auto& v : h0) v = rng.uniform(-1.f, 2.f);
  std::vector<int32_t> labels(R);
  for (auto& v : labels) v = static_cast<int32_t>(rng.below(static_cast<uint32_t>(O)));
  Params p0;
  const float wr = 1.f / std::sqrt(static_cast<float>(K));
  p0.W.resize(static_cast<size_t>(O) * K);
  for (auto& v : p0.W) v = rng.uniform(-wr, wr);
  p0.b.resize(O);
  for (auto& v : p0.b) v = rng.uniform(-0.5f, 0.5f);
  p0.h_bias.resize(K);
  for (auto& v : p0.h_bias) v = rng.uniform(-0.5f, 0.5f);
  p0.Wm.assign(p0.W.size(), 0.f), p0.bm.assign(O, 0.f), p0.hbm.assign(K, 0.f);
  const int steps = c.sgd && c.sgd->momentum != 0.f ? 2 : 1;
  if (steps == 2) cs.name += ", 2 steps";

  // Each step starts from the previous one's parameters and buffers (checked); h anew.
  auto run = [&](uint64_t order_seed) {
    std::vector<StepOut> outs;
    Params p = p0;
    for (int s = 0; s < steps; ++s) {
      outs.push_back(run_step(c, h0, labels, p, s == 0, order_seed));
      p = outs.back().p;
    }
    return outs;
  };
  const std::vector<StepOut> r = run(0), again = run(seed);
  Compare exact, fwd, bwd, same;
  Params p = p0;
  for (int s = 0; s < steps; ++s) {
    check_step(c, h0, labels, p, s == 0, r[s], exact, fwd, bwd);
    p = r[s].p;
    const StepOut &x = r[s], &y = again[s];
    same_bits(same, "h", x.h, y.h), same_bits(same, "logits", x.logits, y.logits);
    same_bits(same, "dlogits", x.dlogits, y.dlogits), same_bits(same, "dW", x.dW, y.dW);
    same_bits(same, "db", x.db, y.db), same_bits(same, "dh", x.dh, y.dh);
    same_bits(same, "dh_bias", x.dh_bias, y.dh_bias), same_bits(same, "W", x.p.W, y.p.W);
    same_bits(same, "b", x.p.b, y.p.b), same_bits(same, "h_bias", x.p.h_bias, y.p.h_bias);
    same_bits(same, "W momentum", x.p.Wm, y.p.Wm), same_bits(same, "b momentum", x.p.bm, y.p.bm);
    same_bits(same, "h_bias momentum", x.p.hbm, y.p.hbm);
    same.exact("loss (second run)", 0, y.loss, x.loss);
    same.exact("correct (second run)", 0, int64_t{y.correct}, int64_t{x.correct});
  }
  for (const Compare* cmp : {&exact, &fwd, &bwd, &same}) Report::fold(cs, *cmp);
  cs.seconds = timer.seconds();
  return cs;
}

// The cluster kernel depends on its launch: its grid without clusters (each block a cluster of
// one) must be caught at the first peer read; the NoCluster instantiation (sm_75/80) on a grid of
// several blocks must trap.
int death(const std::string& name) {
  const bool no_clusters = name == "cluster kernel's grid launched without clusters";
  const bool sm80 = name == "sm_80 instantiation on several blocks";
  if (!no_clusters && !sm80) return 2;
  const int R = 64, K = hd::kClusterIn, O = 10;
  DeviceBuffer<float> h(static_cast<size_t>(R) * K), W(static_cast<size_t>(O) * K), b(O), logits(static_cast<size_t>(R) * O),
      dlogits(static_cast<size_t>(R) * O), loss(1), dW(static_cast<size_t>(O) * K), db(O);
  DeviceBuffer<int32_t> labels(R);
  for (size_t i = 0; i < h.size(); ++i) h[i] = 1.f;
  for (size_t i = 0; i < W.size(); ++i) W[i] = 0.f;
  for (int i = 0; i < O; ++i) b[i] = 0.f;
  for (int i = 0; i < R; ++i) labels[i] = 1;
  const hd::ClusterGrid g = hd::cluster_grid(R, 16);
  const hd::HeadArgs a{h.data(), nullptr, W.data(), b.data(), labels.data(), R, K, O, g.tile, false, logits.data(),
                       dlogits.data(), loss.data(), nullptr, dW.data(), db.data(), nullptr, nullptr, HeadScratch{},
                       false, SgdParams{}, nullptr, nullptr, nullptr};
  emu::Launch l;
  l.grid_blocks = static_cast<unsigned>(g.blocks);
  l.block_threads = hd::kClusterThreads;
  l.cluster_blocks = 1;
  l.dynamic_smem_bytes = hd::ClusterLayout<10>::kSmemBytes;
  emulate_launch<hd::ClusterSmem>(l, [&](hd::ClusterSmem& s, void* dyn) {
    if (sm80)
      hd::linear_xent_cluster_body<10, true>(a, s, static_cast<float4*>(dyn), hd::NoCluster{});
    else
      hd::linear_xent_cluster_body<10, true>(a, s, static_cast<float4*>(dyn), cooperative_groups::this_cluster());
  });
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--death") == 0) return death(argv[2]);
  Report report;
  report.death("cluster kernel's grid launched without clusters", "rank 1 out of range");
  report.death("sm_80 instantiation on several blocks", "__trap()");

  const Kernel C = Kernel::cluster, T = Kernel::tiled;
  // {rows, in, out, kernel, max_blocks, h_bias, relu, dh, dh_bias, correct, sgd}
  const Config configs[] = {
      // The MNIST net's head (128 → 10) at batch 64 (and its 60000 % 64 = 32-row tail), 512, and
      // odd batches, on an H200 (clusters of up to 16).
      {64, 128, 10, C, 16, true, true, true, true, true, &kMomentum},
      {32, 128, 10, C, 16, true, true, true, true, true, &kPlain},
      {64, 128, 10, C, 16, true, true, true, true, true, nullptr},
      {512, 128, 10, C, 16, true, true, true, true, true, &kNesterov},
      {96, 128, 10, C, 16, true, false, true, true, false, &kDamped},
      {33, 128, 10, C, 16, false, false, true, false, true, &kPlain},
      {33, 128, 10, C, 16, true, true, false, false, true, nullptr},
      // The portable cluster size and no clusters (sm_80: one block).
      {512, 128, 10, C, 8, true, true, true, true, true, &kMomentum},
      {64, 128, 10, C, 1, true, true, true, true, true, &kDamped},
      // out ≠ 10: the MAXO = 16 instantiation, full and partly used.
      {64, 128, 16, C, 16, true, true, true, true, true, &kMomentum},
      {40, 128, 7, C, 16, true, true, true, true, true, &kPlain},
      // The tiled kernel: several blocks and the ticket, one block, a smaller tile (in = 300:
      // tile 8), a grid capped at kHeadMaxBlocks (blocks taking two tiles).
      {300, 100, 7, T, 0, true, true, true, true, true, &kMomentum},
      {300, 100, 7, T, 0, false, false, true, false, true, nullptr},
      {10, 100, 7, T, 0, true, true, true, true, true, &kNesterov},
      {200, 300, 10, T, 0, true, true, true, true, true, &kDamped},
      {2100, 20, 5, T, 0, true, true, true, true, true, &kPlain},
      {64, 128, 20, T, 0, true, true, false, false, true, nullptr},
  };
  uint64_t seed = 300;
  for (const Config& c : configs) report.add(head_case(c, ++seed));
  return report.print("head_test");
}
