// The fused tail of a training step (the head stage of StagedStep, cpp/staged_step.h): bias+ReLU
// of the previous layer, the last Linear layer, softmax cross-entropy and the whole backward of
// that layer, in one launch instead of eight, optionally followed by the SGD step of W, b and the
// previous layer's bias in the same launch.
//
// Two kernels, one contract:
// - linear_xent_cluster_kernel (in = 128, out <= 16: the MNIST net's 128 -> 10; see its section):
//   a warp per row, W and the warp's dW/db/dh_bias sums in registers; the rows spread over a
//   thread block cluster (sm_90+; one block elsewhere) whose blocks add each other's sums through
//   distributed shared memory, in block order, and apply the SGD step to their own slice.
// - linear_xent_tiled_kernel (any other shape with out <= 32 that fits shared memory): tiles of up
//   to 16 rows, a thread per output element, W in shared memory; the last block to finish (ticket)
//   adds the per-block partials in block order, then applies the SGD step: every block has read
//   W, b and h_bias by then.
// All sums run in an order fixed by the shapes alone: results are bit-reproducible.
//
// The kernel bodies are here, plain C++ apart from CUDA's built-ins, taking their shared memory
// (static: a struct; dynamic: a pointer) and their cluster as arguments: cuda/kernels_head.cu
// wraps them in __global__ kernels and launches them (with the grids of cluster_grid() and
// tiled_plan() below), and the CPU emulator in tests/kernel-emulation/ runs them on the host so
// that CI checks them without a GPU.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "cuda/row_reduce.cuh"
#include "cuda/scratch.h"
#include "cuda/sgd_math.cuh"

