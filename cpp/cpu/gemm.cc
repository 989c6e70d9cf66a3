#include "cpp/cpu/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "cpp/cpu/cpu_features.h"
#include "cpp/cpu/gemm_kernels.h"
#include "cpp/cpu/host_allocator.h"

namespace tinynn::cpu {
namespace {

// Packed B block per thread: kc x nc floats kept within half of a 1-2 MiB L2, so that it stays
// there while every row of tiles of the thread's part of C streams over it.
constexpr long kBlockBytes = 512 * 1024;
// Cost model for splitting C over threads, in cycles: a region's wake-up and join (~0.3 µs with
// the workers spinning, more when they sleep), and transposing one element of B into a panel.
constexpr double kRegionCycles = 4000;
constexpr double kPackCyclesPerElement = 0.25;

const GemmKernels& best_kernels() {
  const CpuFeatures& f = cpu_features();
  if (f.avx512f && avx512_kernels()) return *avx512_kernels();
  if (f.avx2_fma && avx2_kernels()) return *avx2_kernels();
  return portable_kernels();
}

// TINYNN_GEMM=avx2 or portable picks a narrower set than the widest (when the CPU has it); it is
// read on every call (a few dozen ns) so that one process can test each path in turn.
const GemmKernels& select_kernels() {
  const char* want = std::getenv("TINYNN_GEMM");
  if (!want || !*want) return best_kernels();
  const CpuFeatures& f = cpu_features();
  if (std::strcmp(want, "portable") == 0) return portable_kernels();
  if (std::strcmp(want, "avx2") == 0 && f.avx2_fma && avx2_kernels()) return *avx2_kernels();
  return best_kernels();
}

// Grow-only, cache-line aligned packing space of one calling thread. It is sized in the calling
// thread before a region starts, so tasks never allocate and an allocation failure surfaces as
// OutOfMemory to the caller.
class Workspace {
 public:
  float* reserve(long floats) {
    if (floats > capacity_) {
      // 64-byte aligned on every platform (std::aligned_alloc does not exist on Windows).
      void* p = HostAllocator::instance().allocate((floats + 15) / 16 * 16 * sizeof(float));
      data_.reset(static_cast<float*>(p));
      capacity_ = floats;
    }
    return data_.get();
  }

