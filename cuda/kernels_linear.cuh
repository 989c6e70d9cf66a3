// The first layer's GEMMs of a training step, each fused with its neighbours into one launch, for
// batches of up to kDirectMaxRows rows (above that the launchers return false and the stage's
// composition of primitives runs, on cuBLAS: it measured faster at batch 512;
// kernels_linear_cluster.cu has the opt-in alternative for 129..1024 rows). Shapes with
// in/out/features % 4 == 0 and 16-byte aligned rows (the MNIST layer) take the direct kernels at
// the end of this file (no split-K: whole-K tiles, 16-byte loads, in-block fixed-order sums);
// others the split-K kernels:
// - gather_linear_kernel: the batch gather (u8 images by index → f32·scale + shift, labels →
//   int32) feeding h = x·Wᵀ (+ bias, ReLU), x written on the way (dW needs it);
// - linear_grad_sgd_kernel: dW = dyᵀ·x with the SGD step of W in the epilogue.
// At these sizes (rows ≤ a few thousand, in = 784, out = 128) cuBLAS picks split-K kernels plus a
// separate reduction; here one launch does it all. Each block computes a kTM × kTN tile of the
// output over one slice of K, staged through shared memory in chunks of kKC, each thread a 2 × 4
// micro-tile. With several K slices, every block leaves its partial tile in scratch and the last
// slice of a tile to finish (ticket) adds the partials in slice order and runs the epilogue: the
// sums' order depends on the shapes alone, so results are bit-reproducible, with no float atomics.
// The work is tiny and latency-bound, so every dependent global round trip counts: the epilogue's
// inputs (bias; W and its momentum) are loaded at the start, a slice is one or two chunks, global
// stores never sit between a chunk's loads, and the last block issues the loads of all slices'
// partials before adding them (in slice order).
//
// The kernel bodies are here, plain C++ apart from CUDA's built-ins, taking their shared memory
// as an argument: cuda/kernels_linear.cu wraps them in __global__ kernels and launches them as
// gather_linear_plan() / linear_grad_sgd_plan() below say, and the CPU emulator in
// tests/kernel-emulation/ runs them on the host (with the same plans) so that CI checks them
// without a GPU.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cuda/scratch.h"
#include "cuda/sgd_math.cuh"