namespace tinynn::gpu::head {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kMaxClasses = 32;  // one lane per class in the softmax
constexpr int kMaxTile = 16;
constexpr size_t kSmemLimit = 48 * 1024;  // the default dynamic shared memory limit

struct HeadArgs {
  float* h;
  float* h_bias;  // written only by the SGD step (apply_sgd)
  float* W;       // likewise
  float* b;       // likewise
  const int32_t* labels;
  int rows, in, out, tile;
  bool relu_input;
  float* logits;
  float* dlogits;
  float* loss;
  int32_t* correct;
  float* dW;
  float* db;
  float* dh;
  float* dh_bias;
  HeadScratch scratch;
  // The fused SGD step: W with dW, b with db, h_bias with dh_bias.
  bool apply_sgd;
  SgdParams sgd;
  float* W_momentum;
  float* b_momentum;
  float* h_bias_momentum;
};

// Element i of the concatenated result [dW (out·in) | db (out) | dh_bias (in)]: where it goes, and
// (with apply_sgd) the parameter and momentum buffer it steps.
struct HeadElement {
  float* grad;
  float* param;     // null: no SGD step
  float* momentum;  // null: none
};

__device__ inline HeadElement head_element(const HeadArgs& a, int i) {
  const int nw = a.out * a.in;
  if (i < nw) return {a.dW + i, a.apply_sgd ? a.W + i : nullptr, a.W_momentum ? a.W_momentum + i : nullptr};
  if (i < nw + a.out) {
    const int o = i - nw;
    return {a.db + o, a.apply_sgd ? a.b + o : nullptr, a.b_momentum ? a.b_momentum + o : nullptr};
  }
  const int k = i - nw - a.out;
  return {a.dh_bias + k, a.apply_sgd && a.h_bias ? a.h_bias + k : nullptr,
          a.h_bias_momentum ? a.h_bias_momentum + k : nullptr};
}

// Element i is complete (sum): stores it and, with apply_sgd, steps its parameter. Called once per
// element, by the last block.
__device__ inline void finish_head_element(const HeadArgs& a, int i, float sum) {
  const HeadElement e = head_element(a, i);
  *e.grad = sum;
  if (e.param) *e.param = sgd_step(*e.param, sum, e.momentum, a.sgd);
}

// The grid-wide end of both kernels, run by every thread of every block once the block's partial
// sums are final: `partial(i)` gives this block's element i of [dW | db | dh_bias]; block_loss and
// block_hits its totals (read by thread 0). One block: its sums are the results. Several: each
// leaves its partials in scratch, and the last to finish adds them in block order. The last block
// is latency-bound: each thread takes 4 consecutive elements at a time (float4 partials) and issues
// the loads of all blocks' partials (kHeadGroup at a time) and of the parameters and momenta
// before any add. `last`: a flag in the block's shared memory (the ticket's answer, for every
// thread of the block).
constexpr int kHeadGroup = 16;

template <typename Partial>
__device__ inline void finish_head(const HeadArgs& a, Partial partial, double block_loss, int block_hits,
                                   int threads, bool& last) {
  const int t = threadIdx.x;
  const int total = a.out * a.in + a.out + (a.dh && a.dh_bias ? a.in : 0);
  if (gridDim.x == 1) {
    for (int i = t; i < total; i += threads) finish_head_element(a, i, partial(i));
    if (t == 0) {
      *a.loss = static_cast<float>(block_loss / a.rows);
      if (a.correct) *a.correct += block_hits;
    }
    return;
  }
  float* mine = a.scratch.partials + static_cast<size_t>(blockIdx.x) * kHeadMaxPartial;
  for (int i = t; i < total; i += threads) mine[i] = partial(i);
  if (t == 0) {
    a.scratch.loss_partials[blockIdx.x] = block_loss;
    a.scratch.hit_partials[blockIdx.x] = block_hits;
  }
  // The block's partials, ordered before thread 0's fence by the barrier, are visible device-wide
  // before its ticket is taken; the last block's fence orders its reads after the others' writes
  // (one fence per block, as in cooperative groups' grid sync).
  __syncthreads();
  if (t == 0) {
    __threadfence();
    last = atomicAdd(a.scratch.ticket, 1u) == gridDim.x - 1;
    if (last) __threadfence();
  }
  __syncthreads();
  if (!last) return;
  const int blocks = static_cast<int>(gridDim.x);
  double loss_sum = 0.0;
  int hit_sum = 0;
  if (t == 0) {
    for (int b0 = 0; b0 < blocks; b0 += kHeadGroup) {
      double l[kHeadGroup];
      int h[kHeadGroup];
#pragma unroll
      for (int g = 0; g < kHeadGroup; ++g) {
        l[g] = b0 + g < blocks ? __ldcg(a.scratch.loss_partials + b0 + g) : 0.0;
        h[g] = b0 + g < blocks ? __ldcg(a.scratch.hit_partials + b0 + g) : 0;
      }
#pragma unroll
      for (int g = 0; g < kHeadGroup; ++g) {
        if (b0 + g < blocks) {
          loss_sum += l[g];
          hit_sum += h[g];
        }
      }
    }
  }
  const bool sgd = a.apply_sgd;
  const bool momentum = sgd && a.sgd.momentum != 0.f && !a.sgd.first_step;
  for (int q = 4 * t; q < total; q += 4 * threads) {
    // This quad's parameters and momenta (in flight with the partials below).
    HeadElement el[4];
    float pv[4], mv[4];
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      el[c] = head_element(a, q + c < total ? q + c : q);
      pv[c] = sgd && el[c].param ? *el[c].param : 0.f;
      mv[c] = momentum && el[c].momentum ? *el[c].momentum : 0.f;
    }
    float4 s = make_float4(0.f, 0.f, 0.f, 0.f);
    for (int b0 = 0; b0 < blocks; b0 += kHeadGroup) {
      float4 p[kHeadGroup];
#pragma unroll
      for (int g = 0; g < kHeadGroup; ++g)
        p[g] = b0 + g < blocks
                   ? __ldcg(reinterpret_cast<const float4*>(a.scratch.partials + static_cast<size_t>(b0 + g) * kHeadMaxPartial + q))
                   : make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
      for (int g = 0; g < kHeadGroup; ++g) {
        if (b0 + g < blocks) {
          s.x += p[g].x;
          s.y += p[g].y;
          s.z += p[g].z;
          s.w += p[g].w;
        }
      }
    }
    const float sv[4] = {s.x, s.y, s.z, s.w};
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      if (q + c >= total) continue;
      *el[c].grad = sv[c];
      if (el[c].param) {
        float buf = 0.f;
        *el[c].param = sgd_step_value(pv[c], sv[c], mv[c], &buf, a.sgd);
        if (a.sgd.momentum != 0.f && el[c].momentum) *el[c].momentum = buf;
      }
    }
  }
  if (t == 0) {
    *a.loss = static_cast<float>(loss_sum / a.rows);
    if (a.correct) *a.correct += hit_sum;
    *a.scratch.ticket = 0;  // ready for the next launch (or graph replay) on this stream
  }
}

// Shared memory, in floats: W [out][in+1] and the h tile [tile][in+1] are padded by one column so
// that threads reading different rows at the same k hit different banks.
__host__ __device__ inline size_t smem_floats(int in, int out, int tile) {
  const size_t ldw = static_cast<size_t>(in) + 1;
  return out * ldw + out              // W, b
         + tile * ldw                 // h tile
         + static_cast<size_t>(tile) * out  // logits, then dlogits, of the tile
         + static_cast<size_t>(tile) * in   // dh tile (for dh_bias)
         + static_cast<size_t>(out) * in + out + in;  // partial dW, db, dh_bias of this block
}

