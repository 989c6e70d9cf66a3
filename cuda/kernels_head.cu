// The fused tail of a training step (Backend::linear_xent_step): bias+ReLU of the previous layer,
// the last Linear layer, softmax cross-entropy and the whole backward of that layer, in one
// launch instead of eight. For the MNIST net (in = 128, out = 10) W is 5 KB and sits in shared
// memory with a tile of 16 rows of h; each block walks its tiles, keeping partial dW / db / dh_bias
// sums in shared memory, and the last block to finish adds the per-block partials in block order.
// All sums run in an order fixed by the shapes alone: results are bit-reproducible.
#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/row_reduce.cuh"

namespace tinynn::gpu {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kMaxClasses = 32;  // one lane per class in the softmax
constexpr int kMaxTile = 16;
constexpr size_t kSmemLimit = 48 * 1024;  // the default dynamic shared memory limit

struct HeadArgs {
  float* h;
  const float* h_bias;
  const float* W;
  const float* b;
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
};

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

__global__ void __launch_bounds__(kThreads) linear_xent_kernel(const __grid_constant__ HeadArgs a) {
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
  __shared__ bool last;
  if (lane == 0) {
    block_loss[warp] = warp_loss;
    block_hits[warp] = warp_hits;
  }
  __syncthreads();
  const int partial = out * in + out + in;
  const bool want_dbp = a.dh && a.dh_bias;

  if (gridDim.x == 1) {  // one block saw every row: its sums are the results
    for (int i = t; i < out * in; i += kThreads) a.dW[i] = acc_dW[i];
    for (int o = t; o < out; o += kThreads) a.db[o] = acc_db[o];
    if (want_dbp) for (int k = t; k < in; k += kThreads) a.dh_bias[k] = acc_dbp[k];
    if (t == 0) {
      double s = 0.0;
      int h = 0;
      for (int w = 0; w < kWarps; ++w) {
        s += block_loss[w];
        h += block_hits[w];
      }
      *a.loss = static_cast<float>(s / a.rows);
      if (a.correct) *a.correct += h;
    }
    return;
  }

  float* mine = a.scratch.partials + static_cast<size_t>(blockIdx.x) * kHeadMaxPartial;
  for (int i = t; i < partial; i += kThreads) mine[i] = acc[i];
  if (t == 0) {
    double s = 0.0;
    int h = 0;
    for (int w = 0; w < kWarps; ++w) {
      s += block_loss[w];
      h += block_hits[w];
    }
    a.scratch.loss_partials[blockIdx.x] = s;
    a.scratch.hit_partials[blockIdx.x] = h;
  }
  __threadfence();  // this thread's partials are visible device-wide before the ticket is taken
  __syncthreads();
  if (t == 0) last = atomicAdd(a.scratch.ticket, 1u) == gridDim.x - 1;
  __syncthreads();
  if (!last) return;
  __threadfence();

  // The last block: Σ over blocks, in block order, of every partial.
  for (int i = t; i < partial; i += kThreads) {
    float s = 0.f;
    for (unsigned blk = 0; blk < gridDim.x; ++blk) s += __ldcg(a.scratch.partials + static_cast<size_t>(blk) * kHeadMaxPartial + i);
    if (i < out * in) {
      a.dW[i] = s;
    } else if (i < out * in + out) {
      a.db[i - out * in] = s;
    } else if (want_dbp) {
      a.dh_bias[i - out * in - out] = s;
    }
  }
  if (t == 0) {
    double s = 0.0;
    int h = 0;
    for (unsigned blk = 0; blk < gridDim.x; ++blk) {
      s += __ldcg(a.scratch.loss_partials + blk);
      h += __ldcg(a.scratch.hit_partials + blk);
    }
    *a.loss = static_cast<float>(s / a.rows);
    if (a.correct) *a.correct += h;
    *a.scratch.ticket = 0;  // ready for the next launch (or graph replay) on this stream
  }
}

}  // namespace

bool launch_linear_xent_step(cudaStream_t stream, const HeadScratch& scratch, float* h,
                             const float* h_bias, bool relu_input, const float* W, const float* b,
                             const int32_t* labels, int rows, int in, int out, float* logits,
                             float* dlogits, float* loss, int32_t* correct, float* dW, float* db,
                             float* dh, float* dh_bias) {
  if (rows <= 0 || in <= 0 || out <= 0 || out > kMaxClasses) return false;
  if (static_cast<size_t>(out) * in + out + in > kHeadMaxPartial) return false;
  int tile = kMaxTile;
  while (tile > 1 && smem_floats(in, out, tile) * sizeof(float) > kSmemLimit) tile /= 2;
  const size_t smem = smem_floats(in, out, tile) * sizeof(float);
  if (smem > kSmemLimit) return false;

  HeadArgs a{h, h_bias, W, b, labels, rows, in, out, tile, relu_input, logits, dlogits, loss,
             correct, dW, db, dh, dh_bias, scratch};
  const int tiles = (rows + tile - 1) / tile;
  const unsigned blocks = static_cast<unsigned>(tiles < kHeadMaxBlocks ? tiles : kHeadMaxBlocks);
  linear_xent_kernel<<<blocks, kThreads, smem, stream>>>(a);
  check_launch("linear_xent_step kernel launch");
  return true;
}

}  // namespace tinynn::gpu
