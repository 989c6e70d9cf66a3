// The emulator's own test: a small split-K kernel body that uses every primitive (float4 __ldg
// loads, fmaf, __syncthreads, cluster.sync, map_shared_rank across ranks) checked against a float64
// reference, the built-in variables, poisoned shared memory, determinism; the warp-level
// collectives (__shfl_sync / __shfl_xor_sync / __shfl_down_sync with their width semantics,
// __syncwarp), atomicAdd + __threadfence + __ldcg in a ticket reduction over blocks run in a
// permuted order, dynamic shared memory across a cluster; and the checks that must abort
// (`--death NAME`, run as separate processes by tests/kernel-emulation.test.ts).
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
  emu_test::upload(dA, A);
  emu_test::upload(dw, w);
  const SumArgs a{dA.data(), dw.data(), dout.data(), dpoison.data(), K, C, clusters * C};
  emulate_launch<SumSmem>(clusters * C, kThreads, C, [&](SumSmem& s) { sum_body(a, s); });
  return {emu_test::download(dout), emu_test::download(dpoison)};
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

// ---- warp-level collectives -------------------------------------------------------------------

constexpr int kWarpThreads = 96;  // 3 warps
constexpr int kWarpResults = 10;  // per thread

struct WarpSmem {
  int buf[kWarpThreads];
};

// Each thread records kWarpResults values; v(b, t) = 7·t + 1000·b is thread t's operand in block b.
void warp_body(int* out, WarpSmem& s) {
  const int t = static_cast<int>(threadIdx.x), b = static_cast<int>(blockIdx.x), lane = t % 32, warp = t / 32;
  const int v = 7 * t + 1000 * b;
  int* r = out + (static_cast<size_t>(b) * kWarpThreads + t) * kWarpResults;
  int sum = v;  // butterfly: every lane ends with the warp's sum
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  r[0] = sum;
  r[1] = __shfl_sync(0xffffffffu, v, 5);       // lane 5
  r[2] = __shfl_sync(0xffffffffu, v, 37);      // lane 37 mod 32 = 5
  r[3] = __shfl_sync(0xffffffffu, v, 3, 8);    // lane 3 of this lane's group of 8
  r[4] = __shfl_sync(0xffffffffu, v, -1, 8);   // lane -1 mod 8 = 7 of the group
  r[5] = __shfl_down_sync(0xffffffffu, v, 3);  // lane + 3, own value past lane 31
  r[6] = __shfl_down_sync(0xffffffffu, v, 3, 16);  // within groups of 16
  const double d = __shfl_xor_sync(0xffffffffu, static_cast<double>(v) + 0.25, 16, 16);  // earlier group only
  r[7] = static_cast<int>(d * 4);
  const float f = __shfl_xor_sync(0xffffffffu, static_cast<float>(v), 1);
  r[8] = static_cast<int>(f);
  s.buf[t] = v;  // __syncwarp orders the warp's shared-memory accesses
  __syncwarp();
  r[9] = s.buf[32 * warp + 31 - lane];
  __syncwarp();
}

Case warp_case() {
  Case c;
  c.name = "warp-level collectives: 2 blocks of 3 warps";
  emu_test::Timer timer;
  constexpr int kBlocks = 2;
  emu::DeviceBuffer<int> out(static_cast<size_t>(kBlocks) * kWarpThreads * kWarpResults);
  emulate_launch<WarpSmem>(kBlocks, kWarpThreads, 1, [&](WarpSmem& s) { warp_body(out.data(), s); });
  Compare cmp;
  for (int b = 0; b < kBlocks; ++b)
    for (int t = 0; t < kWarpThreads; ++t) {
      const int lane = t % 32, base = t - lane;
      auto v = [&](int l) { return 7 * (base + l) + 1000 * b; };
      int sum = 0;
      for (int l = 0; l < 32; ++l) sum += v(l);
      const int want[kWarpResults] = {sum, v(5), v(5), v((lane & ~7) + 3), v((lane & ~7) + 7),
                                      lane + 3 < 32 ? v(lane + 3) : v(lane),
                                      (lane & 15) + 3 < 16 ? v(lane + 3) : v(lane),
                                      4 * (lane >= 16 ? v(lane - 16) : v(lane)) + 1, v(lane ^ 1), v(31 - lane)};
      const size_t at = (static_cast<size_t>(b) * kWarpThreads + t) * kWarpResults;
      for (int i = 0; i < kWarpResults; ++i) cmp.exact("result", at + i, int64_t{out[at + i]}, int64_t{want[i]});
    }
  Report::fold(c, cmp);
  c.seconds = timer.seconds();
  return c;
}