// The tiled kernel's static shared memory (its dynamic part, smem_floats(in, out, tile) floats, is
// the `smem` argument of the body).
struct TiledSmem {
  double block_loss[kWarps];
  int block_hits[kWarps];
  bool last;  // this block is the last to finish (finish_head)
};

__device__ __forceinline__ void linear_xent_tiled_body(const HeadArgs& a, TiledSmem& sm, float* smem) {
  const int in = a.in, out = a.out, tile = a.tile, ldw = in + 1;
  float* Ws = smem;                   // [out][ldw]
  float* bs = Ws + out * ldw;         // [out]
  float* hs = bs + out;               // [tile][ldw]
  float* ls = hs + tile * ldw;        // [tile][out]: logits, overwritten by dlogits
  float* dhs = ls + tile * out;       // [tile][in]
  float* acc = dhs + tile * in;       // [out·in + out + in]: dW, db, dh_bias of this block
  float* acc_dW = acc;
  float* acc_db = acc + out * in;
  float* acc_dbp = acc_db + out;
  const int t = threadIdx.x, lane = t & 31, warp = t >> 5;
  const float inv_rows = 1.0f / static_cast<float>(a.rows);

  // Each acc element belongs to one thread (index ≡ t mod kThreads) from zeroing to the end, so
  // the accumulations need no synchronisation of their own.
  for (int i = t; i < out * in; i += kThreads) {
    const int o = i / in, k = i - o * in;
    Ws[o * ldw + k] = a.W[i];
    acc_dW[i] = 0.f;
  }
  for (int o = t; o < out; o += kThreads) {
    bs[o] = a.b[o];
    acc_db[o] = 0.f;
  }
  for (int k = t; k < in; k += kThreads) acc_dbp[k] = 0.f;

  double warp_loss = 0.0;
  int warp_hits = 0;
  const int tiles = (a.rows + tile - 1) / tile;
  for (int tl = blockIdx.x; tl < tiles; tl += gridDim.x) {
    const int row0 = tl * tile;
    const int n = min(tile, a.rows - row0);
    __syncthreads();  // W is loaded; the previous tile's readers are done with hs, ls, dhs

    // h tile; with h_bias, the previous layer's epilogue is applied and written back.
    for (int i = t; i < n * in; i += kThreads) {
      const int r = i / in, k = i - r * in;
      const size_t g = static_cast<size_t>(row0 + r) * in + k;
      float v = a.h[g];
      if (a.h_bias) {
        v += a.h_bias[k];
        if (a.relu_input && v < 0.f) v = 0.f;
        a.h[g] = v;
      }
      hs[r * ldw + k] = v;
    }
    __syncthreads();

    // logits [n][out] = h·Wᵀ + b
    for (int i = t; i < n * out; i += kThreads) {
      const int r = i / out, o = i - r * out;
      const float* hr = hs + r * ldw;
      const float* wo = Ws + o * ldw;
      float s = 0.f;
      for (int k = 0; k < in; ++k) s = fmaf(hr[k], wo[k], s);
      s += bs[o];
      ls[r * out + o] = s;
      a.logits[static_cast<size_t>(row0 + r) * out + o] = s;
    }
    __syncthreads();

    // Softmax cross-entropy, one warp per row, lane = class: loss, hits, dlogits in place.
    for (int r = warp; r < n; r += kWarps) {
      float* x = ls + r * out;
      const RowMax m = warp_row_max(x, out, lane);
      const float sum = row_exp_sum(x, out, m.value, lane);
      const int label = a.labels[row0 + r];
      if (lane == 0) {
        warp_loss += row_xent(x, out, label, m, sum);
        warp_hits += m.index == label;
      }
      const float d = lane < out ? (expf(x[lane] - m.value) * (1.0f / sum) - (lane == label ? 1.f : 0.f)) * inv_rows : 0.f;
      __syncwarp();  // every lane has read the row before any overwrites it
      if (lane < out) {
        x[lane] = d;
        a.dlogits[static_cast<size_t>(row0 + r) * out + lane] = d;
      }
    }
    __syncthreads();

    // dh [n][in] = dlogits·W, through the ReLU mask of h.
    if (a.dh) {
      for (int i = t; i < n * in; i += kThreads) {
        const int r = i / in, k = i - r * in;
        const float* dl = ls + r * out;
        float s = 0.f;
        for (int o = 0; o < out; ++o) s = fmaf(dl[o], Ws[o * ldw + k], s);
        if (a.relu_input && !(hs[r * ldw + k] > 0.f)) s = 0.f;
        dhs[r * in + k] = s;
        a.dh[static_cast<size_t>(row0 + r) * in + k] = s;
      }
    }
    // This tile's share of dW = dlogitsᵀ·h and db = Σ dlogits.
    for (int i = t; i < out * in; i += kThreads) {
      const int o = i / in, k = i - o * in;
      float s = 0.f;
      for (int r = 0; r < n; ++r) s = fmaf(ls[r * out + o], hs[r * ldw + k], s);
      acc_dW[i] += s;
    }
    for (int o = t; o < out; o += kThreads) {
      float s = 0.f;
      for (int r = 0; r < n; ++r) s += ls[r * out + o];
      acc_db[o] += s;
    }
    if (a.dh && a.dh_bias) {
      __syncthreads();  // the dh tile is complete
      for (int k = t; k < in; k += kThreads) {
        float s = 0.f;
        for (int r = 0; r < n; ++r) s += dhs[r * in + k];
        acc_dbp[k] += s;
      }
    }
  }

  if (lane == 0) {
    sm.block_loss[warp] = warp_loss;
    sm.block_hits[warp] = warp_hits;
  }
  __syncthreads();
  double loss_sum = 0.0;
  int hit_sum = 0;
  if (t == 0) {
    for (int w = 0; w < kWarps; ++w) {
      loss_sum += sm.block_loss[w];
      hit_sum += sm.block_hits[w];
    }
  }
  finish_head(a, [acc](int i) { return acc[i]; }, loss_sum, hit_sum, kThreads, sm.last);
}

