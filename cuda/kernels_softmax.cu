// Row-wise kernels over logits [rows, cols]: softmax cross-entropy (loss, dlogits and hits in one
// pass) and softmax / log-softmax. One warp per row: the layer-2 rows of the MNIST net are 10
// wide, so a warp covers a row in one load; wider rows loop over 32-column strides.
#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/kernels_softmax.cuh"

namespace tinynn::gpu {
namespace {

using namespace softmax;  // kWarps, row_blocks

// Grid: up to kLossMaxBlocks blocks of kWarps warps; warp w of block b takes rows
// b·kWarps + w, then strides by gridDim.x·kWarps. Each block leaves its loss and hit sums in
// scratch; the last block to finish (ticket) adds them in block order and writes *loss, so the
// mean is deterministic and needs no float atomics or host sync.
__global__ void softmax_xent_kernel(const float* logits, const int32_t* __restrict__ labels,
                                    int rows, int cols, float* loss, float* dlogits,
                                    int32_t* correct, LossScratch scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const float inv_rows = 1.0f / static_cast<float>(rows);
  double warp_loss = 0.0;
  int warp_hits = 0;
  for (int r = blockIdx.x * kWarps + warp; r < rows; r += gridDim.x * kWarps) {
    const float* x = logits + static_cast<size_t>(r) * cols;
    const RowMax m = warp_row_max(x, cols, lane);
    const float sum = row_exp_sum(x, cols, m.value, lane);
    const int label = labels[r];
    // The loss term is read before dlogits is written, so dlogits may alias logits. A label
    // outside [0, cols) is never used as an index: its row's loss is NaN (row_xent).
    if (lane == 0) {
      warp_loss += row_xent(x, cols, label, m, sum);
      warp_hits += m.index == label;
    }
    if (dlogits) {
      __syncwarp();
      float* d = dlogits + static_cast<size_t>(r) * cols;
      const float inv_sum = 1.0f / sum;
      for (int c = lane; c < cols; c += 32)
        d[c] = (expf(x[c] - m.value) * inv_sum - (c == label ? 1.f : 0.f)) * inv_rows;
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
  if (threadIdx.x == 0) {
    double s = 0.0;
    int h = 0;
    for (int w = 0; w < kWarps; ++w) {
      s += block_loss[w];
      h += block_hits[w];
    }
    scratch.loss_partials[blockIdx.x] = s;
    scratch.hit_partials[blockIdx.x] = h;
    __threadfence();  // the partials are visible device-wide before the ticket is taken
    last = atomicAdd(scratch.ticket, 1u) == gridDim.x - 1;
  }
  __syncthreads();
  if (!last || warp != 0) return;
  __threadfence();
  double s = 0.0;
  int h = 0;
  for (unsigned b = lane; b < gridDim.x; b += 32) {
    s += __ldcg(&scratch.loss_partials[b]);  // from L2: other SMs wrote them
    h += __ldcg(&scratch.hit_partials[b]);
  }
  s = warp_sum(s);
  h = warp_sum(h);
  if (lane == 0) {
    *loss = static_cast<float>(s / rows);
    if (correct) *correct += h;
    *scratch.ticket = 0;  // ready for the next launch (or graph replay) on this stream
  }
}

// The body in kernels_softmax.cuh.
template <bool LOG>
__global__ void softmax_kernel(const float* x, int rows, int cols, float* out) {
  softmax_body<LOG>(x, rows, cols, out);
}

}  // namespace

void launch_softmax_xent(cudaStream_t stream, const LossScratch& scratch, const float* logits,
                         const int32_t* labels, int rows, int cols, float* loss, float* dlogits,
                         int32_t* correct) {
  if (rows <= 0 || cols <= 0) return;
  softmax_xent_kernel<<<row_blocks(rows, kLossMaxBlocks), kWarps * 32, 0, stream>>>(
      logits, labels, rows, cols, loss, dlogits, correct, scratch);
  check_launch("softmax_xent kernel launch");
}

void launch_softmax(cudaStream_t stream, const float* x, int rows, int cols, float* out, bool log) {
  if (rows <= 0 || cols <= 0) return;
  if (log)
    softmax_kernel<true><<<row_blocks(rows, kMaxRowBlocks), kWarps * 32, 0, stream>>>(x, rows, cols, out);
  else
    softmax_kernel<false><<<row_blocks(rows, kMaxRowBlocks), kWarps * 32, 0, stream>>>(x, rows, cols, out);
  check_launch("softmax kernel launch");
}

}  // namespace tinynn::gpu