namespace tinynn::gpu::small_linear {

constexpr int kTM = 16, kTN = 64;          // output tile: rows (M) × columns (N)
constexpr int kKC = 64;                    // K chunk staged in shared memory
constexpr int kRM = 2, kRN = 4;            // per-thread micro-tile
constexpr int kGemmThreads = (kTM / kRM) * (kTN / kRN);  // 128
constexpr int kLdA = kTM + 4, kLdB = kTN + 4;  // shared row strides (floats), k-major: As[k][m]
constexpr int kAPerThread = kTM * kKC / kGemmThreads;  // 8
constexpr int kBPerThread = kTN * kKC / kGemmThreads;  // 32
constexpr int kMinSlice = kKC;          // K per block below which splitting K does not pay
constexpr int kTargetBlocks = 512;      // ~4 blocks of 4 warps per SM on an H100/H200
constexpr int kMaxSlices = 16;         // also the partials the last block loads at once
static_assert(kTM * kTN == kGemmTileFloats, "a partial tile fills one scratch slot");
static_assert(kTM * kKC % kGemmThreads == 0 && kTN * kKC % kGemmThreads == 0, "whole loads per thread");

// How K is cut: slice s covers [s·len, min(K, (s+1)·len)), len a multiple of kKC.
struct Split {
  int slices, len;
};

__host__ __device__ inline int imin(int a, int b) { return a < b ? a : b; }
__host__ __device__ inline int imax(int a, int b) { return a > b ? a : b; }

// The launchers' split of K for `tiles` output tiles (host and device: the emulator tests use it).
__host__ __device__ inline Split choose_split(int tiles, int K) {
  int s = tiles >= kTargetBlocks / 2 ? 1 : kTargetBlocks / tiles;
  s = imin(s, kMaxSlices);
  s = imin(s, (K + kMinSlice - 1) / kMinSlice);
  if (tiles > kGemmMaxTiles) s = 1;
  s = imax(1, imin(s, kGemmMaxSplitBlocks / imax(tiles, 1)));
  int len = (K + s - 1) / s;
  len = (len + kKC - 1) / kKC * kKC;
  return {(K + len - 1) / len, len};
}

struct Tile {
  int m0, n0;     // first output row and column
  int tile;       // index of the output tile
  int slice;      // index of the K slice
  int k0, k1;     // K range of the slice
};

__device__ inline Tile block_tile(int N, Split split, int K) {
  const int tiles_n = (N + kTN - 1) / kTN;
  Tile t;
  t.tile = blockIdx.x / split.slices;
  t.slice = blockIdx.x - t.tile * split.slices;
  t.m0 = (t.tile / tiles_n) * kTM;
  t.n0 = (t.tile % tiles_n) * kTN;
  t.k0 = t.slice * split.len;
  t.k1 = min(K, t.k0 + split.len);
  return t;
}

// acc[i][j] += Σ_{k < kKC} As[k][m0 + i]·Bs[k][n0 + j] for this thread's micro-tile.
__device__ inline void mma_chunk(const float* As, const float* Bs, float (&acc)[kRM][kRN]) {
  const int tm = threadIdx.x / (kTN / kRN), tn = threadIdx.x % (kTN / kRN);
#pragma unroll 8
  for (int k = 0; k < kKC; ++k) {
    const float2 a = *reinterpret_cast<const float2*>(As + k * kLdA + tm * kRM);
    const float4 b = *reinterpret_cast<const float4*>(Bs + k * kLdB + tn * kRN);
    const float av[kRM] = {a.x, a.y};
    const float bv[kRN] = {b.x, b.y, b.z, b.w};
#pragma unroll
    for (int i = 0; i < kRM; ++i)
#pragma unroll
      for (int j = 0; j < kRN; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
  }
}

// The K loop over the block's slice: `load(k, ra, rb)` fetches chunk k's operands into registers
// (zeros outside the matrices and the slice), `store(k, ra, rb, As, Bs)` puts them in shared
// memory. The next chunk's loads are in flight while this chunk is multiplied.
template <typename Load, typename Store>
__device__ inline void gemm_slice(const Tile& t, Load load, Store store, float* As, float* Bs,
                                  float (&acc)[kRM][kRN]) {
#pragma unroll
  for (int i = 0; i < kRM; ++i)
#pragma unroll
    for (int j = 0; j < kRN; ++j) acc[i][j] = 0.f;
  float ra[kAPerThread], rb[kBPerThread];
  load(t.k0, ra, rb);
  for (int k = t.k0; k < t.k1; k += kKC) {
    __syncthreads();  // the previous chunk's readers are done with As, Bs
    store(k, ra, rb, As, Bs);
    __syncthreads();
    if (k + kKC < t.k1) load(k + kKC, ra, rb);
    mma_chunk(As, Bs, acc);
  }
}

// The end of every block: with one K slice, epilogue(i, j, m, n, value) for each element (i, j) of
// the micro-tile at once; with several, the partial tile goes to scratch and the tile's last block
// runs the epilogue on the sums over slices in slice order, each thread on its own micro-tile
// (the one it wrote). epilogue sees only m < M, n < N; i and j are compile-time after unrolling.
// `last`: a flag in the block's shared memory (the ticket's answer, for every thread of the block).
template <typename Epilogue>
__device__ inline void finish_tile(const Tile& t, Split split, int M, int N, const GemmScratch& scratch,
                                   float (&acc)[kRM][kRN], bool& last, Epilogue epilogue) {
  const int tm = threadIdx.x / (kTN / kRN), tn = threadIdx.x % (kTN / kRN);
  const int offset = (tm * kRM) * kTN + tn * kRN;  // of the micro-tile's first row in a partial tile
  if (split.slices > 1) {
    float* mine = scratch.partials + static_cast<size_t>(blockIdx.x) * kGemmTileFloats;
#pragma unroll
    for (int i = 0; i < kRM; ++i)
      *reinterpret_cast<float4*>(mine + offset + i * kTN) = make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
    // The block's partials, ordered before thread 0's fence by the barrier, are visible device-wide
    // before its ticket is taken; the last block's fence orders its reads after the others' writes
    // (cooperative groups' grid sync does the same: one fence per block, not one per thread).
    __syncthreads();
    if (threadIdx.x == 0) {
      __threadfence();
      last = atomicAdd(scratch.tickets + t.tile, 1u) == static_cast<unsigned>(split.slices - 1);
      if (last) __threadfence();
    }
    __syncthreads();
    if (!last) return;
    // All slices' loads in flight at once, then the sums in slice order.
    const float* first = scratch.partials + static_cast<size_t>(t.tile) * split.slices * kGemmTileFloats + offset;
    float4 p[kMaxSlices][kRM];
#pragma unroll
    for (int sl = 0; sl < kMaxSlices; ++sl)
#pragma unroll
      for (int i = 0; i < kRM; ++i)
        p[sl][i] = sl < split.slices
                       ? __ldcg(reinterpret_cast<const float4*>(first + static_cast<size_t>(sl) * kGemmTileFloats + i * kTN))
                       : make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
    for (int i = 0; i < kRM; ++i) {
      float4 s = p[0][i];
#pragma unroll
      for (int sl = 1; sl < kMaxSlices; ++sl) {
        if (sl < split.slices) {
          s.x += p[sl][i].x;
          s.y += p[sl][i].y;
          s.z += p[sl][i].z;
          s.w += p[sl][i].w;
        }
      }
      acc[i][0] = s.x;
      acc[i][1] = s.y;
      acc[i][2] = s.z;
      acc[i][3] = s.w;
    }
    if (threadIdx.x == 0) scratch.tickets[t.tile] = 0;  // ready for the next launch or replay
  }
#pragma unroll
  for (int i = 0; i < kRM; ++i) {
    const int m = t.m0 + tm * kRM + i;
#pragma unroll
    for (int j = 0; j < kRN; ++j) {
      const int n = t.n0 + tn * kRN + j;
      if (m < M && n < N) epilogue(i, j, m, n, acc[i][j]);
    }
  }
}

// The split-K kernels' shared memory: one chunk of both operands, k-major, and the ticket's answer.
struct SplitSmem {
  alignas(16) float As[kKC * kLdA];
  alignas(16) float Bs[kKC * kLdB];
  bool last;  // this block is the tile's last slice to finish (finish_tile)
};

struct GatherLinearArgs {
  const uint8_t* images;
  const uint8_t* labels;
  const int32_t* indices;
  const float* W;     // [N][K]
  const float* bias;  // [N] or null
  float* x;           // [M][K]
  int32_t* y;         // [M]
  float* h;           // [M][N]
  int M, N, K;
  float scale, shift;
  bool relu;
  Split split;
  GemmScratch scratch;
};

// h[m][n] = Σ_k x[m][k]·W[n][k], x[m][k] = images[indices[m]][k]·scale + shift. A loads: lane = k
// (a warp reads 32 consecutive bytes of one image row); B loads: lane = k along a row of W. The
// column tile at n0 = 0 writes x (from the staged registers, so no store waits between loads) and
// y (its label loads in flight during the GEMM).
__device__ __forceinline__ void gather_linear_body(const GatherLinearArgs& a, SplitSmem& s) {
  const Tile t = block_tile(a.N, a.split, a.K);
  const int kk = threadIdx.x % kKC, r0 = threadIdx.x / kKC;  // r0 + kRowStep·j: this thread's rows of A, B
  constexpr int kRowStep = kGemmThreads / kKC;
  const bool writes_x = t.n0 == 0;  // one column tile writes x, once per element
  const uint8_t* src[kAPerThread];
#pragma unroll
  for (int j = 0; j < kAPerThread; ++j) {
    const int m = t.m0 + r0 + kRowStep * j;
    src[j] = m < a.M ? a.images + static_cast<size_t>(a.indices[m]) * a.K : nullptr;
  }
  const bool writes_y = writes_x && t.slice == 0 && threadIdx.x < kTM && t.m0 + threadIdx.x < a.M;
  int32_t label = 0;
  if (writes_y) label = a.labels[a.indices[t.m0 + threadIdx.x]];
  // The epilogue's bias, loaded ahead.
  const int tn = threadIdx.x % (kTN / kRN);
  float bias[kRN];
#pragma unroll
  for (int j = 0; j < kRN; ++j) {
    const int n = t.n0 + tn * kRN + j;
    bias[j] = a.bias && n < a.N ? a.bias[n] : 0.f;
  }

  auto load = [&](int k0, float (&ra)[kAPerThread], float (&rb)[kBPerThread]) {
    const int k = k0 + kk;
    const bool in_k = k < t.k1;
#pragma unroll
    for (int j = 0; j < kBPerThread; ++j) {
      const int n = t.n0 + r0 + kRowStep * j;
      rb[j] = in_k && n < a.N ? a.W[static_cast<size_t>(n) * a.K + k] : 0.f;
    }
#pragma unroll
    for (int j = 0; j < kAPerThread; ++j)
      ra[j] = in_k && src[j] ? static_cast<float>(src[j][k]) * a.scale + a.shift : 0.f;
  };
  auto store = [&](int k0, const float (&ra)[kAPerThread], const float (&rb)[kBPerThread], float* As_, float* Bs_) {
    const int k = k0 + kk;
#pragma unroll
    for (int j = 0; j < kAPerThread; ++j) {
      As_[kk * kLdA + r0 + kRowStep * j] = ra[j];
      if (writes_x && k < t.k1 && src[j]) a.x[static_cast<size_t>(t.m0 + r0 + kRowStep * j) * a.K + k] = ra[j];
    }
#pragma unroll
    for (int j = 0; j < kBPerThread; ++j) Bs_[kk * kLdB + r0 + kRowStep * j] = rb[j];
  };
  float acc[kRM][kRN];
  gemm_slice(t, load, store, s.As, s.Bs, acc);
  if (writes_y) a.y[t.m0 + threadIdx.x] = label;
  finish_tile(t, a.split, a.M, a.N, a.scratch, acc, s.last, [&](int, int j, int m, int n, float v) {
    if (a.bias) v += bias[j];
    a.h[static_cast<size_t>(m) * a.N + n] = a.relu && v < 0.f ? 0.f : v;  // keeps NaN, like the GEMM epilogue
  });
}

struct GradSgdArgs {
  const float* dy;  // [K][M]: K = rows, M = out
  const float* x;   // [K][N]: N = in
  float* dW;        // [M][N]
  float* W;         // [M][N]
  float* W_momentum;
  int M, N, K;
  SgdParams sgd;
  Split split;
  GemmScratch scratch;
};

// dW[m][n] = Σ_k dy[k][m]·x[k][n], then W[m][n] ← sgd_step(W[m][n], dW[m][n]). A loads: lanes
// along a row of dy (m); B loads: lanes along a row of x (n). W and its momentum are loaded for
// the thread's micro-tile before the GEMM (every block: cheap, and the last block then waits on
// nothing but its partials).
__device__ __forceinline__ void linear_grad_sgd_body(const GradSgdArgs& a, SplitSmem& s) {
  const Tile t = block_tile(a.N, a.split, a.K);
  const int am = threadIdx.x % kTM, ak = threadIdx.x / kTM;  // A: (m, k + (kGemmThreads/kTM)·j)
  const int bn = threadIdx.x % kTN, bk = threadIdx.x / kTN;  // B: (n, k + (kGemmThreads/kTN)·j)
  constexpr int kAStep = kGemmThreads / kTM, kBStep = kGemmThreads / kTN;

  const int tm = threadIdx.x / (kTN / kRN), tn = threadIdx.x % (kTN / kRN);
  const bool momentum = a.W_momentum && a.sgd.momentum != 0.f;
  float wv[kRM][kRN], mv[kRM][kRN];
#pragma unroll
  for (int i = 0; i < kRM; ++i) {
    const int m = t.m0 + tm * kRM + i;
#pragma unroll
    for (int j = 0; j < kRN; ++j) {
      const int n = t.n0 + tn * kRN + j;
      const bool in = m < a.M && n < a.N;
      const size_t e = static_cast<size_t>(m) * a.N + n;
      wv[i][j] = in ? a.W[e] : 0.f;
      mv[i][j] = in && momentum && !a.sgd.first_step ? a.W_momentum[e] : 0.f;
    }
  }

  auto load = [&](int k0, float (&ra)[kAPerThread], float (&rb)[kBPerThread]) {
    const int m = t.m0 + am, n = t.n0 + bn;
#pragma unroll
    for (int j = 0; j < kAPerThread; ++j) {
      const int k = k0 + ak + kAStep * j;
      ra[j] = k < t.k1 && m < a.M ? a.dy[static_cast<size_t>(k) * a.M + m] : 0.f;
    }
#pragma unroll
    for (int j = 0; j < kBPerThread; ++j) {
      const int k = k0 + bk + kBStep * j;
      rb[j] = k < t.k1 && n < a.N ? a.x[static_cast<size_t>(k) * a.N + n] : 0.f;
    }
  };
  auto store = [&](int, const float (&ra)[kAPerThread], const float (&rb)[kBPerThread], float* As_, float* Bs_) {
#pragma unroll
    for (int j = 0; j < kAPerThread; ++j) As_[(ak + kAStep * j) * kLdA + am] = ra[j];
#pragma unroll
    for (int j = 0; j < kBPerThread; ++j) Bs_[(bk + kBStep * j) * kLdB + bn] = rb[j];
  };
  float acc[kRM][kRN];
  gemm_slice(t, load, store, s.As, s.Bs, acc);
  finish_tile(t, a.split, a.M, a.N, a.scratch, acc, s.last, [&](int i, int j, int m, int n, float g) {
    const size_t e = static_cast<size_t>(m) * a.N + n;
    a.dW[e] = g;
    float buf = 0.f;
    a.W[e] = sgd_step_value(wv[i][j], g, mv[i][j], &buf, a.sgd);
    if (momentum) a.W_momentum[e] = buf;
  });
}

__host__ __device__ inline unsigned grid_for(int M, int N, Split split) {
  const size_t tiles = static_cast<size_t>((M + kTM - 1) / kTM) * ((N + kTN - 1) / kTN);
  return static_cast<unsigned>(tiles * split.slices);
}

__host__ __device__ inline int tiles_for(int M, int N) { return ((M + kTM - 1) / kTM) * ((N + kTN - 1) / kTN); }

// The sizes these kernels are for: beyond them cuBLAS's tuned kernels win.
__host__ __device__ inline bool suits(int M, int N, int K) {
  return M > 0 && N > 0 && K > 0 && M <= 4096 && N <= 4096 && K <= 8192 &&
         static_cast<double>(M) * N * K <= 3e8;
}


// ---- Direct kernels for small batches: no split-K, no scratch, no ticket ----
// gather_linear_direct_kernel: a block computes a TM × TN tile of h over the whole of K: each
// thread takes K in groups of 4 (one uchar4 of each image row, one float4 of each W row, all of
// them in flight at once), so the loads are 16-byte and independent; the 128 threads' partial
// tiles are then added in shared memory in a fixed order (thread order), and the epilogue runs.
constexpr int kDThreads = 128;
constexpr int kDLd = kDThreads + 1;  // shared stride of one output's partials (conflict-free)

template <int TM, int TN>
struct GatherDirectSmem {
  float red[TM * TN * kDLd];  // [output][thread]: every thread's partial of every output
  float part[kDThreads];      // [group][output]: the groups' sums
};

// `a` by value (a copy nvcc removes): with a reference nvcc 13 schedules this body differently
// from the __global__ function it was written as (162 registers instead of 167 on sm_90); by
// value it compiles to what was measured.
template <int TM, int TN>
__device__ __forceinline__ void gather_linear_direct_body(const GatherLinearArgs a, GatherDirectSmem<TM, TN>& s) {
  constexpr int kOut = TM * TN;
  static_assert(kOut <= 64 && kDThreads % kOut == 0, "one tile's partials fit in shared memory");
  constexpr int kGroups = kDThreads / kOut, kPerGroup = kDThreads / kGroups;
  float* red = s.red;
  float* part = s.part;
  const int tiles_n = (a.N + TN - 1) / TN;
  const int m0 = (blockIdx.x / tiles_n) * TM, n0 = (blockIdx.x % tiles_n) * TN;
  const int K4 = a.K / 4;
  const bool writes_x = n0 == 0;
  const uchar4* src[TM];
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int m = m0 + i;
    src[i] = m < a.M ? reinterpret_cast<const uchar4*>(a.images + static_cast<size_t>(a.indices[m]) * a.K) : nullptr;
  }
  const float4* wrow[TN];
#pragma unroll
  for (int j = 0; j < TN; ++j) {
    const int n = n0 + j;
    wrow[j] = n < a.N ? reinterpret_cast<const float4*>(a.W + static_cast<size_t>(n) * a.K) : nullptr;
  }
  const bool writes_y = writes_x && threadIdx.x < TM && m0 + threadIdx.x < a.M;
  int32_t label = 0;
  if (writes_y) label = a.labels[a.indices[m0 + threadIdx.x]];
  const int eo = threadIdx.x % kOut;  // the output this thread finishes (threads < kOut)
  const int en = n0 + eo % TN, em = m0 + eo / TN;
  const float bias = a.bias && en < a.N ? a.bias[en] : 0.f;

  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.f;
#pragma unroll 2
  for (int k4 = threadIdx.x; k4 < K4; k4 += kDThreads) {
    uchar4 av[TM];
    float4 wv[TN];
#pragma unroll
    for (int j = 0; j < TN; ++j) wv[j] = wrow[j] ? __ldg(wrow[j] + k4) : make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
    for (int i = 0; i < TM; ++i) av[i] = src[i] ? __ldg(src[i] + k4) : make_uchar4(0, 0, 0, 0);
#pragma unroll
    for (int i = 0; i < TM; ++i) {
      const float4 xv = make_float4(static_cast<float>(av[i].x) * a.scale + a.shift,
                                    static_cast<float>(av[i].y) * a.scale + a.shift,
                                    static_cast<float>(av[i].z) * a.scale + a.shift,
                                    static_cast<float>(av[i].w) * a.scale + a.shift);
      if (writes_x && src[i]) reinterpret_cast<float4*>(a.x + static_cast<size_t>(m0 + i) * a.K)[k4] = xv;
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        acc[i][j] = fmaf(xv.x, wv[j].x, acc[i][j]);
        acc[i][j] = fmaf(xv.y, wv[j].y, acc[i][j]);
        acc[i][j] = fmaf(xv.z, wv[j].z, acc[i][j]);
        acc[i][j] = fmaf(xv.w, wv[j].w, acc[i][j]);
      }
    }
  }
  if (writes_y) a.y[m0 + threadIdx.x] = label;
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) red[(i * TN + j) * kDLd + threadIdx.x] = acc[i][j];
  __syncthreads();
  {  // thread (group g, output eo) adds the partials of threads [g·kPerGroup, (g+1)·kPerGroup) in order
    const int g = threadIdx.x / kOut;
    const float* p = red + eo * kDLd + g * kPerGroup;
    float s[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
    for (int t = 0; t < kPerGroup; t += 4) {
#pragma unroll
      for (int c = 0; c < 4; ++c) s[c] += p[t + c];
    }
    part[threadIdx.x] = (s[0] + s[1]) + (s[2] + s[3]);
  }
  __syncthreads();
  if (threadIdx.x < kOut && em < a.M && en < a.N) {
    float v = part[threadIdx.x];
#pragma unroll
    for (int g = 1; g < kGroups; ++g) v += part[g * kOut + threadIdx.x];
    if (a.bias) v += bias;
    a.h[static_cast<size_t>(em) * a.N + en] = a.relu && v < 0.f ? 0.f : v;  // keeps NaN, like the GEMM epilogue
  }
}

