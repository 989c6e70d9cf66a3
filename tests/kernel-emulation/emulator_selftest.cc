// The emulator's own test: a small split-K kernel body that uses every primitive (float4 __ldg
// loads, fmaf, __syncthreads, cluster.sync, map_shared_rank across ranks) checked against a float64
// reference, the built-in variables, poisoned shared memory, determinism; and the checks that must
// abort (`--death NAME`, run as separate processes by tests/kernel-emulation.test.ts).
#include "tests/kernel-emulation/cuda_emulator.h"
// A kernel-body header would be included here.
#include "tests/kernel-emulation/check.h"

#include <cstring>
#include <stdexcept>
#include <string>

namespace {

namespace cg = cooperative_groups;
using emu_test::Case;
using emu_test::Compare;
using emu_test::Report;

constexpr int kThreads = 128, kCols = 64, kLanes = kThreads / (kCols / 4);  // 8 row lanes × 16 float4s

// out[c][j] = Σ_i A[c][i][j]·w[c][i] for cluster c (j < 64, i < K): K split over the cluster's
// blocks; each block reduces its slice over row lanes through shared memory, then block r sums
// columns [r·64/C, (r+1)·64/C) of every block's partial, in rank order, through map_shared_rank.
struct SumArgs {
  const float* A;  // [clusters][K][64]
  const float* w;  // [clusters][K]
  float* out;      // [clusters][64]
  int* poison_seen;  // [clusters·C]: whether never-written shared memory read as NaN
  int K;
  unsigned cluster_blocks, grid_blocks;
};

struct SumSmem {
  alignas(16) float lanes[kLanes][kCols];
  alignas(16) float partial[kCols];
  float never_written;
};

void sum_body(const SumArgs& a, SumSmem& s) {
  const cg::cluster_group cluster = cg::this_cluster();
  const int tid = static_cast<int>(threadIdx.x), lane = tid / (kCols / 4), c4 = tid % (kCols / 4);
  if (blockDim.x != kThreads || gridDim.x != a.grid_blocks || cluster.num_blocks() != a.cluster_blocks ||
      cluster.block_rank() != blockIdx.x % a.cluster_blocks)
    __trap();
  const int c = static_cast<int>(blockIdx.x / a.cluster_blocks), rank = static_cast<int>(cluster.block_rank());
  const int C = static_cast<int>(a.cluster_blocks);
  const int per = (a.K + C - 1) / C, i0 = rank * per, i1 = i0 + per < a.K ? i0 + per : a.K;
  const float4* A = reinterpret_cast<const float4*>(a.A + static_cast<size_t>(c) * a.K * kCols);
  float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
  for (int i = i0 + lane; i < i1; i += kLanes) {
    const float4 v = __ldg(A + static_cast<size_t>(i) * (kCols / 4) + c4);
    const float wi = __ldg(a.w + static_cast<size_t>(c) * a.K + i);
    acc = make_float4(fmaf(v.x, wi, acc.x), fmaf(v.y, wi, acc.y), fmaf(v.z, wi, acc.z), fmaf(v.w, wi, acc.w));
  }
  *reinterpret_cast<float4*>(&s.lanes[lane][4 * c4]) = acc;
  __syncthreads();
  if (tid < kCols) {
    float p = s.lanes[0][tid];
    for (int l = 1; l < kLanes; ++l) p = __fadd_rn(p, s.lanes[l][tid]);
    s.partial[tid] = p;
  }
  if (tid == 0) a.poison_seen[blockIdx.x] = std::isnan(s.never_written) ? 1 : 0;
  cluster.sync();
  const int share = (kCols + C - 1) / C, j0 = rank * share, j1 = j0 + share < kCols ? j0 + share : kCols;
  for (int j = j0 + tid; j < j1; j += kThreads) {
    float sum = *cluster.map_shared_rank(&s.partial[j], 0);
    for (int r = 1; r < C; ++r) sum = __fadd_rn(sum, *cluster.map_shared_rank(s.partial + j, r));
    a.out[static_cast<size_t>(c) * kCols + j] = sum;
  }
  cluster.sync();  // no block leaves while a peer may still read its partial
}

struct SumRun {
  std::vector<float> out;
  std::vector<int> poison;
};

SumRun run_sum(const std::vector<float>& A, const std::vector<float>& w, int clusters, unsigned C, int K) {
  emu::DeviceBuffer<float> dA(A.size()), dw(w.size()), dout(static_cast<size_t>(clusters) * kCols);
  emu::DeviceBuffer<int> dpoison(static_cast<size_t>(clusters) * C);
  std::memcpy(dA.data(), A.data(), A.size() * sizeof(float));
  std::memcpy(dw.data(), w.data(), w.size() * sizeof(float));
  const SumArgs a{dA.data(), dw.data(), dout.data(), dpoison.data(), K, C, clusters * C};
  emulate_launch<SumSmem>(clusters * C, kThreads, C, [&](SumSmem& s) { sum_body(a, s); });
  return {std::vector<float>(dout.data(), dout.data() + dout.size()),
          std::vector<int>(dpoison.data(), dpoison.data() + dpoison.size())};
}

Case sum_case(int clusters, unsigned C, int K, uint64_t seed) {
  Case c;
  c.name = "cluster split-K sum: " + std::to_string(clusters) + " clusters of " + std::to_string(C) +
           " blocks, K=" + std::to_string(K);
  emu_test::Timer timer;
  emu_test::Rng rng(seed);
  std::vector<float> A(static_cast<size_t>(clusters) * K * kCols), w(static_cast<size_t>(clusters) * K);
  for (float& v : A) v = rng.uniform(-1.f, 1.f);
  for (float& v : w) v = rng.uniform(-1.f, 1.f);
  const SumRun r1 = run_sum(A, w, clusters, C, K), r2 = run_sum(A, w, clusters, C, K);
  // Tolerance 1e-6·Σ|A·w|: float rounding of these ≤ 500-term sums stays below ~30 ulps of the
  // magnitude; a wrong index, a missing barrier or a lost rank is off by whole terms.
  Compare out, same, poison;
  for (int cl = 0; cl < clusters; ++cl)
    for (int j = 0; j < kCols; ++j) {
      double ref = 0, mag = 0;
      for (int i = 0; i < K; ++i) {
        const double t = static_cast<double>(A[(static_cast<size_t>(cl) * K + i) * kCols + j]) * w[static_cast<size_t>(cl) * K + i];
        ref += t;
        mag += std::fabs(t);
      }
      const size_t e = static_cast<size_t>(cl) * kCols + j;
      out.near("out", e, r1.out[e], ref, mag, 1e-6);
      same.exact("out (second run)", e, r2.out[e], r1.out[e]);
    }
  for (size_t b = 0; b < r1.poison.size(); ++b) poison.exact("poison_seen", b, int64_t{r1.poison[b]}, int64_t{1});
  Report::fold(c, out);
  Report::fold(c, same);
  Report::fold(c, poison);
  c.seconds = timer.seconds();
  return c;
}

// ---- bodies that must abort --------------------------------------------------------------------

struct TinySmem {
  float v[4];
};

int death(const std::string& name) {
  auto launch = [](unsigned grid, unsigned cluster, auto body) { emulate_launch<TinySmem>(grid, 32, cluster, body); };
  if (name == "rank out of range") {
    launch(4, 2, [](TinySmem& s) {
      s.v[0] = 1.f;
      cg::this_cluster().sync();
      volatile float x = *cg::this_cluster().map_shared_rank(&s.v[0], 2);  // ranks are 0 and 1
      (void)x;
      cg::this_cluster().sync();
    });
  } else if (name == "address outside shared memory") {
    static float global[4];
    launch(2, 2, [](TinySmem&) {
      volatile float x = *cg::this_cluster().map_shared_rank(&global[1], 1);
      (void)x;
    });
  } else if (name == "__syncthreads mismatch") {
    launch(2, 1, [](TinySmem& s) {
      s.v[threadIdx.x % 4] = 0.f;
      if (threadIdx.x == 5) __syncthreads();  // the other 31 threads never reach it
    });
  } else if (name == "cluster.sync mismatch") {
    launch(4, 2, [](TinySmem&) {
      __syncthreads();
      if (cg::this_cluster().block_rank() == 0) cg::this_cluster().sync();  // rank 1 returns instead
    });
  } else if (name == "peer read after the last cluster.sync") {
    launch(2, 2, [](TinySmem& s) {
      s.v[0] = static_cast<float>(blockIdx.x);
      cg::this_cluster().sync();
      volatile float x = *cg::this_cluster().map_shared_rank(&s.v[0], (cg::this_cluster().block_rank() + 1) % 2);
      (void)x;  // returns without a cluster.sync(): the peer may be gone
    });
  } else if (name == "deadlock between barriers") {
    launch(2, 2, [](TinySmem&) {
      if (threadIdx.x == 0) cg::this_cluster().sync();  // while the rest of its block waits below
      __syncthreads();
      if (threadIdx.x != 0) cg::this_cluster().sync();
    });
  } else if (name == "__trap") {
    launch(2, 1, [](TinySmem&) {
      if (blockIdx.x == 1 && threadIdx.x == 3) __trap();
      __syncthreads();
    });
  } else if (name == "exception in a body") {
    launch(2, 2, [](TinySmem&) {
      if (threadIdx.x == 7) throw std::runtime_error("thrown by thread 7");
      cg::this_cluster().sync();
    });
  } else if (name == "grid not a multiple of the cluster") {
    launch(6, 4, [](TinySmem&) {});
  } else if (name == "read past the end of a buffer") {
    emu::DeviceBuffer<float> buf(1000);
    const float* p = buf.data();
    launch(1, 1, [p](TinySmem&) {
      volatile float x = p[1000 + 1024 * threadIdx.x];  // thread 0 reads the first float past the end
      (void)x;
    });
  } else {
    std::fprintf(stderr, "unknown death case %s\n", name.c_str());
    return 2;
  }
  std::fprintf(stderr, "death case %s did not abort\n", name.c_str());
  return 0;  // the runner fails the test on a zero status
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--death") == 0) return death(argv[2]);
  Report report;
  report.add(sum_case(1, 1, 300, 1));
  report.add(sum_case(3, 2, 257, 2));
  report.add(sum_case(2, 3, 500, 3));  // clusters need not be a power of two
  report.add(sum_case(4, 8, 100, 4));  // 1024 threads at once
  report.add(sum_case(1, 8, 5, 5));    // blocks with empty slices
  report.death("rank out of range", "rank 2 out of range");
  report.death("address outside shared memory", "is not inside this block's shared memory");
  report.death("__syncthreads mismatch", "barrier mismatch");
  report.death("cluster.sync mismatch", "barrier mismatch");
  report.death("peer read after the last cluster.sync", "no cluster.sync() since");
  report.death("deadlock between barriers", "deadlock");
  report.death("__trap", "block 1 thread 3: __trap()");
  report.death("exception in a body", "thrown by thread 7");
  report.death("grid not a multiple of the cluster", "not a multiple of the cluster size");
  report.death("read past the end of a buffer", "");  // SIGSEGV on the guard page
  return report.print("emulator_selftest");
}
