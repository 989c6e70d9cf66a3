// The first layer's two GEMMs of a training step for mid-size batches (kMinRows < rows ≤
// kMaxRows; the MNIST net at batch 512: 512 × 784 → 128), as split-K over the blocks of a thread
// block cluster (sm_90+) reduced through distributed shared memory: no partial tiles in global
// memory, no ticket, no separate reduction kernel (cuBLAS at these sizes runs a split-K GEMM and
// a reduction kernel, and the step needs the gather and the SGD update around it).
//
// - gather_linear_cluster_body: x = images[indices]·scale + shift (u8 → f32), y = labels[indices],
//   h = act(x·Wᵀ + bias); x written on the way (dW needs it).
// - linear_grad_sgd_cluster_body: dW = dyᵀ·x, then the SGD step of W (and its momentum buffer).
//
// Geometry (geometry()): the output is cut into kTM × kTN tiles; K into `slices` slices (≤ 8, the
// portable cluster size), one block per (tile, slice), blockIdx.x = tile·slices + slice, so the
// `slices` blocks of a tile form one cluster and a block's rank in its cluster is its slice. Each
// block stages its slice through shared memory in chunks of kKC (the next chunk's loads in flight
// while this one is multiplied), each thread a 4 × 4 micro-tile; the partial tile goes to the
// block's own shared memory; after cluster.sync() block r sums 1/slices of the tile over all the
// cluster's partials in rank order and runs the epilogue. Every sum has an order fixed by the
// shapes (k ascending within a slice, slices in rank order): bit-reproducible, no float atomics.
//
// The bodies are plain C++ apart from CUDA's built-ins, and take their shared memory and their
// cluster as arguments: cuda/kernels_linear_cluster.cu wraps them in __global__ kernels, and the
// CPU emulator in tests/kernel-emulation/ runs them on the host so that CI checks them without a
// GPU. Requirements (checked by the launchers): forward K % 4 == 0 and N % 4 == 0, backward M % 4
// == 0 and N % 4 == 0; float pointers 16-byte aligned, images 4-byte aligned.
#pragma once
#include <cstdint>

#include "cuda/sgd_math.cuh"