 private:
  struct Free {
    void operator()(float* p) const { HostAllocator::instance().release(p); }
  };
  std::unique_ptr<float, Free> data_;
  long capacity_ = 0;
};

thread_local Workspace t_workspace;

struct Problem {
  bool ta, tb;
  int M, N, K;
  float alpha;
  const float* A;
  long lda;
  const float* B;
  long ldb;
  float beta;
  float* C;
  long ldc;
  GemmEpilogue epilogue;
};

// How one problem is cut: K blocks, column chunks per packed block, and a pm x pn grid of parts
// of C, one part per task. Rows are split in whole micro-tiles, columns in whole vectors.
struct Plan {
  const GemmKernels* kernels;
  int kc, nk;
  int nc;
  int pm, pn;
  int m_units, n_units;
  bool pack_b;         // every panel packed (always when tb)
  long buffer_floats;  // per task, a multiple of 16 (64-byte aligned slices)
};

Plan make_plan(const Problem& p, const GemmKernels& k, int threads) {
  Plan plan{};
  plan.kernels = &k;
  // Equal K blocks, so that K = 784 runs as 2 x 392 rather than 512 + 272.
  plan.nk = (p.K + k.kc_max - 1) / k.kc_max;
  plan.kc = (p.K + plan.nk - 1) / plan.nk;
  plan.nc = static_cast<int>(
      std::max<long>(k.nr, kBlockBytes / (plan.kc * long{sizeof(float)}) / k.nr * k.nr));
  plan.m_units = (p.M + k.mr - 1) / k.mr;
  plan.n_units = (p.N + k.vec - 1) / k.vec;

  // Pick the grid whose slowest part finishes first; ties go to fewer threads.
  const double lanes_per_cycle = 2.0 * k.vec;  // two FMA pipes
  double best = 0;
  for (int pm = 1; pm <= threads; ++pm) {
    for (int pn = 1; pm * pn <= threads; ++pn) {
      if (pm > plan.m_units || pn > plan.n_units) continue;
      const double rows = double((plan.m_units + pm - 1) / pm) * k.mr;
      const double cols = double((plan.n_units + pn - 1) / pn) * k.vec;
      double cycles = rows * cols * p.K / lanes_per_cycle;
      if (p.tb) cycles += cols * p.K * kPackCyclesPerElement;
      if (pm * pn > 1) cycles += kRegionCycles;
      if (best == 0 || cycles < best) {
        best = cycles;
        plan.pm = pm;
        plan.pn = pn;
      }
    }
  }
  // Rows of B read in place share cache sets when ldb is a multiple of 256 floats (1 KiB), and
  // past ~32 row tiles per part a contiguous panel repays its copy many times over; otherwise
  // (dW = dyᵀ·x: 16 tiles, ldb 784) reading in place is ~10% faster.
  const int tiles_per_part = (plan.m_units + plan.pm - 1) / plan.pm;
  plan.pack_b = p.tb || p.ldb % 256 == 0 || tiles_per_part >= 32;
  plan.buffer_floats = (long{plan.kc} * (plan.pack_b ? plan.nc : k.nr) + 15) / 16 * 16;
  return plan;
}

// One part of C: rows [m0, m1), columns [n0, n1), all of K, packing into buf.
void run_part(const Problem& p, const Plan& plan, int m0, int m1, int n0, int n1, float* buf) {
  const GemmKernels& k = *plan.kernels;
  for (int nb = n0; nb < n1; nb += plan.nc) {
    const int n = std::min(plan.nc, n1 - nb);
    const int full = n / k.nr, tail = n % k.nr;
    const long tail_rs = (tail + k.vec - 1) / k.vec * k.vec;
    for (int kb = 0; kb < plan.nk; ++kb) {
      const int k0 = kb * plan.kc, kc = std::min(plan.kc, p.K - k0);
      GemmBlock g;
      g.a = p.A + (p.ta ? k0 * p.lda + m0 : m0 * p.lda + k0);
      g.lda = p.lda;
      g.ta = p.ta;
      g.m = m1 - m0;
      g.kc = kc;
      g.n = n;
      float* tail_buf = buf;
      if (plan.pack_b) {
        // Every panel packed (transposed when tb), the partial one last and narrower.
        const long step = long{kc} * k.nr;
        for (int q = 0; q < full; ++q)
          k.pack(p.tb, p.B, p.ldb, k0, kc, nb + q * k.nr, k.nr, buf + q * step, k.nr);
        g.b = buf;
        g.b_rs = k.nr;
        g.b_panel_step = step;
        tail_buf = buf + full * step;
      } else {
        // Rows of B are rows of op(B): full panels are read in place, only the partial one is
        // copied (reading it in place would run past the end of B).
        g.b = p.B + k0 * p.ldb + nb;
        g.b_rs = p.ldb;
        g.b_panel_step = k.nr;
      }
      if (tail) k.pack(p.tb, p.B, p.ldb, k0, kc, nb + full * k.nr, tail, tail_buf, tail_rs);
      g.tail = tail_buf;
      g.tail_rs = tail_rs;
      g.c = p.C + m0 * p.ldc + nb;
      g.ldc = p.ldc;
      g.alpha = p.alpha;
      g.load_c = kb > 0 || p.beta != 0.f;
      g.beta = kb > 0 ? 1.f : p.beta;
      const bool last = kb == plan.nk - 1;
      g.bias = last && p.epilogue.bias ? p.epilogue.bias + nb : nullptr;
      g.relu = last && p.epilogue.activation == Activation::Relu;
      k.compute(g);
    }
  }
}

// alpha == 0 or K == 0: op(A)·op(B) contributes nothing (and A, B are not read).
void scale_only(const Problem& p) {
  for (int m = 0; m < p.M; ++m) {
    float* c = p.C + m * p.ldc;
    for (int n = 0; n < p.N; ++n) {
      float v = p.beta == 0.f ? 0.f : p.beta * c[n];
      if (p.epilogue.bias) v += p.epilogue.bias[n];
      if (p.epilogue.activation == Activation::Relu) v = std::max(v, 0.f);
      c[n] = v;
    }
  }
}

// One region's work. Its tasks capture only a pointer to it, which std::function stores without
// allocating.
struct TileRegion {
  const Problem& p;
  Plan plan;
  float* buffers;