// ---- linear_xent_cluster_kernel: in = 128, out ≤ 16 (the MNIST net's 128 → 10) ----
//
// 256 threads (8 warps) per block; one block, or on sm_90+ a cluster of up to kMaxClusterBlocks
// blocks (16 where the device allows it, else 8), each taking a contiguous range of rows. A warp takes one row at a time, lane l holding
// features 4l..4l+3 of h, and keeps in registers W's [out][4l..4l+3] (loaded once) and its running
// sums of dW's [out][4l..4l+3], db and dh_bias's 4l..4l+3 over its rows:
// - logits: 4 FMAs per class per lane, then a reduce-scatter over the lanes (16 shuffles, lane l
//   ends with class l/2, both lanes of a pair bit-identical) and a gather of the `out` logits into
//   every lane, which then runs the CPU backend's softmax cross-entropy (first index of the
//   maximum, Σ exp in class order);
// - dh = dlogits·W through the ReLU mask, dW += dlogitsᵀ·h, db += dlogits: lane-local, no
//   reduction.
// The end: each warp leaves its sums in shared memory, each block adds its warps in warp order;
// with a cluster, block j then owns a slice of [dW | dh_bias | db], adds the blocks' sums in block
// order through distributed shared memory and applies the SGD step to it. No global scratch, no
// ticket, no float atomics: the sums run in an order fixed by the shapes.

constexpr int kClusterThreads = 256;
constexpr int kClusterWarps = kClusterThreads / 32;
constexpr int kClusterIn = 128;
constexpr int kPortableClusterBlocks = 8;
constexpr int kMaxClusterBlocks = 16;  // where the device allows more than the portable size

// One warp's sums, in floats: dW [MAXO][128], dh_bias [128], db [16]; then in float4 units.
template <int MAXO>
struct ClusterLayout {
  static constexpr int kDwUnits = MAXO * 32;
  static constexpr int kDhbUnit0 = kDwUnits;
  static constexpr int kDbUnit0 = kDwUnits + 32;
  static constexpr int kUnits = kDbUnit0 + 4;
  static constexpr int kRegion = kUnits * 4;
  static constexpr int kPasses = (kUnits + kClusterThreads - 1) / kClusterThreads;
  static constexpr size_t kSmemBytes = static_cast<size_t>(kClusterWarps) * kRegion * sizeof(float);
};

// Unit u of [dW | dh_bias | db] (4 consecutive elements): where it goes, what it steps, how many
// of its 4 elements exist (0: none).
struct HeadUnit {
  float* grad;
  float* param;
  float* momentum;
  int count;
  bool vec;  // 4 elements, 16-byte aligned: one float4 each
};