namespace tinynn::gpu::cluster_linear {

constexpr int kMinRows = 128, kMaxRows = 1024;  // the batch sizes these kernels are for
constexpr int kThreads = 128;
constexpr int kTM = 32, kTN = 64;           // output tile: rows × columns
constexpr int kKC = 64;                     // K per shared-memory chunk
constexpr int kMaxSlices = 8;               // blocks per cluster
constexpr int kVecsPerRow = kTN / 4;        // float4s in a tile row
constexpr int kTileVecs = kTM * kVecsPerRow;  // float4s in a tile: 512
constexpr int kLdK = kKC + 4;               // forward: shared row stride of [row][k] operands
static_assert(kThreads == (kTM / 4) * (kTN / 4), "one 4 × 4 micro-tile per thread");

__host__ __device__ inline int imin(int a, int b) { return a < b ? a : b; }
__host__ __device__ inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

struct Geometry {
  int tiles_n;      // column tiles
  int slices;       // K slices: blocks per cluster
  int len;          // K per slice (a multiple of `align`)
  unsigned blocks;  // grid size: tiles × slices
};

// The launch of an [M, N] output over K: as many slices as keep at least one chunk of K each.
__host__ __device__ inline Geometry geometry(int M, int N, int K, int align) {
  int slices = imin(kMaxSlices, ceil_div(K, kKC));
  if (slices < 1) slices = 1;
  const int len = ceil_div(ceil_div(K, slices), align) * align;
  slices = ceil_div(K, len);
  const int tiles_n = ceil_div(N, kTN);
  return {tiles_n, slices, len, static_cast<unsigned>(ceil_div(M, kTM) * tiles_n * slices)};
}

// This block's tile and K slice.
struct BlockTile {
  int m0, n0;  // first output row and column
  int slice;   // = the block's rank in its cluster
  int k0, k1;  // K range of the slice
};

__device__ inline BlockTile block_tile(const Geometry& g, int K) {
  const int tile = static_cast<int>(blockIdx.x) / g.slices;
  BlockTile t;
  t.slice = static_cast<int>(blockIdx.x) - tile * g.slices;
  t.m0 = (tile / g.tiles_n) * kTM;
  t.n0 = (tile % g.tiles_n) * kTN;
  t.k0 = t.slice * g.len;
  t.k1 = imin(K, t.k0 + g.len);
  return t;
}

__device__ inline float4 add4(float4 a, float4 b) { return make_float4(a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w); }

// After cluster.sync(): calls finish(v, sum) for this block's share of the tile's float4s, `sum`
// being float4 v of the cluster's partial tiles added in rank order. prefetch(v) runs first and
// may start the epilogue's own loads, so that they are in flight with the peers' partials.
template <class Cluster, class Prefetch, class Finish>
__device__ inline void reduce_tile(const Cluster& cluster, int slices, float* part, Prefetch prefetch, Finish finish) {
  const int per = ceil_div(kTileVecs, slices);
  const int begin = static_cast<int>(cluster.block_rank()) * per, end = imin(kTileVecs, begin + per);
  for (int v = begin + static_cast<int>(threadIdx.x); v < end; v += kThreads) {
    prefetch(v);
    float4 p[kMaxSlices];
#pragma unroll
    for (int r = 0; r < kMaxSlices; ++r)
      p[r] = r < slices ? *cluster.map_shared_rank(reinterpret_cast<float4*>(part) + v, r) : make_float4(0.f, 0.f, 0.f, 0.f);
    float4 sum = p[0];
#pragma unroll
    for (int r = 1; r < kMaxSlices; ++r)
      if (r < slices) sum = add4(sum, p[r]);
    finish(v, sum);
  }
}

// ---- gather_linear_cluster_body -------------------------------------------------------------

struct GatherLinearArgs {
  const uint8_t* images;   // [n, K] u8
  const uint8_t* labels;   // [n]
  const int32_t* indices;  // [M]
  const float* W;          // [N, K]
  const float* bias;       // [N] or null
  float* x;                // [M, K]
  int32_t* y;              // [M]
  float* h;                // [M, N]
  int M, N, K;
  float scale, shift;
  bool relu;
  Geometry g;              // geometry(M, N, K, 4)
};

struct GatherLinearSmem {
  alignas(16) float part[kTM * kTN];  // this block's partial tile, row-major, read by the cluster
  alignas(16) float As[kTM * kLdK];   // x chunk: As[m][k]
  alignas(16) float Bs[kTN * kLdK];   // W chunk: Bs[n][k]
};

// Loads: thread (r = tid / 16, c4 = tid % 16) fetches 4 consecutive k (a uchar4 of an image row,
// a float4 of a W row) of rows r + 8j, so a warp reads 64 contiguous bytes of 2 image rows and
// 256 of 2 W rows. Micro-tile: rows tm + 8i, columns tn + 16j (strided, so that the 16 lanes'
// float4 reads of Bs rows 68 floats apart fall in distinct banks).
template <class Cluster>
__device__ inline void gather_linear_cluster_body(const GatherLinearArgs& a, GatherLinearSmem& s, Cluster cluster) {
  const int tid = static_cast<int>(threadIdx.x);
  const BlockTile t = block_tile(a.g, a.K);
  const int r = tid / 16, c4 = tid % 16;
  const bool writes_x = t.n0 == 0;  // one column tile writes each x element, once
  const uchar4* src[4];
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const int m = t.m0 + r + 8 * j;
    src[j] = m < a.M ? reinterpret_cast<const uchar4*>(a.images + static_cast<size_t>(a.indices[m]) * a.K) : nullptr;
  }
  const float4* wrow[8];
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const int n = t.n0 + r + 8 * j;
    wrow[j] = n < a.N ? reinterpret_cast<const float4*>(a.W + static_cast<size_t>(n) * a.K) : nullptr;
  }
  const bool writes_y = writes_x && t.slice == 0 && tid < kTM && t.m0 + tid < a.M;
  const int32_t label = writes_y ? a.labels[a.indices[t.m0 + tid]] : 0;

  uchar4 ra[4];
  float4 rb[8];
  auto load = [&](int k) {  // chunk at k: this thread's 4 k values from k + 4·c4
    const int k4 = k / 4 + c4;
    const bool in_k = 4 * k4 < t.k1;
#pragma unroll
    for (int j = 0; j < 4; ++j) ra[j] = in_k && src[j] ? __ldg(src[j] + k4) : make_uchar4(0, 0, 0, 0);
#pragma unroll
    for (int j = 0; j < 8; ++j) rb[j] = in_k && wrow[j] ? __ldg(wrow[j] + k4) : make_float4(0.f, 0.f, 0.f, 0.f);
  };
  auto store = [&](int k) {
    const int k4 = k / 4 + c4;
    const bool in_k = 4 * k4 < t.k1;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      // fmaf: the value the other CUDA gather kernels compute (nvcc contracts v·scale + shift).
      const float4 xv = make_float4(fmaf(static_cast<float>(ra[j].x), a.scale, a.shift),
                                    fmaf(static_cast<float>(ra[j].y), a.scale, a.shift),
                                    fmaf(static_cast<float>(ra[j].z), a.scale, a.shift),
                                    fmaf(static_cast<float>(ra[j].w), a.scale, a.shift));
      *reinterpret_cast<float4*>(s.As + (r + 8 * j) * kLdK + 4 * c4) = xv;
      if (writes_x && in_k && src[j])
        reinterpret_cast<float4*>(a.x + static_cast<size_t>(t.m0 + r + 8 * j) * a.K)[k4] = xv;
    }