// ---- atomicAdd, __threadfence, __ldcg: a ticket reduction ------------------------------------

constexpr int kTicketBlocks = 12, kTicketThreads = 64;

struct TicketArgs {
  const float* in;      // [blocks][threads]
  float* partials;      // [blocks]
  unsigned* ticket;     // 0 between launches
  int* counter;         // atomicAdd on int: every thread takes one number
  int* taken;           // [blocks·threads]: the numbers taken
  float* total;
  int* last_block;
};

struct TicketSmem {
  float v[kTicketThreads];
  bool last;
};

void ticket_body(const TicketArgs& a, TicketSmem& s) {
  const int t = static_cast<int>(threadIdx.x), b = static_cast<int>(blockIdx.x);
  a.taken[b * kTicketThreads + t] = atomicAdd(a.counter, 1);
  s.v[t] = a.in[b * kTicketThreads + t];
  __syncthreads();
  if (t == 0) {
    float p = 0.f;
    for (int i = 0; i < kTicketThreads; ++i) p += s.v[i];
    a.partials[b] = p;
    __threadfence();
    s.last = atomicAdd(a.ticket, 1u) == gridDim.x - 1;
    if (s.last) __threadfence();
  }
  __syncthreads();
  if (!s.last) return;
  if (t == 0) {
    float sum = 0.f;
    for (unsigned i = 0; i < gridDim.x; ++i) sum += __ldcg(a.partials + i);
    *a.total = sum;
    *a.last_block = b;
    *a.ticket = 0;
  }
}

struct TicketRun {
  float total;
  int last_block;
  unsigned ticket;
  std::vector<int> taken;
};

TicketRun run_ticket(const std::vector<float>& in, uint64_t order_seed) {
  emu::DeviceBuffer<float> din(in.size()), partials(kTicketBlocks), total(1);
  emu::DeviceBuffer<unsigned> ticket(1);
  emu::DeviceBuffer<int> counter(1), taken(in.size()), last(1);
  emu_test::upload(din, in);
  ticket[0] = 0, counter[0] = 0;
  const TicketArgs a{din.data(), partials.data(), ticket.data(), counter.data(), taken.data(), total.data(), last.data()};
  emu::Launch l;
  l.grid_blocks = kTicketBlocks, l.block_threads = kTicketThreads, l.cluster_order_seed = order_seed;
  emulate_launch<TicketSmem>(l, [&](TicketSmem& s, void*) { ticket_body(a, s); });
  return {total[0], last[0], ticket[0], emu_test::download(taken)};
}

Case ticket_case() {
  Case c;
  c.name = "ticket reduction (atomicAdd, __threadfence, __ldcg) over 12 blocks, in order and permuted";
  emu_test::Timer timer;
  emu_test::Rng rng(7);
  std::vector<float> in(kTicketBlocks * kTicketThreads);
  for (float& v : in) v = rng.uniform(-1.f, 1.f);
  float want = 0.f;  // the kernel's order: each block's sum in thread order, then the blocks in order
  for (int b = 0; b < kTicketBlocks; ++b) {
    float p = 0.f;
    for (int t = 0; t < kTicketThreads; ++t) p += in[b * kTicketThreads + t];
    want += p;
  }
  Compare cmp;
  const TicketRun ordered = run_ticket(in, 0), permuted = run_ticket(in, 3);
  for (const TicketRun* r : {&ordered, &permuted}) {
    cmp.exact("total", 0, r->total, want);
    cmp.exact("ticket after", 0, int64_t{r->ticket}, 0);
    std::vector<int> seen(in.size(), 0);
    for (int v : r->taken)
      if (v >= 0 && v < static_cast<int>(in.size())) ++seen[v];
    for (size_t i = 0; i < seen.size(); ++i) cmp.exact("atomicAdd(int) values taken", i, int64_t{seen[i]}, 1);
  }
  cmp.exact("last block, blocks in order", 0, int64_t{ordered.last_block}, kTicketBlocks - 1);
  cmp.exact("last block, permuted: not the highest", 0, int64_t{permuted.last_block == kTicketBlocks - 1}, 0);
  Report::fold(c, cmp);
  c.seconds = timer.seconds();
  return c;
}

// ---- dynamic shared memory ---------------------------------------------------------------------

struct SmallSmem {
  float s[3];  // 12 bytes: the dynamic part starts at the next 16 bytes
};

constexpr int kDynFloats = 250;

