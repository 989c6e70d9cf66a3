// The first layer's GEMMs of a training step, each fused with its neighbours into one launch:
// - gather_linear_kernel: the batch gather (u8 images by index → f32·scale + shift, labels →
//   int32) feeding h = x·Wᵀ (+ bias, ReLU), x written on the way (dW needs it);
// - linear_grad_sgd_kernel: dW = dyᵀ·x with the SGD step of W in the epilogue.
// At these sizes (rows ≤ a few thousand, in = 784, out = 128) cuBLAS picks split-K kernels plus a
// separate reduction; here one launch does it all. Each block computes a kTM × kTN tile of the
// output over one slice of K, staged through shared memory in chunks of kKC, each thread a 2 × 4
// micro-tile. With several K slices, every block leaves its partial tile in scratch and the last
// slice of a tile to finish (ticket) adds the partials in slice order and runs the epilogue: the
// sums' order depends on the shapes alone, so results are bit-reproducible, with no float atomics.
#include <algorithm>
#include <cstdint>

#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/sgd_math.cuh"

namespace tinynn::gpu {
namespace {

constexpr int kTM = 16, kTN = 64;          // output tile: rows (M) × columns (N)
constexpr int kKC = 32;                    // K chunk staged in shared memory
constexpr int kRM = 2, kRN = 4;            // per-thread micro-tile
constexpr int kGemmThreads = (kTM / kRM) * (kTN / kRN);  // 128
constexpr int kLdA = kTM + 4, kLdB = kTN + 4;  // shared row strides (floats), k-major: As[k][m]
constexpr int kAPerThread = kTM * kKC / kGemmThreads;  // 4
constexpr int kBPerThread = kTN * kKC / kGemmThreads;  // 16
constexpr int kMinSlice = 2 * kKC;      // K per block below which splitting K does not pay
constexpr int kTargetBlocks = 512;      // ~4 blocks of 4 warps per SM on an H100/H200
constexpr int kMaxSlices = 16;
static_assert(kTM * kTN == kGemmTileFloats, "a partial tile fills one scratch slot");
static_assert(kTM * kKC % kGemmThreads == 0 && kTN * kKC % kGemmThreads == 0, "whole loads per thread");

// How K is cut: slice s covers [s·len, min(K, (s+1)·len)), len a multiple of kKC.
struct Split {
  int slices, len;
};

Split choose_split(int tiles, int K) {
  int s = tiles >= kTargetBlocks / 2 ? 1 : kTargetBlocks / tiles;
  s = std::min(s, kMaxSlices);
  s = std::min(s, (K + kMinSlice - 1) / kMinSlice);
  if (tiles > kGemmMaxTiles) s = 1;
  s = std::max(1, std::min(s, kGemmMaxSplitBlocks / std::max(tiles, 1)));
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
// (zeros outside the matrices and the slice), `store(ra, rb, As, Bs)` puts them in shared memory.
// The next chunk's loads are in flight while this chunk is multiplied.
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
    store(ra, rb, As, Bs);
    __syncthreads();
    if (k + kKC < t.k1) load(k + kKC, ra, rb);
    mma_chunk(As, Bs, acc);
  }
}

// The end of every block: with one K slice, epilogue(m, n, value) for each element of the
// micro-tile at once; with several, the partial tile goes to scratch and the tile's last block
// runs the epilogue on the sums over slices in slice order. epilogue sees only m < M, n < N.
template <typename Epilogue>
__device__ inline void finish_tile(const Tile& t, Split split, int M, int N, const GemmScratch& scratch,
                                   const float (&acc)[kRM][kRN], Epilogue epilogue) {
  const int tm = threadIdx.x / (kTN / kRN), tn = threadIdx.x % (kTN / kRN);
  if (split.slices == 1) {
#pragma unroll
    for (int i = 0; i < kRM; ++i) {
      const int m = t.m0 + tm * kRM + i;
#pragma unroll
      for (int j = 0; j < kRN; ++j) {
        const int n = t.n0 + tn * kRN + j;
        if (m < M && n < N) epilogue(m, n, acc[i][j]);
      }
    }
    return;
  }
  __shared__ bool last;
  float* mine = scratch.partials + static_cast<size_t>(blockIdx.x) * kGemmTileFloats;
#pragma unroll
  for (int i = 0; i < kRM; ++i)
    *reinterpret_cast<float4*>(mine + (tm * kRM + i) * kTN + tn * kRN) =
        make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
  __threadfence();  // this thread's partials are visible device-wide before the ticket is taken
  __syncthreads();
  if (threadIdx.x == 0) last = atomicAdd(scratch.tickets + t.tile, 1u) == static_cast<unsigned>(split.slices - 1);
  __syncthreads();
  if (!last) return;
  __threadfence();
  const float* first = scratch.partials + static_cast<size_t>(t.tile) * split.slices * kGemmTileFloats;
  for (int e = threadIdx.x * 4; e < kTM * kTN; e += kGemmThreads * 4) {
    float4 s = __ldcg(reinterpret_cast<const float4*>(first + e));
    for (int sl = 1; sl < split.slices; ++sl) {
      const float4 p = __ldcg(reinterpret_cast<const float4*>(first + static_cast<size_t>(sl) * kGemmTileFloats + e));
      s.x += p.x;
      s.y += p.y;
      s.z += p.z;
      s.w += p.w;
    }
    const int m = t.m0 + e / kTN, n = t.n0 + e % kTN;
    const float v[4] = {s.x, s.y, s.z, s.w};
    if (m < M) {
#pragma unroll
      for (int j = 0; j < 4; ++j)
        if (n + j < N) epilogue(m, n + j, v[j]);
    }
  }
  if (threadIdx.x == 0) scratch.tickets[t.tile] = 0;  // ready for the next launch or replay
}

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
// (a warp reads 32 consecutive bytes of one image row); B loads: lane = k along a row of W.
__global__ void __launch_bounds__(kGemmThreads) gather_linear_kernel(const __grid_constant__ GatherLinearArgs a) {
  __shared__ __align__(16) float As[kKC * kLdA];
  __shared__ __align__(16) float Bs[kKC * kLdB];
  const Tile t = block_tile(a.N, a.split, a.K);
  const int kk = threadIdx.x % kKC, r0 = threadIdx.x / kKC;  // r0 + 4·j: this thread's rows of A, B
  constexpr int kRowStep = kGemmThreads / kKC;
  const bool writes_x = t.n0 == 0;  // one column tile writes x, once per element
  const uint8_t* src[kAPerThread];
#pragma unroll
  for (int j = 0; j < kAPerThread; ++j) {
    const int m = t.m0 + r0 + kRowStep * j;
    src[j] = m < a.M ? a.images + static_cast<size_t>(a.indices[m]) * a.K : nullptr;
  }
  if (writes_x && t.slice == 0 && threadIdx.x < kTM && t.m0 + threadIdx.x < a.M)
    a.y[t.m0 + threadIdx.x] = a.labels[a.indices[t.m0 + threadIdx.x]];

  auto load = [&](int k0, float (&ra)[kAPerThread], float (&rb)[kBPerThread]) {
    const int k = k0 + kk;
    const bool in_k = k < t.k1;
#pragma unroll
    for (int j = 0; j < kAPerThread; ++j) {
      float v = 0.f;
      if (in_k && src[j]) {
        v = static_cast<float>(src[j][k]) * a.scale + a.shift;
        if (writes_x) a.x[static_cast<size_t>(t.m0 + r0 + kRowStep * j) * a.K + k] = v;
      }
      ra[j] = v;
    }
#pragma unroll
    for (int j = 0; j < kBPerThread; ++j) {
      const int n = t.n0 + r0 + kRowStep * j;
      rb[j] = in_k && n < a.N ? a.W[static_cast<size_t>(n) * a.K + k] : 0.f;
    }
  };
  auto store = [&](const float (&ra)[kAPerThread], const float (&rb)[kBPerThread], float* As_, float* Bs_) {
#pragma unroll
    for (int j = 0; j < kAPerThread; ++j) As_[kk * kLdA + r0 + kRowStep * j] = ra[j];
#pragma unroll
    for (int j = 0; j < kBPerThread; ++j) Bs_[kk * kLdB + r0 + kRowStep * j] = rb[j];
  };
  float acc[kRM][kRN];
  gemm_slice(t, load, store, As, Bs, acc);
  finish_tile(t, a.split, a.M, a.N, a.scratch, acc, [&](int m, int n, float v) {
    if (a.bias) v += a.bias[n];
    a.h[static_cast<size_t>(m) * a.N + n] = a.relu && v < 0.f ? 0.f : v;  // keeps NaN, like bias_relu
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
// along a row of dy (m); B loads: lanes along a row of x (n).
__global__ void __launch_bounds__(kGemmThreads) linear_grad_sgd_kernel(const __grid_constant__ GradSgdArgs a) {
  __shared__ __align__(16) float As[kKC * kLdA];
  __shared__ __align__(16) float Bs[kKC * kLdB];
  const Tile t = block_tile(a.N, a.split, a.K);
  const int am = threadIdx.x % kTM, ak = threadIdx.x / kTM;  // A: (m, k + (kGemmThreads/kTM)·j)
  const int bn = threadIdx.x % kTN, bk = threadIdx.x / kTN;  // B: (n, k + (kGemmThreads/kTN)·j)
  constexpr int kAStep = kGemmThreads / kTM, kBStep = kGemmThreads / kTN;

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
  auto store = [&](const float (&ra)[kAPerThread], const float (&rb)[kBPerThread], float* As_, float* Bs_) {
#pragma unroll
    for (int j = 0; j < kAPerThread; ++j) As_[(ak + kAStep * j) * kLdA + am] = ra[j];
#pragma unroll
    for (int j = 0; j < kBPerThread; ++j) Bs_[(bk + kBStep * j) * kLdB + bn] = rb[j];
  };
  float acc[kRM][kRN];
  gemm_slice(t, load, store, As, Bs, acc);
  finish_tile(t, a.split, a.M, a.N, a.scratch, acc, [&](int m, int n, float g) {
    const size_t i = static_cast<size_t>(m) * a.N + n;
    a.dW[i] = g;
    a.W[i] = sgd_step(a.W[i], g, a.W_momentum ? a.W_momentum + i : nullptr, a.sgd);
  });
}

unsigned grid_for(int M, int N, Split split) {
  const size_t tiles = static_cast<size_t>((M + kTM - 1) / kTM) * ((N + kTN - 1) / kTN);
  return static_cast<unsigned>(tiles * split.slices);
}

int tiles_for(int M, int N) { return ((M + kTM - 1) / kTM) * ((N + kTN - 1) / kTN); }

// The sizes these kernels are for: beyond them cuBLAS's tuned kernels win.
bool suits(int M, int N, int K) {
  return M > 0 && N > 0 && K > 0 && M <= 4096 && N <= 4096 && K <= 8192 &&
         static_cast<double>(M) * N * K <= 3e8;
}

}  // namespace

bool launch_gather_linear(cudaStream_t stream, const GemmScratch& scratch, const uint8_t* images,
                          const uint8_t* labels, int features, const int32_t* indices, int rows,
                          float scale, float shift, const float* W, int out,
                          const GemmEpilogue& epilogue, float* x, int32_t* y, float* h) {
  if (!suits(rows, out, features)) return false;
  const Split split = choose_split(tiles_for(rows, out), features);
  GatherLinearArgs a{images, labels, indices, W, epilogue.bias, x, y, h, rows, out, features, scale, shift,
                     epilogue.relu, split, scratch};
  gather_linear_kernel<<<grid_for(rows, out, split), kGemmThreads, 0, stream>>>(a);
  check_launch("gather_linear kernel launch");
  return true;
}

bool launch_linear_grad_sgd(cudaStream_t stream, const GemmScratch& scratch, const float* dy,
                            const float* x, int rows, int in, int out, float* dW, float* W,
                            float* W_momentum, const SgdParams& sgd) {
  if (!suits(out, in, rows)) return false;
  const Split split = choose_split(tiles_for(out, in), rows);
  GradSgdArgs a{dy, x, dW, W, W_momentum, out, in, rows, sgd, split, scratch};
  linear_grad_sgd_kernel<<<grid_for(out, in, split), kGemmThreads, 0, stream>>>(a);
  check_launch("linear_grad_sgd kernel launch");
  return true;
}

}  // namespace tinynn::gpu