// linear_grad_sgd_direct_kernel: a block computes a TO × kDI tile of dW (TO rows of W, kDI
// columns) over all rows, in chunks of kDR rows staged in shared memory with 16-byte loads (the
// next chunk's in flight while this one is multiplied); each thread a 1 × 4 micro-tile (float4
// along in), summed over rows in order; W and its momentum are loaded ahead, the SGD step and the
// stores (16-byte) are the epilogue. Needs in % 4 == 0 and out % 4 == 0.
constexpr int kDI = 32, kDR = 64;

template <int TO>
struct GradDirectSmem {
  alignas(16) float xs[kDR * kDI];  // x chunk: [row][i]
  alignas(16) float dys[kDR * TO];  // dy chunk: [row][o]
};

template <int TO>
__device__ __forceinline__ void linear_grad_sgd_direct_body(const GradSgdArgs& a, GradDirectSmem<TO>& s) {
  constexpr int kThreads = TO * kDI / 4;
  constexpr int kXLoads = kDR * kDI / 4 / kThreads, kDyLoads = kDR * TO / 4 / kThreads;
  static_assert(kDR * kDI / 4 % kThreads == 0 && kDR * TO / 4 % kThreads == 0, "whole loads per thread");
  float* xs = s.xs;
  float* dys = s.dys;
  const int tiles_i = (a.N + kDI - 1) / kDI;
  const int o0 = (blockIdx.x / tiles_i) * TO, i0 = (blockIdx.x % tiles_i) * kDI;
  const int to = threadIdx.x / (kDI / 4), ti4 = threadIdx.x % (kDI / 4);
  const int o = o0 + to, i = i0 + 4 * ti4;
  const bool in = o < a.M && i < a.N;
  const bool momentum = a.W_momentum && a.sgd.momentum != 0.f;
  const size_t e = static_cast<size_t>(o) * a.N + i;
  float4 wv = make_float4(0.f, 0.f, 0.f, 0.f), mv = wv;
  if (in) {
    wv = *reinterpret_cast<const float4*>(a.W + e);
    if (momentum && !a.sgd.first_step) mv = *reinterpret_cast<const float4*>(a.W_momentum + e);
  }
  // This thread's loads: x rows xr + (kThreads / (kDI/4))·q at column xc; dy rows dr + … at dc.
  constexpr int kXRowStep = kThreads / (kDI / 4), kDyRowStep = kThreads / (TO / 4);
  const int xr = threadIdx.x / (kDI / 4), xc = 4 * (threadIdx.x % (kDI / 4));
  const int dr = threadIdx.x / (TO / 4), dc = 4 * (threadIdx.x % (TO / 4));
  float4 rx[kXLoads], rd[kDyLoads];
  auto load = [&](int r0) {
#pragma unroll
    for (int q = 0; q < kXLoads; ++q) {
      const int r = r0 + xr + kXRowStep * q;
      rx[q] = r < a.K && i0 + xc < a.N ? __ldg(reinterpret_cast<const float4*>(a.x + static_cast<size_t>(r) * a.N + i0 + xc))
                                       : make_float4(0.f, 0.f, 0.f, 0.f);
    }
#pragma unroll
    for (int q = 0; q < kDyLoads; ++q) {
      const int r = r0 + dr + kDyRowStep * q;
      rd[q] = r < a.K && o0 + dc < a.M ? __ldg(reinterpret_cast<const float4*>(a.dy + static_cast<size_t>(r) * a.M + o0 + dc))
                                       : make_float4(0.f, 0.f, 0.f, 0.f);
    }
  };
  float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
  load(0);
  for (int r0 = 0; r0 < a.K; r0 += kDR) {
    if (r0 > 0) __syncthreads();
#pragma unroll
    for (int q = 0; q < kXLoads; ++q) *reinterpret_cast<float4*>(xs + (xr + kXRowStep * q) * kDI + xc) = rx[q];
#pragma unroll
    for (int q = 0; q < kDyLoads; ++q) *reinterpret_cast<float4*>(dys + (dr + kDyRowStep * q) * TO + dc) = rd[q];
    __syncthreads();
    if (r0 + kDR < a.K) load(r0 + kDR);
    const int rows = min(kDR, a.K - r0);
#pragma unroll 16
    for (int r = 0; r < rows; ++r) {
      const float d = dys[r * TO + to];
      const float4 xv = *reinterpret_cast<const float4*>(xs + r * kDI + 4 * ti4);
      acc.x = fmaf(d, xv.x, acc.x);
      acc.y = fmaf(d, xv.y, acc.y);
      acc.z = fmaf(d, xv.z, acc.z);
      acc.w = fmaf(d, xv.w, acc.w);
    }
  }
  if (!in) return;
  *reinterpret_cast<float4*>(a.dW + e) = acc;
  float4 nm = make_float4(0.f, 0.f, 0.f, 0.f);
  *reinterpret_cast<float4*>(a.W + e) = sgd_step_value4(wv, acc, mv, &nm, a.sgd);
  if (momentum) *reinterpret_cast<float4*>(a.W_momentum + e) = nm;
}