#pragma unroll
    for (int j = 0; j < 8; ++j) *reinterpret_cast<float4*>(s.Bs + (r + 8 * j) * kLdK + 4 * c4) = rb[j];
  };

  const int tm = tid / 16, tn = tid % 16;
  float acc[4][4] = {};
  load(t.k0);
  for (int k = t.k0; k < t.k1; k += kKC) {
    if (k != t.k0) __syncthreads();  // the previous chunk's readers are done with As, Bs
    store(k);
    __syncthreads();
    if (k + kKC < t.k1) load(k + kKC);
    const int quads = imin(kKC, t.k1 - k) / 4;
    for (int q = 0; q < quads; ++q) {
      float4 av[4], bv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) av[i] = *reinterpret_cast<const float4*>(s.As + (tm + 8 * i) * kLdK + 4 * q);
#pragma unroll
      for (int j = 0; j < 4; ++j) bv[j] = *reinterpret_cast<const float4*>(s.Bs + (tn + 16 * j) * kLdK + 4 * q);
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          acc[i][j] = fmaf(av[i].x, bv[j].x, acc[i][j]);
          acc[i][j] = fmaf(av[i].y, bv[j].y, acc[i][j]);
          acc[i][j] = fmaf(av[i].z, bv[j].z, acc[i][j]);
          acc[i][j] = fmaf(av[i].w, bv[j].w, acc[i][j]);
        }
    }
  }
  if (writes_y) a.y[t.m0 + tid] = label;
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) s.part[(tm + 8 * i) * kTN + tn + 16 * j] = acc[i][j];
  cluster.sync();  // every block's partial tile is complete and visible cluster-wide

  float4 bias = make_float4(0.f, 0.f, 0.f, 0.f);
  reduce_tile(
      cluster, a.g.slices, s.part,
      [&](int v) {
        const int n = t.n0 + 4 * (v % kVecsPerRow);
        if (a.bias && n < a.N) bias = __ldg(reinterpret_cast<const float4*>(a.bias + n));
      },
      [&](int v, float4 sum) {
        const int m = t.m0 + v / kVecsPerRow, n = t.n0 + 4 * (v % kVecsPerRow);
        if (m >= a.M || n >= a.N) return;
        if (a.bias) sum = add4(sum, bias);
        if (a.relu) {  // keeps NaN, like the GEMM epilogue
          sum.x = sum.x < 0.f ? 0.f : sum.x;
          sum.y = sum.y < 0.f ? 0.f : sum.y;
          sum.z = sum.z < 0.f ? 0.f : sum.z;
          sum.w = sum.w < 0.f ? 0.f : sum.w;
        }
        *reinterpret_cast<float4*>(a.h + static_cast<size_t>(m) * a.N + n) = sum;
      });
  cluster.sync();  // no block leaves while a peer may still read its partial tile
}

// ---- linear_grad_sgd_cluster_body -----------------------------------------------------------

struct GradSgdClusterArgs {
  const float* dy;  // [K, M]: K = rows, M = out
  const float* x;   // [K, N]: N = in
  float* dW;        // [M, N]
  float* W;         // [M, N]
  float* W_momentum;  // [M, N] or null
  int M, N, K;
  SgdParams sgd;
  Geometry g;       // geometry(M, N, K, 1)
};

struct GradSgdSmem {
  alignas(16) float part[kTM * kTN];  // this block's partial tile, row-major, read by the cluster
  alignas(16) float As[kKC * kTM];    // dy chunk: As[k][m]
  alignas(16) float Bs[kKC * kTN];    // x chunk: Bs[k][n]
};

