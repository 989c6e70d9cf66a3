// Backend::mse: the mean squared error and its gradient in one launch. Thread t of the grid takes
// elements t, t + T, t + 2T, ... (T = the grid's threads, fixed by n), summing (pred − target)²
// in double; each block adds its threads in a fixed tree and leaves its sum in scratch; the last
// block to finish (ticket) adds the blocks' sums in a fixed order and writes the mean. No float
// atomics, no host sync: the loss is bit-reproducible.
#include "cuda/check.h"
#include "cuda/kernels.h"
#include "cuda/launch_shape.cuh"
#include "cuda/row_reduce.cuh"

namespace tinynn::gpu {
namespace {

constexpr int kMseThreads = 256;
constexpr int kMseWarps = kMseThreads / 32;

// dpred may alias pred or target: each element is read, then written, by the same thread.
__global__ void __launch_bounds__(kMseThreads) mse_kernel(const float* pred, const float* target, size_t n,
                                                          float* loss, float* dpred, LossScratch scratch) {
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

  __shared__ double warp_sums[kMseWarps];
  __shared__ bool last;
  if (lane == 0) warp_sums[warp] = sum;
  __syncthreads();
  if (threadIdx.x == 0) {
    double s = 0.0;
    for (int w = 0; w < kMseWarps; ++w) s += warp_sums[w];
    if (gridDim.x == 1) {
      *loss = static_cast<float>(s / static_cast<double>(n));  // n = 0: NaN, as torch's mean of nothing
    } else {
      scratch.loss_partials[blockIdx.x] = s;
      __threadfence();  // the partial is visible device-wide before the ticket is taken
      last = atomicAdd(scratch.ticket, 1u) == gridDim.x - 1;
    }
  }
  if (gridDim.x == 1) return;
  __syncthreads();
  if (!last || warp != 0) return;
  __threadfence();
  double s = 0.0;
  for (unsigned b = lane; b < gridDim.x; b += 32) s += __ldcg(&scratch.loss_partials[b]);  // from L2
  s = warp_sum(s);
  if (lane == 0) {
    *loss = static_cast<float>(s / static_cast<double>(n));
    *scratch.ticket = 0;  // ready for the next launch (or graph replay) on this stream
  }
}

}  // namespace

void launch_mse(cudaStream_t stream, const LossScratch& scratch, const float* pred, const float* target, size_t n,
                float* loss, float* dpred) {
  // At least one block, so that n = 0 still writes its (NaN) loss.
  const unsigned blocks = n == 0 ? 1 : blocks_for(n, kMseThreads);
  mse_kernel<<<blocks < kLossMaxBlocks ? blocks : kLossMaxBlocks, kMseThreads, 0, stream>>>(pred, target, n, loss,
                                                                                           dpred, scratch);
  check_launch("mse kernel launch");
}

}  // namespace tinynn::gpu