// ---- launch plans (host: the launchers and the emulator tests use the same) ----

inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Up to this many rows (batch) the direct kernels run; above it cuBLAS's split-K composition
// (the stages' default: gather + GEMM, GEMM + SGD kernel) measured faster than both these kernels
// and the split-K ones (H200, batch 512: epoch 5.00 ms vs 5.53 split-K, 5.98 direct).
constexpr int kDirectMaxRows = 128;

// The direct kernels' tiles. gather_linear: 4 × 8 tiles: 256 blocks at batch 64 (H200: 5.8 us;
// 8 × 8: 6.5, 4 × 16: 6.2, split-K: 8.3). linear_grad_sgd: 8 × 32 tiles of 64 threads (H200,
// batch 64: 5.1 us; split-K: 6.7). 32 × 32 tiles measured 4.6 us, but only beside another
// gather_linear tiling; this is the configuration whose whole step was measured and checked on
// the GPU (13.25 ms per epoch at batch 64).
constexpr int kGatherTM = 4, kGatherTN = 8;
constexpr int kGradTO = 8;

// What a launcher runs: nothing (ok false: a shape these kernels are not for), the direct kernel
// or the split-K one, with the args' split and the grid.
struct Plan {
  bool ok;
  bool direct;
  Split split;
  unsigned blocks, threads;
};