  void run(int t) const {
    const GemmKernels& k = *plan.kernels;
    const int im = t / plan.pn, in = t % plan.pn;
    const int m0 = std::min(p.M, int(long{plan.m_units} * im / plan.pm) * k.mr);
    const int m1 = std::min(p.M, int(long{plan.m_units} * (im + 1) / plan.pm) * k.mr);
    const int n0 = std::min(p.N, int(long{plan.n_units} * in / plan.pn) * k.vec);
    const int n1 = std::min(p.N, int(long{plan.n_units} * (in + 1) / plan.pn) * k.vec);
    if (m0 < m1 && n0 < n1)
      run_part(p, plan, m0, m1, n0, n1, buffers + t * plan.buffer_floats);
  }
};

// Splits C over the pool by the cost model of make_plan and runs each part.
void run_tiles(ThreadPool& pool, const Problem& p, const GemmKernels& k) {
  const Plan plan = make_plan(p, k, pool.size());
  float* buffers = t_workspace.reserve(plan.buffer_floats * plan.pm * plan.pn);
  const TileRegion region{p, plan, buffers};
  pool.parallel_for(plan.pm * plan.pn, [r = &region](int t) { r->run(t); });
}

// Skinny products go to the dot kernels when the thin operand's rows are contiguous (or cheap to
// make so): M <= 4 with tb ([1,784]x[784,128] inference, W stored [128,784]) or N <= 4 without ta.
constexpr int kDotMax = 4;

bool use_dot(const Problem& p, const GemmKernels& k) {
  return k.dot && ((p.M <= kDotMax && p.tb) || (p.N <= kDotMax && !p.ta));
}

// One region of dot products: part t of `parts` covers groups [units·t/parts, units·(t+1)/parts)
// of the long side.
struct DotRegion {
  const GemmKernels& k;
  DotBlock d;   // the whole product
  bool thin_a;  // the long side is N (else M)
  int group, units, parts;

  void run(int t) const {
    const int lo = int(long{units} * t / parts) * group;
    const int hi = int(long{units} * (t + 1) / parts) * group;
    DotBlock part = d;
    if (thin_a) {
      part.n = std::min(d.n, hi) - lo;
      part.b = d.b + lo * d.ldb;
      part.c = d.c + lo;
      part.bias = d.bias ? d.bias + lo : nullptr;
    } else {
      part.m = std::min(d.m, hi) - lo;
      part.a = d.a + lo * d.lda;
      part.c = d.c + lo * d.ldc;
    }
    if (part.m > 0 && part.n > 0) k.dot(part);
  }
};

// Dot products over the pool: split along the long side when the work outweighs a region.
void run_dot(ThreadPool& pool, const Problem& p, const GemmKernels& k) {
  const bool thin_a = p.M <= kDotMax && p.tb;  // else N <= 4 and !ta
  DotBlock d;
  d.a = p.A;
  d.lda = p.lda;
  d.m = p.M;
  d.b = p.B;
  d.ldb = p.ldb;
  d.n = p.N;
  d.k = p.K;
  d.c = p.C;
  d.ldc = p.ldc;
  d.bias = p.epilogue.bias;
  d.alpha = p.alpha;
  d.beta = p.beta;
  d.relu = p.epilogue.activation == Activation::Relu;
  // The one operand that may need gathering into rows is the thin one (<= 4 x K floats).
  if (thin_a && p.ta) {
    float* rows = t_workspace.reserve(long{p.M} * p.K);
    for (int i = 0; i < p.M; ++i)
      for (int kk = 0; kk < p.K; ++kk) rows[i * long{p.K} + kk] = p.A[kk * p.lda + i];
    d.a = rows;
    d.lda = p.K;
  } else if (!thin_a && !p.tb) {
    float* rows = t_workspace.reserve(long{p.N} * p.K);
    for (int j = 0; j < p.N; ++j)
      for (int kk = 0; kk < p.K; ++kk) rows[j * long{p.K} + kk] = p.B[kk * p.ldb + j];
    d.b = rows;
    d.ldb = p.K;
  }
  // Split the long side in groups of 8 columns or 4 rows. The dot kernels stream the thick
  // operand from L2 at about one vector FMA per two cycles.
  DotRegion region{k, d, thin_a, thin_a ? 8 : 4, 0, 1};
  region.units = ((thin_a ? p.N : p.M) + region.group - 1) / region.group;
  const double cycles = 2.0 * p.M * p.N * p.K / k.vec;
  if (cycles > 2 * kRegionCycles) region.parts = std::min(pool.size(), region.units);
  pool.parallel_for(region.parts, [r = &region](int t) { r->run(t); });
}

}  // namespace

void sgemm(ThreadPool& pool, bool ta, bool tb, int M, int N, int K, float alpha, const float* A,
           int lda, const float* B, int ldb, float beta, float* C, int ldc,
           const GemmEpilogue& epilogue) {
  if (M <= 0 || N <= 0) return;
  const Problem p{ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, epilogue};
  if (K <= 0 || alpha == 0.f) {
    scale_only(p);
    return;
  }
  const GemmKernels& k = select_kernels();
  if (use_dot(p, k))
    run_dot(pool, p, k);
  else
    run_tiles(pool, p, k);
}

const char* sgemm_kernel_name() { return select_kernels().name; }

}  // namespace tinynn::cpu
