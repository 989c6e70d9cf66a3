// The body of Backend::mse's kernel: the mean squared error and its gradient in one launch. Thread
// t of the grid takes elements t, t + T, t + 2T, ... (T = the grid's threads, fixed by n), summing
// (pred − target)² in double; each block adds its threads in a fixed tree and leaves its sum in
// scratch; the last block to finish (ticket) adds the blocks' sums in a fixed order and writes the
// mean. No float atomics, no host sync: the loss is bit-reproducible. Plain C++ apart from CUDA's
// built-ins, the shared memory an argument: cuda/kernels_mse.cu wraps it in a __global__ kernel
// and launches it (mse_blocks() blocks), and the CPU emulator in tests/kernel-emulation/ runs it
// on the host.
#pragma once
#include <cstddef>

#include "cuda/launch_shape.cuh"
#include "cuda/row_reduce.cuh"
#include "cuda/scratch.h"

namespace tinynn::gpu::mse {

constexpr int kMseThreads = 256;
constexpr int kMseWarps = kMseThreads / 32;

// The launcher's grid: at least one block, so that n = 0 still writes its (NaN) loss; at most
// kLossMaxBlocks, one partial each in the scratch.
inline unsigned mse_blocks(size_t n) {
  const unsigned blocks = n == 0 ? 1 : blocks_for(n, kMseThreads);
  return blocks < kLossMaxBlocks ? blocks : kLossMaxBlocks;
}

struct MseSmem {
  double warp_sums[kMseWarps];
  bool last;
};

// dpred may alias pred or target: each element is read, then written, by the same thread.
__device__ inline void mse_body(const float* pred, const float* target, size_t n, float* loss, float* dpred,
                                const LossScratch& scratch, MseSmem& s) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const float count = static_cast<float>(n);
  double sum = 0.0;
  for (size_t i = blockIdx.x * static_cast<size_t>(kMseThreads) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * kMseThreads) {
    const float d = pred[i] - target[i];
    sum += static_cast<double>(d) * d;
    if (dpred) dpred[i] = 2.f * d / count;
  }
  sum = warp_sum(sum);

  if (lane == 0) s.warp_sums[warp] = sum;
  __syncthreads();
  if (threadIdx.x == 0) {
    double total = 0.0;
    for (int w = 0; w < kMseWarps; ++w) total += s.warp_sums[w];
    if (gridDim.x == 1) {
      *loss = static_cast<float>(total / static_cast<double>(n));  // n = 0: NaN, as torch's mean of nothing
    } else {
      scratch.loss_partials[blockIdx.x] = total;
      __threadfence();  // the partial is visible device-wide before the ticket is taken
      s.last = atomicAdd(scratch.ticket, 1u) == gridDim.x - 1;
    }
  }
  if (gridDim.x == 1) return;
  __syncthreads();
  if (!s.last || warp != 0) return;
  __threadfence();
  double total = 0.0;
  for (unsigned b = lane; b < gridDim.x; b += 32) total += __ldcg(&scratch.loss_partials[b]);  // from L2
  total = warp_sum(total);
  if (lane == 0) {
    *loss = static_cast<float>(total / static_cast<double>(n));
    *scratch.ticket = 0;  // ready for the next launch (or graph replay) on this stream
  }
}

}  // namespace tinynn::gpu::mse