Case dynamic_case() {
  Case c;
  c.name = "dynamic shared memory: 2 clusters of 2 blocks, read across the cluster";
  emu_test::Timer timer;
  constexpr unsigned kBlocks = 4, kThreadsPerBlock = 64;
  emu::DeviceBuffer<float> out(static_cast<size_t>(kBlocks) * kDynFloats);
  emu::DeviceBuffer<int> ok(static_cast<size_t>(kBlocks) * kThreadsPerBlock);
  emu::Launch l;
  l.grid_blocks = kBlocks, l.block_threads = kThreadsPerBlock, l.cluster_blocks = 2;
  l.dynamic_smem_bytes = kDynFloats * sizeof(float);
  emulate_launch<SmallSmem>(l, [&](SmallSmem& s, void* dynamic) {
    const cg::cluster_group cluster = cg::this_cluster();
    float* dyn = static_cast<float*>(dynamic);
    const unsigned t = threadIdx.x, b = blockIdx.x;
    // Aligned, never written (NaN), after the static part.
    ok[b * kThreadsPerBlock + t] = reinterpret_cast<uintptr_t>(dyn) % 16 == 0 && std::isnan(dyn[t]) &&
                                   reinterpret_cast<unsigned char*>(dyn) >= reinterpret_cast<unsigned char*>(&s + 1);
    __syncthreads();
    if (t < 3) s.s[t] = -1.f;
    for (unsigned i = t; i < kDynFloats; i += kThreadsPerBlock) dyn[i] = static_cast<float>(1000 * b + i);
    cluster.sync();
    const unsigned peer = cluster.block_rank() ^ 1u;
    for (unsigned i = t; i < kDynFloats; i += kThreadsPerBlock)
      out[b * kDynFloats + i] = *cluster.map_shared_rank(dyn + i, static_cast<int>(peer));
    cluster.sync();
  });
  Compare cmp;
  for (unsigned b = 0; b < kBlocks; ++b)
    for (unsigned i = 0; i < kDynFloats; ++i)
      cmp.exact("peer's dynamic shared memory", b * kDynFloats + i, out[b * kDynFloats + i],
                static_cast<float>(1000 * (b ^ 1u) + i));
  for (size_t i = 0; i < ok.size(); ++i) cmp.exact("aligned, poisoned, after the static part", i, int64_t{ok[i]}, 1);
  Report::fold(c, cmp);
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
  } else if (name == "shuffle with a partial mask") {
    launch(1, 1, [](TinySmem&) {
      volatile int x = __shfl_sync(0x0000ffffu, static_cast<int>(threadIdx.x), 0);
      (void)x;
    });
  } else if (name == "shuffle reading a returned lane") {
    launch(1, 1, [](TinySmem&) {
      if (threadIdx.x == 31) return;
      volatile int x = __shfl_down_sync(0xffffffffu, static_cast<int>(threadIdx.x), 1);  // lane 30 reads lane 31
      (void)x;
    });
  } else if (name == "lanes at different warp intrinsics") {
    launch(1, 1, [](TinySmem&) {
      if (threadIdx.x == 4) {
        __syncwarp();
      } else {
        volatile float x = __shfl_xor_sync(0xffffffffu, 1.f, 1);
        (void)x;
      }
    });
  } else if (name == "too much dynamic shared memory") {
    emu::Launch l;
    l.dynamic_smem_bytes = 228 * 1024;
    emulate_launch<TinySmem>(l, [](TinySmem&, void*) {});
  } else if (name == "16-block cluster without the non-portable attribute") {
    emu::Launch l;
    l.grid_blocks = 16, l.block_threads = 32, l.cluster_blocks = 16;
    emulate_launch<TinySmem>(l, [](TinySmem&, void*) {});
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
  report.add(warp_case());
  report.add(ticket_case());
  report.add(dynamic_case());
  report.death("rank out of range", "rank 2 out of range");
  report.death("address outside shared memory", "is not inside this block's shared memory");
  report.death("__syncthreads mismatch", "barrier mismatch");
  report.death("cluster.sync mismatch", "barrier mismatch");
  report.death("peer read after the last cluster.sync", "no cluster.sync() since");
  report.death("deadlock between barriers", "deadlock");
  report.death("__trap", "block 1 thread 3: __trap()");
  report.death("exception in a body", "thrown by thread 7");
  report.death("grid not a multiple of the cluster", "not a multiple of the cluster size");
  report.death("shuffle with a partial mask", "only the full mask is emulated");
  report.death("shuffle reading a returned lane", "lane 30 reads lane 31, which has returned");
  report.death("lanes at different warp intrinsics", "warp-level mismatch");
  report.death("too much dynamic shared memory", "bytes of shared memory per block");
  report.death("16-block cluster without the non-portable attribute", "1..8 blocks per cluster");
  report.death("read past the end of a buffer", "");  // SIGSEGV on the guard page
  return report.print("emulator_selftest");
}