// Both operands are stored k-major ([row][m] and [row][n]), as they lie in memory: float4 loads
// and stores, no transpose. Loads: dy rows dr + 16j at columns 4·dc (dr = tid / 8, dc = tid % 8),
// x rows xr + 8j at columns 4·xc (xr = tid / 16, xc = tid % 16). Micro-tile: rows 4·tm.., columns
// 4·tn.. (the 16 lanes' float4 reads of one Bs row are contiguous). W and its momentum are loaded
// by the reducing threads ahead of the peers' partials.
template <class Cluster>
__device__ inline void linear_grad_sgd_cluster_body(const GradSgdClusterArgs& a, GradSgdSmem& s, Cluster cluster) {
  const int tid = static_cast<int>(threadIdx.x);
  const BlockTile t = block_tile(a.g, a.K);
  const int dr = tid / 8, dc = tid % 8, xr = tid / 16, xc = tid % 16;
  const bool dy_cols = t.m0 + 4 * dc < a.M, x_cols = t.n0 + 4 * xc < a.N;
  float4 rd[4], rx[8];
  auto load = [&](int k) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int row = k + dr + 16 * j;
      rd[j] = row < t.k1 && dy_cols ? __ldg(reinterpret_cast<const float4*>(a.dy + static_cast<size_t>(row) * a.M + t.m0) + dc)
                                    : make_float4(0.f, 0.f, 0.f, 0.f);
    }
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int row = k + xr + 8 * j;
      rx[j] = row < t.k1 && x_cols ? __ldg(reinterpret_cast<const float4*>(a.x + static_cast<size_t>(row) * a.N + t.n0) + xc)
                                   : make_float4(0.f, 0.f, 0.f, 0.f);
    }
  };
  auto store = [&]() {
#pragma unroll
    for (int j = 0; j < 4; ++j) *reinterpret_cast<float4*>(s.As + (dr + 16 * j) * kTM + 4 * dc) = rd[j];
#pragma unroll
    for (int j = 0; j < 8; ++j) *reinterpret_cast<float4*>(s.Bs + (xr + 8 * j) * kTN + 4 * xc) = rx[j];
  };

  const int tm = tid / 16, tn = tid % 16;
  float acc[4][4] = {};
  load(t.k0);
  for (int k = t.k0; k < t.k1; k += kKC) {
    if (k != t.k0) __syncthreads();  // the previous chunk's readers are done with As, Bs
    store();
    __syncthreads();
    if (k + kKC < t.k1) load(k + kKC);
    const int rows = imin(kKC, t.k1 - k);
    for (int row = 0; row < rows; ++row) {
      const float4 av = *reinterpret_cast<const float4*>(s.As + row * kTM + 4 * tm);
      const float4 bv = *reinterpret_cast<const float4*>(s.Bs + row * kTN + 4 * tn);
      const float am[4] = {av.x, av.y, av.z, av.w}, bn[4] = {bv.x, bv.y, bv.z, bv.w};
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(am[i], bn[j], acc[i][j]);
    }
  }
#pragma unroll
  for (int i = 0; i < 4; ++i)
    *reinterpret_cast<float4*>(s.part + (4 * tm + i) * kTN + 4 * tn) = make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
  cluster.sync();  // every block's partial tile is complete and visible cluster-wide

  const bool momentum = a.W_momentum && a.sgd.momentum != 0.f;
  float4 wv = make_float4(0.f, 0.f, 0.f, 0.f), mv = wv;
  reduce_tile(
      cluster, a.g.slices, s.part,
      [&](int v) {
        const int m = t.m0 + v / kVecsPerRow, n = t.n0 + 4 * (v % kVecsPerRow);
        if (m >= a.M || n >= a.N) return;
        const size_t e = static_cast<size_t>(m) * a.N + n;
        wv = *reinterpret_cast<const float4*>(a.W + e);
        if (momentum && !a.sgd.first_step) mv = *reinterpret_cast<const float4*>(a.W_momentum + e);
      },
      [&](int v, float4 g) {
        const int m = t.m0 + v / kVecsPerRow, n = t.n0 + 4 * (v % kVecsPerRow);
        if (m >= a.M || n >= a.N) return;
        const size_t e = static_cast<size_t>(m) * a.N + n;
        *reinterpret_cast<float4*>(a.dW + e) = g;
        float4 nm = make_float4(0.f, 0.f, 0.f, 0.f);
        *reinterpret_cast<float4*>(a.W + e) = sgd_step_value4(wv, g, mv, &nm, a.sgd);
        if (momentum) *reinterpret_cast<float4*>(a.W_momentum + e) = nm;
      });
  cluster.sync();  // no block leaves while a peer may still read its partial tile
}

}  // namespace tinynn::gpu::cluster_linear