template <int MAXO>
__device__ inline HeadUnit head_unit(const HeadArgs& a, int out, int u) {
  using L = ClusterLayout<MAXO>;
  if (u < L::kDwUnits) {
    const int c = u >> 5, k = 4 * (u & 31);
    const size_t i = static_cast<size_t>(c) * kClusterIn + k;
    return {a.dW + i, a.apply_sgd ? a.W + i : nullptr, a.W_momentum ? a.W_momentum + i : nullptr, c < out ? 4 : 0, true};
  }
  if (u < L::kDbUnit0) {
    const int k = 4 * (u - L::kDhbUnit0);
    const bool used = a.dh && a.dh_bias;
    return {a.dh_bias + k, used && a.apply_sgd && a.h_bias ? a.h_bias + k : nullptr,
            a.h_bias_momentum ? a.h_bias_momentum + k : nullptr, used ? 4 : 0, true};
  }
  const int c = 4 * (u - L::kDbUnit0);
  return {a.db + c, a.apply_sgd ? a.b + c : nullptr, a.b_momentum ? a.b_momentum + c : nullptr,
          c < out ? min(4, out - c) : 0, false};
}

__device__ inline float get4(const float4& v, int c) { return c == 0 ? v.x : c == 1 ? v.y : c == 2 ? v.z : v.w; }

// The parameters and momenta of a unit, loaded ahead of the reductions.
struct UnitPrefetch {
  float4 param, momentum;
};

__device__ inline UnitPrefetch prefetch_unit(const HeadArgs& a, const HeadUnit& e) {
  UnitPrefetch p{make_float4(0.f, 0.f, 0.f, 0.f), make_float4(0.f, 0.f, 0.f, 0.f)};
  if (e.count == 0) return p;
  const bool momentum = a.sgd.momentum != 0.f && !a.sgd.first_step && e.momentum;
  if (e.vec) {  // 16-byte aligned (checked by the launcher)
    if (e.param) p.param = *reinterpret_cast<const float4*>(e.param);
    if (momentum) p.momentum = *reinterpret_cast<const float4*>(e.momentum);
  } else {
    float pv[4] = {0.f, 0.f, 0.f, 0.f}, mv[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      if (c < e.count) {
        if (e.param) pv[c] = e.param[c];
        if (momentum) mv[c] = e.momentum[c];
      }
    }
    p.param = make_float4(pv[0], pv[1], pv[2], pv[3]);
    p.momentum = make_float4(mv[0], mv[1], mv[2], mv[3]);
  }
  return p;
}

// Unit e is complete (sum): stores the gradient and, with apply_sgd, steps its parameter.
__device__ inline void finish_unit(const HeadArgs& a, const HeadUnit& e, const UnitPrefetch& p, float4 sum) {
  if (e.count == 0) return;
  float np[4], nm[4];
#pragma unroll
  for (int c = 0; c < 4; ++c) {
    nm[c] = 0.f;
    np[c] = e.param ? sgd_step_value(get4(p.param, c), get4(sum, c), get4(p.momentum, c), &nm[c], a.sgd) : 0.f;
  }
  const bool store_momentum = e.param && a.sgd.momentum != 0.f && e.momentum;
  if (e.vec) {
    *reinterpret_cast<float4*>(e.grad) = sum;
    if (e.param) *reinterpret_cast<float4*>(e.param) = make_float4(np[0], np[1], np[2], np[3]);
    if (store_momentum) *reinterpret_cast<float4*>(e.momentum) = make_float4(nm[0], nm[1], nm[2], nm[3]);
    return;
  }
#pragma unroll
  for (int c = 0; c < 4; ++c) {
    if (c < e.count) {
      e.grad[c] = get4(sum, c);
      if (e.param) e.param[c] = np[c];
      if (store_momentum) e.momentum[c] = nm[c];
    }
  }
}

__device__ inline float4 add4(float4 a, float4 b) { return make_float4(a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w); }

__device__ inline float dot4(float4 a, float4 b, float s) {
  s = fmaf(a.x, b.x, s);
  s = fmaf(a.y, b.y, s);
  s = fmaf(a.z, b.z, s);
  return fmaf(a.w, b.w, s);
}

// The cluster kernel's static shared memory (its dynamic part, ClusterLayout<MAXO>::kSmemBytes, is
// the `sums4` argument of the body: [kClusterWarps][L::kUnits] float4s, each warp's sums).
struct ClusterSmem {
  double warp_loss[kClusterWarps];
  int warp_hits[kClusterWarps];
  double block_loss;
  int block_hits;
};

// The `cluster` argument where there are no thread block clusters (the sm_75/80 builds): the
// launcher runs one block there, and the body's cluster part is not compiled (__trap() instead).
struct NoCluster {};

