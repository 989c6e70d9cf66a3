// The fused tail of a training step (Backend::linear_xent_step): bias+ReLU of the previous layer,
// the last Linear layer, softmax cross-entropy and the whole backward of that layer, in one
// launch instead of eight, optionally followed by the SGD step of W, b and the previous layer's
// bias (Backend::linear_xent_sgd_step) in the same launch.
//
// Two kernels, one contract:
// - linear_xent_rows_kernel (in = 128·KV ≤ 256, out ≤ 16: the MNIST net's 128 → 10): one warp per
//   row at a time, each lane holding 4·KV consecutive features of h as float4s. The logits are
//   warp-shuffle dot products (every lane ends with every logit, bit-identical), softmax and its
//   gradient run in registers, dh = dlogits·W needs no reduction. Rows are spread over up to ~16
//   blocks of 8 warps (1-8 rows per warp); each block then sums its rows' dW, db and dh_bias in
//   shared memory in row order.
// - linear_xent_tiled_kernel (any other shape with out ≤ 32 that fits shared memory): tiles of up
//   to 16 rows, a thread per output element.
// In both, W sits in shared memory and the last block to finish (ticket) adds the per-block
// partials in block order, then applies the SGD step: every block has read W, b and h_bias by then.
// All sums run in an order fixed by the shapes alone: results are bit-reproducible.
#include <cstdint>

#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/row_reduce.cuh"
#include "cuda/sgd_math.cuh"