inline Plan gather_linear_plan(int rows, int out, int features, const void* images, const void* W, const void* x) {
  if (!suits(rows, out, features)) return {};
  if (rows > kDirectMaxRows) return {};
  const bool direct = features % 4 == 0 && aligned16(W) && aligned16(x) && reinterpret_cast<uintptr_t>(images) % 4 == 0;
  if (direct)
    return {true, true, Split{1, features},
            static_cast<unsigned>(((rows + kGatherTM - 1) / kGatherTM) * ((out + kGatherTN - 1) / kGatherTN)),
            kDThreads};
  const Split split = choose_split(tiles_for(rows, out), features);
  return {true, false, split, grid_for(rows, out, split), kGemmThreads};
}

inline Plan linear_grad_sgd_plan(int rows, int in, int out, const void* dy, const void* x, const void* dW,
                                 const void* W, const void* W_momentum) {
  if (!suits(out, in, rows)) return {};
  if (rows > kDirectMaxRows) return {};
  const bool direct = in % 4 == 0 && out % 4 == 0 && aligned16(dy) && aligned16(x) && aligned16(dW) &&
                      aligned16(W) && (!W_momentum || aligned16(W_momentum));
  if (direct)
    return {true, true, Split{1, rows},
            static_cast<unsigned>(((out + kGradTO - 1) / kGradTO) * ((in + kDI - 1) / kDI)), kGradTO * kDI / 4};
  const Split split = choose_split(tiles_for(out, in), rows);
  return {true, false, split, grid_for(out, in, split), kGemmThreads};
}

}  // namespace tinynn::gpu::small_linear