// a.tile: rows per block. MAXO: classes held in registers (out ≤ MAXO; EXACT: out == MAXO).
// Cluster: cooperative_groups::cluster_group (sm_90+), or NoCluster.
template <int MAXO, bool EXACT, class Cluster>
__device__ __forceinline__ void linear_xent_cluster_body(const HeadArgs& a, ClusterSmem& sm, float4* sums4,
                                                         Cluster cluster) {
  using L = ClusterLayout<MAXO>;
  static_assert(MAXO <= 16, "one class per lane pair");

  const int out = EXACT ? MAXO : a.out;
  const int t = threadIdx.x, lane = t & 31, warp = t >> 5;
  const int blocks = static_cast<int>(gridDim.x), blk = static_cast<int>(blockIdx.x);
  const int row_end = min(a.rows, (blk + 1) * a.tile);
  const float inv_rows = 1.0f / static_cast<float>(a.rows);
  const bool want_dh = a.dh != nullptr;
  const int my_class = lane >> 1;
  const float4 zero4 = make_float4(0.f, 0.f, 0.f, 0.f);

  const float4* W4 = reinterpret_cast<const float4*>(a.W);
  float4* h4 = reinterpret_cast<float4*>(a.h);
  float4 w[MAXO];
#pragma unroll
  for (int c = 0; c < MAXO; ++c) w[c] = c < out ? W4[c * 32 + lane] : zero4;
  const float my_bias = my_class < out ? a.b[my_class] : 0.f;
  const float4 hb = a.h_bias ? reinterpret_cast<const float4*>(a.h_bias)[lane] : zero4;

  // The units this thread finishes (block blk owns units [blk·slice, blk·slice + slice)): their
  // parameters and momenta are loaded now, with W and the first row.
  const int slice = (L::kUnits + blocks - 1) / blocks;
  HeadUnit units[L::kPasses];
  UnitPrefetch pre[L::kPasses];
#pragma unroll
  for (int p = 0; p < L::kPasses; ++p) {
    const int lu = t + p * kClusterThreads, u = blk * slice + lu;
    units[p] = lu < slice && u < L::kUnits ? head_unit<MAXO>(a, out, u) : HeadUnit{nullptr, nullptr, nullptr, 0, false};
    pre[p] = prefetch_unit(a, units[p]);
  }

  float4 dw[MAXO];
  float db[MAXO];
#pragma unroll
  for (int c = 0; c < MAXO; ++c) {
    dw[c] = zero4;
    db[c] = 0.f;
  }
  float4 dhb = zero4;
  double loss_sum = 0.0;
  int hits = 0;

  int r = blk * a.tile + warp;
  float4 h_next = zero4;
  int label_next = 0;
  if (r < row_end) {
    h_next = h4[static_cast<size_t>(r) * 32 + lane];
    label_next = a.labels[r];
  }
#pragma unroll 1  // unrolling by 2 measured no faster
  for (; r < row_end; r += kClusterWarps) {  // warp-uniform
    float4 hv = h_next;
    const int label = label_next;
    if (r + kClusterWarps < row_end) {  // the next row's loads, in flight during this one
      h_next = h4[static_cast<size_t>(r + kClusterWarps) * 32 + lane];
      label_next = a.labels[r + kClusterWarps];
    }
    if (a.h_bias) {
      // v < 0 ? 0 : v keeps a NaN as NaN, like the GEMM epilogue's ReLU.
      hv = add4(hv, hb);
      if (a.relu_input) {
        hv.x = hv.x < 0.f ? 0.f : hv.x; hv.y = hv.y < 0.f ? 0.f : hv.y;
        hv.z = hv.z < 0.f ? 0.f : hv.z; hv.w = hv.w < 0.f ? 0.f : hv.w;
      }
      h4[static_cast<size_t>(r) * 32 + lane] = hv;
    }

    // Logits: partial dot products over this lane's 4 features, then a reduce-scatter: at the
    // step with offset o the lane keeps the half of its classes picked by its bit o and adds the
    // partner's partial of it; lane l ends with class l/2 over all 32 lanes.
    float v[16];
#pragma unroll
    for (int c = 0; c < 16; ++c) v[c] = c < MAXO ? dot4(hv, w[c < MAXO ? c : 0], 0.f) : 0.f;
#pragma unroll
    for (int s = 0; s < 4; ++s) {
      const int offset = 16 >> s, half = 8 >> s;
      const bool upper = (lane & offset) != 0;
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        if (i < half) {
          const float send = upper ? v[i] : v[i + half];
          const float keep = upper ? v[i + half] : v[i];
          v[i] = keep + __shfl_xor_sync(kFullMask, send, offset);
        }
      }
    }
    const float mine = (v[0] + __shfl_xor_sync(kFullMask, v[0], 1)) + my_bias;  // a + b == b + a
    float x[MAXO];
#pragma unroll
    for (int c = 0; c < MAXO; ++c) x[c] = __shfl_sync(kFullMask, mine, 2 * c);

    // Softmax cross-entropy as the CPU backend: the first index of the maximum (a NaN never
    // wins, except at index 0), Σ exp(x − max) in class order. Every lane computes the same.
    int best = 0;
    float mx = x[0], xl = NAN;
#pragma unroll
    for (int c = 0; c < MAXO; ++c) {
      if (c < out) {
        if (x[c] > mx) {  // the CPU's `x[c] > x[best]` scan
          mx = x[c];
          best = c;
        }
        if (c == label) xl = x[c];
      }
    }
    float d[MAXO];
    float sum = 0.f;
#pragma unroll
    for (int c = 0; c < MAXO; ++c) {
      d[c] = c < out ? expf(x[c] - mx) : 0.f;
      sum += d[c];
    }
    if (lane == 0) {
      const bool valid = label >= 0 && label < out;
      loss_sum += valid ? static_cast<double>(logf(sum) - (xl - mx)) : static_cast<double>(NAN);
      hits += best == label;
    }
    const float inv_sum = 1.0f / sum;
    float my_d = 0.f;
#pragma unroll
    for (int c = 0; c < MAXO; ++c) {
      d[c] = c < out ? (d[c] * inv_sum - (c == label ? 1.f : 0.f)) * inv_rows : 0.f;
      if (c == my_class) my_d = d[c];
    }
    if ((lane & 1) == 0 && my_class < out) {
      const size_t i = static_cast<size_t>(r) * out + my_class;
      a.logits[i] = mine;
      a.dlogits[i] = my_d;
    }

    // dh = dlogits·W through the ReLU mask of h; this lane's share of dW, db and dh_bias.
    if (want_dh) {
      float4 g = zero4;
#pragma unroll
      for (int c = 0; c < MAXO; ++c) {
        g.x = fmaf(d[c], w[c].x, g.x); g.y = fmaf(d[c], w[c].y, g.y);
        g.z = fmaf(d[c], w[c].z, g.z); g.w = fmaf(d[c], w[c].w, g.w);
      }
      if (a.relu_input) {
        if (!(hv.x > 0.f)) g.x = 0.f;
        if (!(hv.y > 0.f)) g.y = 0.f;
        if (!(hv.z > 0.f)) g.z = 0.f;
        if (!(hv.w > 0.f)) g.w = 0.f;
      }
      reinterpret_cast<float4*>(a.dh)[static_cast<size_t>(r) * 32 + lane] = g;
      dhb = add4(dhb, g);
    }
#pragma unroll
    for (int c = 0; c < MAXO; ++c) {
      dw[c].x = fmaf(d[c], hv.x, dw[c].x); dw[c].y = fmaf(d[c], hv.y, dw[c].y);
      dw[c].z = fmaf(d[c], hv.z, dw[c].z); dw[c].w = fmaf(d[c], hv.w, dw[c].w);
      db[c] += d[c];
    }
  }

  // This warp's sums into its region of shared memory.
  {
    float4* mine = sums4 + warp * L::kUnits;
#pragma unroll
    for (int c = 0; c < MAXO; ++c) mine[c * 32 + lane] = dw[c];
    mine[L::kDhbUnit0 + lane] = dhb;
    if (lane < 4) {
      float q[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        q[j] = 0.f;
#pragma unroll
        for (int c = 0; c < MAXO; ++c)
          if (c == 4 * lane + j) q[j] = db[c];
      }
      mine[L::kDbUnit0 + lane] = make_float4(q[0], q[1], q[2], q[3]);
    }
    if (lane == 0) {
      sm.warp_loss[warp] = loss_sum;
      sm.warp_hits[warp] = hits;
    }
  }
  __syncthreads();

  // The block's sums over its warps, in warp order, into warp 0's region (unit u is read and
  // written by one thread only).