namespace tinynn::gpu {
namespace {

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
  // The fused SGD step (linear_xent_sgd_step): W with dW, b with db, h_bias with dh_bias.
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
// before any add.
constexpr int kHeadGroup = 16;

template <typename Partial>
__device__ inline void finish_head(const HeadArgs& a, Partial partial, double block_loss, int block_hits,
                                   int threads) {
  __shared__ bool last;
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
size_t smem_floats(int in, int out, int tile) {
  const size_t ldw = static_cast<size_t>(in) + 1;
  return out * ldw + out              // W, b
         + tile * ldw                 // h tile
         + static_cast<size_t>(tile) * out  // logits, then dlogits, of the tile
         + static_cast<size_t>(tile) * in   // dh tile (for dh_bias)
         + static_cast<size_t>(out) * in + out + in;  // partial dW, db, dh_bias of this block
}

__global__ void __launch_bounds__(kThreads) linear_xent_tiled_kernel(const __grid_constant__ HeadArgs a) {
  extern __shared__ float smem[];
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

  __shared__ double block_loss[kWarps];
  __shared__ int block_hits[kWarps];
  if (lane == 0) {
    block_loss[warp] = warp_loss;
    block_hits[warp] = warp_hits;
  }
  __syncthreads();
  double loss_sum = 0.0;
  int hit_sum = 0;
  if (t == 0) {
    for (int w = 0; w < kWarps; ++w) {
      loss_sum += block_loss[w];
      hit_sum += block_hits[w];
    }
  }
  finish_head(a, [acc](int i) { return acc[i]; }, loss_sum, hit_sum, kThreads);
}

// ---- linear_xent_rows_kernel: in = 128·KV, out ≤ kRowsMaxOut ----

constexpr int kRowsMaxOut = 16;
constexpr int kRowsMaxRowsPerWarp = 8;
constexpr int kRowsTargetBlocks = 16;  // few blocks: the last block's sum over partials stays short

// Shared memory, in floats, for tiles of `tile` rows: W [out][in], b [out], the h tile [tile][in],
// the dlogits tile [tile][out], and one dh_bias partial [in] per warp.
size_t rows_smem_floats(int in, int out, int tile) {
  return static_cast<size_t>(out) * in + out + static_cast<size_t>(tile) * in +
         static_cast<size_t>(tile) * out + static_cast<size_t>(kWarps) * in;
}

__device__ inline float dot4(float4 a, float4 b, float s) {
  s = fmaf(a.x, b.x, s);
  s = fmaf(a.y, b.y, s);
  s = fmaf(a.z, b.z, s);
  return fmaf(a.w, b.w, s);
}

// Block b takes rows [b·tile, b·tile + tile), tile = kWarps·rows_per_warp; warp w of it takes the
// block's local rows w, w + kWarps, w + 2·kWarps, ... Lane l holds features 4·(l + 32·v) .. +3
// for v < KV.
template <int KV>
__global__ void __launch_bounds__(kThreads) linear_xent_rows_kernel(const __grid_constant__ HeadArgs a) {
  extern __shared__ float4 smem4[];
  const int in = a.in, out = a.out, tile = a.tile;
  float* Ws = reinterpret_cast<float*>(smem4);  // [out][in]; in is a multiple of 128
  float* hs = Ws + out * in;                     // [tile][in]
  float* dhbs = hs + tile * in;                  // [kWarps][in]
  float* bs = dhbs + kWarps * in;                // [out]
  float* dls = bs + out;                         // [tile][out]
  const int t = threadIdx.x, lane = t & 31, warp = t >> 5;
  const int row0 = blockIdx.x * tile;
  const int n = min(tile, a.rows - row0);
  const float inv_rows = 1.0f / static_cast<float>(a.rows);

  {
    const float4* W4 = reinterpret_cast<const float4*>(a.W);
    float4* Ws4 = reinterpret_cast<float4*>(Ws);
    for (int i = t; i < out * in / 4; i += kThreads) Ws4[i] = W4[i];
    if (t < out) bs[t] = a.b[t];
  }
  float4 hb[KV];
  if (a.h_bias) {
#pragma unroll
    for (int v = 0; v < KV; ++v) hb[v] = reinterpret_cast<const float4*>(a.h_bias)[lane + 32 * v];
  }
  __syncthreads();

  float4 dhb[KV];  // this warp's Σ over its rows of dh
#pragma unroll
  for (int v = 0; v < KV; ++v) dhb[v] = make_float4(0.f, 0.f, 0.f, 0.f);
  double warp_loss = 0.0;
  int warp_hits = 0;

  for (int lr = warp; lr < n; lr += kWarps) {  // warp-uniform
    const int r = row0 + lr;
    float4* hrow = reinterpret_cast<float4*>(a.h + static_cast<size_t>(r) * in);
    float4 hv[KV];
#pragma unroll
    for (int v = 0; v < KV; ++v) {
      float4 x = hrow[lane + 32 * v];
      if (a.h_bias) {
        // v < 0 ? 0 : v keeps a NaN as NaN, like bias_relu.
        x.x += hb[v].x; x.y += hb[v].y; x.z += hb[v].z; x.w += hb[v].w;
        if (a.relu_input) {
          x.x = x.x < 0.f ? 0.f : x.x; x.y = x.y < 0.f ? 0.f : x.y;
          x.z = x.z < 0.f ? 0.f : x.z; x.w = x.w < 0.f ? 0.f : x.w;
        }
        hrow[lane + 32 * v] = x;
      }
      hv[v] = x;
      reinterpret_cast<float4*>(hs + lr * in)[lane + 32 * v] = x;
    }
    const int label = a.labels[r];

    // logits: per lane a partial dot product over its features, then a butterfly sum, after
    // which every lane holds every logit (a + b == b + a: the lanes agree bit for bit).
    float x[kRowsMaxOut];
#pragma unroll
    for (int o = 0; o < kRowsMaxOut; ++o) {
      if (o < out) {
        float s = 0.f;
#pragma unroll
        for (int v = 0; v < KV; ++v) s = dot4(hv[v], reinterpret_cast<const float4*>(Ws + o * in)[lane + 32 * v], s);
        x[o] = s;
      }
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) {
#pragma unroll
      for (int o = 0; o < kRowsMaxOut; ++o)
        if (o < out) x[o] += __shfl_xor_sync(kFullMask, x[o], offset);
    }
    // Softmax cross-entropy as the CPU backend: the first index of the maximum (a NaN never
    // wins, except at index 0), Σ exp(x − max) in class order.
#pragma unroll
    for (int o = 0; o < kRowsMaxOut; ++o)
      if (o < out) x[o] += bs[o];
    int best = 0;
    float mx = x[0], xl = NAN;
#pragma unroll
    for (int o = 0; o < kRowsMaxOut; ++o) {
      if (o < out) {
        if (x[o] > mx) {  // the CPU's `x[c] > x[best]` scan
          mx = x[o];
          best = o;
        }
        if (o == label) xl = x[o];
      }
    }
    float e[kRowsMaxOut];
    float sum = 0.f;
#pragma unroll
    for (int o = 0; o < kRowsMaxOut; ++o) {
      if (o < out) {
        e[o] = expf(x[o] - mx);
        sum += e[o];
      }
    }
    if (lane == 0) {
      const bool valid = label >= 0 && label < out;
      warp_loss += valid ? static_cast<double>(logf(sum) - (xl - mx)) : static_cast<double>(NAN);
      warp_hits += best == label;
    }
    const float inv_sum = 1.0f / sum;
    float d[kRowsMaxOut];
#pragma unroll
    for (int o = 0; o < kRowsMaxOut; ++o) {
      if (o < out) {
        d[o] = (e[o] * inv_sum - (o == label ? 1.f : 0.f)) * inv_rows;
        if (lane == o) {
          a.logits[static_cast<size_t>(r) * out + o] = x[o];
          a.dlogits[static_cast<size_t>(r) * out + o] = d[o];
          dls[lr * out + o] = d[o];
        }
      }
    }

    // dh = dlogits·W through the ReLU mask of h: each lane its own features, no reduction.
    if (a.dh) {
      float4* dhrow = reinterpret_cast<float4*>(a.dh + static_cast<size_t>(r) * in);
#pragma unroll
      for (int v = 0; v < KV; ++v) {
        float4 g = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
        for (int o = 0; o < kRowsMaxOut; ++o) {
          if (o < out) {
            const float4 w = reinterpret_cast<const float4*>(Ws + o * in)[lane + 32 * v];
            g.x = fmaf(d[o], w.x, g.x); g.y = fmaf(d[o], w.y, g.y);
            g.z = fmaf(d[o], w.z, g.z); g.w = fmaf(d[o], w.w, g.w);
          }
        }
        if (a.relu_input) {
          if (!(hv[v].x > 0.f)) g.x = 0.f;
          if (!(hv[v].y > 0.f)) g.y = 0.f;
          if (!(hv[v].z > 0.f)) g.z = 0.f;
          if (!(hv[v].w > 0.f)) g.w = 0.f;
        }
        dhrow[lane + 32 * v] = g;
        dhb[v].x += g.x; dhb[v].y += g.y; dhb[v].z += g.z; dhb[v].w += g.w;
      }
    }
  }
  if (a.dh && a.dh_bias) {
#pragma unroll
    for (int v = 0; v < KV; ++v) reinterpret_cast<float4*>(dhbs + warp * in)[lane + 32 * v] = dhb[v];
  }
  __shared__ double block_loss[kWarps];
  __shared__ int block_hits[kWarps];
  if (lane == 0) {
    block_loss[warp] = warp_loss;
    block_hits[warp] = warp_hits;
  }
  __syncthreads();  // hs, dls, dhbs complete

  // This block's dW = dlogitsᵀ·h and db = Σ dlogits over its rows in row order, dh_bias over
  // its warps in warp order (each warp's sum is over its rows in row order).
  const int nw = out * in;
  auto partial = [&](int i) -> float {
    float s = 0.f;
    if (i < nw) {
      const int o = i / in, k = i - o * in;
      for (int lr = 0; lr < n; ++lr) s = fmaf(dls[lr * out + o], hs[lr * in + k], s);
    } else if (i < nw + out) {
      for (int lr = 0; lr < n; ++lr) s += dls[lr * out + i - nw];
    } else {
      const int k = i - nw - out;
      for (int w = 0; w < kWarps; ++w) s += dhbs[w * in + k];
    }
    return s;
  };
  double loss_sum = 0.0;
  int hit_sum = 0;
  if (t == 0) {
    for (int w = 0; w < kWarps; ++w) {
      loss_sum += block_loss[w];
      hit_sum += block_hits[w];
    }
  }
  finish_head(a, partial, loss_sum, hit_sum, kThreads);
}

}  // namespace

namespace {

// Launches one of the two kernels for `a` (tile and grid chosen here); false when neither fits.
bool launch_head(cudaStream_t stream, HeadArgs& a) {
  const int rows = a.rows, in = a.in, out = a.out;
  if (rows <= 0 || in <= 0 || out <= 0 || out > kMaxClasses) return false;
  if (static_cast<size_t>(out) * in + out + in > kHeadMaxPartial) return false;
  const auto aligned16 = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  const bool vectorisable = aligned16(a.h) && aligned16(a.W) && (!a.h_bias || aligned16(a.h_bias)) &&
                            (!a.dh || aligned16(a.dh));
  if ((in == 128 || in == 256) && out <= kRowsMaxOut && vectorisable) {
    int per_warp = 1;
    while (per_warp < kRowsMaxRowsPerWarp && (rows + kWarps * per_warp - 1) / (kWarps * per_warp) > kRowsTargetBlocks)
      per_warp *= 2;
    while (per_warp > 1 && rows_smem_floats(in, out, kWarps * per_warp) * sizeof(float) > kSmemLimit) per_warp /= 2;
    a.tile = kWarps * per_warp;
    const size_t smem = rows_smem_floats(in, out, a.tile) * sizeof(float);
    const int blocks = (rows + a.tile - 1) / a.tile;
    if (smem <= kSmemLimit && blocks <= kHeadMaxBlocks) {
      if (in == 128)
        linear_xent_rows_kernel<1><<<blocks, kThreads, smem, stream>>>(a);
      else
        linear_xent_rows_kernel<2><<<blocks, kThreads, smem, stream>>>(a);
      check_launch("linear_xent_step kernel launch");
      return true;
    }
  }
  int tile = kMaxTile;
  while (tile > 1 && smem_floats(in, out, tile) * sizeof(float) > kSmemLimit) tile /= 2;
  const size_t smem = smem_floats(in, out, tile) * sizeof(float);
  if (smem > kSmemLimit) return false;
  a.tile = tile;
  const int tiles = (rows + tile - 1) / tile;
  const unsigned blocks = static_cast<unsigned>(tiles < kHeadMaxBlocks ? tiles : kHeadMaxBlocks);
  linear_xent_tiled_kernel<<<blocks, kThreads, smem, stream>>>(a);
  check_launch("linear_xent_step kernel launch");
  return true;
}

}  // namespace

bool launch_linear_xent_step(cudaStream_t stream, const HeadScratch& scratch, float* h,
                             const float* h_bias, bool relu_input, const float* W, const float* b,
                             const int32_t* labels, int rows, int in, int out, float* logits,
                             float* dlogits, float* loss, int32_t* correct, float* dW, float* db,
                             float* dh, float* dh_bias, const HeadSgd* sgd) {
  // W, b and h_bias are written only with sgd, whose caller passes them as writable.
  HeadArgs a{h, const_cast<float*>(h_bias), const_cast<float*>(W), const_cast<float*>(b), labels, rows, in, out,
             0, relu_input, logits, dlogits, loss, correct, dW, db, dh, dh_bias, scratch, sgd != nullptr,
             sgd ? sgd->params : SgdParams{}, sgd ? sgd->W_momentum : nullptr, sgd ? sgd->b_momentum : nullptr,
             sgd ? sgd->h_bias_momentum : nullptr};
  return launch_head(stream, a);
}

}  // namespace tinynn::gpu