#pragma unroll
  for (int p = 0; p < L::kPasses; ++p) {
    const int u = t + p * kClusterThreads;
    if (u < L::kUnits) {
      float4 s = sums4[u];
#pragma unroll
      for (int w2 = 1; w2 < kClusterWarps; ++w2) s = add4(s, sums4[w2 * L::kUnits + u]);
      if (blocks == 1)
        finish_unit(a, units[p], pre[p], s);  // one block: unit u is this thread's pass p
      else
        sums4[u] = s;
    }
  }
  if (t == 0) {
    double l = 0.0;
    int hsum = 0;
    for (int w2 = 0; w2 < kClusterWarps; ++w2) {
      l += sm.warp_loss[w2];
      hsum += sm.warp_hits[w2];
    }
    if (blocks == 1) {
      *a.loss = static_cast<float>(l / a.rows);
      if (a.correct) *a.correct += hsum;
    } else {
      sm.block_loss = l;
      sm.block_hits = hsum;
    }
  }
  if (blocks == 1) return;

  if constexpr (std::is_same_v<Cluster, NoCluster>) {
    __trap();  // the launcher uses clusters on sm_90+ only
  } else {
    // The cluster's blocks add each other's sums in block order, each its own slice.
    cluster.sync();  // every block's sums are complete and visible cluster-wide
#pragma unroll
    for (int p = 0; p < L::kPasses; ++p) {
      const int lu = t + p * kClusterThreads, u = blk * slice + lu;
      if (lu < slice && u < L::kUnits) {
        float4 part[kMaxClusterBlocks];  // all loads in flight before the first add
#pragma unroll
        for (int b2 = 0; b2 < kMaxClusterBlocks; ++b2)
          part[b2] = b2 < blocks ? *cluster.map_shared_rank(sums4 + u, b2) : make_float4(0.f, 0.f, 0.f, 0.f);
        float4 s = part[0];
#pragma unroll
        for (int b2 = 1; b2 < kMaxClusterBlocks; ++b2)
          if (b2 < blocks) s = add4(s, part[b2]);
        finish_unit(a, units[p], pre[p], s);
      }
    }
    if (blk == 0 && t == 0) {
      double lp[kMaxClusterBlocks];
      int hp[kMaxClusterBlocks];
#pragma unroll
      for (int b2 = 0; b2 < kMaxClusterBlocks; ++b2) {
        lp[b2] = b2 < blocks ? *cluster.map_shared_rank(&sm.block_loss, b2) : 0.0;
        hp[b2] = b2 < blocks ? *cluster.map_shared_rank(&sm.block_hits, b2) : 0;
      }
      double l = 0.0;
      int hsum = 0;
#pragma unroll
      for (int b2 = 0; b2 < kMaxClusterBlocks; ++b2) {
        if (b2 < blocks) {
          l += lp[b2];
          hsum += hp[b2];
        }
      }
      *a.loss = static_cast<float>(l / a.rows);
      if (a.correct) *a.correct += hsum;
    }
    cluster.sync();  // no block leaves while another may still read its shared memory
  }
}

// ---- launch geometry (host and device: the launcher and the emulator tests use the same) ----

// The cluster kernel's rows per block and grid: rows spread evenly over up to max_blocks blocks
// (the largest cluster the device allows; 1 without clusters), at least one row per warp.
struct ClusterGrid {
  int tile;    // rows per block (HeadArgs::tile)
  int blocks;  // grid = cluster size
};

__host__ __device__ inline ClusterGrid cluster_grid(int rows, int max_blocks) {
  const long long r = rows;
  const int per_warp = static_cast<int>((r + kClusterWarps * max_blocks - 1) / (kClusterWarps * max_blocks));
  const int tile = kClusterWarps * per_warp;
  return {tile, static_cast<int>((r + tile - 1) / tile)};
}

// The tiled kernel's tile (rows per block, the largest power of two up to kMaxTile whose shared
// memory fits the default limit), grid and dynamic shared memory; tile 0 when the shape does not
// fit (the per-block partials or the shared memory).
struct TiledPlan {
  int tile;
  unsigned blocks;
  size_t smem_bytes;
};

__host__ __device__ inline TiledPlan tiled_plan(int rows, int in, int out) {
  if (static_cast<size_t>(out) * in + out + in > kHeadMaxPartial) return {0, 0, 0};
  int tile = kMaxTile;
  while (tile > 1 && smem_floats(in, out, tile) * sizeof(float) > kSmemLimit) tile /= 2;
  const size_t smem = smem_floats(in, out, tile) * sizeof(float);
  if (smem > kSmemLimit) return {0, 0, 0};
  const int tiles = (rows + tile - 1) / tile;
  const unsigned blocks = static_cast<unsigned>(tiles < kHeadMaxBlocks ? tiles : kHeadMaxBlocks);
  return {tile, blocks, smem};
}

}  // namespace tinynn::gpu::head
